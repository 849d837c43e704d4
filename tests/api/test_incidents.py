"""Incidents through the REST API: the JSON, refs, the queue, triage, the timeline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import time_machine

from tests.api.conftest import RESOLUTION, act, file_incident, resolved_incident
from tests.conftest import ApiClient
from tocsin.accounts.models import Role
from tocsin.catalog.models import Category
from tocsin.catalog.services import category_create, service_create
from tocsin.core.actors import Actor
from tocsin.incidents.models import Incident
from tocsin.incidents.services import confirmation_token

Clients = Callable[[str], ApiClient]
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)

INCIDENT_FIELDS = {
    "id", "number", "title", "description", "status", "source", "impact", "urgency",
    "priority", "priority_override_reason", "category", "subcategory", "service",
    "affected_services", "assignee", "team", "support_level", "reporter", "reporter_name",
    "reporter_email", "reported_at", "detected_at", "impact_started_at", "acknowledged_at",
    "acknowledged_by", "mitigated_at",
    "resolved_at", "closed_at", "resolution_code", "resolution_notes", "duplicate_of",
    "allowed_actions", "sla", "chat_url", "video_url",
}  # fmt: skip


def test_create_returns_the_whole_incident(client_for: Clients) -> None:
    agent = client_for(Role.AGENT)
    network = category_create(name="Network", actor=Actor.system("test setup"))
    vpn = category_create(name="VPN", parent=network, actor=Actor.system("test setup"))
    mail, web = (
        service_create(name="Mail", actor=Actor.system("test setup")),
        service_create(name="Web", actor=Actor.system("test setup")),
    )
    team = agent.user.teams.create(name="Service desk")
    response = agent.post(
        "/api/v1/incidents",
        {
            "title": "VPN down in Lyon",
            "description": "Nobody can connect",
            "impact": 2,
            "urgency": 1,
            "source": "phone",
            "service": mail.pk,
            "affected_services": [web.pk, web.pk],
            "category": network.pk,
            "subcategory": vpn.pk,
            "assignee": agent.user.username,
            "team": team.pk,
            "support_level": 2,
            "detected_at": "2026-03-02T08:55:00+01:00",
            "reporter_name": "Jean Dupont",
            "reporter_email": "jean@example.com",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == INCIDENT_FIELDS
    assert body["number"] == f"INC-{body['id']}"
    assert body["priority"] == "P1"  # impact 2 x urgency 1
    assert body["status"] == "new"
    assert body["source"] == "phone"
    assert body["category"] == {"id": network.pk, "name": "Network"}
    assert body["subcategory"] == {"id": vpn.pk, "name": "VPN"}
    assert body["service"] == {"id": mail.pk, "name": "Mail"}
    assert body["affected_services"] == [{"id": web.pk, "name": "Web"}]
    assert body["team"] == {"id": team.pk, "name": "Service desk"}
    assert (body["assignee"], body["support_level"]) == (agent.user.username, 2)
    assert body["reporter"] is None
    assert (body["reporter_name"], body["reporter_email"]) == ("Jean Dupont", "jean@example.com")
    assert body["detected_at"].startswith("2026-03-02T07:55:00")
    assert body["acknowledged_at"] is None


def test_api_incidents_default_to_source_api_and_the_caller_as_reporter(
    client_for: Clients,
) -> None:
    reporter = client_for(Role.REPORTER)
    body = file_incident(reporter)
    assert (body["source"], body["reporter"]) == ("api", reporter.user.username)
    agent = client_for(Role.AGENT)
    staff_view = agent.get(f"/api/v1/incidents/{body['id']}").json()
    assert staff_view["priority"] == "P3"  # impact 3 x urgency 3 by default
    assert "priority" not in body  # the desk's own fields are not in a reporter's reply


def test_staff_file_for_a_named_reporter(client_for: Clients) -> None:
    agent, reporter = client_for(Role.AGENT), client_for(Role.REPORTER)
    body = file_incident(agent, reporter=reporter.user.username, source="phone")
    assert body["reporter"] == reporter.user.username
    assert reporter.get(f"/api/v1/incidents/{body['id']}").status_code == 200


def test_inc_42_and_42_are_the_same_incident(client_for: Clients) -> None:
    agent = client_for(Role.AGENT)
    number = file_incident(agent)["id"]
    for ref in (f"INC-{number}", str(number)):
        response = agent.get(f"/api/v1/incidents/{ref}")
        assert response.status_code == 200
        assert response.json()["id"] == number
    assert act(agent, f"INC-{number}", "acknowledge").json()["status"] == "acknowledged"
    assert act(agent, str(number), "start").json()["status"] == "in_progress"


def test_the_sla_block_counts_down_pauses_and_records_met_times(client_for: Clients) -> None:
    agent = client_for(Role.AGENT)
    with time_machine.travel(T0, tick=False):
        body = file_incident(agent, impact=1, urgency=1)  # P1: 15 min / 4 h
    number = body["id"]
    assert body["sla"]["response"]["due_at"] == "2026-03-02T09:15:00Z"
    assert body["sla"]["resolution"]["due_at"] == "2026-03-02T13:00:00Z"

    with time_machine.travel(T0 + dt.timedelta(minutes=5), tick=False):
        sla = agent.get(f"/api/v1/incidents/{number}").json()["sla"]
    assert sla["response"] == {
        "due_at": "2026-03-02T09:15:00Z",
        "met_at": None,
        "breached": False,
        "remaining_seconds": 600,
        "paused": False,
    }

    with time_machine.travel(T0 + dt.timedelta(minutes=20), tick=False):
        sla = agent.get(f"/api/v1/incidents/{number}").json()["sla"]
        assert sla["response"]["breached"] is True
        assert sla["response"]["remaining_seconds"] == -300
        act(agent, number, "acknowledge")
        act(agent, number, "start")
        sla = act(agent, number, "hold").json()["sla"]
    assert sla["response"]["met_at"] == "2026-03-02T09:20:00Z"
    assert sla["response"]["remaining_seconds"] is None
    assert sla["resolution"]["paused"] is True
    assert sla["resolution"]["remaining_seconds"] == 4 * 3600 - 20 * 60

    with time_machine.travel(T0 + dt.timedelta(hours=2), tick=False):
        sla = agent.get(f"/api/v1/incidents/{number}").json()["sla"]
    assert sla["resolution"]["paused"] is True
    assert sla["resolution"]["remaining_seconds"] == 4 * 3600 - 20 * 60  # the clock stood still

    with time_machine.travel(T0 + dt.timedelta(hours=2), tick=False):
        sla = act(agent, number, "resume").json()["sla"]
    assert sla["resolution"]["paused"] is False
    assert sla["resolution"]["due_at"] == "2026-03-02T14:40:00Z"


def test_the_queue_orders_by_priority_and_paginates(client_for: Clients) -> None:
    agent = client_for(Role.AGENT)
    low = file_incident(agent, impact=4, urgency=4)["id"]
    high = file_incident(agent, impact=1, urgency=1)["id"]
    mid = file_incident(agent, impact=2, urgency=2)["id"]

    everything = agent.get("/api/v1/incidents").json()
    assert everything["count"] == 3
    assert [item["id"] for item in everything["items"]] == [high, mid, low]

    first = agent.get("/api/v1/incidents", {"limit": 2}).json()
    second = agent.get("/api/v1/incidents", {"limit": 2, "offset": 2}).json()
    assert first["count"] == second["count"] == 3
    assert [item["id"] for item in first["items"]] == [high, mid]
    assert [item["id"] for item in second["items"]] == [low]
    beyond = agent.get("/api/v1/incidents", {"offset": 50}).json()
    assert beyond == {"items": [], "count": 3}


def test_the_default_page_is_50(client_for: Clients) -> None:
    agent = client_for(Role.AGENT)
    for _ in range(51):
        file_incident(agent)
    response = agent.get("/api/v1/incidents").json()
    assert (len(response["items"]), response["count"]) == (50, 51)
    assert len(agent.get("/api/v1/incidents", {"limit": 500}).json()["items"]) == 51


def test_filters(client_for: Clients) -> None:
    agent, reporter = client_for(Role.AGENT), client_for(Role.REPORTER)
    network = category_create(name="Network", actor=Actor.system("test setup"))
    vpn = category_create(name="VPN", parent=network, actor=Actor.system("test setup"))
    mail = service_create(name="Mail", actor=Actor.system("test setup"))
    team = agent.user.teams.create(name="Desk")
    a = file_incident(
        agent, title="Mail queue stuck", impact=1, urgency=1, service=mail.pk,
        assignee=agent.user.username, team=team.pk, source="email",
    )["id"]  # fmt: skip
    b = file_incident(reporter, title="VPN flaps", category=network.pk, subcategory=vpn.pk)["id"]
    c = file_incident(agent, title="Printer jam", impact=4, urgency=4)["id"]
    act(agent, c, "resolve", **RESOLUTION)

    def ids(**params: object) -> set[int]:
        response = agent.get("/api/v1/incidents", params)
        assert response.status_code == 200, (params, response.content)
        return {item["id"] for item in response.json()["items"]}

    assert ids() == {a, b}  # open ones by default
    assert ids(status="open") == {a, b}
    assert ids(status="all") == {a, b, c}
    assert ids(status="resolved") == {c}
    assert ids(status="new,resolved") == {a, b, c}
    assert agent.get("/api/v1/incidents?status=new&status=resolved").json()["count"] == 3
    assert ids(priority="P1") == {a}
    assert ids(priority="1") == {a}
    assert ids(priority="P1,P3") == {a, b}
    assert ids(team=team.pk) == {a}
    assert ids(assignee=agent.user.username) == {a}
    assert ids(assignee="none") == {b}
    assert ids(service=mail.pk) == {a}
    assert ids(category=network.pk) == {b}
    assert ids(category=vpn.pk) == {b}
    assert ids(source="email") == {a}
    assert ids(reporter=reporter.user.username) == {b}
    assert ids(q="vpn") == {b}
    assert ids(q=f"INC-{a}") == {a}
    assert ids(q="printer", status="all") == {c}


def test_triage_patch_changes_fields_and_writes_the_timeline(client_for: Clients) -> None:
    agent, responder = client_for(Role.AGENT), client_for(Role.RESPONDER)
    network = category_create(name="Network", actor=Actor.system("test setup"))
    vpn = category_create(name="VPN", parent=network, actor=Actor.system("test setup"))
    mail = service_create(name="Mail", actor=Actor.system("test setup"))
    number = file_incident(agent)["id"]
    path = f"/api/v1/incidents/{number}"

    response = agent.patch(
        path,
        {
            "title": "VPN down",
            "category": network.pk,
            "subcategory": vpn.pk,
            "service": mail.pk,
            "affected_services": [mail.pk],
            "impact": 2,
            "urgency": 2,
            "assignee": responder.user.username,
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["title"], body["priority"]) == ("VPN down", "P2")
    assert body["assignee"] == responder.user.username
    assert body["subcategory"]["name"] == "VPN"
    kinds = [e["kind"] for e in agent.get(f"{path}/timeline").json()["items"]]
    assert "field" in kinds and "assignment" in kinds  # the priority change is in the field entry

    cleared = agent.patch(path, {"assignee": None, "service": None, "priority": "P1",
                                 "priority_reason": "CEO affected"}).json()  # fmt: skip
    assert (cleared["assignee"], cleared["service"], cleared["priority"]) == (None, None, "P1")
    back = agent.patch(path, {"priority": None}).json()
    assert (back["priority"], back["priority_override_reason"]) == ("P2", "")


def test_a_failed_patch_changes_nothing(client_for: Clients) -> None:
    agent, reporter = client_for(Role.AGENT), client_for(Role.REPORTER)
    number = file_incident(agent)["id"]
    path = f"/api/v1/incidents/{number}"
    before = Incident.objects.get(number=number).timeline.count()
    # the triage part is valid, the assignment is not (a reporter cannot be assigned)
    response = agent.patch(path, {"impact": 1, "assignee": reporter.user.username})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "assignee"]
    after = agent.get(path).json()
    assert (after["impact"], after["assignee"]) == (3, None)
    assert Incident.objects.get(number=number).timeline.count() == before


def test_patch_rejects_a_subcategory_of_another_category(client_for: Clients) -> None:
    agent = client_for(Role.AGENT)
    network, app = (
        category_create(name="Network", actor=Actor.system("test setup")),
        category_create(name="Application", actor=Actor.system("test setup")),
    )
    login = category_create(name="Login", parent=app, actor=Actor.system("test setup"))
    number = file_incident(agent)["id"]
    response = agent.patch(
        f"/api/v1/incidents/{number}", {"category": network.pk, "subcategory": login.pk}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "subcategory"]
    Category.objects.filter(pk=login.pk).update(is_active=False)
    response = agent.patch(
        f"/api/v1/incidents/{number}", {"category": app.pk, "subcategory": login.pk}
    )
    assert response.status_code == 422


def test_resolve_needs_a_resolution_and_close_is_final(client_for: Clients) -> None:
    agent = client_for(Role.AGENT)
    number = file_incident(agent)["id"]
    missing = act(agent, number, "resolve", resolution_notes="done")
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["body", "resolution_code"]
    empty_notes = act(agent, number, "resolve", resolution_code="fixed")
    assert empty_notes.json()["detail"][0]["loc"] == ["body", "resolution_notes"]
    resolved = act(agent, number, "resolve", **RESOLUTION).json()
    assert (resolved["resolution_code"], resolved["status"]) == ("fixed", "resolved")
    assert resolved["resolved_at"] is not None
    closed = act(agent, number, "close").json()
    assert closed["status"] == "closed"
    assert closed["allowed_actions"] == []
    again = act(agent, number, "reopen")
    assert again.status_code == 409
    assert "final" in again.json()["detail"]


def test_action_bodies_are_optional_but_checked(client_for: Clients) -> None:
    agent = client_for(Role.AGENT)
    number = file_incident(agent)["id"]
    bare = agent.client.post(  # like `curl -X POST` with no body at all
        f"/api/v1/incidents/{number}/acknowledge",
        "",
        content_type="application/json",
        headers=agent._headers(None),
    )
    assert bare.status_code == 200, bare.content
    wrong = act(agent, number, "start", resolution_code="fixed")
    assert wrong.status_code == 422
    assert wrong.json()["detail"][0]["loc"][-1] == "resolution_code"


def test_escalate(client_for: Clients) -> None:
    agent = client_for(Role.AGENT)
    level3 = agent.user.teams.create(name="Level 3")
    number = file_incident(agent)["id"]
    path = f"/api/v1/incidents/{number}/escalate"
    no_note = agent.post(path, {"support_level": 2})
    assert no_note.status_code == 422
    assert no_note.json()["detail"][0]["loc"] == ["body", "note"]
    body = agent.post(path, {"support_level": 3, "team": level3.pk, "note": "DB expert"}).json()
    assert (body["support_level"], body["team"]["name"]) == (3, "Level 3")
    lower = agent.post(path, {"support_level": 1, "note": "back"})
    assert lower.status_code == 422
    assert agent.post(path, {"team": 999999, "note": "x"}).json()["detail"][0]["loc"] == [
        "body",
        "team",
    ]


def test_merge_links_both_and_refuses_the_impossible(client_for: Clients) -> None:
    agent, owner, other = (
        client_for(Role.AGENT), client_for(Role.REPORTER), client_for(Role.REPORTER)
    )  # fmt: skip
    original = file_incident(owner)["number"]
    duplicate = file_incident(other)["id"]
    itself = agent.post(f"/api/v1/incidents/{duplicate}/merge", {"into": duplicate})
    assert itself.status_code == 422
    nowhere = agent.post(f"/api/v1/incidents/{duplicate}/merge", {"into": "INC-999999"})
    assert nowhere.status_code == 422
    assert nowhere.json()["detail"][0]["loc"] == ["body", "into"]

    merged = agent.post(f"/api/v1/incidents/{duplicate}/merge", {"into": original, "note": "same"})
    assert merged.status_code == 200
    assert merged.json()["duplicate_of"] == original
    entries = agent.get(f"/api/v1/incidents/{original}/timeline").json()["items"]
    assert entries[-1]["kind"] == "merge"
    twice = agent.post(f"/api/v1/incidents/{duplicate}/merge", {"into": original})
    assert twice.status_code == 409


def test_confirm_with_the_signed_link_token(client_for: Clients) -> None:
    agent, owner = client_for(Role.AGENT), client_for(Role.REPORTER)
    number = resolved_incident(owner, agent)["id"]
    incident = Incident.objects.get(number=number)
    bad = agent.post(f"/api/v1/incidents/{number}/confirm", {"accept": True, "token": "forged"})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "token"]
    good = agent.post(
        f"/api/v1/incidents/{number}/confirm",
        {"accept": True, "token": confirmation_token(incident)},
    )
    assert good.status_code == 200, good.content
    assert good.json()["status"] == "closed"


def test_confirm_needs_a_resolved_incident_and_a_reason_to_reopen(client_for: Clients) -> None:
    agent, owner = client_for(Role.AGENT), client_for(Role.REPORTER)
    open_number = file_incident(owner)["id"]
    early = owner.post(f"/api/v1/incidents/{open_number}/confirm", {"accept": True})
    assert early.status_code == 409
    number = resolved_incident(owner, agent)["id"]
    no_reason = owner.post(f"/api/v1/incidents/{number}/confirm", {"accept": False})
    assert no_reason.status_code == 422
    assert no_reason.json()["detail"][0]["loc"] == ["body", "note"]
    missing_accept = owner.post(f"/api/v1/incidents/{number}/confirm", {"note": "hm"})
    assert missing_accept.status_code == 422


def test_reporters_see_only_public_timeline_entries(client_for: Clients) -> None:
    agent, owner = client_for(Role.AGENT), client_for(Role.REPORTER)
    number = file_incident(owner)["id"]
    path = f"/api/v1/incidents/{number}/timeline"
    agent.post(path, {"text": "Internal: suspect the firewall"})
    agent.post(path, {"text": "We are on it", "visibility": "public"})
    act(agent, number, "acknowledge", note="ack note")
    owner.post(path, {"text": "Thanks"})

    seen = owner.get(path).json()
    texts = [entry["text"] for entry in seen["items"]]
    assert "We are on it" in texts and "Thanks" in texts
    assert "Internal: suspect the firewall" not in texts and "ack note" not in texts
    assert all(entry["visibility"] == "public" for entry in seen["items"])
    assert seen["count"] == len(seen["items"]) == 3  # created, public note, comment
    staff_view = agent.get(path).json()
    assert staff_view["count"] == 6  # + the assignment acknowledging made
    first = staff_view["items"][0]
    assert first["kind"] == "created"
    assert first["actor"] == {
        "kind": "token", "username": owner.user.username, "label": first["actor"]["label"],
    }  # fmt: skip
    assert owner.user.username in first["actor"]["label"]


def test_notes_are_checked(client_for: Clients) -> None:
    agent = client_for(Role.AGENT)
    number = file_incident(agent)["id"]
    path = f"/api/v1/incidents/{number}/timeline"
    for body, field in [
        ({}, "text"),
        ({"text": "  "}, "text"),
        ({"text": "x", "visibility": "secret"}, "visibility"),
        ({"text": "a\u0000"}, "text"),
    ]:
        response = agent.post(path, body)
        assert response.status_code == 422, body
        assert response.json()["detail"][0]["loc"][-1] == field


@pytest.mark.parametrize("role", [Role.REPORTER, Role.AGENT, Role.MANAGER])
def test_only_admins_redact(client_for: Clients, role: str) -> None:
    me, admin = client_for(role), client_for(Role.ADMIN)
    number = file_incident(me)["id"]
    entry = me.post(f"/api/v1/incidents/{number}/timeline", {"text": "my password is hunter2"})
    entry_id = entry.json()["id"]
    path = f"/api/v1/incidents/{number}/timeline/{entry_id}/redact"
    assert me.post(path).status_code == 403
    redacted = admin.post(path)
    assert redacted.status_code == 200
    assert redacted.json()["text"] == ""
    assert redacted.json()["redacted_by"] == admin.user.username
    assert admin.post(path).status_code == 409
    texts = [e["text"] for e in me.get(f"/api/v1/incidents/{number}/timeline").json()["items"]]
    assert "my password is hunter2" not in texts


def test_reporters_cannot_redact_or_reach_internal_entries(client_for: Clients) -> None:
    agent, owner = client_for(Role.AGENT), client_for(Role.REPORTER)
    number = file_incident(owner)["id"]
    internal = agent.post(f"/api/v1/incidents/{number}/timeline", {"text": "internal"}).json()
    path = f"/api/v1/incidents/{number}/timeline/{internal['id']}/redact"
    assert owner.post(path).status_code == 404
