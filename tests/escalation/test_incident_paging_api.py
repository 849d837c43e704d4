"""The incident paging API: page now, escalate now, reassign, the pages and their
delivery attempts; per role, bad input, closed incidents."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from tests.escalation.paging_helpers import always_on_call, reachable, two_level_policy
from tocsin.accounts.models import Role, Team, User
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.escalation.engine import EscalationModule
from tocsin.escalation.models import ClimbState, Escalation, Page
from tocsin.incidents import services as incident_services
from tocsin.incidents.models import EntryKind, Incident, TimelineEntry
from tocsin.notify.engine import OutboxModule
from tocsin.notify.models import OutboxMessage, OutboxState

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(make_user: Callable[..., User], make_incident: Callable[..., Incident]) -> dict[str, Any]:
    first = make_user(Role.RESPONDER, username="first")
    second = make_user(Role.RESPONDER, username="second")
    for person in (first, second):
        reachable(person, "email", "sms")
    reporter = make_user(Role.REPORTER, username="rita")
    incident = make_incident(reporter, title="Card payments failing", impact=1, urgency=1)
    return {
        "first": first,
        "second": second,
        "reporter": reporter,
        "incident": incident,
        "policy": two_level_policy(first, second),
    }


def url(incident: Incident, rest: str = "page") -> str:
    return f"/api/v1/incidents/{incident.ref}/{rest}"


@pytest.mark.parametrize("role", [Role.AGENT, Role.RESPONDER, Role.MANAGER, Role.ADMIN])
def test_staff_page_a_policy_and_see_the_climb(
    role: str, world: dict[str, Any], make_user: Callable[..., User], api: Any
) -> None:
    client = api(make_user(role))
    incident = world["incident"]
    reply = client.post(url(incident), {"policy": world["policy"].pk, "note": "card outage"})
    assert reply.status_code == 201, reply.content
    body = reply.json()
    assert body["policy"] == {"id": world["policy"].pk, "name": "Payments"}
    assert body["state"] == "active" and body["level"] == 1 and body["levels"] == 2
    assert body["target"] is None
    climb = Escalation.objects.get(pk=body["id"])
    assert climb.incident_id == incident.pk and climb.next_at is not None
    entry = TimelineEntry.objects.filter(incident=incident, kind=EntryKind.PAGE).last()
    assert entry is not None and entry.text == "Page now: policy Payments. card outage"


def test_the_reporter_gets_404_for_every_paging_route(world: dict[str, Any], api: Any) -> None:
    client = api(world["reporter"])
    incident = world["incident"]
    # the reporter may see the incident itself ...
    assert client.get(f"/api/v1/incidents/{incident.ref}").status_code == 200
    # ... but no paging route exists for them
    assert client.post(url(incident), {"policy": world["policy"].pk}).status_code == 404
    assert client.post(url(incident, "paging/escalate-now")).status_code == 404
    assert (
        client.post(url(incident, "paging/reassign"), {"policy": world["policy"].pk}).status_code
        == 404
    )
    assert client.get(url(incident, "pages")).status_code == 404
    assert not Escalation.objects.filter(incident=incident).exists()


def test_an_incident_another_reporter_filed_is_404(
    world: dict[str, Any],
    make_user: Callable[..., User],
    make_incident: Callable[..., Incident],
    api: Any,
) -> None:
    other = make_user(Role.REPORTER, username="otto")
    client = api(other)
    assert client.get(url(world["incident"], "pages")).status_code == 404
    assert api(world["first"]).get("/api/v1/incidents/INC-999999/pages").status_code == 404
    assert (
        api(world["first"]).post("/api/v1/incidents/nonsense/page", {"user": "first"}).status_code
        == 404
    )


def test_page_a_person_a_schedule_and_a_team(world: dict[str, Any], api: Any) -> None:
    client = api(world["first"])
    incident = world["incident"]
    team = Team.objects.create(name="Payments team")
    schedule = always_on_call(world["second"], name="Payments primary", team=team)
    reply = client.post(url(incident), {"user": "second"})
    assert reply.status_code == 201
    assert reply.json()["target"] == {"type": "user", "id": "second", "name": "Second"}
    reply = client.post(url(incident), {"schedule": schedule.pk})
    assert reply.json()["target"]["type"] == "schedule"
    reply = client.post(url(incident), {"team": team.pk})
    assert reply.json()["target"] == {"type": "team", "id": team.pk, "name": "Payments team"}
    EscalationModule().tick(now() + dt.timedelta(seconds=1))
    pages = Page.objects.filter(incident=incident)
    assert sorted(p.via for p in pages) == [
        "person Second",
        "schedule Payments primary",
        "team Payments team (Payments primary)",
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "policy"),
        ({"policy": 1, "user": "first"}, "user"),
        ({"policy": 999999}, "policy"),
        ({"schedule": 999999}, "schedule"),
        ({"team": 999999}, "team"),
        ({"user": "nobody"}, "user"),
        ({"user": "rita"}, "user"),  # a reporter is not paged
        ({"policy": "1"}, "policy"),
        ({"policy": True}, "policy"),
        ({"user": "bad name!"}, "user"),
        ({"user": "first", "note": "x" * 1001}, "note"),
        ({"user": "first", "colour": "red"}, "colour"),
    ],
)
def test_bad_page_input_is_422_naming_the_field(
    world: dict[str, Any], api: Any, body: dict[str, Any], field: str
) -> None:
    reply = api(world["first"]).post(url(world["incident"]), body)
    assert reply.status_code == 422, reply.content
    assert any(field in error["loc"] for error in reply.json()["detail"]), reply.json()
    assert not Escalation.objects.filter(incident=world["incident"]).exists()


def test_malformed_json_is_400(world: dict[str, Any], api: Any) -> None:
    client = api(world["first"])
    reply = client.client.post(
        url(world["incident"]),
        "{not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {client.token}"},
    )
    assert reply.status_code == 400


def test_a_deactivated_person_or_archived_policy_is_refused(
    world: dict[str, Any], api: Any
) -> None:
    from tocsin.escalation.policies import policy_archive

    client = api(world["first"])
    world["second"].is_active = False
    world["second"].save()
    reply = client.post(url(world["incident"]), {"user": "second"})
    assert reply.status_code == 422 and reply.json()["detail"][0]["loc"][-1] == "user"
    assert reply.json()["detail"][0]["msg"] == "This person is deactivated."
    policy_archive(policy=world["policy"], actor=Actor.system("test"))
    reply = client.post(url(world["incident"]), {"policy": world["policy"].pk})
    assert reply.status_code == 422 and reply.json()["detail"][0]["loc"][-1] == "policy"


def test_resolved_and_closed_incidents_are_409(world: dict[str, Any], api: Any) -> None:
    client = api(world["first"])
    incident = world["incident"]
    incident_services.incident_resolve(
        incident=incident,
        actor=Actor.for_user(world["first"]),
        resolution_code="fixed",
        resolution_notes="done",
    )
    for path, body in (
        ("page", {"user": "second"}),
        ("paging/escalate-now", None),
        ("paging/reassign", {"policy": world["policy"].pk}),
    ):
        reply = client.post(url(incident, path), body)
        assert reply.status_code == 409, (path, reply.content)
        assert "reopen it" in reply.json()["detail"]
    # reading still works
    assert client.get(url(incident, "pages")).status_code == 200


def test_escalate_now_fires_the_next_level_and_409_without_one(
    world: dict[str, Any], api: Any
) -> None:
    client = api(world["first"])
    incident = world["incident"]
    reply = client.post(url(incident, "paging/escalate-now"))
    assert reply.status_code == 409 and "no escalation under way" in reply.json()["detail"]
    client.post(url(incident), {"policy": world["policy"].pk})
    start = now() + dt.timedelta(seconds=1)
    EscalationModule().tick(start)  # level 1: first
    reply = client.post(url(incident, "paging/escalate-now"))
    assert reply.status_code == 200
    assert reply.json()["level"] == 2
    EscalationModule().tick(now() + dt.timedelta(seconds=2))  # level 2 at once: second
    assert sorted(
        Page.objects.filter(incident=incident).values_list("person__username", flat=True)
    ) == [
        "first",
        "second",
    ]
    reply = client.post(url(incident, "paging/escalate-now"))
    assert reply.status_code == 409 and "Every level" in reply.json()["detail"]


def test_reassign_replaces_the_climb_at_a_level(
    world: dict[str, Any], make_user: Callable[..., User], api: Any
) -> None:
    client = api(world["first"])
    incident = world["incident"]
    client.post(url(incident), {"policy": world["policy"].pk})
    third = make_user(Role.RESPONDER, username="third")
    reachable(third)
    other = two_level_policy(world["second"], third, name="Database")
    reply = client.post(url(incident, "paging/reassign"), {"policy": other.pk, "level": 2})
    assert reply.status_code == 200, reply.content
    assert reply.json()["policy"]["name"] == "Database" and reply.json()["level"] == 2
    states = dict(Escalation.objects.filter(incident=incident).values_list("policy__name", "state"))
    assert states == {"Payments": ClimbState.REPLACED, "Database": ClimbState.ACTIVE}
    EscalationModule().tick(now() + dt.timedelta(seconds=1))
    assert list(
        Page.objects.filter(incident=incident).values_list("person__username", flat=True)
    ) == ["third"]
    for body, field in (
        ({"policy": other.pk, "level": 3}, "level"),
        ({"policy": other.pk, "level": 0}, "level"),
        ({"policy": 999999}, "policy"),
        ({"level": 1}, "policy"),
    ):
        reply = client.post(url(incident, "paging/reassign"), body)
        assert reply.status_code == 422, body
        assert reply.json()["detail"][0]["loc"][-1] == field


def test_pages_list_climbs_pages_and_every_attempt(
    world: dict[str, Any], api: Any, smtp_server: Any
) -> None:
    client = api(world["second"])
    incident = world["incident"]
    reachable(world["first"], "webhook")
    client.post(url(incident), {"policy": world["policy"].pk})
    start = now()
    EscalationModule().tick(start)
    # the mail goes to the real SMTP server; the webhook's host does not resolve (retried)
    OutboxModule().tick(start)
    body = client.get(url(incident, "pages")).json()
    assert [c["state"] for c in body["climbs"]] == ["active"]
    assert body["climbs"][0]["level"] == 2 and body["climbs"][0]["next_at"] is not None
    [page] = body["pages"]
    assert page["person"] == "first" and page["level"] == 1 and page["state"] == "open"
    assert page["via"] == "person First"
    by_channel = {d["channel"]: d for d in page["deliveries"]}
    assert set(by_channel) == {"email", "sms", "webhook"}
    assert by_channel["email"]["state"] == "sent" and by_channel["email"]["sent_at"]
    assert by_channel["email"]["attempts"] == 1
    assert by_channel["email"]["contact_method"]["address"] == "first@example.com"
    assert by_channel["sms"]["state"] == "queued" and by_channel["sms"]["outcome"] == "waiting"
    assert by_channel["sms"]["attempts"] == 0
    webhook = by_channel["webhook"]
    assert webhook["state"] == "queued" and webhook["attempts"] == 1 and webhook["last_error"]
    # never the secret path of a webhook
    assert webhook["contact_method"]["address"] == "https://hooks.example.invalid/…"
    assert "secret-path" not in str(body)
    assert len(smtp_server.messages) == 1

    # acknowledge: the page is acknowledged, the SMS cancelled
    incident_services.incident_acknowledge(incident=incident, actor=Actor.for_user(world["first"]))
    body = client.get(url(incident, "pages")).json()
    assert body["climbs"][0]["state"] == "acknowledged"
    assert body["pages"][0]["state"] == "acknowledged"
    sms = next(d for d in body["pages"][0]["deliveries"] if d["channel"] == "sms")
    assert sms["state"] == "cancelled" and sms["outcome"] == "cancelled"


def test_retrying_attempt_shows_its_error(world: dict[str, Any], api: Any) -> None:
    client = api(world["first"])
    incident = world["incident"]
    client.post(url(incident), {"user": "second"})
    EscalationModule().tick(now() + dt.timedelta(seconds=1))
    mail = OutboxMessage.objects.get(incident=incident, channel="email")
    OutboxMessage.objects.filter(pk=mail.pk).update(
        attempts=2, last_error="SMTPServerDisconnected: gone", state=OutboxState.QUEUED
    )
    delivery = next(
        d
        for d in client.get(url(incident, "pages")).json()["pages"][0]["deliveries"]
        if d["channel"] == "email"
    )
    assert delivery["outcome"] == "retrying" and delivery["attempts"] == 2
    assert delivery["last_error"] == "SMTPServerDisconnected: gone"


def test_page_now_is_idempotent_with_a_key(world: dict[str, Any], api: Any) -> None:
    client = api(world["first"])
    headers = {"Idempotency-Key": "page-once"}
    one = client.post(url(world["incident"]), {"user": "second"}, headers=headers)
    two = client.post(url(world["incident"]), {"user": "second"}, headers=headers)
    assert one.status_code == two.status_code == 201
    assert one.json()["id"] == two.json()["id"]
    assert Escalation.objects.filter(incident=world["incident"]).count() == 1


def test_the_schema_lists_the_routes(world: dict[str, Any], api: Any) -> None:
    schema = api(world["first"]).get("/api/v1/openapi.json").json()
    for path in (
        "/api/v1/incidents/{ref}/page",
        "/api/v1/incidents/{ref}/paging/escalate-now",
        "/api/v1/incidents/{ref}/paging/reassign",
        "/api/v1/incidents/{ref}/pages",
        "/api/v1/deliveries",
    ):
        assert path in schema["paths"], path
