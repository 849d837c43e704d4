"""The settings pages in Chromium, as an administrator uses them: the priority matrix
changed in its grid, SLA targets typed as durations, a bad one refused with the field
named; at desktop and phone width, without console errors or CSP violations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tocsin.accounts.models import Role, User
from tocsin.core.models import AuditEntry
from tocsin.incidents.models import SlaTarget
from tocsin.incidents.priority import priority_for

from .conftest import Watched

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install '.[dev]')"
)
expect = sync_api.expect

DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}


def _both_widths(watched: Watched, shots: Path, name: str) -> None:
    page = watched.page
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(shots / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(shots / f"{name}-phone.png"), full_page=True)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name} scrolls sideways on a phone ({width}px)"
    page.set_viewport_size(DESKTOP)


def test_an_administrator_edits_the_matrix_and_the_targets(
    make_user: Callable[..., User], open_as: Callable[[str], Watched], shots: Path
) -> None:
    make_user(Role.ADMIN, username="ada", name="Ada Admin")
    make_user(Role.AGENT, username="sam", name="Sam Agent")
    admin = open_as("ada")
    page = admin.page
    page.set_viewport_size(DESKTOP)
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Settings", exact=True)).to_be_visible()
    _both_widths(admin, shots, "settings")

    # the matrix: impact 4 (low) × urgency 1 (critical) from P3 to P2
    page.get_by_role("link", name="Edit the matrix").click()
    page.wait_for_load_state()  # the page's script too, which colours a cell as it is chosen
    cell = page.get_by_label("Impact 4 – Low, urgency 1 – Critical")
    expect(cell).to_have_value("3")
    cell.select_option("2")
    expect(page.locator("td.matrix-cell").filter(has=cell)).to_have_class(
        "matrix-cell prio-cell-2"  # coloured as chosen, before saving
    )
    _both_widths(admin, shots, "matrix")
    page.get_by_role("button", name="Save the matrix").click()
    expect(page.get_by_text("Priority matrix saved: 1 cell changed.")).to_be_visible()
    assert priority_for(4, 1) == 2

    # SLA targets: zero refused, naming the field; then a duration with two units
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="SLA targets").click()
    response = page.get_by_label("P2 response target")
    expect(response).to_have_value("30m")
    response.fill("0m")
    page.get_by_label("P2 resolution target").fill("1d 4h")
    page.get_by_role("button", name="Save the targets").click()
    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("P2 response target must be at least 1 minute.")
    expect(summary).to_be_focused()
    expect(page.get_by_label("P2 resolution target")).to_have_value("1d 4h")  # kept
    _both_widths(admin, shots, "sla-refused")
    assert SlaTarget.objects.get(priority=2).response_minutes == 30
    summary.get_by_role("link").click()
    expect(response).to_be_focused()
    response.fill("20m")
    page.get_by_role("button", name="Save the targets").click()
    expect(page.get_by_text("SLA targets saved: P2 20m / 1d 4h.")).to_be_visible()
    _both_widths(admin, shots, "sla-saved")
    target = SlaTarget.objects.get(priority=2)
    assert (target.response_minutes, target.resolution_minutes) == (20, 28 * 60)
    assert AuditEntry.objects.filter(action="sla_target.update", actor_user__username="ada")
    refused = "the server responded with a status of 422"  # the refused form, on purpose
    assert [line for line in admin.problems() if refused not in line] == []

    agent = open_as("sam")
    expect(agent.page.get_by_role("link", name="Settings")).to_have_count(0)
    agent.page.goto("/settings/sla-targets/")
    expect(agent.page.get_by_text("The settings are for administrators.")).to_be_visible()
