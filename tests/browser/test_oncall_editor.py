"""The schedule editor in Chromium, as a team manager uses it: a weekly rotation limited
to business hours (Mon–Fri 09:00–17:00) and a night layer (20:00–08:00), previewed (the
shifts and a gap shown, nothing saved), a wrong username named and fixed, then saved;
at desktop (1400×900) and phone (390×844) width, with no console errors or CSP reports."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.urls import NoReverseMatch, reverse

from tocsin.accounts.models import Role, Team, User
from tocsin.oncall import services
from tocsin.oncall.models import Schedule

from .conftest import PASSWORD, Watched

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install '.[dev]')"
)
expect = sync_api.expect

DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}


def _both_widths(watched: Watched, shots: Path, name: str) -> None:
    page = watched.page
    was = page.viewport_size or DESKTOP
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(shots / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(shots / f"{name}-phone.png"), full_page=True)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name} scrolls sideways on a phone ({width}px)"
    page.set_viewport_size(was)


def _this_monday() -> dt.date:
    today = dt.datetime.now(ZoneInfo("Europe/Berlin")).date()
    return today - dt.timedelta(days=today.weekday())


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_a_manager_builds_previews_and_saves_a_schedule(
    make_user: Callable[..., User],
    open_as: Callable[[str], Watched],
    shots: Path,
    viewport: str,
) -> None:
    manager = make_user(Role.MANAGER, username="mia", name="Mia Manager", time_zone="UTC")
    make_user(Role.RESPONDER, username="ann", name="Ann Archer")
    make_user(Role.RESPONDER, username="bob", name="Bob Baker")
    team = Team.objects.create(name="Platform", manager=manager)
    monday = _this_monday().isoformat()

    watched = open_as("mia")
    page = watched.page
    page.set_viewport_size(DESKTOP if viewport == "desktop" else PHONE)
    page.goto("/schedules/new/")
    expect(page.get_by_role("heading", name="New schedule")).to_be_visible()

    page.get_by_label("Name", exact=True).fill("Platform primary")
    page.get_by_label("Owning team").select_option(label="Platform")
    page.get_by_label("Time zone").fill("Europe/Berlin")

    # layer 1: weekly, business hours
    first = page.locator("#layer-0")
    first.get_by_label("Layer name").fill("Business hours")
    first.get_by_label("First hand-off").fill(f"{monday}T09:00")
    first.get_by_role("button", name="Weekly rotation for layer 1").click()
    expect(first.get_by_label("Unit")).to_have_value("weeks")
    first.get_by_label("People, in order").fill("ann\nbob")
    first.get_by_role("button", name="Add a window to layer 1").click()  # a round trip
    first = page.locator("#layer-0")
    expect(first.get_by_label("From")).to_have_value("09:00")  # Mon–Fri 09:00–17:00 to start
    expect(first.get_by_label("Until")).to_have_value("17:00")
    for day in ("Mon", "Tue", "Wed", "Thu", "Fri"):
        expect(first.get_by_label(day, exact=True)).to_be_checked()
    expect(first.get_by_label("Sat", exact=True)).not_to_be_checked()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Platform primary")  # kept

    # layer 2: nightly, 20:00–08:00 every day, people picked with the picker
    page.get_by_role("button", name="Add layer").click()
    second = page.locator("#layer-1")
    second.get_by_label("Layer name").fill("Nights")
    second.get_by_label("First hand-off").fill(f"{monday}T20:00")
    second.get_by_role("button", name="Daily rotation for layer 2").click()
    picker = second.get_by_role("combobox", name="Add a person")
    for who in ("Bob", "Ann"):
        picker.fill(who)
        picker.press("Enter")
        second.get_by_role("button", name="Add to the list of layer 2").click()
    expect(second.get_by_label("People, in order")).to_have_value("bob\nann")
    second.get_by_role("button", name="Add a window to layer 2").click()
    second = page.locator("#layer-1")
    second.get_by_label("Days", exact=True).select_option(label="Every day")
    second.get_by_label("From").fill("20:00")
    second.get_by_label("Until").fill("08:00")

    # a wrong username: the preview names the field; the summary takes focus
    first = page.locator("#layer-0")
    first.get_by_label("People, in order").fill("ann\nzed")
    page.get_by_role("button", name="Preview", exact=True).click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_contain_text("Line 2: 'zed' is not an active responder")
    expect(summary).to_be_focused()
    _both_widths(watched, shots, f"refused-{viewport}")
    summary.get_by_role("link").first.click()
    people = page.locator("#id_layer-0-users")
    expect(people).to_be_focused()
    people.fill("ann\nbob")

    # preview: shifts and a gap, nothing saved (Enter in a field previews, never saves)
    page.locator("#id_layer-1-name").press("Enter")
    preview = page.locator("#editor-preview")
    expect(preview.get_by_role("table")).to_be_visible()
    expect(preview).to_contain_text("Ann Archer")
    expect(preview).to_contain_text("Bob Baker")
    expect(preview.locator("tr.editor-gap").first).to_contain_text("nobody on call")
    expect(preview).to_contain_text("under each time, the schedule's (Europe/Berlin)")
    assert Schedule.objects.count() == 0
    _both_widths(watched, shots, f"preview-{viewport}")
    page.locator("#layer-1").screenshot(path=str(shots / f"layer-{viewport}.png"))
    box = preview.bounding_box()
    assert box is not None
    top = box["y"] + page.evaluate("() => window.scrollY")
    page.screenshot(
        path=str(shots / f"preview-top-{viewport}.png"),
        full_page=True,
        clip={"x": box["x"], "y": top, "width": box["width"], "height": 600},
    )

    # the script's live preview follows an edit (no button): the layer renamed
    page.locator("#id_layer-1-name").fill("Night shift")
    expect(preview.locator("tbody")).to_contain_text("Night shift", timeout=5_000)
    expect(preview.locator("tbody")).not_to_contain_text("Nights")
    assert Schedule.objects.count() == 0

    page.get_by_role("button", name="Create schedule").click()
    page.wait_for_load_state()
    schedule = Schedule.objects.get()
    assert re.search(rf"/schedules/{schedule.pk}/$", page.url), page.url
    assert schedule.name == "Platform primary" and schedule.team == team
    assert schedule.time_zone == "Europe/Berlin"
    layers = services.layers_snapshot(schedule)
    assert [(x["name"], x["users"], x["rotation"]) for x in layers] == [
        ("Business hours", ["ann", "bob"], {"every": 1, "unit": "weeks"}),
        ("Night shift", ["bob", "ann"], {"every": 1, "unit": "days"}),
    ]
    assert layers[0]["restrictions"] == [
        {
            "type": "weekly",
            "days": ["mon", "tue", "wed", "thu", "fri"],
            "start": "09:00",
            "end": "17:00",
        }
    ]
    assert layers[1]["restrictions"] == [{"type": "daily", "start": "20:00", "end": "08:00"}]
    assert layers[1]["start"] == f"{monday}T20:00"

    # back in the editor: the saved layers, previewed; then archive with a confirmation
    page.goto(f"/schedules/{schedule.pk}/edit/")
    expect(page.locator("#id_layer-1-name")).to_have_value("Night shift")
    expect(page.locator("#editor-preview")).to_contain_text("Ann Archer")
    _both_widths(watched, shots, f"edit-{viewport}")
    page.get_by_role("link", name="Archive…").click()
    expect(page.get_by_role("heading", name="Archive “Platform primary”?")).to_be_visible()
    schedule.refresh_from_db()
    assert schedule.archived_at is None
    page.get_by_role("button", name="Archive schedule").click()
    page.wait_for_load_state()
    schedule.refresh_from_db()
    assert schedule.archived_at is not None
    # a refused form answers 422, which Chromium logs; so does the 404 of the schedule
    # page while the schedule UI (ui_urls.py) is not in this branch; nothing else
    landing = f"/schedules/{schedule.pk}/: Failed to load resource"
    expected = ["status of 422"] + ([] if _has_schedule_page() else [landing])
    assert [p for p in watched.problems() if not any(e in p for e in expected)] == []


def _has_schedule_page() -> bool:
    try:
        reverse("schedule", args=[1])
    except NoReverseMatch:
        return False
    return True


def test_without_javascript_every_button_still_works(
    make_user: Callable[..., User], browser: Any, live_server: Any, shots: Path
) -> None:
    manager = make_user(Role.MANAGER, username="mia", name="Mia Manager", time_zone="UTC")
    make_user(Role.RESPONDER, username="ann", name="Ann Archer")
    Team.objects.create(name="Platform", manager=manager)
    context = browser.new_context(
        viewport=PHONE, base_url=live_server.url, java_script_enabled=False
    )
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto("/login/")
        page.get_by_label("Username").fill("mia")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.goto("/schedules/new/")
        page.get_by_label("Name", exact=True).fill("No script")
        page.get_by_label("Time zone").fill("Asia/Kathmandu")
        layer = page.locator("#layer-0")
        layer.get_by_label("First hand-off").fill(f"{_this_monday().isoformat()}T08:00")
        layer.get_by_label("Unit").select_option("days")
        layer.get_by_label("Add a person").select_option("ann")  # the plain <select>
        layer.get_by_role("button", name="Add to the list of layer 1").click()
        expect(page.locator("#id_layer-0-users")).to_have_value("ann")
        page.locator("#layer-0").get_by_role("button", name="Add a window to layer 1").click()
        page.get_by_role("button", name="Add layer").click()
        expect(page.locator("#layer-1")).to_be_visible()
        page.get_by_role("button", name="Remove layer 2").click()
        expect(page.locator("#layer-1")).to_have_count(0)
        page.get_by_role("button", name="Preview", exact=True).click()
        preview = page.locator("#editor-preview")
        expect(preview).to_contain_text("Ann Archer")
        expect(preview).to_contain_text("under each time, the schedule's (Asia/Kathmandu)")
        assert page.url.endswith("/schedules/new/#editor-preview")
        page.screenshot(path=str(shots / "no-script-preview-phone.png"), full_page=True)
        assert Schedule.objects.count() == 0
        page.get_by_role("button", name="Create schedule").click()
        schedule = Schedule.objects.get()
        assert page.url.endswith(f"/schedules/{schedule.pk}/")
        assert services.layers_snapshot(schedule)[0]["restrictions"] == [
            {
                "type": "weekly",
                "days": ["mon", "tue", "wed", "thu", "fri"],
                "start": "09:00",
                "end": "17:00",
            }
        ]
    finally:
        context.close()
