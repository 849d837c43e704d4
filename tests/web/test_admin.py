"""Configuration in Django admin: only administrators manage people, teams, taxonomy,
the priority matrix and SLA targets."""

from __future__ import annotations

import pytest
from django.test import Client

from tocsin.accounts.models import Role
from tocsin.incidents.models import PriorityMatrixCell, SlaTarget
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
