"""The UI's own JavaScript, in Chromium: SLA countdowns tick in the browser, the priority
preview follows the matrix, and the pages run without console errors or CSP violations."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest

from tocsin.accounts.models import Role, User
from tocsin.catalog.services import category_create, service_create
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.incidents.models import Incident

from .conftest import Watched

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install '.[dev]')"
)
expect = sync_api.expect

# The default matrix (issue 2): DEFAULT[urgency][impact].
DEFAULT = {
    1: {1: 1, 2: 1, 3: 2, 4: 3},
    2: {1: 1, 2: 2, 3: 3, 4: 3},
    3: {1: 2, 2: 3, 3: 3, 4: 4},
    4: {1: 3, 2: 3, 3: 4, 4: 4},
}
LEVELS = {1: "1 – Critical", 2: "2 – High", 3: "3 – Medium", 4: "4 – Low"}


@pytest.fixture
def desk(make_user: Callable[..., User], make_incident: Callable[..., Incident]) -> dict[str, Any]:
    reporter = make_user(Role.REPORTER, username="rita", name="Rita Reporter")
    agent = make_user(Role.AGENT, username="alice", name="Alice Agent")
    network = category_create(name="Network", actor=Actor.system("test setup"))
    category_create(name="VPN", parent=network, actor=Actor.system("test setup"))
    service = service_create(name="Remote access", actor=Actor.system("test setup"))
    incident = make_incident(reporter, title="Wi-Fi down on floor 2", impact=1, urgency=1)
    return {"reporter": reporter, "agent": agent, "service": service, "incident": incident}


def test_queue_countdown_ticks_in_the_browser(
    desk: dict[str, Any], open_as: Callable[[str], Watched]
) -> None:
    alice = open_as("alice")
    page = alice.page
    # A response target a few seconds from now: the countdown must turn to "breached" on its
    # own, without the page being reloaded or its rows fetched again.
    Incident.objects.filter(pk=desk["incident"].pk).update(
        response_due_at=now() + dt.timedelta(seconds=4)
    )
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto("/")
    clock = page.locator("tr", has_text="Wi-Fi down on floor 2").locator(".sla[data-due]").first
    expect(clock).to_contain_text("Response")
    before = clock.locator(".sla-text").inner_text()
    assert before == "<1m left"
    expect(clock).not_to_have_class(re.compile(r"\bsla-breached\b"))
    requests.clear()
    page.wait_for_timeout(2_000)
    expect(clock.locator(".sla-text")).to_have_text("breached <1m ago", timeout=5_000)
    expect(clock).to_have_class(re.compile(r"\bsla-breached\b"))
    assert requests == []  # no reload, no fetch: the browser did it alone
    assert alice.problems() == []


def test_queue_countdown_counts_down_minutes(
    desk: dict[str, Any], open_as: Callable[[str], Watched]
) -> None:
    """The browser's clock moved forward: P1's 15-minute response target shows less time."""
    alice = open_as("alice")
    page = alice.page
    page.clock.install()
    page.goto("/")
    clock = page.locator("tr", has_text="Wi-Fi down on floor 2").locator(".sla[data-due]")
    response, resolution = clock.nth(0).locator(".sla-text"), clock.nth(1).locator(".sla-text")
    expect(response).to_have_text(re.compile(r"^1[45]m left$"))
    expect(resolution).to_have_text(re.compile(r"^(4h|3h 59m) left$"))
    page.clock.fast_forward("02:00")
    expect(response).to_have_text(re.compile(r"^1[23]m left$"))
    expect(resolution).to_have_text("3h 57m left")
    page.clock.fast_forward("12:00:00")
    expect(response).to_have_text(re.compile(r"^breached 11h 4[78]m ago$"))
    expect(clock.nth(0)).to_have_class(re.compile(r"\bsla-breached\b"))


def test_new_incident_priority_preview_follows_the_matrix(
    desk: dict[str, Any], open_as: Callable[[str], Watched]
) -> None:
    alice = open_as("alice")
    page = alice.page
    page.goto("/incidents/new/")
    previews = page.locator("output[data-priority-preview]")
    expect(previews).to_have_count(2)
    for i in range(2):
        expect(previews.nth(i)).to_have_text("P3")  # 3 × 3 before anything is chosen
    impact = page.get_by_role("group", name="Impact")
    urgency = page.get_by_role("group", name="Urgency")
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    for impact_level, urgency_level in ((1, 1), (4, 4), (2, 3), (4, 1)):
        impact.get_by_label(re.compile("^" + LEVELS[impact_level])).click()
        urgency.get_by_label(re.compile("^" + LEVELS[urgency_level])).click()
        expected = f"P{DEFAULT[urgency_level][impact_level]}"
        for i in range(2):
            expect(
                previews.nth(i), f"impact {impact_level} × urgency {urgency_level}"
            ).to_have_text(expected)
    assert requests == []  # computed in the page, not asked of the server
    assert alice.problems() == []


def test_pages_run_without_console_errors_or_csp_violations(
    desk: dict[str, Any], open_as: Callable[[str], Watched]
) -> None:
    ref = desk["incident"].ref
    alice = open_as("alice")
    page = alice.page
    page.goto("/")
    page.get_by_label(re.compile(r"^Priority")).select_option(label="P1")
    page.get_by_role("button", name="Apply").click()  # filters apply on the button (issue 8)
    expect(page).to_have_url(re.compile(r"priority=1"))
    page.goto("/incidents/new/")
    page.get_by_label(re.compile(r"^Category")).select_option(label="Network")
    page.get_by_role("group", name="Impact").get_by_label(re.compile("^2 – High")).click()
    page.goto(f"/incidents/{ref}/")
    page.locator("details.panel > summary", has_text="Triage").click()
    page.locator("form[action$='/triage/']").get_by_label("Urgency").select_option("4")
    page.locator("summary", has_text="Resolve…").click()
    # Let the live parts refresh once (normally every 20 s; the interval is read from the page).
    page.evaluate("""() => { document.dispatchEvent(new Event("visibilitychange")); }""")
    page.wait_for_load_state("networkidle")
    assert alice.problems() == []

    rita = open_as("rita")
    page = rita.page
    page.goto("/portal/")
    page.goto(f"/incidents/{ref}/")
    page.wait_for_load_state("networkidle")
    assert rita.problems() == []


def test_the_watcher_sees_a_csp_violation(
    desk: dict[str, Any], open_as: Callable[[str], Watched]
) -> None:
    """The check above can fail: an inline script is refused and reported."""
    alice = open_as("alice")
    page = alice.page
    page.goto("/")
    page.evaluate(
        """() => { const s = document.createElement("script");
                  s.textContent = "window.__ran = true"; document.body.appendChild(s); }"""
    )
    page.wait_for_function("() => window.__cspViolations.length > 0", timeout=5_000)
    assert page.evaluate("() => window.__ran === undefined")
    assert any("script-src" in v for v in alice.csp_violations())
    assert alice.problems() != []
