"""Stakeholder updates in Chromium (issue 11, point 6): a responder opens the incident,
subscribes, picks the "Identified" template (no JavaScript needed: a GET that prefills
the form), edits the text and posts it; the update is listed in the section and the
reporter reads it on the timeline. Screenshots of the section on desktop and phone."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.comms.updates_helpers import seeded
from tocsin.accounts.models import Role
from tocsin.accounts.services import user_create
from tocsin.catalog.models import Service
from tocsin.comms.models import StakeholderUpdate
from tocsin.core.actors import Actor
from tocsin.incidents.services import incident_add_note, incident_create

from .a11y import axe_violations
from .conftest import PASSWORD, Watched

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install '.[dev]')"
)
expect = sync_api.expect
SETUP = Actor.system("test setup")
PHONE = {"width": 390, "height": 844}
UNSTICK = "() => { document.querySelector('.topbar').style.position = 'static'; }"
NOTE = "INTERNAL: the vendor's support PIN is 4417"


@pytest.fixture
def incident(transactional_db: None) -> Any:
    # a live-server test before this one flushed every table: seed the templates again
    seeded()
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
    from tocsin.accounts.models import User

    service = Service.objects.create(name="Checkout")
    incident = incident_create(
        actor=SETUP,
        reporter=User.objects.get(username="rita"),
        title="Card payments failing",
        description="Customers see a timeout at the last step.",
        impact=2,
        urgency=1,
        service=service,
    )
    incident_add_note(incident=incident, actor=SETUP, text=NOTE, visibility="internal")
    return incident


def test_post_an_update_from_the_incident_page(
    open_as: Callable[[str], Watched], incident: Any, shots: Path
) -> None:
    watched = open_as("ines")
    page = watched.page
    page.goto(f"/incidents/{incident.ref}/#updates")
    section = page.locator("#updates")
    expect(section.get_by_role("heading", name="Stakeholder updates")).to_be_visible()
    expect(section.get_by_label("Update", exact=True)).to_have_value(
        re.compile(
            r"^We are investigating a problem affecting Checkout \(High impact\)\. "
            r"We will post the next update by \d\d:\d\d "
        )
    )
    section.get_by_role("button", name="Subscribe me").click()
    expect(page.locator("#updates")).to_contain_text("You are subscribed (email)")

    page.locator("#updates").get_by_label("Start from template").select_option(label="Identified")
    page.locator("#updates").get_by_role("button", name="Use template").click()
    expect(page.get_by_role("heading", name="Stakeholder update")).to_be_visible()
    assert axe_violations(page) == [], "the compose page"
    body = page.get_by_label("Update", exact=True)
    expect(body).to_contain_text("We have identified the cause of the problem affecting Checkout")
    expect(page.get_by_label("Status")).to_have_value("identified")
    body.fill(
        "A faulty deploy broke card payments; we are rolling it back. Next update {next_update}."
    )
    page.get_by_label("Next update in (minutes)").fill("20")
    page.get_by_role("button", name="Post update").click()

    expect(page.locator(".flash")).to_contain_text("Update posted and sent to 1 recipient")
    section = page.locator("#updates")
    expect(section).to_contain_text("A faulty deploy broke card payments")
    expect(section).to_contain_text("Next update promised for")
    assert axe_violations(page) == [], "the incident page with the section"
    update = StakeholderUpdate.objects.get()
    assert "{next_update}" not in update.body
    # the sticky top bar would cover the section's top in an element screenshot
    page.evaluate(UNSTICK)
    section.locator("summary", has_text="Add a subscriber").click()
    section.screenshot(path=str(shots / "updates-section-desktop.png"))
    page.set_viewport_size(PHONE)
    page.goto(f"/incidents/{incident.ref}/#updates")
    page.evaluate(UNSTICK)
    page.locator("#updates summary", has_text="Post an update").click()
    page.locator("#updates").screenshot(path=str(shots / "updates-section-phone.png"))
    page.screenshot(path=str(shots / "updates-page-phone.png"), full_page=True)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways on a phone ({width}px)"
    assert watched.problems() == []

    reporter = open_as("rita").page
    reporter.goto(f"/incidents/{incident.ref}/")
    expect(reporter.locator("body")).to_contain_text("A faulty deploy broke card payments")
    expect(reporter.locator("#updates")).to_have_count(0)
    assert NOTE not in reporter.content()


def test_the_unsubscribe_page_signed_out(
    browser: Any, live_server: Any, incident: Any, shots: Path
) -> None:
    from tocsin.comms.models import Subscription
    from tocsin.comms.updates import unsubscribe_token

    subscription = Subscription.objects.create(incident=incident, email="cfo@customer.example")
    context = browser.new_context(viewport=PHONE, base_url=live_server.url)
    page = context.new_page()
    page.goto(f"/updates/unsubscribe/{unsubscribe_token(subscription)}/")
    expect(page.locator("main")).to_contain_text("Stop sending incident updates to")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.locator("main")).to_contain_text("is unsubscribed")
    page.screenshot(path=str(shots / "unsubscribed-phone.png"))
    assert not Subscription.objects.filter(pk=subscription.pk).exists()
    context.close()


def test_the_update_templates_settings_page(
    open_as: Callable[[str], Watched], incident: Any, shots: Path
) -> None:
    user_create(
        username="ada",
        email="ada@example.com",
        name="Ada Admin",
        role=Role.ADMIN,
        password=PASSWORD,
        actor=SETUP,
    )
    watched = open_as("ada")
    page = watched.page
    page.goto("/settings/update-templates/")
    expect(page.get_by_role("heading", name="Update templates", exact=True)).to_be_visible()
    assert axe_violations(page) == []
    form = page.locator("form", has=page.get_by_role("button", name="Add template"))
    form.get_by_label("Name").fill("Degraded")
    form.get_by_label("Text").fill("{service} is slow: {whatever}")
    form.get_by_role("button", name="Add template").click()
    expect(page.locator("main")).to_contain_text("Unknown variable {whatever}")
    assert axe_violations(page) == []
    page.screenshot(path=str(shots / "templates-refused-desktop.png"), full_page=True)
    # the refused form answers 422, which Chromium logs; nothing else may go wrong
    assert [p for p in watched.problems() if "status of 422" not in p] == []
