"""The incident page's Response block and the incident roles settings page (issue 11):
forms POST with CSRF, per role, bad input said as a message and nothing changed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tocsin.accounts.models import Role, User
from tocsin.incidents.models import (
    EntryKind,
    Incident,
    IncidentRole,
    Participant,
    RoleAssignment,
    TimelineEntry,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(make_user: Callable[..., User], make_incident: Callable[..., Incident]) -> dict[str, Any]:
    reporter = make_user(Role.REPORTER, username="rita")
    return {
        "reporter": reporter,
        "incident": make_incident(reporter, title="Checkout down"),
        "cmdr": make_user(Role.RESPONDER, username="cmdr", name="Carla Commander"),
    }


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("role", [Role.AGENT, Role.RESPONDER, Role.MANAGER, Role.ADMIN])
def test_staff_assign_take_and_step_down_from_the_page(
    role: str, world: dict[str, Any], make_user: Callable[..., User]
) -> None:
    me = make_user(role, name="Me Myself")
    client = signed_in(me)
    incident = world["incident"]
    page = client.get(f"/incidents/{incident.ref}/").content.decode()
    assert 'id="panel-response"' in page and "Incident commander" in page
    assert "Not assigned" in page
    reply = client.post(
        f"/incidents/{incident.ref}/roles/", {"incident_role": "commander", "username": "cmdr"}
    )
    assert reply.status_code == 302 and reply["Location"].endswith("#panel-response")
    page = client.get(reply["Location"]).content.decode()
    assert "Incident commander: Carla Commander." in page  # the flash and the timeline
    # take the scribe role myself
    client.post(
        f"/incidents/{incident.ref}/roles/", {"incident_role": "scribe", "username": me.username}
    )
    held = dict(
        RoleAssignment.objects.filter(incident=incident, ended_at__isnull=True).values_list(
            "role__key", "user__username"
        )
    )
    assert held == {"commander": "cmdr", "scribe": me.username}
    # step down
    reply = client.post(f"/incidents/{incident.ref}/roles/commander/release/")
    assert reply.status_code == 302
    assert not RoleAssignment.objects.filter(
        incident=incident, role__key="commander", ended_at__isnull=True
    ).exists()
    page = client.get(f"/incidents/{incident.ref}/").content.decode()
    assert "Carla Commander stepped down" in page
    assert "released a role" in page and "assigned a role" in page  # the timeline's summary
    # participants, and adding one
    client.post(f"/incidents/{incident.ref}/participants/", {"username": "cmdr"})
    assert set(
        Participant.objects.filter(incident=incident).values_list("user__username", flat=True)
    ) == {"cmdr", me.username}


def test_reporter_sees_no_response_block_and_cannot_post(
    world: dict[str, Any], make_user: Callable[..., User]
) -> None:
    incident = world["incident"]
    own = signed_in(world["reporter"])
    page = own.get(f"/incidents/{incident.ref}/")
    assert page.status_code == 200 and b"panel-response" not in page.content
    for path, data in [
        (f"/incidents/{incident.ref}/roles/", {"incident_role": "commander", "username": "cmdr"}),
        (f"/incidents/{incident.ref}/roles/commander/release/", {}),
        (f"/incidents/{incident.ref}/participants/", {"username": "cmdr"}),
        (f"/incidents/{incident.ref}/war-room/", {"chat_url": "https://x.example.com"}),
    ]:
        assert own.post(path, data).status_code == 404, path  # as if it were not there
        stranger = signed_in(make_user(Role.REPORTER))
        assert stranger.post(path, data).status_code == 404, path
        assert Client().post(path, data).status_code == 302  # to the sign-in page
    assert not RoleAssignment.objects.exists() and not Participant.objects.exists()
    incident.refresh_from_db()
    assert incident.chat_url == ""


def test_bad_input_is_said_and_changes_nothing(
    world: dict[str, Any], make_user: Callable[..., User]
) -> None:
    client = signed_in(make_user(Role.AGENT))
    incident = world["incident"]
    reply = client.post(
        f"/incidents/{incident.ref}/roles/",
        {"incident_role": "wizard", "username": "cmdr"},
        follow=True,
    )
    assert "Select a valid choice" in reply.content.decode()
    reply = client.post(
        f"/incidents/{incident.ref}/roles/",
        {"incident_role": "commander", "username": "rita"},
        follow=True,
    )
    assert "Select a valid choice" in reply.content.decode()  # reporters are not offered
    reply = client.post(
        f"/incidents/{incident.ref}/war-room/",
        {"chat_url": "javascript:alert(1)", "video_url": ""},
        follow=True,
    )
    assert "Chat channel must be an http:// or https:// address." in reply.content.decode()
    assert not RoleAssignment.objects.exists()
    incident.refresh_from_db()
    assert incident.chat_url == ""


def test_war_room_links_on_the_page(world: dict[str, Any], make_user: Callable[..., User]) -> None:
    client = signed_in(make_user(Role.RESPONDER))
    incident = world["incident"]
    reply = client.post(
        f"/incidents/{incident.ref}/war-room/",
        {"chat_url": "https://chat.example.com/inc-1?a=1&b=2", "video_url": ""},
    )
    assert reply.status_code == 302
    page = client.get(f"/incidents/{incident.ref}/").content.decode()
    assert '<a href="https://chat.example.com/inc-1?a=1&amp;b=2" rel="noopener noreferrer"' in page
    assert TimelineEntry.objects.filter(incident=incident, kind=EntryKind.WAR_ROOM).count() == 1
    # the reporter never sees the war room
    assert (
        b"chat.example.com"
        not in signed_in(world["reporter"]).get(f"/incidents/{incident.ref}/").content
    )


def test_roles_settings_page(make_user: Callable[..., User]) -> None:
    for role in (Role.AGENT, Role.RESPONDER, Role.MANAGER, Role.REPORTER):
        other = signed_in(make_user(role))
        assert other.get("/settings/roles/").status_code == 403
        assert other.post("/settings/roles/", {"new-name": "X"}).status_code == 403
    assert Client().get("/settings/roles/").status_code == 302
    admin = signed_in(make_user(Role.ADMIN))
    page = admin.get("/settings/roles/")
    assert page.status_code == 200 and b"Incident commander" in page.content
    assert b'href="/settings/roles/"' in admin.get("/settings/").content
    reply = admin.post("/settings/roles/", {"new-name": "Customer liaison", "new-description": ""})
    assert reply.status_code == 302
    liaison = IncidentRole.objects.get(key="customer_liaison")
    reply = admin.post("/settings/roles/", {"new-name": "scribe"})
    assert reply.status_code == 422 and b"already exists" in reply.content
    prefix = f"r{liaison.pk}"
    reply = admin.post(
        f"/settings/roles/{liaison.pk}/",
        {f"{prefix}-name": "Liaison", f"{prefix}-description": "VIPs", f"{prefix}-position": "5"},
    )
    assert reply.status_code == 302
    liaison.refresh_from_db()
    assert (liaison.name, liaison.position) == ("Liaison", 5)
    admin.post(f"/settings/roles/{liaison.pk}/", {"archive": "1"})
    liaison.refresh_from_db()
    assert liaison.archived_at is not None
    commander = IncidentRole.objects.get(key="commander")
    reply = admin.post(f"/settings/roles/{commander.pk}/", {"archive": "1"}, follow=True)
    assert b"built in and cannot be archived" in reply.content
    commander.refresh_from_db()
    assert commander.archived_at is None
