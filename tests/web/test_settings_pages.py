"""Settings pages for administrators: the priority matrix edited as a 4×4 grid and the SLA
targets entered as durations, both saved through their services (checked, audited)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tests.web.helpers import text_of
from tocsin.accounts.models import Role, User
from tocsin.core.models import AuditEntry
from tocsin.incidents.config_forms import DurationError, format_duration, parse_duration
from tocsin.incidents.models import BusinessCalendar, SlaTarget
from tocsin.incidents.priority import matrix, priority_for

pytestmark = pytest.mark.django_db

PAGES = ["/settings/", "/settings/priority-matrix/", "/settings/sla-targets/"]


def _signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _matrix_post(**changes: int) -> dict[str, Any]:
    """The grid as shown, with `impactI_urgencyU=priority` changes."""
    grid = matrix()
    data: dict[str, Any] = {
        f"impact{i}_urgency{u}": grid[u][i] for i in range(1, 5) for u in range(1, 5)
    }
    data.update(changes)
    return data


def _sla_post(**changes: str) -> dict[str, str]:
    data = {
        "p1_response": "15m",
        "p1_resolution": "4h",
        "p1_calendar": "",
        "p2_response": "30m",
        "p2_resolution": "8h",
        "p2_calendar": "",
        "p3_response": "2h",
        "p3_resolution": "3d",
        "p3_calendar": "",
        "p4_response": "8h",
        "p4_resolution": "7d",
        "p4_calendar": "",
    }
    data.update(changes)
    return data


# --- who may see them -----------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("role", [Role.REPORTER, Role.AGENT, Role.RESPONDER, Role.MANAGER])
def test_non_administrators_are_refused_as_on_the_audit_log(
    make_user: Callable[..., User], role: str, path: str
) -> None:
    client = _signed_in(make_user(role))
    response = client.get(path)
    assert response.status_code == 403
    assert "The settings are for administrators." in text_of(response)
    if path != "/settings/":
        assert client.post(path, {}).status_code == 403


@pytest.mark.parametrize("path", PAGES)
def test_signed_out_people_are_sent_to_sign_in(path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_administrators_find_the_settings_in_the_top_bar(admin: User, agent: User) -> None:
    page = _signed_in(admin).get("/settings/")
    assert page.status_code == 200
    assert 'href="/settings/" aria-current="page">Settings</a>' in page.content.decode()
    text = text_of(page)
    assert "Priority matrix" in text and "SLA targets" in text
    assert "respond in 15m, resolve in 4h · 24×7" in text
    assert 'href="/settings/"' not in _signed_in(agent).get("/").content.decode()


# --- the priority matrix ------------------------------------------------------------------


def test_the_matrix_is_a_four_by_four_grid_of_priorities(admin: User) -> None:
    html = _signed_in(admin).get("/settings/priority-matrix/").content.decode()
    assert html.count("<select") == 16
    assert html.count('<th scope="row"') == 4
    assert html.count('<th scope="col"') == 4
    # impact 4 (low) × urgency 1 (critical) is P3 by default, shown selected in its cell
    cell = html[html.index('name="impact4_urgency1"') :]
    assert '<option value="3" selected>P3</option>' in cell[: cell.index("</select>")]
    assert 'for="id_impact4_urgency1">Impact 4 – Low, urgency 1 – Critical<' in html


def test_saving_the_grid_changes_the_cells_through_the_service(admin: User) -> None:
    assert priority_for(4, 1) == 3
    client = _signed_in(admin)
    response = client.post(
        "/settings/priority-matrix/", _matrix_post(impact4_urgency1=4, impact1_urgency4=2)
    )
    assert response.status_code == 302
    assert response["Location"] == "/settings/priority-matrix/"
    assert (priority_for(4, 1), priority_for(1, 4)) == (4, 2)
    entries = AuditEntry.objects.filter(action="priority_matrix.update")
    assert entries.count() == 2  # one per changed cell, none for the other fourteen
    assert {e.actor_user_id for e in entries} == {admin.pk}
    page = client.get("/settings/priority-matrix/")
    assert "Priority matrix saved: 2 cells changed." in text_of(page)


def test_a_bad_cell_is_refused_and_nothing_changes(admin: User) -> None:
    response = _signed_in(admin).post(
        "/settings/priority-matrix/", _matrix_post(impact4_urgency1=4, impact2_urgency2=9)
    )
    assert response.status_code == 422
    text = text_of(response)
    assert "Nothing was saved." in text
    assert "Choose P1, P2, P3 or P4." in text
    assert priority_for(4, 1) == 3
    assert not AuditEntry.objects.filter(action="priority_matrix.update").exists()


# --- SLA targets ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("30m", 30),
        ("4h", 240),
        ("3d", 3 * 24 * 60),
        ("1d 4h", 28 * 60),
        ("1h30m", 90),
        ("2 days 3 hours", 51 * 60),
        ("1w", 7 * 24 * 60),
        (" 45 min ", 45),
    ],
)
def test_durations_read_as_people_write_them(text: str, minutes: int) -> None:
    assert parse_duration(text) == minutes


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0m", "at least 1 minute"),
        ("0d 0h", "at least 1 minute"),
        ("30", "needs a unit"),
        ("soon", "is not a duration"),
        ("4h 4h", "is not a duration"),
        ("-5m", "is not a duration"),
        ("", "is empty"),
        ("400d", "at most 366d"),
    ],
)
def test_nonsense_durations_are_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(DurationError, match=reason):
        parse_duration(text)


@pytest.mark.parametrize(
    ("minutes", "text"), [(15, "15m"), (240, "4h"), (1680, "1d 4h"), (90, "1h 30m"), (4320, "3d")]
)
def test_durations_are_shown_as_people_write_them(minutes: int, text: str) -> None:
    assert format_duration(minutes) == text
    assert parse_duration(text) == minutes


def test_the_targets_are_shown_as_durations(admin: User) -> None:
    html = _signed_in(admin).get("/settings/sla-targets/").content.decode()
    assert 'name="p1_response" id="id_p1_response" value="15m"' in html
    assert 'name="p3_resolution" id="id_p3_resolution" value="3d"' in html
    assert "24×7 (always running)" in html


def test_saving_durations_sets_the_targets_through_the_service(admin: User) -> None:
    client = _signed_in(admin)
    response = client.post(
        "/settings/sla-targets/", _sla_post(p1_response="10m", p1_resolution="1d 4h")
    )
    assert response.status_code == 302, text_of(response)[:600]
    target = SlaTarget.objects.get(priority=1)
    assert (target.response_minutes, target.resolution_minutes) == (10, 28 * 60)
    entries = list(AuditEntry.objects.filter(action="sla_target.update"))
    assert len(entries) == 1
    assert entries[0].before == {"response_minutes": 15, "resolution_minutes": 240}
    assert entries[0].after == {"response_minutes": 10, "resolution_minutes": 1680}
    page = text_of(client.get("/settings/sla-targets/"))
    assert "SLA targets saved: P1 10m / 1d 4h." in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("p2_response", "0m", "P2 response target must be at least 1 minute."),
        ("p2_response", "0", "P2 response target needs a unit"),
        ("p3_resolution", "next week", "P3 resolution target is not a duration"),
        ("p4_resolution", "", "P4 resolution target is empty"),
        ("p1_response", "5h", "P1: The response target cannot exceed the resolution target."),
    ],
)
def test_bad_targets_are_refused_naming_the_field(
    admin: User, field: str, value: str, message: str
) -> None:
    before = list(SlaTarget.objects.values_list("response_minutes", "resolution_minutes"))
    response = _signed_in(admin).post("/settings/sla-targets/", _sla_post(**{field: value}))
    assert response.status_code == 422
    html = response.content.decode()
    assert message in text_of(response)
    assert f'<a href="#id_{field}">' in html  # the summary links to the field
    assert f'id="id_{field}" value="{value}"' in html  # what was typed is kept
    assert 'aria-invalid="true"' in html
    after = list(SlaTarget.objects.values_list("response_minutes", "resolution_minutes"))
    assert after == before
    assert not AuditEntry.objects.filter(action="sla_target.update").exists()


def test_a_target_can_run_on_business_hours(admin: User) -> None:
    calendar = BusinessCalendar.objects.create(name="Office hours")
    response = _signed_in(admin).post(
        "/settings/sla-targets/", _sla_post(p3_calendar=str(calendar.pk))
    )
    assert response.status_code == 302
    assert SlaTarget.objects.get(priority=3).calendar == calendar
    assert "business hours (Office hours)" in text_of(_signed_in(admin).get("/settings/"))


def test_an_unchanged_form_writes_nothing(admin: User) -> None:
    response = _signed_in(admin).post("/settings/sla-targets/", _sla_post())
    assert response.status_code == 302
    assert not AuditEntry.objects.filter(action="sla_target.update").exists()
