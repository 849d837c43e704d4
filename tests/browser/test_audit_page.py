"""The audit log page in Chromium, at desktop and phone width: filters work, user text is
escaped, and the page runs without console errors or CSP violations."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tocsin.accounts.models import Role, User
from tocsin.accounts.services import team_create, user_update
from tocsin.core.actors import Actor
from tocsin.core.models import AuditEntry

from .conftest import Watched

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install '.[dev]')"
)
expect = sync_api.expect


def test_an_administrator_searches_the_audit_log(
    make_user: Callable[..., User], open_as: Callable[[str], Watched], shots: Path
) -> None:
    ada = make_user(Role.ADMIN, username="ada", name="Ada Admin")
    alice = make_user(Role.AGENT, username="alice", name="Alice Agent")
    actor = Actor.for_user(ada, "3f2a9c", "192.0.2.10")
    team_create(name="<b>Payments</b>", members=[alice], actor=actor)
    user_update(user=alice, role=Role.MANAGER, name="Alice Liddell", actor=actor)
    admin = open_as("ada")
    page = admin.page
    page.goto("/")
    # the main menu's Settings leads to it (the menu keeps to the daily pages)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    page.get_by_role("main").get_by_role("link", name="Audit log").first.click()
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    expect(page.locator("tbody")).to_contain_text("signin")  # ada's own sign-in
    expect(page.locator("tbody")).to_contain_text("<b>Payments</b>")  # shown as text
    page.screenshot(path=str(shots / "desktop.png"), full_page=True)
    page.get_by_label("Object").select_option("user")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"object_type=user"))
    rows = page.locator("tbody tr")
    expect(rows.filter(has_text="user.update")).to_have_count(1)
    expect(rows.filter(has_text="team.create")).to_have_count(0)
    expect(rows.filter(has_text="user.update")).to_contain_text("Alice Liddell")
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(shots / "phone.png"), full_page=True)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    assert admin.problems() == []
    assert AuditEntry.objects.filter(action="signin", actor_user=ada).count() == 1

    agent = open_as("alice")
    expect(agent.page.get_by_role("link", name="Audit log")).to_have_count(0)
