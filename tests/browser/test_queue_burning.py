"""The queue shows what is burning (issue 8, points 1, 6, 7, 8 and 10), in Chromium at
1400×900 and 390×844, with screenshots under test-output/browser/."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tocsin.accounts.models import Role, User
from tocsin.accounts.services import team_create
from tocsin.catalog.services import service_create
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.incidents import services
from tocsin.incidents.models import Incident

from .conftest import Watched

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install '.[dev]')"
)
expect = sync_api.expect

DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}


def shot(page: Page, folder: Path, name: str, *, full: bool = False) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=full)


@pytest.fixture
def burning(
    make_user: Callable[..., User], make_incident: Callable[..., Incident]
) -> dict[str, Any]:
    setup = Actor.system("test setup")
    reporter = make_user(Role.REPORTER, username="rita", name="Rita Reporter")
    alice = make_user(Role.AGENT, username="alice", name="Alice Agent")
    bob = make_user(Role.AGENT, username="bob", name="Bob Builder")
    team = team_create(name="Network team", members=[alice], actor=setup)
    vpn = service_create(name="VPN", actor=setup)
    service_create(name="Printing", actor=setup)
    p1 = make_incident(reporter, title="Core router down", impact=1, urgency=1, service=vpn)
    services.incident_assign(incident=p1, actor=setup, team=team, set_assignee=False, set_team=True)
    p2 = make_incident(reporter, title="Mail delayed for everyone", impact=3, urgency=1)
    services.incident_assign(incident=p2, actor=setup, assignee=alice)
    # The P2's response target passed ten minutes ago.
    Incident.objects.filter(pk=p2.pk).update(response_due_at=now() - dt.timedelta(minutes=10))
    p3 = make_incident(reporter, title="Printer jams on floor 3", impact=3, urgency=3)
    services.incident_assign(incident=p3, actor=setup, assignee=bob)
    p4 = make_incident(reporter, title="A new mouse, please", impact=4, urgency=4)
    return {"alice": alice, "team": team, "vpn": vpn, "p1": p1, "p2": p2, "p3": p3, "p4": p4}


def row(page: Page, title: str) -> Any:
    return page.locator("tbody[data-live-region=queue-rows] tr", has_text=title)


def test_summary_views_rows_and_sorting_on_a_desktop(
    burning: dict[str, Any], open_as: Callable[[str], Watched], shots: Path
) -> None:
    alice = open_as("alice")
    page = alice.page
    page.set_viewport_size(DESKTOP)
    page.goto("/")
    summary = page.get_by_role("navigation", name="Open incidents at a glance")
    expect(summary).to_have_text(
        re.compile(r"4 open\s+1 P1\s+1 P2\s+1 SLA breached\s+2 unassigned\s+1 mine")
    )
    views = page.get_by_role("navigation", name="Views")
    for name, count in (("All open", 4), ("Mine", 1), ("Unassigned", 2), ("Breached", 1)):
        expect(views.get_by_role("link", name=f"{name} {count}")).to_be_visible()
    expect(views.get_by_role("link", name="My team's 1")).to_be_visible()
    shot(page, shots, "1-desktop-queue")

    # P1 and breached rows are distinct at the row itself, not only in the SLA column.
    p1, p2, p3 = (row(page, t) for t in ("Core router", "Mail delayed", "Printer jams"))
    stripe = p1.locator("td").first.evaluate("td => getComputedStyle(td).boxShadow")
    assert "inset" in stripe, stripe
    plain = p3.evaluate("tr => getComputedStyle(tr).backgroundColor")
    hot = p2.evaluate("tr => getComputedStyle(tr).backgroundColor")
    assert hot != plain
    expect(p2.locator(".badge-breached")).to_have_text("SLA breached")
    expect(p1.locator(".cell-age")).to_have_text(re.compile(r"(<1m|\d+m) ago"))

    # The numbers are filters.
    summary.get_by_role("link", name="1 SLA breached").click()
    expect(page).to_have_url(re.compile(r"\?sla=breached$"))
    expect(page.locator("tbody[data-live-region=queue-rows] tr")).to_have_count(1)
    expect(views.get_by_role("link", name="Breached 1")).to_have_attribute("aria-current", "page")
    views.get_by_role("link", name="My team's 1").click()
    expect(row(page, "Core router")).to_have_count(1)
    expect(page.locator("tbody[data-live-region=queue-rows] tr")).to_have_count(1)

    # Sortable columns: Title ascending, then descending.
    page.goto("/")
    page.get_by_role("link", name="Title").click()
    expect(page.locator("th[aria-sort=ascending]")).to_have_text(re.compile("Title"))
    titles = page.locator(".cell-title a").all_inner_texts()
    assert titles == sorted(titles, key=str.lower)
    page.get_by_role("link", name=re.compile("^Title")).click()
    expect(page.locator("th[aria-sort=descending]")).to_have_text(re.compile("Title"))
    assert page.locator(".cell-title a").all_inner_texts() == sorted(titles, key=str.lower)[::-1]
    shot(page, shots, "2-desktop-sorted")

    # The numeric column's heading sits over its numbers; titles look like links.
    opened = page.locator("th", has_text="Opened")
    assert opened.evaluate("th => getComputedStyle(th).textAlign") == "right"
    decoration = p1.locator(".cell-title a").evaluate("a => getComputedStyle(a).textDecorationLine")
    assert "underline" in decoration
    assert alice.problems() == []


def test_filters_apply_on_the_button_or_enter_not_on_change(
    burning: dict[str, Any], open_as: Callable[[str], Watched], shots: Path
) -> None:
    alice = open_as("alice")
    page = alice.page
    page.set_viewport_size(DESKTOP)
    page.goto("/")
    priority = page.get_by_label("Priority", exact=True)
    priority.focus()
    page.keyboard.press("ArrowDown")  # P1: a change, not a submit
    page.wait_for_timeout(600)
    assert page.url.endswith("/")
    expect(priority).to_be_focused()
    page.keyboard.press("ArrowDown")  # P2
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"priority=2"))
    expect(page.locator("tbody[data-live-region=queue-rows] tr")).to_have_count(1)
    page.get_by_label("Assignee").select_option(label="Me")
    page.wait_for_timeout(300)
    expect(page).to_have_url(re.compile(r"priority=2"))
    assert "assignee=me" not in page.url
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"/\?priority=2&assignee=me$"))  # no empty ones
    shot(page, shots, "desktop-filtered")
    assert alice.problems() == []


def test_empty_results_are_calm_and_a_long_search_marks_the_field(
    burning: dict[str, Any], open_as: Callable[[str], Watched], shots: Path
) -> None:
    alice = open_as("alice")
    page = alice.page
    for size, name in ((DESKTOP, "desktop"), (PHONE, "phone")):
        page.set_viewport_size(size)
        page.goto("/?priority=2&assignee=unassigned")
        expect(page.locator(".empty-row")).to_contain_text("No incidents match these filters.")
        label = page.locator(".empty-row td").evaluate(
            "td => getComputedStyle(td, '::before').content"
        )
        assert label in ("none", "normal"), label  # no stray ": " before the message
        expect(page.locator("[data-live-region=queue-count]").first).to_have_text("0 incidents")
        expect(page.get_by_text("needs correcting")).to_have_count(0)
        shot(page, shots, f"{name}-empty")
        page.goto("/?q=" + "x" * 201)
        search = page.get_by_label("Search")
        expect(search).to_have_attribute("aria-invalid", "true")
        expect(page.locator(".filter-q.has-error .errorlist")).to_have_text(
            "Search for at most 200 characters (this has 201)."
        )
        expect(page.locator("#queue-filters")).to_be_visible()  # open on a phone too
        shot(page, shots, f"{name}-long-search")
    Incident.objects.filter(pk=burning["p1"].pk).update(status="resolved")
    page.set_viewport_size(DESKTOP)
    page.goto("/?priority=1")
    expect(page.locator(".empty-row")).to_contain_text("No open P1 incidents — all clear.")
    shot(page, shots, "desktop-no-p1")


def test_a_person_saves_a_view_and_sees_its_count(
    burning: dict[str, Any], open_as: Callable[[str], Watched], shots: Path
) -> None:
    alice = open_as("alice")
    page = alice.page
    page.set_viewport_size(DESKTOP)
    page.goto("/?priority=1")
    page.get_by_label("Save these filters as a view").fill("Burning P1s")
    page.get_by_role("button", name="Save view").click()
    views = page.get_by_role("navigation", name="Views")
    tab = views.get_by_role("link", name="Burning P1s 1")
    expect(tab).to_have_attribute("aria-current", "page")
    expect(page.get_by_text("Saved the view “Burning P1s”.")).to_be_visible()
    shot(page, shots, "desktop-saved-view")
    page.goto("/")
    tab.click()
    expect(page).to_have_url(re.compile(r"\?priority=1$"))
    page.get_by_role("button", name="Delete the view Burning P1s").click()
    expect(page.get_by_text("Deleted the view “Burning P1s”.")).to_be_visible()
    expect(views.get_by_role("link", name=re.compile("Burning"))).to_have_count(0)
    assert alice.problems() == []


def test_on_a_phone_the_incidents_come_first(
    burning: dict[str, Any], open_as: Callable[[str], Watched], shots: Path
) -> None:
    alice = open_as("alice")
    page = alice.page
    page.set_viewport_size(PHONE)
    page.goto("/")
    form = page.locator("#queue-filters")
    expect(form).to_be_hidden()
    toggle = page.get_by_role("button", name="Filters")
    expect(toggle).to_be_visible()
    first = page.locator("tbody[data-live-region=queue-rows] tr").first
    box = first.bounding_box()
    assert box is not None and box["y"] + 80 < PHONE["height"], box
    # Compact cards: no empty "—" lines.
    cards = page.locator("tbody[data-live-region=queue-rows]")
    assert "—" not in cards.inner_text()
    expect(row(page, "Printer jams").get_by_text("opened")).to_be_visible()
    shot(page, shots, "1-phone-queue")
    shot(page, shots, "2-phone-queue-full", full=True)
    toggle.click()
    expect(form).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    shot(page, shots, "3-phone-filters-open")
    page.get_by_label("Priority", exact=True).select_option(label="P1")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"priority=1"))
    expect(form).to_be_hidden()
    expect(toggle).to_have_text("Filters · 1 set")
    assert alice.problems() == []


def test_sla_colours_by_share_used_and_the_clock_kind(
    burning: dict[str, Any], open_as: Callable[[str], Watched], shots: Path
) -> None:
    """P1 responds within 15 minutes: 2 minutes left is 87 % used (red), 6 minutes left
    60 % (amber); a held incident says its clock stopped, not "no target"."""
    p1, p4 = burning["p1"], burning["p4"]
    Incident.objects.filter(pk=p1.pk).update(response_due_at=now() + dt.timedelta(minutes=2))
    p3 = burning["p3"]
    fresh = services.incident_create(
        actor=Actor.system("test setup"),
        reporter=p3.reporter,
        title="Wi-Fi flaky in the lab",
        impact=1,
        urgency=1,
    )
    Incident.objects.filter(pk=fresh.pk).update(response_due_at=now() + dt.timedelta(minutes=6))
    acting = Actor.for_user(burning["alice"])
    services.incident_start(incident=p4, actor=acting)
    services.incident_hold(incident=p4, actor=acting, note="waiting for the supplier")
    alice = open_as("alice")
    page = alice.page
    for size, name in ((DESKTOP, "desktop"), (PHONE, "phone")):
        page.set_viewport_size(size)
        page.goto("/")
        red = row(page, "Core router").locator(".sla").first
        expect(red).to_have_class(re.compile(r"\bsla-critical\b"))
        amber = row(page, "Wi-Fi flaky").locator(".sla").first
        expect(amber).to_have_class(re.compile(r"\bsla-warning\b"))
        colours = {el.evaluate("e => getComputedStyle(e).color") for el in (red, amber)}
        assert len(colours) == 2
        expect(row(page, "Core router").locator(".sla-clock")).to_have_text("24×7")
        expect(row(page, "A new mouse").locator(".sla").first).to_contain_text("paused")
        shot(page, shots, f"{name}-queue-sla")
        page.goto(f"/incidents/{p4.ref}/")
        boxes = page.locator(".sla-boxes")
        expect(boxes).not_to_contain_text("no target")
        expect(boxes).to_contain_text("clock stopped while on hold")
        expect(boxes).to_contain_text("24×7")
        shot(page, shots, f"{name}-held-head")
    assert alice.problems() == []


def test_services_show_health_and_list_pages_line_up(
    burning: dict[str, Any], open_as: Callable[[str], Watched], shots: Path
) -> None:
    alice = open_as("alice")
    page = alice.page
    page.set_viewport_size(DESKTOP)
    page.goto("/services/")
    vpn = page.locator("tr", has_text="VPN")
    expect(vpn.locator(".health")).to_contain_text("Critical")
    expect(vpn.locator(".health")).to_contain_text("1 open P1 incident")
    expect(page.locator("tr", has_text="Printing").locator(".health")).to_have_text("Healthy")
    expect(page.get_by_text("Active", exact=True)).to_have_count(0)
    integrations = page.locator("th", has_text="Integrations")
    assert integrations.evaluate("th => getComputedStyle(th).textAlign") == "right"
    shot(page, shots, "desktop-services")
    heads = {}
    for path in ("/", "/services/", "/alerts/"):
        page.goto(path)
        heading = page.locator("h1").bounding_box()
        main = page.locator("main").bounding_box()
        assert heading is not None and main is not None
        heads[path] = (round(heading["x"]), round(heading["y"]), round(main["width"]))
    assert len(set(heads.values())) == 1, heads
    page.set_viewport_size(PHONE)
    page.goto("/services/")
    expect(page.locator("tr", has_text="VPN").locator(".health")).to_contain_text("Critical")
    shot(page, shots, "phone-services")
    assert alice.problems() == []
