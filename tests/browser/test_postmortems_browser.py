"""Postmortems in Chromium (issue 12, point 1): a P1 is resolved and its postmortem is
drafted; the commander finds it from the incident page, edits it, sends it for review, a
reviewer comments and publishes it; the list shows it; the reporter gets 404. Screenshots
of the postmortem page, the list and the incident's section on desktop and phone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.learning.postmortem_helpers import seeded
from tocsin.accounts.models import Role, User
from tocsin.accounts.services import user_create
from tocsin.catalog.models import Service
from tocsin.core.actors import Actor
from tocsin.incidents.models import IncidentRole
from tocsin.incidents.services import incident_create, incident_resolve
from tocsin.incidents.services.response import role_assign
from tocsin.learning.models import Postmortem

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
def resolved(transactional_db: None) -> Any:
    seeded()
    # the built-in incident roles the migrations seed (a live-server test flushed them)
    IncidentRole.objects.get_or_create(
        key=IncidentRole.COMMANDER, defaults={"name": "Incident commander", "builtin": True}
    )
    people = {}
    for username, role, name in (
        ("ines", Role.RESPONDER, "Inês Duarte"),
        ("bo", Role.MANAGER, "Bo Berg"),
        ("rita", Role.REPORTER, "Rita Reis"),
    ):
        people[username] = user_create(
            username=username,
            email=f"{username}@example.com",
            name=name,
            role=role,
            password=PASSWORD,
            actor=SETUP,
        )
    incident = incident_create(
        actor=SETUP,
        reporter=people["rita"],
        title="Card payments failing",
        description="Customers see a timeout at the last step of checkout.",
        impact=1,
        urgency=1,
        service=Service.objects.create(name="Checkout"),
    )
    role_assign(
        incident=incident,
        role=IncidentRole.objects.get(key=IncidentRole.COMMANDER),
        user=people["ines"],
        actor=SETUP,
    )
    return incident_resolve(
        incident=incident,
        actor=Actor.for_user(people["ines"]),
        resolution_code="fixed",
        resolution_notes="Rolled back the payment gateway deploy.",
    )


def test_draft_review_publish_in_the_browser(
    open_as: Callable[[str], Watched], resolved: Any, shots: Path
) -> None:
    watched = open_as("ines")
    page = watched.page
    page.goto(f"/incidents/{resolved.ref}/#postmortem")
    section = page.locator("#postmortem")
    expect(section).to_contain_text("Draft")
    expect(section).to_contain_text("Owner: Inês Duarte")
    page.evaluate(UNSTICK)
    section.screenshot(path=str(shots / "incident-section-desktop.png"))
    section.get_by_role("link", name=f"{resolved.ref}: Card payments failing").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"{resolved.ref}: Card payments failing"
    )
    doc = page.locator(".pm-doc")
    expect(doc).to_contain_text("This review is blameless")
    expect(doc.locator("table")).to_contain_text("Resolved")
    expect(doc).to_contain_text("Time to resolve")
    assert axe_violations(page) == [], "the postmortem page"

    page.get_by_role("link", name="Edit").click()
    editor = page.get_by_label("Document (Markdown)")
    text = editor.input_value().replace(
        "_What in the system made this possible?_",
        "A deploy changed the gateway timeout; no canary caught it.",
    )
    editor.fill(text)
    assert axe_violations(page) == [], "the editor"
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash")).to_contain_text("Postmortem saved.")
    expect(page.locator(".pm-doc")).to_contain_text("no canary caught it")
    page.get_by_role("button", name="Send for review").click()
    expect(page.locator(".pm-meta")).to_contain_text("In review")

    reviewer = open_as("bo").page
    reviewer.goto("/postmortems/")
    expect(reviewer.locator(".pm-table")).to_contain_text("Card payments failing")
    reviewer.get_by_role("link", name=f"{resolved.ref}: Card payments failing").click()
    reviewer.get_by_role("textbox", name="Comment").fill(
        "Add the **alerting gap** as an action item."
    )
    reviewer.get_by_role("button", name="Comment").click()
    expect(reviewer.locator("#comments")).to_contain_text("Add the alerting gap as an action item.")
    reviewer.get_by_role("button", name="Publish").click()
    expect(reviewer.locator(".pm-meta")).to_contain_text("Published")
    expect(reviewer.locator(".pm-meta")).to_contain_text("Complete")
    postmortem = Postmortem.objects.get(incident=resolved)
    assert postmortem.status == "published" and postmortem.completed_at is not None
    reviewer.evaluate(UNSTICK)
    reviewer.screenshot(path=str(shots / "postmortem-desktop.png"), full_page=True)
    reviewer.goto("/postmortems/")
    reviewer.screenshot(path=str(shots / "list-desktop.png"), full_page=True)
    assert axe_violations(reviewer) == [], "the list"

    reviewer.set_viewport_size(PHONE)
    reviewer.goto(f"/postmortems/{postmortem.pk}/")
    reviewer.screenshot(path=str(shots / "postmortem-phone.png"), full_page=True)
    width = reviewer.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways on a phone ({width}px)"
    reviewer.goto("/postmortems/")
    reviewer.screenshot(path=str(shots / "list-phone.png"), full_page=True)
    width = reviewer.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the list scrolls sideways on a phone ({width}px)"
    reviewer.goto(f"/postmortems/{postmortem.pk}/print/")
    reviewer.screenshot(path=str(shots / "print-phone.png"), full_page=True)
    reviewer.emulate_media(media="print")
    reviewer.set_viewport_size({"width": 800, "height": 1100})
    reviewer.screenshot(path=str(shots / "print-media.png"), full_page=True)
    expect(reviewer.locator(".pm-print-note")).to_be_hidden()
    page.set_viewport_size(PHONE)
    page.goto(f"/incidents/{resolved.ref}/#postmortem")
    page.evaluate(UNSTICK)
    page.locator("#postmortem").screenshot(path=str(shots / "incident-section-phone.png"))
    assert watched.problems() == []

    rita = open_as("rita").page
    for url in ("/postmortems/", f"/postmortems/{postmortem.pk}/"):
        response = rita.goto(url)
        assert response is not None and response.status == 404, url
    rita.goto(f"/incidents/{resolved.ref}/")
    expect(rita.locator("#postmortem")).to_have_count(0)


def test_write_postmortem_button(
    open_as: Callable[[str], Watched], transactional_db: None, shots: Path
) -> None:
    seeded()
    agent = user_create(
        username="alice",
        email="alice@example.com",
        name="Alice Agent",
        role=Role.AGENT,
        password=PASSWORD,
        actor=SETUP,
    )
    incident = incident_create(actor=Actor.for_user(agent), title="Slow VPN", impact=3, urgency=3)
    page = open_as("alice").page
    page.goto(f"/incidents/{incident.ref}/#postmortem")
    expect(page.locator("#postmortem")).to_contain_text("No postmortem yet.")
    page.locator("#postmortem").get_by_role("button", name="Write postmortem").click()
    expect(page.locator(".flash")).to_contain_text(f"Postmortem drafted for {incident.ref}.")
    expect(page.locator(".pm-doc")).to_contain_text("Slow VPN")
    assert User.objects.get(username="alice").pk == agent.pk
    assert Postmortem.objects.filter(incident=incident, required=False).count() == 1


def test_settings_and_template_editor(
    open_as: Callable[[str], Watched], transactional_db: None, shots: Path
) -> None:
    seeded()
    Service.objects.create(name="Payments")
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
    page.goto("/settings/postmortems/")
    expect(page.get_by_role("heading", name="Postmortems", level=1)).to_be_visible()
    assert axe_violations(page) == [], "the settings page"
    service = page.get_by_label("Service", exact=True)
    service.select_option(label="Payments")
    page.locator("form", has=service).get_by_label("P3").check()
    page.get_by_role("button", name="Save service rule").click()
    expect(page.locator(".pm-rules").first).to_contain_text("Payments: P3")
    page.evaluate(UNSTICK)
    page.screenshot(path=str(shots / "settings-desktop.png"), full_page=True)
    page.get_by_role("link", name="Blameless postmortem").click()
    body = page.get_by_label("Text (Markdown with placeholders)")
    body.fill(body.input_value() + "\n{who_did_it}\n")
    page.get_by_role("button", name="Save template").click()
    expect(page.locator("main")).to_contain_text("Unknown placeholder {who_did_it}")
    assert axe_violations(page) == [], "the template editor with its error"
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(shots / "template-phone.png"), full_page=True)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the editor scrolls sideways on a phone ({width}px)"
    page.goto("/settings/postmortems/")
    page.screenshot(path=str(shots / "settings-phone.png"), full_page=True)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the settings scroll sideways on a phone ({width}px)"
    # the refused save answered 422 on purpose; nothing else went wrong
    assert [p for p in watched.problems() if "status of 422" not in p] == []
