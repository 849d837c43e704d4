"""Runbooks in Chromium, at desktop and phone width: a manager writes a runbook with an
automated step in the editor; an agent starts it on an incident, the worker calls a real
receiver on loopback and its answer shows on the step, and the agent ticks a step with
its checkbox; no console errors or CSP violations, nothing scrolls sideways on a phone."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.learning.runbook_support import Receiver, receiver_fixture, tick, verify  # noqa: F401
from tocsin.accounts.models import Role, User
from tocsin.catalog.models import Service
from tocsin.core.actors import Actor
from tocsin.incidents import services as incidents
from tocsin.learning import runbooks

from .a11y import axe_violations
from .conftest import Watched

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install '.[dev]')"
)
expect = sync_api.expect


def _accessible(page: Any) -> None:
    serious = [f"{v.rule}: {v.help}" for v in axe_violations(page)]
    assert serious == [], f"{page.url}: {serious}"


def _phone(page: Any, shots: Path, name: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(shots / f"{name}-phone.png"), full_page=True)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"{page.url} scrolls sideways on a phone ({width}px)"
    page.set_viewport_size({"width": 1280, "height": 900})


def test_a_runbook_is_written_run_on_an_incident_and_ticked_off(
    make_user: Callable[..., User],
    open_as: Callable[[str], Watched],
    shots: Path,
    receiver: Receiver,
) -> None:
    make_user(Role.MANAGER, username="maya", name="Maya Manager")
    alice = make_user(Role.AGENT, username="alice", name="Alice Agent")
    rita = make_user(Role.REPORTER, username="rita", name="Rita Reporter")
    service = Service.objects.create(name="Payments API")
    receiver.reply = b'{"disk": "91%", "note": "<b>hostile</b>"}'

    watched = open_as("maya")
    page = watched.page
    page.goto("/runbooks/")
    page.get_by_role("link", name="New runbook").click()
    page.get_by_label("Name").fill("Card payments failing")
    page.get_by_label("Description").fill("When **card payments** fail at checkout.")
    page.get_by_label("Service").select_option(label="Payments API")
    first = page.locator("fieldset").nth(0)
    first.get_by_label("Title").fill("Collect gateway diagnostics")
    first.get_by_label("Call URL").fill(receiver.url())
    first.get_by_label("Body template").fill(
        '{"incident": "{{ incident.number }}", "title": "{{ incident.title }}"}'
    )
    second = page.locator("fieldset").nth(1)
    second.get_by_label("Title").fill("Check the processor's status page")
    second.get_by_label("What to do").fill("Open <https://status.example.com> and read it.")
    page.screenshot(path=str(shots / "editor-desktop.png"), full_page=True)
    _accessible(page)
    _phone(page, shots, "editor")
    page.get_by_role("button", name="Save runbook").click()
    expect(page.get_by_role("heading", name="Card payments failing")).to_be_visible()
    expect(page.get_by_text("Signing secret for this URL")).to_be_visible()
    page.screenshot(path=str(shots / "detail-desktop.png"), full_page=True)
    _accessible(page)
    _phone(page, shots, "detail")
    page.goto("/runbooks/")
    expect(page.get_by_role("link", name="Card payments failing")).to_be_visible()
    page.screenshot(path=str(shots / "list-desktop.png"), full_page=True)
    _accessible(page)
    _phone(page, shots, "list")
    assert watched.problems() == []

    incident = incidents.incident_create(
        actor=Actor.for_user(rita),
        title='Checkout "declined" for every card',
        description="x",
        reporter=rita,
        service=service,
    )
    agent = open_as("alice")
    page = agent.page
    page.goto(f"/incidents/{incident.ref}/")
    section = page.locator("#runbooks")
    expect(section).to_contain_text("No runbook runs on this incident yet.")
    section.get_by_label("Start a runbook").select_option(
        label="Card payments failing · Payments API"
    )
    section.get_by_role("button", name="Start").click()
    expect(section).to_contain_text("0 of 2 done")
    expect(section).to_contain_text("Calling…")
    tick()
    [got] = receiver.requests
    step = runbooks.runs_of(incident)[0].steps.get(position=1)
    assert verify(runbooks.signing_secret(step.url), got)
    page.reload()
    section = page.locator("#runbooks")
    expect(section).to_contain_text("HTTP 200")
    expect(section).to_contain_text("1 of 2 done")
    expect(section.locator(".runbook-reply")).to_contain_text("<b>hostile</b>")
    section.get_by_role("checkbox", name=re.compile("Step 2 not done")).click()
    expect(page.locator("#runbooks")).to_contain_text("2 of 2 done")
    expect(
        page.locator("#runbooks").get_by_role("checkbox", name=re.compile("Step 2 done"))
    ).to_have_attribute("aria-checked", "true")
    page.locator("#runbooks").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "incident-desktop.png"), full_page=True)
    page.locator("#runbooks").screenshot(path=str(shots / "section-desktop.png"))
    _accessible(page)
    page.set_viewport_size({"width": 390, "height": 844})
    page.locator("#runbooks").screenshot(path=str(shots / "section-phone.png"))
    _phone(page, shots, "incident")
    assert agent.problems() == []
    assert alice.pk
