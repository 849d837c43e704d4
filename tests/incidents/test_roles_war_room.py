"""War room (issue 11): per-service link templates filled in on new incidents, the links
edited through the API and the incident page, http(s) only, each change on the timeline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tocsin.accounts.models import Role, User
from tocsin.catalog.models import Service
from tocsin.catalog.services import service_create
from tocsin.core.actors import Actor
from tocsin.incidents.models import EntryKind, Incident, TimelineEntry

pytestmark = pytest.mark.django_db
SETUP = Actor.system("test setup")


def put(client: Any, path: str, body: Any) -> Any:
    return client.client.put(
        path, body, content_type="application/json", headers=client._headers(None)
    )


@pytest.fixture
def service(db: None) -> Service:
    return service_create(name="Payments API", actor=SETUP)


def test_templates_fill_new_incidents(
    service: Service, api: Any, make_user: Callable[..., User]
) -> None:
    manager = api(make_user(Role.MANAGER))
    reply = manager.patch(
        f"/api/v1/services/{service.pk}",
        {
            "chat_url_template": "https://chat.example.com/incident-{number}",
            "video_url_template": "https://meet.example.com/{service}/{ref}",
        },
    )
    assert reply.status_code == 200, reply.content
    assert reply.json()["chat_url_template"] == "https://chat.example.com/incident-{number}"
    agent = api(make_user(Role.AGENT))
    created = agent.post("/api/v1/incidents", {"title": "Cards refused", "service": service.pk})
    assert created.status_code == 201, created.content
    body = created.json()
    number = body["id"]
    assert body["chat_url"] == f"https://chat.example.com/incident-{number}"
    assert body["video_url"] == f"https://meet.example.com/payments-api/INC-{number}"
    # an incident on no service gets no links
    other = agent.post("/api/v1/incidents", {"title": "Something"}).json()
    assert other["chat_url"] == "" and other["video_url"] == ""


def test_bad_templates_are_422_naming_the_field(
    service: Service, api: Any, make_user: Callable[..., User]
) -> None:
    admin = api(make_user(Role.ADMIN))
    for field, value, words in [
        ("chat_url_template", "https://chat.example.com/{channel}", "unknown variable {channel}"),
        ("chat_url_template", "javascript:alert(1)//{number}", "http"),
        ("video_url_template", "ftp://meet.example.com/{number}", "http"),
        ("video_url_template", "https://meet.example.com/{number", "unmatched"),
        ("chat_url_template", None, "null"),
    ]:
        reply = admin.patch(f"/api/v1/services/{service.pk}", {field: value})
        assert reply.status_code == 422, (value, reply.content)
        [error] = reply.json()["detail"]
        assert error["loc"][-1] == field and words in error["msg"], error
    service.refresh_from_db()
    assert service.chat_url_template == "" and service.video_url_template == ""
    # agents and responders may not change a service's templates
    reply = api(make_user(Role.AGENT)).patch(
        f"/api/v1/services/{service.pk}", {"chat_url_template": "https://c.example.com/{number}"}
    )
    assert reply.status_code == 403


def test_war_room_api_per_role_and_timeline(
    api: Any, make_user: Callable[..., User], make_incident: Callable[..., Incident]
) -> None:
    reporter = make_user(Role.REPORTER, username="rita")
    incident = make_incident(reporter)
    path = f"/api/v1/incidents/{incident.ref}/war-room"
    for role in (Role.AGENT, Role.RESPONDER, Role.MANAGER, Role.ADMIN):
        client = api(make_user(role))
        url = f"https://chat.example.com/{role}"
        reply = put(client, path, {"chat_url": url})
        assert reply.status_code == 200, reply.content
        assert reply.json() == {"chat_url": url, "video_url": ""}
    entries = TimelineEntry.objects.filter(incident=incident, kind=EntryKind.WAR_ROOM)
    assert entries.count() == 4
    assert entries.last().text == "War room: Chat: https://chat.example.com/admin."  # type: ignore[union-attr]
    # the same value again writes nothing
    put(api(make_user(Role.AGENT)), path, {"chat_url": "https://chat.example.com/admin"})
    assert entries.count() == 4
    # reporters: 404 on their own incident as on someone else's; the incident JSON leaves
    # it out
    own = api(reporter)
    assert put(own, path, {"chat_url": "https://evil.example.com/"}).status_code == 404
    assert own.get(path).status_code == 404
    assert "chat_url" not in own.get(f"/api/v1/incidents/{incident.ref}").json()
    stranger = api(make_user(Role.REPORTER))
    assert put(stranger, path, {"chat_url": "https://evil.example.com/"}).status_code == 404
    staff = api(make_user(Role.AGENT))
    assert staff.get(f"/api/v1/incidents/{incident.ref}").json()["chat_url"].endswith("/admin")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"chat_url": "javascript:alert(1)"}, "chat_url"),
        ({"video_url": "ftp://files.example.com/x"}, "video_url"),
        ({"video_url": "https://"}, "video_url"),
        ({"chat_url": "x" * 501}, "chat_url"),
        ({"other": "https://a.example.com"}, "other"),
    ],
)
def test_war_room_bad_input(
    body: dict[str, str],
    field: str,
    api: Any,
    make_user: Callable[..., User],
    make_incident: Callable[..., Incident],
) -> None:
    incident = make_incident(make_user(Role.REPORTER))
    reply = put(api(make_user(Role.AGENT)), f"/api/v1/incidents/{incident.ref}/war-room", body)
    assert reply.status_code == 422, reply.content
    assert reply.json()["detail"][0]["loc"][-1] == field
    incident.refresh_from_db()
    assert incident.chat_url == "" and incident.video_url == ""
    assert not TimelineEntry.objects.filter(incident=incident, kind=EntryKind.WAR_ROOM).exists()


def test_service_page_edits_templates(
    client: Any, service: Service, make_user: Callable[..., User]
) -> None:
    client.force_login(make_user(Role.MANAGER))
    page = client.get(f"/services/{service.pk}/")
    assert b"War room links" in page.content
    reply = client.post(
        f"/services/{service.pk}/war-room/",
        {"chat_url_template": "https://chat.example.com/{oops}", "video_url_template": ""},
    )
    assert reply.status_code == 422
    assert (
        b"Unknown variable {oops}" in reply.content or b"unknown variable {oops}" in reply.content
    )
    reply = client.post(
        f"/services/{service.pk}/war-room/",
        {"chat_url_template": "https://chat.example.com/{ref}", "video_url_template": ""},
    )
    assert reply.status_code == 302
    service.refresh_from_db()
    assert service.chat_url_template == "https://chat.example.com/{ref}"
    client.force_login(make_user(Role.AGENT))
    assert b"War room links" not in client.get(f"/services/{service.pk}/").content
    reply = client.post(
        f"/services/{service.pk}/war-room/", {"chat_url_template": "", "video_url_template": ""}
    )
    assert reply.status_code == 403
