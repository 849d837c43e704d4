"""The incident page's Response block in Chromium (issue 11): a responder takes the
commander role, an agent hands it over through the form, adds a participant and sets the
war-room links; the roles settings page; at desktop and phone width, without console
errors or CSP violations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tocsin.accounts.models import Role, User
from tocsin.core.actors import Actor
from tocsin.incidents.models import Incident, RoleAssignment
from tocsin.incidents.services import incident_create

from .a11y import axe_violations, dom_duplicate_ids
from .conftest import Watched

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install '.[dev]')"
)
expect = sync_api.expect

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def _both_widths(watched: Watched, shots: Path, name: str) -> None:
    page = watched.page
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(shots / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.locator("#panel-response").screenshot(path=str(shots / f"{name}-phone-block.png"))
    page.screenshot(path=str(shots / f"{name}-phone.png"), full_page=True)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name} scrolls sideways on a phone ({width}px)"
    page.set_viewport_size(DESKTOP)


def test_roles_are_taken_handed_over_and_shown(
    make_user: Callable[..., User], open_as: Callable[[str], Watched], shots: Path
) -> None:
    reporter = make_user(Role.REPORTER, username="rita", name="Rita Reporter")
    make_user(Role.RESPONDER, username="rob", name="Rob Responder")
    make_user(Role.AGENT, username="alice", name="Alice Agent")
    make_user(Role.MANAGER, username="maya", name="Maya Manager")
    incident: Incident = incident_create(
        actor=Actor.for_user(reporter), reporter=reporter, title="Checkout down for everyone"
    )

    rob = open_as("rob")
    page = rob.page
    page.goto(f"/incidents/{incident.ref}/")
    block = page.locator("#panel-response")
    expect(block.get_by_role("heading", name="Response")).to_be_visible()
    block.get_by_role("button", name="Take it (Incident commander)").click()
    expect(page.get_by_text("Incident commander: Rob Responder.").first).to_be_visible()

    alice = open_as("alice")
    page = alice.page
    page.goto(f"/incidents/{incident.ref}/")
    block = page.locator("#panel-response")
    block.get_by_text("Assign or hand over a role").click()
    block.get_by_label("Role", exact=True).select_option(label="Incident commander")
    block.get_by_label("Person", exact=True).select_option(label="Maya Manager")
    block.get_by_label("Note").fill("shift change")
    block.get_by_role("button", name="Assign", exact=True).click()
    expect(page.locator(".flash").first).to_contain_text("Incident commander: Maya Manager.")
    block = page.locator("#panel-response")
    expect(block.locator(".response-role").first).to_contain_text("Maya Manager")
    block.get_by_label("Add participant").select_option(label="Alice Agent")
    block.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator(".flash").first).to_contain_text("Alice Agent joined the response.")
    block = page.locator("#panel-response")
    block.get_by_text("Edit war room links").click()
    block.get_by_label("Chat channel").fill("https://chat.example.com/incident-1")
    block.get_by_label("Video bridge").fill("https://meet.example.com/inc-1")
    block.get_by_role("button", name="Save links").click()
    block = page.locator("#panel-response")
    link = block.get_by_role("link", name="https://chat.example.com/incident-1")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(block.locator(".response-people")).to_contain_text("Rob Responder")
    expect(block.locator(".response-people")).to_contain_text("Alice Agent")
    _both_widths(alice, shots, "response")
    block.get_by_text("Assign or hand over a role").click()  # open panels are checked too
    block.get_by_text("Edit war room links").click()
    assert [v.line_target() for v in axe_violations(page)] == []
    assert dom_duplicate_ids(page) == {}
    assert alice.problems() == [] and rob.problems() == []
    history = list(
        RoleAssignment.objects.filter(incident=incident)
        .order_by("assigned_at", "id")
        .values_list("user__username", flat=True)
    )
    assert history == ["rob", "maya"]


def test_roles_settings_page(
    make_user: Callable[..., User], open_as: Callable[[str], Watched], shots: Path
) -> None:
    make_user(Role.ADMIN, username="ada", name="Ada Admin")
    admin = open_as("ada")
    page = admin.page
    page.goto("/settings/")
    page.get_by_role("navigation", name="Settings").get_by_role(
        "link", name="Incident roles"
    ).click()
    expect(page.get_by_role("heading", name="Incident roles", exact=True)).to_be_visible()
    form = page.locator("form").filter(has=page.get_by_role("button", name="Add the role"))
    form.get_by_label("Name").fill("Customer liaison")
    form.get_by_role("button", name="Add the role").click()
    expect(page.get_by_text("Role Customer liaison added.")).to_be_visible()
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(shots / "roles-settings-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(shots / "roles-settings-phone.png"), full_page=True)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"roles settings scroll sideways ({width}px)"
    page.set_viewport_size(DESKTOP)
    assert [v.line_target() for v in axe_violations(page)] == []
    assert dom_duplicate_ids(page) == {}
    assert admin.problems() == []
