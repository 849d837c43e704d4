"""Incident roles and participants through the API (issue 11): the role catalogue, assign
/ hand over / step down, the hand-over history, participants; per role, bad input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tocsin.accounts.models import Role, User
from tocsin.core.actors import Actor
from tocsin.incidents import services
from tocsin.incidents.models import (
    EntryKind,
    Incident,
    IncidentRole,
    Participant,
    RoleAssignment,
    TimelineEntry,
)

pytestmark = pytest.mark.django_db

STAFF = [Role.AGENT, Role.RESPONDER, Role.MANAGER, Role.ADMIN]


def put(client: Any, path: str, body: Any) -> Any:
    return client.client.put(
        path, body, content_type="application/json", headers=client._headers(None)
    )


def delete(client: Any, path: str) -> Any:
    return client.client.delete(path, headers=client._headers(None))


@pytest.fixture
def world(make_user: Callable[..., User], make_incident: Callable[..., Incident]) -> dict[str, Any]:
    reporter = make_user(Role.REPORTER, username="rita")
    other_reporter = make_user(Role.REPORTER, username="otto")
    return {
        "reporter": reporter,
        "other_reporter": other_reporter,
        "incident": make_incident(reporter, title="Checkout down"),
        "cmdr": make_user(Role.RESPONDER, username="cmdr", name="Carla Commander"),
        "next": make_user(Role.AGENT, username="nextone", name="Nico Next"),
    }


def roles_url(incident: Incident, key: str = "") -> str:
    return f"/api/v1/incidents/{incident.ref}/roles" + (f"/{key}" if key else "")


def test_builtin_roles_are_seeded_in_order(api: Any, make_user: Callable[..., User]) -> None:
    body = api(make_user(Role.AGENT)).get("/api/v1/incident-roles").json()
    assert [r["key"] for r in body["items"]] == ["commander", "comms_lead", "scribe"]
    assert all(r["builtin"] and not r["archived"] for r in body["items"])
    assert body["items"][0]["name"] == "Incident commander"


@pytest.mark.parametrize("role", STAFF)
def test_staff_assign_hand_over_and_step_down(
    role: str, world: dict[str, Any], api: Any, make_user: Callable[..., User]
) -> None:
    actor = make_user(role)
    client = api(actor)
    incident = world["incident"]
    reply = put(client, roles_url(incident, "commander"), {"username": "cmdr"})
    assert reply.status_code == 200, reply.content
    assert reply.json()["holder"]["username"] == "cmdr"
    assert reply.json()["holder"]["assigned_by"] == actor.username
    # hand over
    reply = put(client, roles_url(incident, "commander"), {"username": "nextone", "note": "shift"})
    assert reply.status_code == 200 and reply.json()["holder"]["username"] == "nextone"
    body = client.get(roles_url(incident)).json()
    seats = {s["role"]["key"]: s["holder"] for s in body["items"]}
    assert seats["commander"]["username"] == "nextone"
    assert seats["comms_lead"] is None and seats["scribe"] is None
    history = [(h["role"], h["username"], h["ended_at"] is None) for h in body["history"]]
    assert history == [("commander", "cmdr", False), ("commander", "nextone", True)]
    # step down
    reply = delete(client, roles_url(incident, "commander"))
    assert reply.status_code == 200 and reply.json()["holder"] is None
    assert not RoleAssignment.objects.filter(incident=incident, ended_at__isnull=True).exists()
    texts = list(
        TimelineEntry.objects.filter(incident=incident, kind=EntryKind.ROLE).values_list(
            "text", flat=True
        )
    )
    assert texts == [
        "Incident commander: Carla Commander.",
        "Incident commander: handed over from Carla Commander to Nico Next. shift",
        "Incident commander: Nico Next stepped down.",
    ]
    # both stay participants
    people = client.get(f"/api/v1/incidents/{incident.ref}/participants").json()
    assert {p["username"] for p in people["items"]} == {"cmdr", "nextone"}
    assert all(p["via"] == "role" and p["roles"] == [] for p in people["items"])


def test_reporters_and_anonymous(world: dict[str, Any], api: Any) -> None:
    incident = world["incident"]
    own, other = api(world["reporter"]), api(world["other_reporter"])
    # an incident they cannot see: 404 everywhere, nothing changes
    for path in (roles_url(incident), f"/api/v1/incidents/{incident.ref}/participants"):
        assert other.get(path).status_code == 404
    assert put(other, roles_url(incident, "commander"), {"username": "cmdr"}).status_code == 404
    assert delete(other, roles_url(incident, "commander")).status_code == 404
    reply = other.post(f"/api/v1/incidents/{incident.ref}/participants", {"username": "cmdr"})
    assert reply.status_code == 404
    # their own incident: they may not see who responds, nor assign (even themselves);
    # what one may not see answers 404, as for someone else's incident
    assert own.get(f"/api/v1/incidents/{incident.ref}").status_code == 200
    for path in (roles_url(incident), f"/api/v1/incidents/{incident.ref}/participants"):
        reply = own.get(path)
        assert reply.status_code == 404 and reply.json() == other.get(path).json(), path
    assert put(own, roles_url(incident, "commander"), {"username": "cmdr"}).status_code == 404
    assert delete(own, roles_url(incident, "commander")).status_code == 404
    reply = own.post(f"/api/v1/incidents/{incident.ref}/participants", {"username": "cmdr"})
    assert reply.status_code == 404
    assert not RoleAssignment.objects.filter(incident=incident).exists()
    assert own.get("/api/v1/incident-roles").status_code == 403
    # anonymous
    from django.test import Client

    anonymous = Client()
    assert anonymous.get(roles_url(incident)).status_code == 401
    assert (
        anonymous.put(
            roles_url(incident, "commander"), {"username": "cmdr"}, content_type="application/json"
        ).status_code
        == 401
    )
    assert not RoleAssignment.objects.exists() and not Participant.objects.exists()


def test_bad_input_names_the_field_and_changes_nothing(
    world: dict[str, Any], api: Any, make_user: Callable[..., User]
) -> None:
    client = api(make_user(Role.AGENT))
    incident = world["incident"]
    gone = make_user(Role.RESPONDER, username="gone")
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    archived = services.incident_role_create(name="Liaison", actor=Actor.system("t"))
    services.incident_role_update(role=archived, archived=True, actor=Actor.system("t"))

    reply = put(client, roles_url(incident, "wizard"), {"username": "cmdr"})
    assert reply.status_code == 404 and "wizard" in reply.json()["detail"]
    for body, field in [
        ({"username": "gone"}, "user"),  # inactive
        ({"username": "rita"}, "user"),  # a reporter cannot hold a role
        ({"username": "nobody"}, "username"),
        ({}, "username"),
        ({"username": "cmdr", "extra": 1}, "extra"),
    ]:
        reply = put(client, roles_url(incident, "commander"), body)
        assert reply.status_code == 422, (body, reply.content)
        assert reply.json()["detail"][0]["loc"][-1] == field, body
    reply = put(client, roles_url(incident, "liaison"), {"username": "cmdr"})
    assert reply.status_code == 422 and reply.json()["detail"][0]["loc"][-1] == "role"
    assert "archived" in reply.json()["detail"][0]["msg"]
    reply = client.post(f"/api/v1/incidents/{incident.ref}/participants", {"username": "rita"})
    assert reply.status_code == 422 and reply.json()["detail"][0]["loc"][-1] == "user"
    assert not RoleAssignment.objects.exists() and not Participant.objects.exists()
    assert not TimelineEntry.objects.filter(incident=incident, kind=EntryKind.ROLE).exists()


def test_closed_incident_refuses_role_changes(
    world: dict[str, Any], api: Any, make_user: Callable[..., User]
) -> None:
    agent = make_user(Role.AGENT)
    incident = world["incident"]
    actor = Actor.for_user(agent)
    services.incident_act(incident=incident, actor=actor, action="acknowledge")
    services.incident_act(
        incident=incident,
        actor=actor,
        action="resolve",
        resolution_code="fixed",
        resolution_notes="done",
    )
    services.incident_act(
        incident=incident,
        actor=actor,
        action="close",
        resolution_code="fixed",
        resolution_notes="done",
    )
    reply = put(api(agent), roles_url(incident, "commander"), {"username": "cmdr"})
    assert reply.status_code == 409


def test_add_participant(world: dict[str, Any], api: Any, make_user: Callable[..., User]) -> None:
    client = api(make_user(Role.MANAGER))
    incident = world["incident"]
    path = f"/api/v1/incidents/{incident.ref}/participants"
    reply = client.post(path, {"username": "cmdr"})
    assert reply.status_code == 201, reply.content
    assert reply.json()["via"] == "manual" and reply.json()["name"] == "Carla Commander"
    again = client.post(path, {"username": "cmdr"})
    assert again.status_code == 201 and Participant.objects.filter(incident=incident).count() == 1
    assert (
        TimelineEntry.objects.filter(
            incident=incident,
            kind=EntryKind.ASSIGNMENT,
            text="Carla Commander joined the response.",
        ).count()
        == 1
    )
    put(client, roles_url(incident, "scribe"), {"username": "cmdr"})
    body = client.get(path).json()
    assert body["items"][0]["roles"] == ["scribe"]


def test_role_catalogue_is_for_administrators(api: Any, make_user: Callable[..., User]) -> None:
    admin = api(make_user(Role.ADMIN))
    for role in (Role.AGENT, Role.RESPONDER, Role.MANAGER, Role.REPORTER):
        client = api(make_user(role))
        assert client.post("/api/v1/incident-roles", {"name": "Liaison"}).status_code == 403
        commander = IncidentRole.objects.get(key="commander")
        reply = client.patch(f"/api/v1/incident-roles/{commander.pk}", {"name": "Boss"})
        assert reply.status_code == 403
    reply = admin.post(
        "/api/v1/incident-roles", {"name": "Customer liaison", "description": "Talks to VIPs"}
    )
    assert reply.status_code == 201, reply.content
    created = reply.json()
    assert created["key"] == "customer_liaison" and created["position"] == 40
    assert not created["builtin"]
    # rename, reorder, archive
    reply = admin.patch(
        f"/api/v1/incident-roles/{created['id']}", {"name": "Liaison", "position": 5}
    )
    assert reply.status_code == 200 and reply.json()["name"] == "Liaison"
    keys = [r["key"] for r in admin.get("/api/v1/incident-roles").json()["items"]]
    assert keys == ["customer_liaison", "commander", "comms_lead", "scribe"]
    reply = admin.patch(f"/api/v1/incident-roles/{created['id']}", {"archived": True})
    assert reply.status_code == 200 and reply.json()["archived"]
    assert len(admin.get("/api/v1/incident-roles").json()["items"]) == 3
    assert len(admin.get("/api/v1/incident-roles?archived=true").json()["items"]) == 4
    # bad input
    commander = IncidentRole.objects.get(key="commander")
    for path, body, field in [
        ("/api/v1/incident-roles", {"name": "incident COMMANDER"}, "name"),
        ("/api/v1/incident-roles", {"name": "  "}, "name"),
        ("/api/v1/incident-roles", {"name": "X", "key": "Bad Key"}, "key"),
        ("/api/v1/incident-roles", {"name": "X", "key": "commander"}, "key"),
        ("/api/v1/incident-roles", {"name": "X", "position": -1}, "position"),
        (f"/api/v1/incident-roles/{commander.pk}", {"archived": True}, "archived"),
        (f"/api/v1/incident-roles/{commander.pk}", {"name": None}, "name"),
        (f"/api/v1/incident-roles/{commander.pk}", {"name": "Scribe"}, "name"),
    ]:
        send = admin.post if path.endswith("roles") else admin.patch
        reply = send(path, body)
        assert reply.status_code == 422, (body, reply.content)
        assert reply.json()["detail"][0]["loc"][-1] == field, body
    assert admin.patch("/api/v1/incident-roles/999999", {"name": "Y"}).status_code == 404
    assert IncidentRole.objects.count() == 4
    commander.refresh_from_db()
    assert commander.name == "Incident commander" and commander.archived_at is None


def test_rename_keeps_key_and_history(
    world: dict[str, Any], api: Any, make_user: Callable[..., User]
) -> None:
    admin = api(make_user(Role.ADMIN))
    incident = world["incident"]
    put(admin, roles_url(incident, "commander"), {"username": "cmdr"})
    commander = IncidentRole.objects.get(key="commander")
    admin.patch(f"/api/v1/incident-roles/{commander.pk}", {"name": "Incident lead"})
    body = admin.get(roles_url(incident)).json()
    assert body["items"][0]["role"]["name"] == "Incident lead"
    assert body["items"][0]["holder"]["username"] == "cmdr"
