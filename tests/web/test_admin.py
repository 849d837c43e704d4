"""Configuration in Django admin: only administrators manage people, teams, taxonomy,
the priority matrix and SLA targets."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client

from tests.web.helpers import text_of
from tocsin.accounts.models import Role, Team, User
from tocsin.accounts.services import team_create, token_create
from tocsin.alerts.services import maintenance_window_create
from tocsin.catalog.models import Category, Service
from tocsin.catalog.services import category_create, service_create
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.core.models import AuditEntry
from tocsin.incidents.models import BusinessCalendar, PriorityMatrixCell, SlaTarget
from tocsin.incidents.priority import priority_for

pytestmark = pytest.mark.django_db

ADMIN_PAGES = [
    "/admin/accounts/user/",
    "/admin/accounts/team/",
    "/admin/catalog/category/",
    "/admin/catalog/service/",
    "/admin/incidents/prioritymatrixcell/",
    "/admin/incidents/slatarget/",
    "/admin/incidents/businesscalendar/",
]


@pytest.mark.parametrize("role", [Role.REPORTER, Role.AGENT, Role.RESPONDER, Role.MANAGER])
@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_non_admins_cannot_reach_configuration(make_user, role, path) -> None:
    client = Client()
    client.force_login(make_user(role))
    response = client.get(path)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admins_see_every_configuration_page(admin, path) -> None:
    client = Client()
    client.force_login(admin)
    assert client.get(path).status_code == 200


def test_admin_edits_an_sla_target(admin) -> None:
    client = Client()
    client.force_login(admin)
    target = SlaTarget.objects.get(priority=1)
    response = client.post(
        f"/admin/incidents/slatarget/{target.pk}/change/",
        {"priority": 1, "response_minutes": 10, "resolution_minutes": 120, "calendar": ""},
    )
    assert response.status_code == 302, response.content.decode()[:500]
    target.refresh_from_db()
    assert (target.response_minutes, target.resolution_minutes) == (10, 120)


def test_admin_edits_the_priority_matrix(admin) -> None:
    client = Client()
    client.force_login(admin)
    cells = list(PriorityMatrixCell.objects.order_by("urgency", "impact"))
    data = {
        "form-TOTAL_FORMS": len(cells),
        "form-INITIAL_FORMS": len(cells),
        "form-MIN_NUM_FORMS": 0,
        "form-MAX_NUM_FORMS": 1000,
        "_save": "Save",
    }
    for n, cell in enumerate(cells):
        data[f"form-{n}-id"] = cell.pk
        wanted = 4 if (cell.impact, cell.urgency) == (4, 1) else cell.priority
        data[f"form-{n}-priority"] = wanted
    assert priority_for(4, 1) == 3
    response = client.post("/admin/incidents/prioritymatrixcell/", data)
    assert response.status_code == 302, response.content.decode()[:800]
    assert priority_for(4, 1) == 4


def test_admin_cannot_delete_people(admin, reporter) -> None:
    client = Client()
    client.force_login(admin)
    assert client.get(f"/admin/accounts/user/{reporter.pk}/delete/").status_code == 403


# --- admin is not a second write path (issue 7, point 7) ---------------------------------


def _person_form(user: User, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "username": user.username,
        "name": user.name,
        "email": user.email,
        "time_zone": user.time_zone,
        "role": user.role,
        "is_active": "on" if user.is_active else "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


def _signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_admin_cannot_demote_the_last_administrator(admin) -> None:
    response = _signed_in(admin).post(
        f"/admin/accounts/user/{admin.pk}/change/", _person_form(admin, role=Role.MANAGER)
    )
    assert response.status_code == 200
    assert "last active administrator" in text_of(response)
    admin.refresh_from_db()
    assert (admin.role, admin.is_staff, admin.is_superuser) == (Role.ADMIN, True, True)


def test_admin_cannot_deactivate_the_last_administrator(admin) -> None:
    response = _signed_in(admin).post(
        f"/admin/accounts/user/{admin.pk}/change/", _person_form(admin, is_active="")
    )
    assert response.status_code == 200
    assert "last active administrator" in text_of(response)
    admin.refresh_from_db()
    assert admin.is_active


def test_admin_demotes_an_administrator_when_another_remains(admin, make_user) -> None:
    other = make_user(Role.ADMIN)
    response = _signed_in(admin).post(
        f"/admin/accounts/user/{other.pk}/change/", _person_form(other, role=Role.AGENT)
    )
    assert response.status_code == 302, text_of(response)[:500]
    other.refresh_from_db()
    assert (other.role, other.is_staff, other.is_superuser) == (Role.AGENT, False, False)


def test_admin_refuses_a_reporter_as_team_manager(admin, reporter) -> None:
    response = _signed_in(admin).post(
        "/admin/accounts/team/add/",
        {"name": "Network", "description": "", "manager": reporter.pk},
    )
    assert response.status_code == 200
    assert "is not an active staff member" in text_of(response)
    assert not Team.objects.filter(name="Network").exists()


def _service_form(service: Service, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": service.name,
        "description": service.description,
        "is_active": "on",
        "severity_map": json.dumps(service.severity_map),
        "auto_resolve": "on",
        "grouping": service.grouping,
        "group_labels": json.dumps(service.group_labels),
        "group_window_minutes": service.group_window_minutes,
        "storm_threshold": service.storm_threshold,
        "ingest_rate_limit": "",
        "ack_timeout_minutes": "",
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    "severity_map",
    [{"critical": [9, 9]}, {"critical": [1, 1], "loud": [1, 1]}, {"critical": "high"}],
)
def test_admin_refuses_an_invalid_severity_map(admin, severity_map) -> None:
    service = service_create(name="VPN", actor=Actor.system("test setup"))
    before = dict(service.severity_map)
    response = _signed_in(admin).post(
        f"/admin/catalog/service/{service.pk}/change/",
        _service_form(service, severity_map=json.dumps(severity_map)),
    )
    assert response.status_code == 200
    assert "severity_map" in response.content.decode() and "errorlist" in response.content.decode()
    service.refresh_from_db()
    assert service.severity_map == before


def test_admin_saves_a_valid_severity_map_through_the_service(admin) -> None:
    service = service_create(name="VPN", actor=Actor.system("test setup"))
    wanted = {"critical": [1, 1], "error": [2, 2], "warning": [3, 3], "info": [4, 4]}
    response = _signed_in(admin).post(
        f"/admin/catalog/service/{service.pk}/change/",
        _service_form(service, severity_map=json.dumps(wanted), description="Remote access"),
    )
    assert response.status_code == 302, text_of(response)[:500]
    service.refresh_from_db()
    assert (service.severity_map, service.description) == (wanted, "Remote access")


def test_admin_refuses_grouping_by_labels_without_labels(admin) -> None:
    service = service_create(name="VPN", actor=Actor.system("test setup"))
    response = _signed_in(admin).post(
        f"/admin/catalog/service/{service.pk}/change/",
        _service_form(service, grouping="labels", group_labels="[]"),
    )
    assert response.status_code == 200
    assert "needs at least one label" in text_of(response)
    service.refresh_from_db()
    assert service.grouping == "key"


@pytest.mark.parametrize(
    "path",
    [
        "/admin/alerts/maintenancewindow/add/",
        "/admin/alerts/silence/add/",
        "/admin/alerts/alert/add/",
        "/admin/notify/outboxmessage/add/",
        "/admin/accounts/apitoken/add/",
    ],
)
def test_objects_written_by_services_cannot_be_added_in_admin(admin, path) -> None:
    assert _signed_in(admin).post(path, {}).status_code == 403


def test_a_window_is_read_only_in_admin_with_a_note(admin) -> None:
    service = service_create(name="VPN", actor=Actor.system("test setup"))
    window = maintenance_window_create(
        actor=Actor.for_user(admin),
        services=[service],
        ends_at=now() + dt.timedelta(hours=1),
        reason="upgrade",
    )
    client = _signed_in(admin)
    page = client.get(f"/admin/alerts/maintenancewindow/{window.pk}/change/")
    assert page.status_code == 200
    assert "/api/v1/maintenance-windows" in text_of(page)
    response = client.post(
        f"/admin/alerts/maintenancewindow/{window.pk}/change/", {"reason": "changed"}
    )
    assert response.status_code == 403
    window.refresh_from_db()
    assert window.reason == "upgrade"


def test_admin_revokes_tokens_through_the_service(admin) -> None:
    token, _raw = token_create(user=admin, name="ci", actor=Actor.system("test setup"))
    response = _signed_in(admin).post(
        "/admin/accounts/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


@pytest.mark.parametrize(
    "path",
    [
        "/admin/accounts/user/add/",
        "/admin/accounts/team/add/",
        "/admin/catalog/service/add/",
        "/admin/catalog/category/add/",
    ],
)
def test_admin_add_pages_open(admin, path) -> None:
    assert _signed_in(admin).get(path).status_code == 200


def test_admin_adds_a_person_through_the_service(admin) -> None:
    response = _signed_in(admin).post(
        "/admin/accounts/user/add/",
        {
            "username": "grace",
            "name": "Grace Hopper",
            "email": "grace@example.com",
            "role": Role.ADMIN,
            "time_zone": "Europe/Berlin",
            "password1": "a long enough passphrase 42",
            "password2": "a long enough passphrase 42",
        },
    )
    assert response.status_code == 302, text_of(response)[:500]
    grace = User.objects.get(username="grace")
    assert (grace.role, grace.is_staff, grace.is_superuser) == (Role.ADMIN, True, True)
    assert grace.check_password("a long enough passphrase 42")


def test_admin_refuses_a_duplicate_service_name(admin) -> None:
    service_create(name="VPN", actor=Actor.system("test setup"))
    response = _signed_in(admin).post(
        "/admin/catalog/service/add/",
        _service_form(Service(name="vpn"), group_labels="[]"),
    )
    assert response.status_code == 200
    assert "already exists" in text_of(response)
    assert Service.objects.filter(name__iexact="vpn").count() == 1


def test_admin_adds_a_subcategory_only_two_levels_deep(admin) -> None:
    top = category_create(name="Network", actor=Actor.system("test setup"))
    sub = category_create(name="VPN", parent=top, actor=Actor.system("test setup"))
    client = _signed_in(admin)
    response = client.post(
        "/admin/catalog/category/add/", {"name": "Client", "parent": sub.pk, "is_active": "on"}
    )
    assert response.status_code == 200
    assert "two levels only" in text_of(response)
    response = client.post(
        "/admin/catalog/category/add/", {"name": "Wi-Fi", "parent": top.pk, "is_active": "on"}
    )
    assert response.status_code == 302
    assert Category.objects.filter(name="Wi-Fi", parent=top).exists()


def test_admin_edits_a_team_through_the_service(admin, agent, responder) -> None:
    team = team_create(name="Network", members=[agent], actor=Actor.system("test setup"))
    response = _signed_in(admin).post(
        f"/admin/accounts/team/{team.pk}/change/",
        {
            "name": "Network team",
            "description": "Routers",
            "manager": responder.pk,
            "members": [agent.pk, responder.pk],
        },
    )
    assert response.status_code == 302, text_of(response)[:500]
    team.refresh_from_db()
    assert (team.name, team.description) == ("Network team", "Routers")
    assert team.manager_id == responder.pk
    assert set(team.members.all()) == {agent, responder}


def test_admin_refuses_a_team_name_taken_in_another_case(admin) -> None:
    team_create(name="Network", actor=Actor.system("test setup"))
    team = team_create(name="Desk", actor=Actor.system("test setup"))
    response = _signed_in(admin).post(
        f"/admin/accounts/team/{team.pk}/change/", {"name": "network", "description": ""}
    )
    assert response.status_code == 200
    assert "already exists" in text_of(response)
    team.refresh_from_db()
    assert team.name == "Desk"


# --- admin edits are audited under the administrator's name (issue 7, point 8) -----------


def _matrix_form(changes: dict[tuple[int, int], int]) -> dict[str, object]:
    cells = list(PriorityMatrixCell.objects.order_by("urgency", "impact"))
    data: dict[str, object] = {
        "form-TOTAL_FORMS": len(cells),
        "form-INITIAL_FORMS": len(cells),
        "form-MIN_NUM_FORMS": 0,
        "form-MAX_NUM_FORMS": 1000,
        "_save": "Save",
    }
    for n, cell in enumerate(cells):
        data[f"form-{n}-id"] = cell.pk
        data[f"form-{n}-priority"] = changes.get((cell.impact, cell.urgency), cell.priority)
    return data


def _sla_list_form(changes: dict[int, tuple[int, int]]) -> dict[str, object]:
    targets = list(SlaTarget.objects.order_by("priority"))
    data: dict[str, object] = {
        "form-TOTAL_FORMS": len(targets),
        "form-INITIAL_FORMS": len(targets),
        "form-MIN_NUM_FORMS": 0,
        "form-MAX_NUM_FORMS": 1000,
        "_save": "Save",
    }
    for n, target in enumerate(targets):
        response, resolution = changes.get(
            target.priority, (target.response_minutes, target.resolution_minutes)
        )
        data[f"form-{n}-id"] = target.pk
        data[f"form-{n}-response_minutes"] = response
        data[f"form-{n}-resolution_minutes"] = resolution
        data[f"form-{n}-calendar"] = target.calendar_id or ""
    return data


def test_admin_edits_are_in_the_audit_log_under_the_admins_name(admin, agent) -> None:
    service = service_create(name="VPN", actor=Actor.system("test setup"))
    target = SlaTarget.objects.get(priority=2)
    client = _signed_in(admin)
    posts = [
        (f"/admin/accounts/user/{agent.pk}/change/", _person_form(agent, name="Ada Agent")),
        (
            f"/admin/catalog/service/{service.pk}/change/",
            _service_form(service, description="Remote access"),
        ),
        ("/admin/incidents/prioritymatrixcell/", _matrix_form({(4, 1): 4})),
        (
            f"/admin/incidents/slatarget/{target.pk}/change/",
            {"response_minutes": 20, "resolution_minutes": 300, "calendar": ""},
        ),
    ]
    for path, data in posts:
        response = client.post(path, data, HTTP_X_REQUEST_ID=f"req-{len(path)}")
        assert response.status_code == 302, text_of(response)[:500]
    assert priority_for(4, 1) == 4
    expected = {
        "user.update": ({"name": "Ada Agent"}, agent.pk),
        "service.update": ({"description": "Remote access"}, service.pk),
        "priority_matrix.update": ({"priority": 4}, None),
        "sla_target.update": ({"response_minutes": 20, "resolution_minutes": 300}, target.pk),
    }
    for action, (after, object_id) in expected.items():
        entry = AuditEntry.objects.get(action=action)
        assert entry.actor_kind == "user"
        assert (entry.actor_user_id, entry.actor_label) == (admin.pk, admin.username)
        assert entry.ip == "127.0.0.1"
        assert entry.request_id.startswith("req-")
        assert entry.after == after
        if object_id is not None:
            assert entry.object_id == str(object_id)


def test_an_admin_list_edit_refused_by_the_service_changes_no_row(admin) -> None:
    # the SLA service refuses more than a year; the admin list page saves all rows or none
    before = {
        t.priority: (t.response_minutes, t.resolution_minutes) for t in SlaTarget.objects.all()
    }
    response = _signed_in(admin).post(
        "/admin/incidents/slatarget/",
        _sla_list_form({1: (5, 60), 2: (30, 10_000_000)}),
    )
    assert response.status_code == 200
    assert "minutes from 1 to" in text_of(response)
    after = {
        t.priority: (t.response_minutes, t.resolution_minutes) for t in SlaTarget.objects.all()
    }
    assert after == before
    assert not AuditEntry.objects.filter(action="sla_target.update").exists()


def test_admin_list_edits_of_sla_targets_are_audited(admin) -> None:
    response = _signed_in(admin).post("/admin/incidents/slatarget/", _sla_list_form({1: (5, 60)}))
    assert response.status_code == 302, text_of(response)[:500]
    entry = AuditEntry.objects.get(action="sla_target.update")
    assert entry.actor_user_id == admin.pk
    assert entry.after == {"response_minutes": 5, "resolution_minutes": 60}


def test_admin_deactivates_a_category_through_the_service(admin) -> None:
    category = category_create(name="Network", actor=Actor.system("test setup"))
    response = _signed_in(admin).post(
        f"/admin/catalog/category/{category.pk}/change/", {"is_active": ""}
    )
    assert response.status_code == 302, text_of(response)[:500]
    category.refresh_from_db()
    assert not category.is_active
    entry = AuditEntry.objects.get(action="category.update")
    assert (entry.actor_user_id, entry.after) == (admin.pk, {"is_active": False})


def test_admin_token_revocation_is_audited_under_the_admins_name(admin) -> None:
    token, _raw = token_create(user=admin, name="ci", actor=Actor.system("test setup"))
    response = _signed_in(admin).post(
        "/admin/accounts/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="token.revoke")
    assert (entry.actor_user_id, entry.actor_kind) == (admin.pk, "user")


def test_admin_adds_and_changes_a_business_calendar_through_the_service(admin) -> None:
    client = _signed_in(admin)
    form = {
        "name": "Office hours",
        "time_zone": "Europe/Berlin",
        "weekdays": "0,1,2,3,4",
        "day_start": "09:00",
        "day_end": "17:00",
        "holidays": "[]",
    }
    response = client.post("/admin/incidents/businesscalendar/add/", form)
    assert response.status_code == 302, text_of(response)[:500]
    calendar = BusinessCalendar.objects.get(name="Office hours")
    response = client.post(
        f"/admin/incidents/businesscalendar/{calendar.pk}/change/", {**form, "day_end": "18:00"}
    )
    assert response.status_code == 302, text_of(response)[:500]
    refused = client.post(
        f"/admin/incidents/businesscalendar/{calendar.pk}/change/", {**form, "day_end": "08:00"}
    )
    assert refused.status_code == 200 and "must end after it starts" in text_of(refused)
    calendar.refresh_from_db()
    assert calendar.day_end == dt.time(18, 0)
    entries = AuditEntry.objects.filter(object_type="business_calendar").order_by("id")
    assert [(e.action, e.actor_user_id) for e in entries] == [
        ("business_calendar.create", admin.pk),
        ("business_calendar.update", admin.pk),
    ]
    assert entries[1].after == {"day_end": "18:00:00"}
