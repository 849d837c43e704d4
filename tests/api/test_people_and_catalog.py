"""People, teams, services and categories through the REST API."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.api.conftest import STAFF
from tests.conftest import ApiClient
from tocsin.accounts.models import Role, User

Clients = Callable[[str], ApiClient]


def test_an_admin_creates_a_person(client_for: Clients) -> None:
    admin = client_for(Role.ADMIN)
    response = admin.post(
        "/api/v1/users",
        {
            "username": "kenji",
            "email": "kenji@example.com",
            "name": "Kenji Sato",
            "role": "responder",
            "time_zone": "Asia/Tokyo",
        },
    )
    assert response.status_code == 201, response.content
    assert response.json() == {
        "username": "kenji",
        "name": "Kenji Sato",
        "email": "kenji@example.com",
        "role": "responder",
        "time_zone": "Asia/Tokyo",
        "active": True,
    }
    assert admin.get("/api/v1/users/kenji").json()["name"] == "Kenji Sato"
    duplicate = admin.post("/api/v1/users", {"username": "KENJI", "email": "k@example.com"})
    assert duplicate.status_code == 409


def test_bad_people_are_422_naming_the_field(client_for: Clients) -> None:
    admin = client_for(Role.ADMIN)
    for body, field in [
        ({"username": "has space", "email": "a@example.com"}, "username"),
        ({"username": "a/b", "email": "a@example.com"}, "username"),
        ({"username": "ok", "email": "not-an-address"}, "email"),
        ({"username": "ok", "email": "a@example.com", "role": "king"}, "role"),
        ({"username": "ok", "email": "a@example.com", "time_zone": "Mars/Olympus"}, "time_zone"),
        ({"username": "ok"}, "email"),
    ]:
        response = admin.post("/api/v1/users", body)
        assert response.status_code == 422, (body, response.content)
        assert response.json()["detail"][0]["loc"][-1] == field
    assert not User.objects.filter(username="ok").exists()


def test_me_for_every_role(client_for: Clients) -> None:
    for role in (Role.REPORTER, Role.AGENT, Role.ADMIN):
        me = client_for(role)
        body = me.get("/api/v1/users/me").json()
        assert (body["username"], body["role"]) == (me.user.username, role)


def test_a_person_changes_their_own_name_and_zone_only(client_for: Clients) -> None:
    me, other = client_for(Role.REPORTER), client_for(Role.REPORTER)
    path = f"/api/v1/users/{me.user.username}"
    changed = me.patch(path, {"name": "Rita R.", "time_zone": "Europe/Paris"})
    assert changed.status_code == 200
    assert (changed.json()["name"], changed.json()["time_zone"]) == ("Rita R.", "Europe/Paris")
    assert me.patch(path, {"role": "admin"}).status_code == 403
    assert me.patch(path, {"active": False}).status_code == 403
    assert me.patch(f"/api/v1/users/{other.user.username}", {"name": "x"}).status_code == 403
    assert me.patch(path, {"time_zone": "Nowhere/Land"}).status_code == 422
    me.user.refresh_from_db()
    assert (me.user.role, me.user.is_active) == (Role.REPORTER, True)


def test_reporters_read_only_themselves(client_for: Clients) -> None:
    me, other = client_for(Role.REPORTER), client_for(Role.AGENT)
    assert me.get(f"/api/v1/users/{me.user.username}").status_code == 200
    assert me.get(f"/api/v1/users/{other.user.username}").status_code == 403
    assert me.get("/api/v1/users").status_code == 403
    assert me.get("/api/v1/teams").status_code == 403


@pytest.mark.parametrize("role", STAFF)
def test_staff_list_people_teams_and_services(client_for: Clients, role: str) -> None:
    me, admin = client_for(role), client_for(Role.ADMIN)
    team = admin.post("/api/v1/teams", {"name": "Network", "members": [me.user.username],
                                       "manager": admin.user.username}).json()  # fmt: skip
    admin.post("/api/v1/services", {"name": "VPN", "team": team["id"]})
    people = me.get("/api/v1/users").json()
    assert people["count"] == 2
    assert {p["username"] for p in people["items"]} == {me.user.username, admin.user.username}
    admins = me.get("/api/v1/users", {"role": "admin"}).json()["count"]
    assert admins == (2 if role == Role.ADMIN else 1)
    teams = me.get("/api/v1/teams").json()
    assert teams["items"] == [
        {"id": team["id"], "name": "Network", "description": "",
         "manager": admin.user.username, "members": [me.user.username]},
    ]  # fmt: skip
    assert me.get(f"/api/v1/teams/{team['id']}").json()["name"] == "Network"
    services = me.get("/api/v1/services").json()
    assert services["items"][0]["team"] == {"id": team["id"], "name": "Network"}


def test_teams_are_checked_and_patched(client_for: Clients) -> None:
    admin, agent = client_for(Role.ADMIN), client_for(Role.AGENT)
    unknown = admin.post("/api/v1/teams", {"name": "Ghosts", "members": ["casper"]})
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"] == ["body", "members"]
    team = admin.post("/api/v1/teams", {"name": "Desk", "manager": admin.user.username}).json()
    assert admin.post("/api/v1/teams", {"name": "desk"}).status_code == 409
    patched = admin.patch(
        f"/api/v1/teams/{team['id']}", {"members": [agent.user.username], "manager": None}
    ).json()
    assert (patched["members"], patched["manager"]) == ([agent.user.username], None)
    assert admin.patch(f"/api/v1/teams/{team['id']}", {"name": ""}).status_code == 422


def test_services_are_created_and_patched(client_for: Clients) -> None:
    admin, reporter = client_for(Role.ADMIN), client_for(Role.REPORTER)
    team = admin.post("/api/v1/teams", {"name": "Mail team"}).json()
    created = admin.post(
        "/api/v1/services", {"name": "Mail", "description": "Exchange", "team": team["id"]}
    )
    assert created.status_code == 201
    service = created.json()
    assert service["team"] == {"id": team["id"], "name": "Mail team"}
    bad_team = admin.post("/api/v1/services", {"name": "Other", "team": 424242})
    assert bad_team.json()["detail"][0]["loc"] == ["body", "team"]
    patched = admin.patch(
        f"/api/v1/services/{service['id']}", {"team": None, "active": False}
    ).json()
    assert (patched["team"], patched["active"]) == (None, False)
    # reporters may read services, to name the one that is broken
    assert reporter.get("/api/v1/services").json()["count"] == 1
    assert reporter.get(f"/api/v1/services/{service['id']}").status_code == 200


def test_categories_form_a_two_level_tree(client_for: Clients) -> None:
    admin, reporter = client_for(Role.ADMIN), client_for(Role.REPORTER)
    network = admin.post("/api/v1/categories", {"name": "Network"}).json()
    vpn = admin.post("/api/v1/categories", {"name": "VPN", "parent": network["id"]}).json()
    admin.post("/api/v1/categories", {"name": "Application"})
    too_deep = admin.post("/api/v1/categories", {"name": "IPsec", "parent": vpn["id"]})
    assert too_deep.status_code == 422
    assert too_deep.json()["detail"][0]["loc"] == ["body", "parent"]
    assert admin.post("/api/v1/categories", {"name": "Network"}).status_code == 409
    tree = reporter.get("/api/v1/categories").json()
    assert tree == {
        "items": [
            {"id": tree["items"][0]["id"], "name": "Application", "children": []},
            {"id": network["id"], "name": "Network", "children": [vpn]},
        ],
        "count": 2,
    }
