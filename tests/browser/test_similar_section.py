"""Similar incidents in Chromium (issue 12, point 5): an agent opens a new incident and
sees the past incident that looks like it, how it was resolved and how long it took, and
the known error with its workaround; follows the link to the past incident. The reporter
of the new incident sees no such section. Screenshots on desktop and phone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tocsin.accounts.models import Role, User
from tocsin.accounts.services import user_create
from tocsin.core.actors import Actor
from tocsin.incidents.services import incident_create, incident_resolve
from tocsin.learning.models import Problem, ProblemStatus

from .a11y import axe_violations
from .conftest import PASSWORD, Watched

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install '.[dev]')"
)
expect = sync_api.expect
SETUP = Actor.system("test setup")
PHONE = {"width": 390, "height": 844}
UNSTICK = "() => { document.querySelector('.topbar').style.position = 'static'; }"


@pytest.fixture
def story(transactional_db: None) -> dict[str, Any]:
    for username, role, name in (
        ("alice", Role.AGENT, "Alice Agent"),
        ("rita", Role.REPORTER, "Rita Reis"),
    ):
        user_create(
            username=username,
            email=f"{username}@example.com",
            name=name,
            role=role,
            password=PASSWORD,
            actor=SETUP,
        )
    rita = User.objects.get(username="rita")
    old = incident_create(
        actor=SETUP,
        reporter=rita,
        title="VPN disconnects every hour in the Lisbon office",
        description="The tunnel drops at the hour, every hour.",
    )
    incident_resolve(
        incident=old,
        actor=Actor.for_user(User.objects.get(username="alice")),
        resolution_code="configuration",
        resolution_notes="Raised the keepalive timeout on the concentrator to 120 s.",
    )
    incident_create(actor=SETUP, reporter=rita, title="Printer jams", description="Tray 2.")
    Problem.objects.create(
        number=3,
        title="Concentrator drops idle VPN tunnels",
        status=ProblemStatus.KNOWN_ERROR,
        workaround="Reconnect the client; the fix ships next week.",
    )
    new = incident_create(
        actor=SETUP,
        reporter=rita,
        title="VPN keeps disconnecting in Lisbon",
        description="Since nine the tunnel drops for everyone.",
    )
    return {"old": old, "new": new}


def test_an_agent_sees_similar_incidents_and_how_they_were_resolved(
    open_as: Callable[[str], Watched], story: dict[str, Any], shots: Path
) -> None:
    old, new = story["old"], story["new"]
    watched = open_as("alice")
    page = watched.page
    page.goto(f"/incidents/{new.ref}/#similar")
    section = page.locator("#similar")
    expect(section.get_by_role("heading", name="Similar incidents")).to_be_visible()
    expect(section).to_contain_text(old.ref)
    expect(section).to_contain_text("Configuration change:")
    expect(section).to_contain_text("Raised the keepalive timeout")
    expect(section).to_contain_text("resolved in")
    expect(section).to_contain_text("PRB-3")
    expect(section).to_contain_text("Reconnect the client")
    expect(section).not_to_contain_text("Printer jams")
    assert axe_violations(page) == [], "the incident page with the section"
    page.evaluate(UNSTICK)
    section.screenshot(path=str(shots / "similar-section-desktop.png"))
    page.set_viewport_size(PHONE)
    page.evaluate(UNSTICK)
    page.locator("#similar").screenshot(path=str(shots / "similar-section-phone.png"))
    page.screenshot(path=str(shots / "similar-page-phone.png"), full_page=True)
    section.get_by_role("link", name=old.ref).click()
    expect(page).to_have_url(f"{page.url.split('/incidents/')[0]}/incidents/{old.ref}/")
    assert watched.problems() == []


def test_the_reporter_sees_no_similar_incidents(
    open_as: Callable[[str], Watched], story: dict[str, Any]
) -> None:
    watched = open_as("rita")
    page = watched.page
    page.goto(f"/incidents/{story['new'].ref}/")
    expect(page.get_by_role("heading", name=story["new"].title)).to_be_visible()
    expect(page.locator("#similar")).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text(story["old"].ref)
