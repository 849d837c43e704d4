"""Declaring major incidents: automatically (P1 at creation and when raised to P1, P2 on a
service with the rule), by hand through the API per role, standing down, bad input; what
a declaration does (the policy paged through the engine, the checklist, the event)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.comms.major_helpers import World, make_world
from tests.conftest import ApiClient
from tocsin.accounts.models import Role
from tocsin.comms import events
from tocsin.comms.models import CommanderDeadline, MajorChecklistItem
from tocsin.core.actors import Actor
from tocsin.escalation.engine import EscalationModule
from tocsin.escalation.models import Escalation, Page
from tocsin.incidents.models import EntryKind, Incident, TimelineEntry
from tocsin.incidents.services import incident_resolve, incident_update
from tocsin.notify.models import OutboxMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(make_user: Any, make_incident: Any) -> World:
    return make_world(make_user, make_incident)


def major_entries(incident: Incident) -> list[str]:
    return list(
        TimelineEntry.objects.filter(incident=incident, kind=EntryKind.MAJOR)
        .order_by("pk")
        .values_list("text", flat=True)
    )


def url(incident: Incident) -> str:
    return f"/api/v1/incidents/{incident.ref}/major"


# --- automatic ------------------------------------------------------------------------------


def test_a_p1_is_major_from_its_creation_and_the_policy_is_paged(world: World) -> None:
    world.configure()
    incident = world.incident(1)  # filed by a reporter: the system declares, not Rita
    assert incident.major_declared_at is not None
    assert major_entries(incident) == [
        "Declared a major incident. Declared automatically: the incident is P1.",
        "Paging the major-incident policy Major incident bridge.",
    ]
    climb = Escalation.objects.get(incident=incident, policy=world.policy)
    assert climb.urgency == "high" and climb.reason == "major incident"
    # the escalation engine fires the climb: Ann is paged, by email
    EscalationModule().tick(climb.next_at)
    page = Page.objects.get(incident=incident)
    assert page.person == world.ann
    assert OutboxMessage.objects.filter(incident=incident, purpose="page").count() == 1
    # the checklist is open, its first step (the declaration) done
    items = list(MajorChecklistItem.objects.filter(incident=incident).order_by("position"))
    assert [i.text for i in items][:2] == [
        "Declare the major incident",
        "Assign roles: incident commander and communications lead",
    ]
    assert len(items) == 5
    assert items[0].done_at is not None and all(i.done_at is None for i in items[1:])
    deadline = CommanderDeadline.objects.get(incident=incident)
    assert (deadline.due_at - deadline.declared_at).total_seconds() == 600


def test_raising_the_priority_to_p1_declares(world: World) -> None:
    world.configure()
    incident = world.incident(3)
    assert incident.major_declared_at is None
    incident_update(
        incident=incident, actor=Actor.for_user(world.agent), changes={"impact": 1, "urgency": 1}
    )
    incident.refresh_from_db()
    assert incident.priority == 1 and incident.major_declared_at is not None
    assert Escalation.objects.filter(incident=incident, policy=world.policy).count() == 1


def test_p2_is_major_only_on_a_service_with_the_rule(world: World) -> None:
    other = type(world.service).objects.create(name="Intranet")
    world.configure(p2_services=[world.service])
    ruled = world.incident(2, service=world.service)
    unruled = world.incident(2, service=other)
    assert ruled.major_declared_at is not None
    assert major_entries(ruled)[0] == (
        "Declared a major incident. Declared automatically: P2 on Payments API, "
        "which the major-incident rule covers."
    )
    assert unruled.major_declared_at is None
    # a P3 on the ruled service raised to P2 becomes major
    later = world.incident(3, service=world.service)
    assert later.major_declared_at is None
    incident_update(incident=later, actor=Actor.for_user(world.agent), changes={"impact": 2})
    later.refresh_from_db()
    assert later.priority == 2 and later.major_declared_at is not None
    # a P2 moved onto the ruled service becomes major too
    moved = world.incident(2, service=other)
    assert moved.major_declared_at is None
    incident_update(
        incident=moved, actor=Actor.for_user(world.agent), changes={"service": world.service}
    )
    moved.refresh_from_db()
    assert moved.major_declared_at is not None
    assert "P2 on Payments API" in major_entries(moved)[0]


def test_without_settings_a_p1_is_still_major_with_nothing_to_page(world: World) -> None:
    incident = world.incident(1)
    assert incident.major_declared_at is not None
    assert not Escalation.objects.filter(incident=incident, policy=world.policy).exists()
    assert MajorChecklistItem.objects.filter(incident=incident).count() == 5


def test_a_stood_down_p1_is_not_declared_again_by_an_unrelated_change(world: World) -> None:
    incident = world.incident(1)
    api_reply = ApiClient(world.agent).post(url(incident), {"major": False, "reason": "drill"})
    assert api_reply.status_code == 200 and api_reply.json()["major"] is False
    incident_update(
        incident=incident, actor=Actor.for_user(world.agent), changes={"title": "Payments slow"}
    )
    incident.refresh_from_db()
    assert incident.major_declared_at is None


# --- by hand ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.AGENT, Role.RESPONDER, Role.MANAGER, Role.ADMIN])
def test_staff_declare_and_stand_down_through_the_api(
    role: str, world: World, make_user: Any, api: Any
) -> None:
    world.configure()
    heard: list[tuple[str, str]] = []

    def listener(
        *, event: str, incident: Incident | None, actor: Actor, data: dict[str, Any]
    ) -> None:
        heard.append((event, data.get("reason", "")))

    events.listen(listener)
    try:
        client = api(make_user(role))
        incident = world.incident(3)
        reply = client.post(url(incident), {"major": True, "reason": "Every region down"})
        assert reply.status_code == 200, reply.content
        body = reply.json()
        assert body["major"] is True and body["declared_at"] is not None
        assert body["commander"] is None and body["commander_deadline"] == "pending"
        assert [i["done"] for i in body["checklist"]] == [True, False, False, False, False]
        assert heard == [("major_declared", "Every region down")]
        # declaring again changes nothing
        again = client.post(url(incident), {"major": True})
        assert again.status_code == 200 and again.json()["declared_at"] == body["declared_at"]
        assert Escalation.objects.filter(incident=incident, policy=world.policy).count() == 1
        # standing down
        down = client.post(url(incident), {"major": False, "reason": "Only one region"})
        assert down.status_code == 200 and down.json()["major"] is False
        assert major_entries(incident)[-1] == "No longer a major incident. Only one region"
        # re-declaring keeps the one checklist
        client.post(url(incident), {"major": True})
        assert MajorChecklistItem.objects.filter(incident=incident).count() == 5
        assert client.get(url(incident)).json()["major"] is True
    finally:
        events._listeners.remove(listener)


def test_reporters_get_404(world: World, make_user: Any, api: Any) -> None:
    incident = world.incident(3)
    own = api(world.reporter)
    assert own.get(f"/api/v1/incidents/{incident.ref}").status_code == 200
    assert own.get(url(incident)).status_code == 404
    assert own.post(url(incident), {"major": True}).status_code == 404
    assert own.post(url(incident) + "/checklist/1", {"done": True}).status_code == 404
    stranger = api(make_user(Role.REPORTER, username="otto"))
    assert stranger.post(url(incident), {"major": True}).status_code == 404
    assert api(world.agent).get("/api/v1/incidents/INC-99999/major").status_code == 404
    incident.refresh_from_db()
    assert incident.major_declared_at is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"major": "yes"}, "major"),
        ({"major": 1}, "major"),
        ({}, "major"),
        ({"major": True, "reason": "x" * 501}, "reason"),
        ({"major": True, "colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    world: World, api: Any, body: dict[str, Any], field: str
) -> None:
    incident = world.incident(3)
    reply = api(world.agent).post(url(incident), body)
    assert reply.status_code == 422, reply.content
    assert field in str(reply.json()["detail"])
    incident.refresh_from_db()
    assert incident.major_declared_at is None and not major_entries(incident)


def test_malformed_json_is_400(world: World, api: Any) -> None:
    incident = world.incident(3)
    client = api(world.agent)
    reply = client.client.post(
        url(incident), "{", content_type="application/json", headers=client._headers(None)
    )
    assert reply.status_code == 400


def test_a_resolved_incident_cannot_be_declared(world: World, api: Any) -> None:
    incident = world.incident(3)
    incident_resolve(
        incident=incident,
        actor=Actor.for_user(world.agent),
        resolution_code="fixed",
        resolution_notes="Restarted",
    )
    reply = api(world.agent).post(url(incident), {"major": True})
    assert reply.status_code == 409
    assert "only an open incident can be major" in reply.json()["detail"]


def test_open_majors_list(world: World, api: Any) -> None:
    first = world.incident(1, title="Payments down")
    world.incident(3)
    world.make_commander(first, world.ann)
    reply = api(world.agent).get("/api/v1/major-incidents")
    assert reply.status_code == 200
    assert reply.json()["count"] == 1
    item = reply.json()["items"][0]
    assert item["incident"] == first.ref and item["commander"] == "Ann Archer"
    assert api(world.reporter).get("/api/v1/major-incidents").status_code == 403
