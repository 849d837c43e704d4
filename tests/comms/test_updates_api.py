"""The stakeholder-update API (issue 11, point 6): per role, bad input (422 naming the
field, nothing changed), the update on the timeline as public for the reporter, update
templates (unknown variables refused by name), subscribers of incidents and services."""

from __future__ import annotations

from typing import Any

import pytest

from tests.comms.updates_helpers import SECRET_NOTE, incident_with_secrets, person, seeded
from tocsin.accounts.models import Role, Team
from tocsin.catalog.models import Service
from tocsin.comms import events
from tocsin.comms.models import StakeholderUpdate, Subscription, UpdateTemplate
from tocsin.core.actors import Actor
from tocsin.incidents.models import EntryKind, TimelineEntry
from tocsin.incidents.services import incident_close, incident_resolve
from tocsin.notify.models import OutboxMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(api: Any) -> dict[str, Any]:
    seeded()
    people = {
        "ines": person("ines", name="Inês Duarte"),
        "ada": person("ada", role=Role.ADMIN),
        "rita": person("rita", role=Role.REPORTER),
        "ron": person("ron", role=Role.REPORTER),
    }
    service = Service.objects.create(name="Checkout")
    incident = incident_with_secrets(people["rita"], service)
    return {
        **people,
        "service": service,
        "incident": incident,
        "url": f"/api/v1/incidents/{incident.ref}",
        **{f"{name}_api": api(user) for name, user in people.items()},
    }


def detail_locs(reply: Any) -> list[str]:
    return [str(e["loc"][-1]) for e in reply.json()["detail"]]


# --- posting -------------------------------------------------------------------------------


def test_staff_post_an_update_it_is_public_on_the_timeline_and_emitted(world) -> None:
    seen: list[dict[str, Any]] = []

    def listener(**kwargs: Any) -> None:
        seen.append(kwargs)

    events.listen(listener)
    try:
        reply = world["ines_api"].post(
            world["url"] + "/updates",
            {
                "status": "investigating",
                "body": "{service} is failing for some; next update {next_update}.",
                "next_update_minutes": 30,
            },
        )
    finally:
        events._listeners.remove(listener)
    assert reply.status_code == 201, reply.content
    data = reply.json()
    assert data["status"] == "investigating"
    assert data["body"].startswith("Checkout is failing for some; next update ")
    assert "{" not in data["body"]
    assert data["posted_by"] == "ines"
    assert data["next_update_at"] is not None
    update = StakeholderUpdate.objects.get(pk=data["id"])
    assert [(e["event"], e["data"]) for e in seen] == [("update_posted", {"update_id": update.pk})]
    entry = TimelineEntry.objects.get(incident=world["incident"], kind=EntryKind.UPDATE)
    assert entry.visibility == "public"
    # the reporter reads it on their incident's timeline, and in the updates list
    timeline = world["rita_api"].get(world["url"] + "/timeline").json()["items"]
    texts = [item["text"] for item in timeline]
    assert any(data["body"] in text for text in texts)
    assert not any(SECRET_NOTE in text for text in texts)
    listed = world["rita_api"].get(world["url"] + "/updates").json()
    assert [u["id"] for u in listed["items"]] == [update.pk]
    # the reporter reads the update, not who on the staff wrote it or how many got it
    assert listed["items"][0]["posted_by"] is None
    assert listed["items"][0]["recipients"] is None


def test_a_reporter_cannot_post_and_another_reporter_sees_nothing(world) -> None:
    body = {"status": "investigating", "body": "I post too"}
    assert world["rita_api"].post(world["url"] + "/updates", body).status_code == 403
    assert world["ron_api"].post(world["url"] + "/updates", body).status_code == 404
    assert world["ron_api"].get(world["url"] + "/updates").status_code == 404
    assert StakeholderUpdate.objects.count() == 0


def test_anonymous_is_401(world, client) -> None:
    assert client.get(world["url"] + "/updates").status_code == 401
    assert client.get("/api/v1/update-templates").status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "panicking", "body": "x"}, "status"),
        ({"status": "identified", "body": "   "}, "body"),
        ({"status": "identified", "body": "x" * 5001}, "body"),
        ({"status": "identified", "body": "x", "next_update_minutes": 0}, "next_update_minutes"),
        ({"status": "identified", "body": "x", "next_update_minutes": 1441}, "next_update_minutes"),
        ({"status": "identified", "body": "x", "next_update_minutes": "30"}, "next_update_minutes"),
        ({"status": "identified", "body": "x", "template": 999}, "template"),
        ({"status": "identified", "body": "x", "colour": "red"}, "colour"),
        ({"body": "x"}, "status"),
    ],
)
def test_bad_input_is_422_naming_the_field_and_changes_nothing(world, body, field) -> None:
    reply = world["ines_api"].post(world["url"] + "/updates", body)
    assert reply.status_code == 422, reply.content
    assert field in detail_locs(reply)
    assert StakeholderUpdate.objects.count() == 0
    assert not TimelineEntry.objects.filter(kind=EntryKind.UPDATE).exists()
    assert not OutboxMessage.objects.filter(purpose="update").exists()


def test_a_closed_incident_takes_no_update(world) -> None:
    actor = Actor.for_user(world["ines"])
    incident = world["incident"]
    incident = incident_resolve(
        incident=incident, actor=actor, resolution_code="fixed", resolution_notes="ok"
    )
    incident_close(incident=incident, actor=Actor.for_user(world["ada"]))
    reply = world["ines_api"].post(world["url"] + "/updates", {"status": "resolved", "body": "x"})
    assert reply.status_code == 409
    assert "closed" in reply.json()["detail"]


def test_an_idempotency_key_posts_once(world) -> None:
    body = {"status": "identified", "body": "Cause found."}
    headers = {"Idempotency-Key": "upd-1"}
    first = world["ines_api"].post(world["url"] + "/updates", body, headers=headers)
    second = world["ines_api"].post(world["url"] + "/updates", body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert StakeholderUpdate.objects.count() == 1


# --- templates --------------------------------------------------------------------------------


def test_the_seeded_templates_are_listed_for_staff(world) -> None:
    reply = world["ines_api"].get("/api/v1/update-templates")
    assert reply.status_code == 200
    data = reply.json()
    assert [t["status"] for t in data["items"]] == [
        "investigating",
        "identified",
        "monitoring",
        "resolved",
    ]
    assert "next_update" in data["variables"]
    assert world["rita_api"].get("/api/v1/update-templates").status_code == 404


def test_administrators_create_and_edit_templates_with_known_variables_only(world) -> None:
    url = "/api/v1/update-templates"
    bad = {"name": "Custom", "status": "identified", "body": "{service} {secret} {title.upper}"}
    reply = world["ada_api"].post(url, bad)
    assert reply.status_code == 422
    [error] = reply.json()["detail"]
    assert error["loc"][-1] == "body"
    assert "{secret}" in error["msg"] and "{title.upper}" in error["msg"]
    assert not UpdateTemplate.objects.filter(name="Custom").exists()

    good = {"name": "Custom", "status": "identified", "body": "{ref} on {service}: {impact}."}
    assert world["ines_api"].post(url, good).status_code == 403  # staff read, admins write
    created = world["ada_api"].post(url, good)
    assert created.status_code == 201
    template_id = created.json()["id"]
    dup = world["ada_api"].post(url, {**good, "name": "custom"})
    assert dup.status_code == 422 and detail_locs(dup) == ["name"]

    edited = world["ada_api"].patch(f"{url}/{template_id}", {"body": "{{title}} {nope}"})
    assert edited.status_code == 422
    assert UpdateTemplate.objects.get(pk=template_id).body == good["body"]
    archived = world["ada_api"].patch(f"{url}/{template_id}", {"archived": True})
    assert archived.status_code == 200 and archived.json()["archived"] is True
    names = [t["name"] for t in world["ines_api"].get(url).json()["items"]]
    assert "Custom" not in names
    assert world["ada_api"].get(f"{url}/99999").status_code == 404


def test_django_template_syntax_is_refused_in_templates_and_stays_literal_in_updates(
    world,
) -> None:
    reply = world["ada_api"].post(
        "/api/v1/update-templates",
        {"name": "Sly", "status": "identified", "body": "{% debug %} {{ settings.SECRET_KEY }}"},
    )
    assert reply.status_code == 422
    assert "Unknown variable" in reply.json()["detail"][0]["msg"]
    posted = world["ines_api"].post(
        world["url"] + "/updates",
        {"status": "identified", "body": "{% debug %} {{ settings.SECRET_KEY }} {ref}"},
    )
    assert posted.status_code == 201
    ref = world["incident"].ref
    assert posted.json()["body"] == "{% debug %} {{ settings.SECRET_KEY }} " + ref


# --- subscribers ----------------------------------------------------------------------------------


def test_subscribers_of_an_incident_per_role(world) -> None:
    url = world["url"] + "/subscribers"
    team = Team.objects.create(name="Payments")
    for body in (
        {"user": "ines", "channel": "contact"},
        {"team": team.pk},
        {"email": "CFO@Customer.example"},
    ):
        reply = world["ines_api"].post(url, body)
        assert reply.status_code == 201, reply.content
    listed = world["ines_api"].get(url).json()
    assert [(s["type"], s["name"]) for s in listed["items"]] == [
        ("user", "Inês Duarte"),
        ("team", "Payments"),
        ("email", "cfo@customer.example"),
    ]
    assert listed["items"][0]["channel"] == "contact"
    # subscribing again is the same subscription
    again = world["ines_api"].post(url, {"email": "cfo@customer.example"})
    assert again.json()["id"] == listed["items"][2]["id"]
    assert Subscription.objects.count() == 3
    # reporters (even the incident's own) see no subscribers
    assert world["rita_api"].get(url).status_code == 404
    assert world["rita_api"].post(url, {"email": "x@example.com"}).status_code == 404
    # removing
    gone = world["ines_api"].client.delete(
        f"{url}/{listed['items'][2]['id']}",
        headers={"Authorization": f"Bearer {world['ines_api'].token}"},
    )
    assert gone.status_code == 204
    assert Subscription.objects.count() == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-address"}, "email"),
        ({"user": "nobody"}, "user"),
        ({"user": "rita"}, "user"),  # a reporter cannot see incidents
        ({"team": 9999}, "team"),
        ({"user": "ines", "email": "a@example.com"}, "user"),
        ({}, "user"),
        ({"user": "ines", "channel": "pigeon"}, "channel"),
    ],
)
def test_bad_subscribers_are_422_naming_the_field(world, body, field) -> None:
    reply = world["ines_api"].post(world["url"] + "/subscribers", body)
    assert reply.status_code == 422, reply.content
    assert field in detail_locs(reply)
    assert Subscription.objects.count() == 0


def test_subscribers_of_a_service(world) -> None:
    url = f"/api/v1/services/{world['service'].pk}/subscribers"
    assert world["ines_api"].post(url, {"email": "ops@partner.example"}).status_code == 201
    assert world["ines_api"].get(url).json()["count"] == 1
    assert world["rita_api"].get(url).status_code == 404
    assert world["ines_api"].get("/api/v1/services/9999/subscribers").status_code == 404
