"""Every cell of the role table (issue 2, point 8), through the REST API.

Allowed answers 2xx; not allowed answers 403, or 404 where the incident must stay
invisible to the person asking.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.api.conftest import RESOLUTION, ROLES, STAFF, act, file_incident, resolved_incident
from tests.conftest import ApiClient
from tocsin.accounts.models import Role

Clients = Callable[[str], ApiClient]


# --- file an incident; see and comment on own incidents; confirm or reopen own: everyone ---


@pytest.mark.parametrize("role", ROLES)
def test_everyone_files_sees_and_comments_on_their_own(client_for: Clients, role: str) -> None:
    me = client_for(role)
    incident = file_incident(me)
    assert incident["reporter"] == me.user.username

    seen = me.get(f"/api/v1/incidents/{incident['number']}")
    assert seen.status_code == 200
    assert seen.json()["title"] == "VPN drops every hour"
    listed = me.get("/api/v1/incidents").json()
    assert incident["id"] in [item["id"] for item in listed["items"]]

    comment = me.post(f"/api/v1/incidents/{incident['id']}/timeline", {"text": "Still broken"})
    assert comment.status_code == 201, comment.content
    assert comment.json()["text"] == "Still broken"


@pytest.mark.parametrize("role", ROLES)
def test_everyone_confirms_their_own_resolution(client_for: Clients, role: str) -> None:
    me, worker = client_for(role), client_for(Role.AGENT)
    incident = resolved_incident(me, worker)
    assert "confirm" in me.get(f"/api/v1/incidents/{incident['id']}").json()["allowed_actions"]

    response = me.post(f"/api/v1/incidents/{incident['id']}/confirm", {"accept": True})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "closed"
    assert response.json()["closed_at"] is not None


@pytest.mark.parametrize("role", ROLES)
def test_everyone_reopens_their_own_resolution(client_for: Clients, role: str) -> None:
    me, worker = client_for(role), client_for(Role.AGENT)
    incident = resolved_incident(me, worker)

    response = me.post(
        f"/api/v1/incidents/{incident['id']}/confirm", {"accept": False, "note": "Drops again"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "in_progress"


@pytest.mark.parametrize("role", ROLES)
def test_everyone_may_reopen_own_with_the_reopen_action(client_for: Clients, role: str) -> None:
    me, worker = client_for(role), client_for(Role.AGENT)
    incident = resolved_incident(me, worker)
    response = act(me, incident["id"], "reopen", note="Not fixed")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "in_progress"


def test_a_reporter_cannot_confirm_someone_elses_incident(client_for: Clients) -> None:
    owner, other, worker = (
        client_for(Role.REPORTER),
        client_for(Role.REPORTER),
        client_for(Role.AGENT),
    )
    incident = resolved_incident(owner, worker)
    response = other.post(f"/api/v1/incidents/{incident['id']}/confirm", {"accept": True})
    assert response.status_code == 404
    assert act(other, incident["id"], "reopen").status_code == 404
    assert owner.get(f"/api/v1/incidents/{incident['id']}").json()["status"] == "resolved"


def test_staff_cannot_confirm_for_the_reporter(client_for: Clients) -> None:
    owner, agent = client_for(Role.REPORTER), client_for(Role.AGENT)
    incident = resolved_incident(owner, agent)
    response = agent.post(f"/api/v1/incidents/{incident['id']}/confirm", {"accept": True})
    assert response.status_code == 403
    assert "confirm" in response.json()["detail"]


# --- see all incidents, add internal notes: staff only -------------------------------------


def test_a_reporter_does_not_see_other_peoples_incidents(client_for: Clients) -> None:
    owner, other = client_for(Role.REPORTER), client_for(Role.REPORTER)
    incident = file_incident(owner)

    assert other.get(f"/api/v1/incidents/{incident['id']}").status_code == 404
    assert other.get(f"/api/v1/incidents/{incident['number']}/timeline").status_code == 404
    note = other.post(f"/api/v1/incidents/{incident['id']}/timeline", {"text": "me too"})
    assert note.status_code == 404
    assert other.get("/api/v1/incidents", {"status": "all"}).json()["count"] == 0


def test_a_reporter_cannot_add_internal_notes(client_for: Clients) -> None:
    owner = client_for(Role.REPORTER)
    incident = file_incident(owner)
    response = owner.post(
        f"/api/v1/incidents/{incident['id']}/timeline", {"text": "psst", "visibility": "internal"}
    )
    assert response.status_code == 403
    assert owner.get(f"/api/v1/incidents/{incident['id']}/timeline").json()["count"] == 1


@pytest.mark.parametrize("role", STAFF)
def test_staff_see_every_incident_and_add_internal_notes(client_for: Clients, role: str) -> None:
    owner, me = client_for(Role.REPORTER), client_for(role)
    incident = file_incident(owner)

    assert me.get(f"/api/v1/incidents/{incident['id']}").status_code == 200
    listed = me.get("/api/v1/incidents").json()["items"]
    assert incident["id"] in [item["id"] for item in listed]

    note = me.post(f"/api/v1/incidents/{incident['id']}/timeline", {"text": "Looks like DHCP"})
    assert note.status_code == 201
    assert note.json()["visibility"] == "internal"
    seen_by_reporter = owner.get(f"/api/v1/incidents/{incident['id']}/timeline").json()["items"]
    assert "Looks like DHCP" not in [entry["text"] for entry in seen_by_reporter]
    seen_by_staff = me.get(f"/api/v1/incidents/{incident['id']}/timeline").json()["items"]
    assert "Looks like DHCP" in [entry["text"] for entry in seen_by_staff]


# --- triage, assign, escalate: staff only ---------------------------------------------------


def test_a_reporter_cannot_triage_assign_or_escalate_own(client_for: Clients) -> None:
    owner, agent = client_for(Role.REPORTER), client_for(Role.AGENT)
    incident = file_incident(owner)
    path = f"/api/v1/incidents/{incident['id']}"

    assert owner.patch(path, {"impact": 1}).status_code == 403
    assert owner.patch(path, {"priority": "P1", "priority_reason": "urgent"}).status_code == 403
    assert owner.patch(path, {"assignee": agent.user.username}).status_code == 403
    escalate = owner.post(f"{path}/escalate", {"support_level": 2, "note": "please"})
    assert escalate.status_code == 403
    after = agent.get(path).json()
    assert (after["impact"], after["assignee"], after["support_level"]) == (3, None, 1)


def test_a_reporter_cannot_triage_while_filing(client_for: Clients) -> None:
    owner, agent = client_for(Role.REPORTER), client_for(Role.AGENT)
    for extra in (
        {"assignee": agent.user.username},
        {"priority": "P1", "priority_reason": "now"},
        {"support_level": 2},
        {"reporter": agent.user.username},
        {"reporter_name": "Someone Else"},
    ):
        response = owner.post("/api/v1/incidents", {"title": "Printer", **extra})
        assert response.status_code == 403, extra
    assert owner.get("/api/v1/incidents", {"status": "all"}).json()["count"] == 0


@pytest.mark.parametrize("role", STAFF)
def test_staff_triage_assign_and_escalate(client_for: Clients, role: str) -> None:
    owner, me = client_for(Role.REPORTER), client_for(role)
    incident = file_incident(owner)
    path = f"/api/v1/incidents/{incident['id']}"
    team = me.user.teams.create(name=f"Network {role}")
    team.members.add(me.user)

    triaged = me.patch(path, {"impact": 1, "urgency": 1})
    assert triaged.status_code == 200, triaged.content
    assert triaged.json()["priority"] == "P1"

    overridden = me.patch(path, {"priority": 2, "priority_reason": "only one site"})
    assert overridden.status_code == 200
    assert overridden.json()["priority"] == "P2"
    assert overridden.json()["priority_override_reason"] == "only one site"

    assigned = me.patch(path, {"assignee": me.user.username, "team": team.pk})
    assert assigned.status_code == 200, assigned.content
    assert assigned.json()["assignee"] == me.user.username
    assert assigned.json()["team"] == {"id": team.pk, "name": team.name}

    escalated = me.post(f"{path}/escalate", {"support_level": 2, "note": "Needs level 2"})
    assert escalated.status_code == 200, escalated.content
    assert escalated.json()["support_level"] == 2


# --- acknowledge, start, hold, resume, resolve: staff only ----------------------------------

WORK = [
    ("acknowledge", "new", "acknowledged"),
    ("unacknowledge", "acknowledged", "new"),
    ("start", "new", "in_progress"),
    ("hold", "in_progress", "on_hold"),
    ("resume", "on_hold", "in_progress"),
    ("resolve", "in_progress", "resolved"),
]
PATH_TO = {
    "new": [],
    "acknowledged": ["acknowledge"],
    "in_progress": ["start"],
    "on_hold": ["start", "hold"],
}


def _bring_to(worker: ApiClient, number: int, status: str) -> None:
    for step in PATH_TO[status]:
        assert act(worker, number, step).status_code == 200


@pytest.mark.parametrize(("action", "start", "end"), WORK)
@pytest.mark.parametrize("role", STAFF)
def test_staff_do_the_work(
    client_for: Clients, role: str, action: str, start: str, end: str
) -> None:
    owner, me = client_for(Role.REPORTER), client_for(role)
    number = file_incident(owner)["id"]
    _bring_to(me, number, start)
    body = RESOLUTION if action == "resolve" else {"note": f"{action} by {role}"}
    response = act(me, number, action, **body)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == end


@pytest.mark.parametrize(("action", "start", "end"), WORK)
def test_a_reporter_cannot_do_the_work_on_own(
    client_for: Clients, action: str, start: str, end: str
) -> None:
    owner, agent = client_for(Role.REPORTER), client_for(Role.AGENT)
    number = file_incident(owner)["id"]
    _bring_to(agent, number, start)
    body = RESOLUTION if action == "resolve" else {}
    response = act(owner, number, action, **body)
    assert response.status_code == 403
    assert owner.get(f"/api/v1/incidents/{number}").json()["status"] == start


# --- close, merge: agent, manager, admin --------------------------------------------------


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.REPORTER, False),
        (Role.AGENT, True),
        (Role.RESPONDER, False),
        (Role.MANAGER, True),
        (Role.ADMIN, True),
    ],
)
def test_close(client_for: Clients, role: str, allowed: bool) -> None:
    me, worker = client_for(role), client_for(Role.AGENT)
    incident = resolved_incident(me, worker)  # filed by `me`: even their own
    response = act(me, incident["id"], "close", note="done")
    assert response.status_code == (200 if allowed else 403), response.content
    status = worker.get(f"/api/v1/incidents/{incident['id']}").json()["status"]
    assert status == ("closed" if allowed else "resolved")


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.REPORTER, False),
        (Role.AGENT, True),
        (Role.RESPONDER, False),
        (Role.MANAGER, True),
        (Role.ADMIN, True),
    ],
)
def test_merge(client_for: Clients, role: str, allowed: bool) -> None:
    me = client_for(role)
    original, duplicate = file_incident(me), file_incident(me)  # both their own
    response = me.post(
        f"/api/v1/incidents/{duplicate['id']}/merge",
        {"into": original["number"], "note": "same outage"},
    )
    assert response.status_code == (200 if allowed else 403), response.content
    after = me.get(f"/api/v1/incidents/{duplicate['id']}").json()
    if allowed:
        assert after["duplicate_of"] == original["number"]
        assert after["status"] == "resolved"
        assert after["resolution_code"] == "duplicate"
    else:
        assert after["duplicate_of"] is None
        assert after["status"] == "new"


@pytest.mark.parametrize(
    ("role", "actions"),
    [
        (Role.REPORTER, {"reopen", "confirm"}),
        (Role.AGENT, {"close", "reopen"}),
        (Role.RESPONDER, {"reopen"}),
        (Role.MANAGER, {"close", "reopen"}),
    ],
)
def test_allowed_actions_follow_the_role(client_for: Clients, role: str, actions: set[str]) -> None:
    owner, agent = client_for(Role.REPORTER), client_for(Role.AGENT)
    number = resolved_incident(owner, agent)["id"]
    viewer = owner if role == Role.REPORTER else client_for(role)
    assert set(viewer.get(f"/api/v1/incidents/{number}").json()["allowed_actions"]) == actions


# --- manage people, teams, taxonomy: admin only ---------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_only_admins_manage_people_teams_taxonomy_and_services(
    client_for: Clients, role: str
) -> None:
    me, someone = client_for(role), client_for(Role.AGENT)
    ok = role == Role.ADMIN
    replies = {
        "create person": me.post(
            "/api/v1/users", {"username": f"new-{role}", "email": "new@example.com"}
        ),
        "change role": me.patch(f"/api/v1/users/{someone.user.username}", {"role": "manager"}),
        "deactivate": me.patch(f"/api/v1/users/{someone.user.username}", {"active": False}),
        "create team": me.post(
            "/api/v1/teams", {"name": f"Team {role}", "members": [someone.user.username]}
        ),
        "create category": me.post("/api/v1/categories", {"name": f"Network {role}"}),
        "create service": me.post("/api/v1/services", {"name": f"Mail {role}"}),
    }
    for what, response in replies.items():
        assert response.status_code in ((200, 201) if ok else (403,)), (what, response.content)
    if ok:
        team_id = replies["create team"].json()["id"]
        service_id = replies["create service"].json()["id"]
        category_id = replies["create category"].json()["id"]
    else:
        admin = client_for(Role.ADMIN)
        team_id = admin.post("/api/v1/teams", {"name": f"T {role}"}).json()["id"]
        service_id = admin.post("/api/v1/services", {"name": f"S {role}"}).json()["id"]
        category_id = admin.post("/api/v1/categories", {"name": f"C {role}"}).json()["id"]
    later = {
        "rename team": me.patch(f"/api/v1/teams/{team_id}", {"name": f"Renamed {role}"}),
        "change service": me.patch(f"/api/v1/services/{service_id}", {"description": "x"}),
        "subcategory": me.post("/api/v1/categories", {"name": "VPN", "parent": category_id}),
    }
    for what, response in later.items():
        assert response.status_code in ((200, 201) if ok else (403,)), (what, response.content)
    someone.user.refresh_from_db()
    assert someone.user.role == (Role.MANAGER if ok else Role.AGENT)
    assert someone.user.is_active is not ok
