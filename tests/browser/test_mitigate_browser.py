"""Mark mitigated in Chromium (issue 13): a responder marks an open incident mitigated
from the actions bar; the bar then says "Mitigated <time>", the details list the time
and the timeline says so; the reporter sees no button. Screenshots on desktop and phone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tocsin.accounts.models import Role, User
from tocsin.accounts.services import user_create
from tocsin.core.actors import Actor
from tocsin.incidents.models import Incident
from tocsin.incidents.services import incident_create

from .a11y import axe_violations
from .conftest import PASSWORD, Watched

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install '.[dev]')"
)
expect = sync_api.expect
SETUP = Actor.system("test setup")
PHONE: Any = {"width": 390, "height": 844}  # playwright ViewportSize


@pytest.fixture
def incident(transactional_db: None) -> Incident:
    for username, role, name in (
        ("ines", Role.RESPONDER, "Inês Duarte"),
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
    return incident_create(
        actor=SETUP,
        reporter=User.objects.get(username="rita"),
        title="Card payments failing",
        description="Customers see a timeout at the last step.",
    )


def test_mark_mitigated_from_the_incident_page(
    open_as: Callable[[str], Watched], incident: Any, shots: Path
) -> None:
    watched = open_as("ines")
    page = watched.page
    page.goto(f"/incidents/{incident.ref}/")
    bar = page.locator("#actions")
    expect(bar.get_by_role("button", name="Mark mitigated")).to_be_visible()
    bar.screenshot(path=str(shots / "actions-before-desktop.png"))
    bar.get_by_role("button", name="Mark mitigated").click()
    expect(page.locator(".flash")).to_contain_text(f"{incident.ref} marked mitigated")
    expect(bar.get_by_role("button", name="Mark mitigated")).to_have_count(0)
    expect(bar.locator(".mitigated-note")).to_contain_text("Mitigated ")
    expect(page.locator("body")).to_contain_text("marked it mitigated")
    assert Incident.objects.get(pk=incident.pk).mitigated_at is not None
    assert axe_violations(page) == []
    page.screenshot(path=str(shots / "mitigated-desktop.png"))
    page.set_viewport_size(PHONE)
    page.goto(f"/incidents/{incident.ref}/")
    page.screenshot(path=str(shots / "mitigated-phone.png"))
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways on a phone ({width}px)"
    assert watched.problems() == []

    reporter = open_as("rita").page
    reporter.goto(f"/incidents/{incident.ref}/")
    expect(reporter.get_by_role("button", name="Mark mitigated")).to_have_count(0)
    expect(reporter.locator(".mitigated-note")).to_have_count(0)
