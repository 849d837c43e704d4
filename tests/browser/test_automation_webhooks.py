"""Automation webhooks in Chromium, at desktop and phone width: a team's manager goes from
the service page to a new webhook, copies the secret shown once, sends a test that a real
receiver on loopback verifies, and reads the delivery log; no console errors or CSP
violations, nothing scrolls sideways on a phone."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.comms.automation_support import Hook, hook_fixture, tick, verify  # noqa: F401
from tocsin.accounts.models import Role, Team, User
from tocsin.catalog.models import Service

from .a11y import axe_violations
from .conftest import Watched

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install '.[dev]')"
)
expect = sync_api.expect


def _accessible(page: Any) -> None:
    serious = [f"{v.rule}: {v.help}" for v in axe_violations(page)]
    assert serious == [], f"{page.url}: {serious}"


def _no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"


def test_a_manager_sets_up_a_webhook_and_sends_a_test(
    make_user: Callable[..., User],
    open_as: Callable[[str], Watched],
    shots: Path,
    hook: Hook,
) -> None:
    maya = make_user(Role.MANAGER, username="maya", name="Maya Manager")
    team = Team.objects.create(name="Payments team", manager=maya)
    service = Service.objects.create(name="Payments API", team=team)
    watched = open_as("maya")
    page = watched.page
    page.goto(f"/services/{service.pk}/")
    page.get_by_role("link", name="Automation webhooks").click()
    expect(page.get_by_role("heading", name=re.compile("Automation webhooks"))).to_be_visible()
    page.get_by_role("link", name="New webhook").click()
    page.get_by_label("Name").fill("Open a Jira ticket")
    page.get_by_label("URL").fill(hook.url("/jira"))
    page.get_by_label("Priority changed").check()
    page.screenshot(path=str(shots / "form-desktop.png"), full_page=True)
    _accessible(page)
    page.get_by_role("button", name="Create webhook").click()
    expect(page.get_by_text("Copy the signing secret now")).to_be_visible()
    secret = page.locator("#webhook-secret").inner_text().strip()
    assert secret.startswith("whsec_")
    hook.secret = secret
    page.screenshot(path=str(shots / "created-desktop.png"), full_page=True)
    _accessible(page)

    page.get_by_role("button", name="Send test").click()
    expect(page.get_by_text("Test queued")).to_be_visible()
    tick()
    [request] = hook.requests
    assert verify(secret, request.headers, request.raw)
    assert hook.names == ["test"]
    page.reload()
    expect(page.locator(".auto-deliveries tbody")).to_contain_text("Sent")
    expect(page.get_by_text(secret)).to_have_count(0)  # shown once
    page.screenshot(path=str(shots / "detail-desktop.png"), full_page=True)
    _accessible(page)

    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(shots / "detail-phone.png"), full_page=True)
    _no_sideways_scroll(page)
    page.goto("/settings/webhooks/")
    expect(page.locator("tbody")).to_contain_text("Open a Jira ticket")
    page.screenshot(path=str(shots / "list-phone.png"), full_page=True)
    _no_sideways_scroll(page)
    _accessible(page)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(shots / "list-desktop.png"), full_page=True)
    assert watched.problems() == []
