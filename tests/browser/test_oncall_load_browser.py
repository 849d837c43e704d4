"""The on-call load dashboard in Chromium (issue 13, point 3): a team's manager reads
each person's pages, night pages and fairness at desktop and phone widths; a reporter
gets 404."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_noise_browser import _person, warm  # noqa: F401  (a fixture)
from tests.reports.test_noise import incident_at
from tests.reports.test_oncall_load import page as paged_at
from tocsin.accounts.models import Role, Team, User
from tocsin.catalog.models import Service
from tocsin.core.clock import now

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def load(warm: None) -> dict[str, Any]:  # noqa: F811
    """Ops (managed by Mia): Kenji in Tokyo paged three times at his night, Nora in New
    York once in her working day, two days ago."""
    mia = _person("mia", Role.MANAGER)
    kenji = _person("kenji", Role.RESPONDER)
    nora = _person("nora", Role.RESPONDER)
    rita = _person("rita", Role.REPORTER)
    User.objects.filter(pk=kenji.pk).update(time_zone="Asia/Tokyo", name="Kenji Tokyo")
    User.objects.filter(pk=nora.pk).update(time_zone="America/New_York", name="Nora New York")
    ops = Team.objects.create(name="Ops", manager=mia)
    ops.members.add(kenji, nora)
    day = (now() - dt.timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)
    incident = incident_at(day, rita, Service.objects.create(name="Payments"), "Card errors")
    for minutes in (14 * 60 + 30, 15 * 60 + 40, 18 * 60):  # 23:30, 00:40, 03:00 in Tokyo
        paged_at(incident, kenji, day + dt.timedelta(minutes=minutes))
    paged_at(incident, nora, day + dt.timedelta(hours=15))  # 10:00 or 11:00 in New York
    return {"kenji": kenji, "nora": nora}


def test_a_manager_reads_the_on_call_load_on_desktop_and_phone(
    load: dict[str, Any], open_as: Callable[[str], Any], shots: Path
) -> None:
    watched = open_as("mia")
    page = watched.page
    page.goto("/reports/oncall/")
    expect(page.get_by_role("heading", name="On-call load", exact=True)).to_be_visible()
    kenji = page.locator("table.load-table tr", has_text="Kenji Tokyo")
    expect(kenji.locator("td[data-label='Pages']")).to_have_text("3")
    expect(kenji.locator("td[data-label='At night']")).to_have_text("3")
    nora = page.locator("table.load-table tr", has_text="Nora New York")
    expect(nora.locator("td[data-label='Pages']")).to_have_text("1")
    expect(nora.locator("td[data-label='At night']")).to_have_text("0")
    expect(page.get_by_role("heading", name="Fairness: Everyone shown")).to_be_visible()
    page.get_by_label("Team", exact=True).select_option(label="Ops")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", name="Fairness: Ops")).to_be_visible()
    expect(page.locator("table.load-table tr", has_text="Kenji Tokyo")).to_be_visible()
    expect(page.get_by_role("link", name="Download CSV (on-call pay)")).to_be_visible()
    page.screenshot(path=str(shots / "oncall-load-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/reports/oncall/")
    expect(page.locator("table.load-table tr", has_text="Kenji Tokyo")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(shots / "oncall-load-phone.png"), full_page=True)
    assert watched.problems() == []
    assert open_as("rita").page.goto("/reports/oncall/").status == 404
