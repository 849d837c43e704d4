"""Functional and hierarchical escalation in Chromium (issue 11, point 4), desktop and
phone: the escalate form's note swaps to the receiving team's template, the hand-off
pages the team's on-call, "escalated to L2 Network" shows on the incident and in the
queue, and "Notify management" reaches the team's manager; no console errors, no CSP
violations, no sideways scrolling on a phone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.escalation.paging_helpers import always_on_call, reachable
from tocsin.accounts.models import Role, Team, User
from tocsin.core.actors import Actor
from tocsin.escalation.models import Escalation, ManagementNotice
from tocsin.incidents import services as incident_services

from .a11y import axe_source, axe_violations
from .conftest import Watched

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install '.[dev]')"
)
expect = sync_api.expect


def test_an_agent_hands_off_to_network_and_tells_its_manager(
    make_user: Callable[..., User], open_as: Callable[[str], Watched], shots: Path
) -> None:
    make_user(Role.AGENT, username="alice", name="Alice Agent")
    nina = make_user(Role.RESPONDER, username="nina", name="Nina Network")
    reachable(nina, "email")
    maya = make_user(Role.MANAGER, username="maya", name="Maya Manager")
    reachable(maya, "email")
    desk = Team.objects.create(name="Service Desk")
    network = Team.objects.create(
        name="Network", manager=maya, handoff_template="Circuit ID: \nTraceroute: \nImpact: "
    )
    always_on_call(nina, name="Network primary", team=network)
    rita = make_user(Role.REPORTER, username="rita")
    incident = incident_services.incident_create(
        actor=Actor.system("monitoring"),
        reporter=rita,
        title="VPN drops every hour",
        impact=2,
        urgency=2,
        team=desk,
    )

    alice = open_as("alice")
    page = alice.page
    page.goto(f"/incidents/{incident.ref}/")
    page.locator("#panel-escalate summary").click()
    note = page.locator("#escalate_note")
    expect(note).to_have_value("What was tried: \nWhy escalate: \nCustomer impact: ")
    page.locator("#escalate_support_level").select_option("2")
    page.locator("#escalate_team").select_option(label="Network")
    expect(note).to_have_value("Circuit ID: \nTraceroute: \nImpact: ")  # swapped by the script
    note.fill("Circuit ID: LON-7\nTraceroute: dies at hop 4\nImpact: 40 sales staff")
    page.locator("#panel-escalate").get_by_role("button", name="Escalate").click()
    page.wait_for_load_state()
    expect(page.locator(".head-ref .badge-escalated")).to_have_text("escalated to L2 Network")
    expect(page.locator("body")).to_contain_text(
        "Escalated to L2 Network: paging the team's on-call, Nina Network"
    )
    assert Escalation.objects.filter(incident=incident, target_team=network).count() == 1

    # notify management: agents reach the team's manager
    section = page.locator("#management")
    section.get_by_label("Reason").fill("Sales floor offline for an hour; customers notice.")
    section.get_by_role("button", name="Notify management", exact=True).click()
    page.wait_for_load_state()
    expect(page.locator("#management")).to_contain_text("Sales floor offline")
    expect(page.locator("body")).to_contain_text("Management notified (maya).")
    assert ManagementNotice.objects.get(incident=incident).recipients == ["maya"]
    axe_source()  # skips with the reason when `npm ci` has not run
    assert [f"{v.rule}: {v.line_target()}" for v in axe_violations(page)] == []
    page.evaluate("() => window.scrollTo(0, 0)")  # the sticky header at the top
    page.screenshot(path=str(shots / "incident-desktop.png"), full_page=True)

    page.goto("/")
    badge = page.locator(".queue-row .badge-escalated")
    expect(badge).to_have_text("escalated to L2 Network")
    page.screenshot(path=str(shots / "queue-desktop.png"), full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(badge).to_be_visible()
    page.screenshot(path=str(shots / "queue-phone.png"), full_page=True)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"the queue scrolls sideways on a phone ({width}px)"
    page.goto(f"/incidents/{incident.ref}/")
    expect(page.locator(".head-ref .badge-escalated")).to_be_visible()
    page.screenshot(path=str(shots / "incident-phone.png"), full_page=True)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"the incident page scrolls sideways on a phone ({width}px)"
    assert alice.problems() == []


def test_the_escalation_settings_page(
    make_user: Callable[..., User], open_as: Callable[[str], Watched], shots: Path
) -> None:
    make_user(Role.ADMIN, username="ada", name="Ada Admin")
    make_user(Role.MANAGER, username="cleo", name="Cleo Chief")
    Team.objects.create(name="Network")
    ada = open_as("ada")
    page = ada.page
    page.goto("/settings/escalation/")
    page.get_by_label("Cleo Chief (cleo)").check()
    page.get_by_role("button", name="Save the executive list").click()
    page.wait_for_load_state()
    expect(page.locator("body")).to_contain_text("Executive list saved: 1 people.")
    page.screenshot(path=str(shots / "settings-desktop.png"), full_page=True)
    axe_source()
    assert [f"{v.rule}: {v.line_target()}" for v in axe_violations(page)] == []
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.screenshot(path=str(shots / "settings-phone.png"), full_page=True)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"the settings page scrolls sideways on a phone ({width}px)"
    assert ada.problems() == []
