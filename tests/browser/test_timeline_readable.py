"""Issue 8, point 12, in Chromium at desktop and phone widths: the timeline's order and
filter (remembered), one entry per triage save, actors by name, pinning a highlight."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tocsin.accounts.models import Role, User
from tocsin.core.actors import Actor, ActorKind
from tocsin.incidents import services
from tocsin.incidents.models import Incident, TimelineEntry

from .conftest import Watched

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install '.[dev]')"
)
expect = sync_api.expect

SIZES = {"desktop": {"width": 1400, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
def busy(make_user: Callable[..., User], make_incident: Callable[..., Incident]) -> Incident:
    reporter = make_user(Role.REPORTER, username="rita", name="Rita Reporter")
    agent = make_user(Role.AGENT, username="alice", name="Alice Agent")
    incident = make_incident(reporter, title="Checkout is slow", impact=2, urgency=2)
    alertmanager = Actor(kind=ActorKind.INTEGRATION, label="alertmanager:Prometheus prod")
    services.incident_add_note(
        incident=incident, actor=alertmanager, text="Alert joined: HighLatency checkout-api"
    )
    services.incident_update(
        incident=incident, actor=Actor.for_user(agent), changes={"impact": 1, "urgency": 1}
    )
    services.incident_add_note(
        incident=incident, actor=Actor.for_user(agent), text="Rolling back release 42"
    )
    services.incident_add_note(
        incident=incident,
        actor=Actor.for_user(agent),
        text="We are rolling back; checkout should recover in minutes.",
        visibility="public",
    )
    return incident


@pytest.mark.parametrize("size", SIZES)
def test_reading_and_pinning_the_timeline(
    size: str, busy: Incident, open_as: Callable[[str], Watched], shots: Path
) -> None:
    alice = open_as("alice")
    page = alice.page
    page.set_viewport_size(SIZES[size])
    page.goto(f"/incidents/{busy.ref}/")
    timeline = page.locator("ol.timeline")
    entries = timeline.locator("> li")
    # (raised to P1, the incident was also declared major: one more entry, the system's)
    expect(entries).to_have_count(6)
    expect(entries.first).to_contain_text("Rita Reporter reported the incident")
    expect(timeline).to_contain_text("Alertmanager · Prometheus prod added a note")
    triage = timeline.locator("li", has_text="changed impact, urgency and priority")
    expect(triage).to_have_count(1)
    expect(triage.locator(".tl-changes li")).to_have_count(3)
    expect(triage).to_contain_text("Priority: P2 → to P1")
    expect(entries.first.locator("time")).to_contain_text("UTC")
    page.locator("#timeline").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / f"{size}-1-oldest-first.png"), full_page=True)

    page.get_by_role("button", name="Newest first").click()
    expect(page.get_by_role("button", name="Newest first")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(entries.first).to_contain_text("checkout should recover")
    expect(entries.last).to_contain_text("reported the incident")

    page.get_by_role("button", name="Notes only").click()
    expect(entries).to_have_count(2)
    expect(timeline).not_to_contain_text("Alertmanager")
    expect(page.locator(".tl-filter-note")).to_contain_text("4 other entries hidden")
    page.locator("#timeline").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / f"{size}-2-notes-newest.png"))

    rollback = timeline.locator("li", has_text="Rolling back release 42")
    rollback.get_by_role("button", name="Pin this entry as a highlight").click()
    rollback = page.locator("ol.timeline li", has_text="Rolling back release 42")
    expect(rollback.locator(".badge-highlight")).to_have_text("Highlight")
    entry = TimelineEntry.objects.get(text="Rolling back release 42")
    assert entry.pinned_by is not None and entry.pinned_by.username == "alice"
    page.get_by_role("button", name="Highlights", exact=True).click()
    expect(page.locator("ol.timeline > li")).to_have_count(1)
    page.locator("#timeline").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / f"{size}-3-highlights.png"))

    # Remembered: a fresh visit keeps newest-first and the highlights filter.
    page.goto(f"/incidents/{busy.ref}/")
    expect(page.get_by_role("button", name="Highlights", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    assert alice.problems() == []


def test_the_reporter_sees_names_and_no_pins(
    busy: Incident, open_as: Callable[[str], Watched], shots: Path
) -> None:
    rita = open_as("rita")
    page = rita.page
    page.set_viewport_size(SIZES["phone"])
    page.goto(f"/incidents/{busy.ref}/")
    timeline = page.locator("ol.timeline")
    expect(timeline.locator("> li")).to_have_count(2)  # created + the public note
    expect(timeline).to_contain_text("Alice Agent commented")
    expect(page.get_by_role("button", name="Highlights", exact=True)).to_have_count(0)
    expect(page.get_by_role("button", name="Pin this entry as a highlight")).to_have_count(0)
    page.screenshot(path=str(shots / "phone-reporter.png"), full_page=True)
    assert rita.problems() == []
