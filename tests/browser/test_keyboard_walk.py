"""The agent's story with the keyboard only (issue 8): queue → incident → assign to me →
acknowledge → resolve, in Chromium, over the demo organisation, without a mouse.

Tab moves focus, Enter follows a link, presses a button or opens a <details> panel, and
typing fills a field (the arrow keys pick an option of a <select>). No click, no
`locator.fill`. Every control reached shows a visible focus indicator (WCAG 2.4.7) and
is on screen when focused.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tocsin.accounts.models import Role, User
from tocsin.core.actors import Actor
from tocsin.incidents.models import Incident, Level, Status
from tocsin.incidents.services import incident_create

from .conftest import Watched
from .pages import demo_site

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install '.[dev]')"
)
expect = sync_api.expect

TITLE = "Printer on floor 3 jams on every job"
MAX_TABS = 400

_FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body || e === document.documentElement) return null;
  const s = getComputedStyle(e);
  const r = e.getBoundingClientRect();
  return {
    tag: e.tagName.toLowerCase(),
    name: (e.getAttribute("aria-label") || e.innerText || e.value || "").trim().slice(0, 80),
    href: e.getAttribute("href"),
    id: e.id,
    ring: (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== "none",
    onscreen: r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth,
  };
}"""


def focused(page: Page) -> dict[str, Any] | None:
    return page.evaluate(_FOCUSED)  # type: ignore[no-any-return]


def tab_to(page: Page, wanted: Callable[[dict[str, Any]], bool], what: str) -> int:
    """Press Tab until the focused element is `wanted`; how many presses it took. Fails
    when it is never reached, or is reached without a visible focus ring or off screen."""
    for presses in range(1, MAX_TABS + 1):
        page.keyboard.press("Tab")
        now = focused(page)
        if now is not None and wanted(now):
            assert now["ring"], f"{what}: focused without a visible focus indicator: {now}"
            assert now["onscreen"], f"{what}: focused but off screen: {now}"
            return presses
    pytest.fail(f"{what} was not reached in {MAX_TABS} presses of Tab", pytrace=False)


def named(pattern: str, tag: str | None = None) -> Callable[[dict[str, Any]], bool]:
    regex = re.compile(pattern)
    return lambda el: bool(regex.search(el["name"])) and (tag is None or el["tag"] == tag)


def from_top(page: Page) -> None:
    """Start the next walk from the top of the page, as after a page load."""
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); }")


@pytest.fixture
def walk(open_as: Callable[[str], Watched]) -> dict[str, Any]:
    site = demo_site()
    reporter = site.person(Role.REPORTER)
    agent = User.objects.filter(role=Role.AGENT).order_by("pk").first()
    assert agent is not None
    incident = incident_create(
        actor=Actor.for_user(reporter),
        title=TITLE,
        description="Paper jams at the fuser; three departments cannot print.",
        reporter=reporter,
        impact=Level.HIGH,
        urgency=Level.HIGH,
    )
    watched = open_as(agent.username)
    watched.page.set_viewport_size({"width": 1400, "height": 900})
    return {"agent": agent, "incident": incident, "watched": watched}


def open_incident_from_queue(page: Page, incident: Incident, shots: Path) -> list[str]:
    """From the queue, Tab to the incident's link and follow it with Enter."""
    steps = []
    page.goto("/")
    page.wait_for_load_state()
    n = tab_to(page, lambda el: el["tag"] == "a" and el["name"] == incident.ref, incident.ref)
    steps.append(f"queue: {n} × Tab to {incident.ref}")
    page.screenshot(path=shots / "1-queue-focus-on-incident.png")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/incidents/{incident.ref}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    return steps


def press_action(page: Page, label: str, shots: Path, shot: str) -> int:
    """Tab to the button `label` and press it with Enter; the page it leads to loaded."""
    n = tab_to(page, named(rf"^{label}$", "button"), f"the {label!r} button")
    page.screenshot(path=shots / shot)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state()
    return n


def acknowledge_and_resolve(page: Page, incident: Incident, shots: Path) -> list[str]:
    steps = []
    n = press_action(page, "Acknowledge", shots, "3-focus-on-acknowledge.png")
    steps.append(f"incident: {n} × Tab to Acknowledge, Enter")
    expect(page.locator(".incident-head")).to_contain_text("Acknowledged")
    incident.refresh_from_db()
    assert incident.status == Status.ACKNOWLEDGED

    # Resolve is a <details> panel: Enter on its summary opens it.
    from_top(page)
    n = tab_to(page, named(r"^Resolve…$", "summary"), "the Resolve… panel")
    page.keyboard.press("Enter")
    expect(page.locator("details.action-details[open]")).to_have_count(1)
    steps.append(f"incident: {n} × Tab to Resolve…, Enter opens the panel")
    code = page.locator("details.action-details[open] select")
    tab_to(page, lambda el: el["tag"] == "select", "the resolution code")
    page.keyboard.press("ArrowDown")  # the first code after "—"
    assert code.input_value() != ""
    tab_to(page, lambda el: el["tag"] == "textarea", "the resolution notes")
    page.keyboard.type("Fuser replaced; ran 50 pages without a jam.")
    page.screenshot(path=shots / "4-resolve-form-filled.png")
    tab_to(page, named(r"^Resolve$", "button"), "the Resolve button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state()
    expect(page.locator(".incident-head")).to_contain_text("Resolved")
    page.screenshot(path=shots / "5-resolved.png", full_page=True)
    incident.refresh_from_db()
    assert incident.status == Status.RESOLVED
    assert incident.resolution_notes == "Fuser replaced; ran 50 pages without a jam."
    steps.append("incident: resolved with code and notes by keyboard")
    return steps


def test_agent_acknowledges_and_resolves_with_the_keyboard_only(
    walk: dict[str, Any], shots: Path
) -> None:
    """queue → incident → acknowledge → resolve (what exists today)."""
    watched: Watched = walk["watched"]
    page = watched.page
    incident: Incident = walk["incident"]
    steps = open_incident_from_queue(page, incident, shots)
    steps += acknowledge_and_resolve(page, incident, shots)
    print("\n".join(steps))
    assert watched.problems() == []


def test_agent_story_with_the_keyboard_only(walk: dict[str, Any], shots: Path) -> None:
    """queue → incident → assign to me → acknowledge → resolve."""
    watched: Watched = walk["watched"]
    page = watched.page
    incident: Incident = walk["incident"]
    agent: User = walk["agent"]
    steps = open_incident_from_queue(page, incident, shots)

    n = press_action(page, "Assign to me", shots, "2-focus-on-assign-to-me.png")
    steps.append(f"incident: {n} × Tab to Assign to me, Enter")
    incident.refresh_from_db()
    assert incident.assignee_id == agent.pk
    expect(page.locator("[data-live-region='fields']")).to_contain_text(agent.display_name)

    steps += acknowledge_and_resolve(page, incident, shots)
    incident.refresh_from_db()
    assert incident.assignee_id == agent.pk
    print("\n".join(steps))
    assert watched.problems() == []
