"""The reports dashboards in Chromium: the overview with its tiles and charts (SVG images
that load under the page's CSP), a number leading to its incidents, a team's page, at
desktop and phone width, in the light and the dark theme; the top bar still fits."""

from __future__ import annotations

import datetime as dt
import re
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tocsin.accounts.models import Role, User
from tocsin.accounts.services import team_create
from tocsin.catalog.services import service_create
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.incidents.models import Incident, Status
from tocsin.incidents.services import incident_create
from tocsin.reports import facts

from .conftest import Watched

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install '.[dev]')"
)
expect = sync_api.expect

SYSTEM = Actor.system("test setup")
HOUR = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)


def _history(admin: User) -> tuple[Any, list[Incident]]:
    """Twenty incidents over the last four weeks (and a few before), some acknowledged,
    resolved, escalated or past their response target."""
    team = team_create(name="Payments", manager=admin, actor=SYSTEM)
    service = service_create(name="Checkout", team=team, actor=SYSTEM)
    at = now()
    made = []
    for i in range(24):
        reported = at - dt.timedelta(days=i * 1.5 + 0.3)
        incident = incident_create(
            actor=Actor.for_user(admin),
            reporter=admin,
            title=f"Checkout slow <{i}>",
            team=team if i % 3 else None,
            service=service,
            priority=1 + i % 4,
            priority_reason="test data",
            reported_at=reported,
        )
        fields: dict[str, Any] = {"acknowledged_at": reported + (i % 5 + 1) * 7 * MINUTE}
        if i % 2 == 0:
            fields |= {
                "status": Status.RESOLVED,
                "resolved_at": reported + (i % 4 + 1) * 3 * HOUR,
                "resolution_met_at": reported + HOUR,
            }
        if i % 4 == 1:
            fields |= {"escalated_at": reported + HOUR, "response_breached_at": reported + HOUR}
        else:
            fields["response_met_at"] = fields["acknowledged_at"]
        Incident.objects.filter(pk=incident.pk).update(**fields)
        made.append(incident)
    facts.rebuild()
    return team, made


def _charts_loaded(page: Any) -> int:
    """How many chart images are shown and drawn (visible, loaded with a size)."""
    return int(
        page.evaluate(
            """() => Array.from(document.querySelectorAll('.chart-img img'))
                .filter(img => img.offsetParent !== null)
                .filter(img => img.complete && img.naturalWidth > 0).length"""
        )
    )


def _load_charts(page: Any) -> None:
    """Scroll through the page so the lazy chart images load, then wait for them."""
    height = page.evaluate("() => document.documentElement.scrollHeight")
    for y in range(0, height + 800, 600):
        page.evaluate(f"() => window.scrollTo(0, {y})")
        page.wait_for_timeout(60)
    page.wait_for_function(
        """() => Array.from(document.querySelectorAll('.chart-img img'))
            .filter(img => img.offsetParent !== null)
            .every(img => img.complete && img.naturalWidth > 0)"""
    )
    page.evaluate("() => window.scrollTo(0, 0)")


def test_a_manager_reads_the_dashboards_and_drills_into_a_number(
    make_user: Callable[..., User],
    open_as: Callable[[str], Watched],
    shots: Path,
    live_server: Any,
) -> None:
    admin = make_user(Role.ADMIN, username="ada", name="Ada Lindqvist")
    make_user(Role.REPORTER, username="rita")
    team, made = _history(admin)
    # the server's first request loads every URL pattern (seconds on a busy machine):
    # made here, it does not count against the browser's time for signing in
    with urllib.request.urlopen(live_server.url + "/login/", timeout=120) as reply:
        assert reply.status == 200
    watched = open_as("ada")
    page = watched.page
    page.goto("/")
    # the top bar, with Reports, fits the desktop width in one row
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1280
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", name="Reports", exact=True)).to_be_visible()
    expect(page.get_by_role("navigation", name="Reports")).to_contain_text("On-call load")
    recent = [i for i in made if now() - i.reported_at < dt.timedelta(days=30)]
    expect(page.locator("#kpi-volume .kpi-value")).to_have_text(str(len(recent)))
    expect(page.locator("#kpi-mtta .kpi-facts")).to_contain_text("median")
    expect(page.locator("#kpi-sla_response .kpi-trend")).to_be_visible()
    _load_charts(page)
    assert _charts_loaded(page) == 4
    page.screenshot(path=str(shots / "overview-desktop-light.png"), full_page=True)

    # the figures behind a chart are a table too
    page.get_by_text("The figures as a table").first.click()
    expect(page.locator(".chart-data table").first).to_be_visible()

    # the explicit dark choice swaps every chart for its dark copy at once
    page.get_by_role("group", name="Colour theme").get_by_role("button", name="Dark").click()
    _load_charts(page)
    assert _charts_loaded(page) == 4
    dark_sources = page.evaluate(
        """() => Array.from(document.querySelectorAll('.chart-img img'))
            .filter(img => img.offsetParent !== null).map(img => img.currentSrc)"""
    )
    assert all("theme=dark" in src for src in dark_sources)
    page.screenshot(path=str(shots / "overview-desktop-dark.png"), full_page=True)

    # phone width, dark then light: nothing scrolls sideways, the narrow charts load
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    _load_charts(page)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    narrow = page.evaluate(
        """() => Array.from(document.querySelectorAll('.chart-img img'))
            .filter(img => img.offsetParent !== null).map(img => img.currentSrc)"""
    )
    assert narrow and all("size=narrow" in src for src in narrow)
    page.screenshot(path=str(shots / "overview-phone-dark.png"), full_page=True)
    page.get_by_role("group", name="Colour theme").get_by_role("button", name="Light").click()
    _load_charts(page)
    page.screenshot(path=str(shots / "overview-phone-light.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    # a filter, then a number: the incidents behind it
    page.get_by_label("Priority").select_option("P1")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"priority=1"))
    volume = page.locator("#kpi-volume .kpi-value a")
    count = int(volume.inner_text())
    volume.click()
    expect(page.get_by_role("heading", name="Incidents", exact=True)).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text(f"{count} incidents reported · P1")
    expect(page.locator("tbody tr")).to_have_count(count)
    expect(page.locator("tbody")).to_contain_text("Checkout slow <0>")  # text, not markup
    page.screenshot(path=str(shots / "drill-desktop.png"), full_page=True)
    page.locator("tbody a.ref").first.click()
    expect(page).to_have_url(re.compile(r"/incidents/INC-\d+/"))

    # the team list and the team's own page
    page.goto("/reports/")
    page.get_by_role("navigation", name="Reports").get_by_role("link", name="Teams").click()
    expect(page.locator("tbody")).to_contain_text("your team")
    page.get_by_role("link", name="Payments").click()
    expect(page.get_by_role("heading", name="Payments")).to_be_visible()
    mine = [i for i in recent if i.team_id == team.pk]
    expect(page.locator("#kpi-volume .kpi-value")).to_have_text(str(len(mine)))
    _load_charts(page)
    page.screenshot(path=str(shots / "team-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    _load_charts(page)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(shots / "team-phone.png"), full_page=True)
    assert watched.problems() == []

    # a reporter has no Reports entry and the pages are not there
    rita = open_as("rita")
    expect(rita.page.get_by_role("link", name="Reports")).to_have_count(0)
    assert rita.page.goto("/reports/").status == 404  # type: ignore[union-attr]
