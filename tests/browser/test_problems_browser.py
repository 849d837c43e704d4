"""Problems and known errors in Chromium, the acceptance path: three VPN network
incidents show as a trend, an agent raises a problem from it (linking the three), records
the workaround (known error); a fourth incident of the same service and category, and one
that matches only by its text, show the workaround on their page and are linked in one
click. Screenshots at desktop and phone width; the reporter sees neither the section nor
the pages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.learning.problem_helpers import make_world, problem_entries
from tocsin.accounts.models import User
from tocsin.incidents.models import Incident
from tocsin.learning.models import Problem, ProblemStatus

from .conftest import Watched

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install '.[dev]')"
)
expect = sync_api.expect
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def _both(page: Any, shots: Path, name: str) -> None:
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(shots / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(shots / f"{name}-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def test_trend_to_known_error_to_one_click_link_at_triage(
    make_user: Callable[..., User],
    make_incident: Callable[..., Incident],
    open_as: Callable[[str], Watched],
    live_server: Any,
    shots: Path,
) -> None:
    world = make_world(make_user, make_incident)
    first = [world.incident(f"VPN drops for remote office {n}", staff=True) for n in range(3)]

    watched = open_as("alice")
    page = watched.page
    page.goto("/problems/")
    expect(page.get_by_role("heading", name="Problems")).to_be_visible()
    page.get_by_role("link", name="Trends").click()
    page.wait_for_load_state()
    row = page.locator("tr", has_text="VPN")
    expect(row).to_contain_text("3:")
    _both(page, shots, "trends")
    row.get_by_role("button", name="Raise problem: Network on VPN").click()
    page.wait_for_load_state()
    expect(page.locator(".flash")).to_contain_text("PRB-1 raised, linking 3 incidents.")
    expect(page.get_by_role("heading", name="Recurring Network incidents on VPN")).to_be_visible()

    # the investigation and root cause, then the workaround: a known error
    page.get_by_role("link", name="Edit").click()
    page.wait_for_load_state()
    page.get_by_label("Investigation").fill("- Tunnels drop after **60 minutes** idle\n- Not DNS")
    page.get_by_label("Root cause").fill("The concentrator's idle timeout is too short.")
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    page.get_by_label("Workaround").fill("Turn on **Always-on VPN** in the client settings.")
    page.get_by_role("button", name="Known error").click()
    page.wait_for_load_state()
    expect(page.locator(".flash")).to_contain_text("PRB-1 is now a known error")
    expect(page.locator(".problem-workaround strong")).to_have_text("Always-on VPN")
    expect(page.locator("#incidents tbody tr")).to_have_count(3)
    _both(page, shots, "problem")
    for incident in first:
        assert problem_entries(incident)[-1].startswith("Problem PRB-1 is a known error")

    # a fourth incident, same service and category, is triaged
    fourth = world.incident("Cannot reach the intranet from home", staff=True)
    by_text = world.incident("VPN tunnel drops when idle", description="concentrator timeout")
    for incident in (fourth, by_text):
        page.goto(f"/incidents/{incident.ref}/")
        section = page.locator("#problems")
        expect(section).to_contain_text("Always-on VPN")
        if incident == fourth:
            expect(section).to_contain_text("Same service and category")
            section.scroll_into_view_if_needed()
            _both(page, shots, "incident-section")
            section.screenshot(path=str(shots / "section-desktop.png"))
            page.set_viewport_size(PHONE)
            section.screenshot(path=str(shots / "section-phone.png"))
            page.set_viewport_size(DESKTOP)
        else:
            expect(section).to_contain_text("Similar text")
        section.get_by_role("button", name="Link to PRB-1").click()
        page.wait_for_load_state()
        expect(page.locator(".flash")).to_contain_text(f"{incident.ref} linked to PRB-1.")
        expect(page.locator("#problems")).not_to_contain_text("Link to PRB-1")
        expect(page.locator("#problems .problem-linked")).to_contain_text("PRB-1")
    problem = Problem.objects.get()
    assert problem.status == ProblemStatus.KNOWN_ERROR and problem.links.count() == 5
    page.goto("/problems/")
    expect(page.locator("tbody tr")).to_have_count(1)
    _both(page, shots, "list")
    assert watched.problems() == []

    # the reporter sees her incident without the section, and no problem pages
    rita = open_as("rita").page
    rita.goto(f"/incidents/{fourth.ref}/")
    expect(rita.locator("#problems")).to_have_count(0)
    expect(rita.get_by_text("Always-on VPN")).to_have_count(0)
    reply = rita.goto("/problems/PRB-1/")
    assert reply is not None and reply.status == 404
