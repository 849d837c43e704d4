"""The escalation policy editor in Chromium, as a team manager uses it: a two-level
policy (a schedule, then a person round-robin with the team's on-call), each target
showing who it names now as it is chosen, saved, shown with its warning, and given to a
service from the service page; at desktop (1400×900) and phone (390×844) width, with no
console errors or CSP reports."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.escalation.policy_setup import SETUP, make_world
from tocsin.accounts.models import User
from tocsin.catalog.services import service_create
from tocsin.escalation.models import EscalationPolicy, ServicePaging
from tocsin.oncall import services as oncall_services
from tocsin.oncall import specs

from .conftest import Watched

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install '.[dev]')"
)
expect = sync_api.expect

DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}


def _both_widths(watched: Watched, shots: Path, name: str) -> None:
    page = watched.page
    was = page.viewport_size or DESKTOP
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(shots / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(shots / f"{name}-phone.png"), full_page=True)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name} scrolls sideways on a phone ({width}px)"
    page.set_viewport_size(was)


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_a_manager_builds_a_policy_and_gives_it_to_a_service(
    make_user: Callable[..., User],
    open_as: Callable[[str], Watched],
    shots: Path,
    viewport: str,
) -> None:
    world = make_world(make_user)
    service = service_create(name="Checkout", team=world.platform, actor=SETUP)
    watched = open_as("maya")
    page = watched.page
    page.set_viewport_size(DESKTOP if viewport == "desktop" else PHONE)

    page.goto("/escalation-policies/")
    if viewport == "desktop":
        expect(page.get_by_role("link", name="Escalation", exact=True)).to_have_attribute(
            "aria-current", "page"
        )
    page.get_by_role("link", name="New policy").click()
    expect(page.get_by_role("heading", name="New escalation policy")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("Checkout paging")
    page.get_by_label("Owning team").select_option(label="Platform")
    page.get_by_label("Repeat the whole policy").fill("1")

    first = page.locator("#level-0")
    first.get_by_label("Minutes before the next level").fill("5")
    first.get_by_label("Target 1 of level 1").select_option(label="Platform primary")
    expect(first.locator("[data-now-for]")).to_have_text("On call now: Ann Archer")

    page.get_by_role("button", name="Add a level").click()  # a round trip, nothing saved
    assert EscalationPolicy.objects.count() == 0
    expect(page.get_by_label("Name", exact=True)).to_have_value("Checkout paging")
    second = page.locator("#level-1")
    expect(second).to_contain_text("Paged after 5 min without an acknowledgement.")
    second.get_by_label("Whom to page").select_option(label="Round-robin")
    second.get_by_label("Target 1 of level 2").select_option(label="Bob <b>Bold</b> (bob)")
    second.get_by_role("button", name="Add a target to level 2").click()
    second = page.locator("#level-1")
    second.get_by_label("Target 2 of level 2").select_option(label="Platform (on call)")
    expect(second.locator("[data-now-for]").nth(1)).to_have_text("On call now: Ann Archer")
    _both_widths(watched, shots, f"editor-{viewport}")

    # a level with an empty target is refused, named in the summary, which takes focus
    page.get_by_role("button", name="Add a level").click()
    page.get_by_role("button", name="Create policy").click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_contain_text("Level 3: target 1")
    expect(summary).to_be_focused()
    _both_widths(watched, shots, f"refused-{viewport}")
    page.get_by_role("button", name="Remove level 3").click()

    page.get_by_role("button", name="Create policy").click()
    page.wait_for_load_state()
    policy = EscalationPolicy.objects.get()
    assert page.url.endswith(f"/escalation-policies/{policy.pk}/")
    expect(page.get_by_role("heading", name="Checkout paging")).to_be_visible()
    expect(page.locator(".pol-warnings")).to_contain_text("Bob <b>Bold</b> cannot be paged")
    expect(page.locator(".pol-levels")).to_contain_text("On call now: Ann Archer")
    _both_widths(watched, shots, f"policy-{viewport}")

    page.goto(f"/services/{service.pk}/")
    page.get_by_label("Escalation policy").select_option(label="Checkout paging")
    page.get_by_role("button", name="Save policy").click()
    page.wait_for_load_state()
    assert ServicePaging.objects.get(service=service).policy == policy
    expect(page.locator("#h-paging").locator("..")).to_contain_text("Pages through Checkout paging")
    page.locator("#h-paging").scroll_into_view_if_needed()
    _both_widths(watched, shots, f"service-{viewport}")

    page.goto("/escalation-policies/")
    expect(page.get_by_role("link", name="Checkout", exact=True)).to_be_visible()
    _both_widths(watched, shots, f"list-{viewport}")
    # the schedule page names the people on it who cannot be paged
    layers = specs.parse_layers(
        [
            {"name": "Weekly", "start": "2026-03-02T09:00", "rotation": "weekly"}
            | {"users": ["ann", "bob"]}
        ]
    )
    oncall_services.schedule_update(schedule=world.primary, layers=layers, actor=SETUP)
    page.goto(f"/schedules/{world.primary.pk}/")
    expect(page.locator("#paging-problems")).to_contain_text(
        "Bob <b>Bold</b>: no working high-urgency contact method"
    )
    page.locator("#paging-problems").screenshot(path=str(shots / f"schedule-{viewport}.png"))
    # a refused form answers 422, which Chromium logs; nothing else
    assert [p for p in watched.problems() if "status of 422" not in p] == []


def test_a_target_chosen_before_the_script_runs_shows_who_it_names(
    make_user: Callable[..., User], open_as: Callable[[str], Watched]
) -> None:
    """On a slow connection a person can choose a target before the editor's script has
    run; once it runs, the line under the choice names who is on call, not nothing."""
    make_world(make_user)
    watched = open_as("maya")
    page = watched.page
    held: list[Any] = []
    page.route("**/escalation-editor.js", lambda route: held.append(route))
    page.goto("/escalation-policies/new/", wait_until="commit")
    first = page.locator("#level-0")
    first.get_by_label("Target 1 of level 1").select_option(label="Platform primary")
    expect(first.locator("[data-now-for]")).to_have_text("")  # the script has not run
    assert len(held) == 1
    held[0].continue_()
    expect(first.locator("[data-now-for]")).to_have_text("On call now: Ann Archer")
    assert watched.problems() == []
