"""The schedule page in Chromium, as a manager uses it: the two-week timeline with its
layers, overrides and gaps; an override made by dragging across a gap of the final
schedule (the final row changes, the gap is gone); the phone's day-by-day list.
Screenshots in test-output/browser/<db>/<test>/."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tocsin.accounts.models import User
from tocsin.core.actors import Actor
from tocsin.oncall import services
from tocsin.oncall.models import Override, Schedule

from ..oncall.test_views import WEEK, build, make_people
from .a11y import axe_source, axe_violations
from .conftest import Watched, expect

pytestmark = pytest.mark.django_db(transaction=True)
DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
UTC = dt.UTC


@pytest.fixture
def world(make_user: Callable[..., User]) -> dict[str, Any]:
    people = make_people(make_user)
    schedule = build(people)
    services.override_create(
        schedule=schedule,
        user=people["cid"],
        replaces=people["ann"],
        start=dt.datetime(2026, 3, 12, 8, tzinfo=UTC),  # Thu 09:00 Berlin
        end=dt.datetime(2026, 3, 12, 12, tzinfo=UTC),
        note="Ann at the dentist",
        actor=Actor.for_user(people["manager"]),
    )
    return {"people": people, "schedule": schedule}


def _gap_bars(page: Any) -> Any:
    return page.locator(".oc-row-final .oc-bar.oc-gap")


def test_schedule_page_and_an_override_picked_on_the_timeline(
    open_as: Callable[[str], Watched], world: dict[str, Any], shots: Path
) -> None:
    schedule: Schedule = world["schedule"]
    watched = open_as("mia")
    page = watched.page
    page.set_viewport_size(DESKTOP)
    page.goto(f"/schedules/{schedule.pk}/?week={WEEK}")
    expect(page.get_by_role("heading", name="Platform primary")).to_be_visible()
    expect(page.locator(".oc-row-layer")).to_have_count(2)
    expect(page.locator(".oc-row-overrides .oc-bar")).to_have_count(1)
    expect(page.locator(".oc-row-final .oc-bar.oc-override")).to_have_count(1)
    gaps_before = _gap_bars(page).count()
    assert gaps_before == 24
    expect(page.locator("#gaps summary")).to_contain_text("Gaps in these two weeks: 24")
    # bars are placed by classes: the Monday 17:00–20:00 gap sits at 17/336 of the track
    track = page.locator(".oc-row-final .oc-track")
    box = track.bounding_box()
    assert box is not None
    gap = _gap_bars(page).filter(has_text=re.compile("Mon 9 Mar 17:00 – 20:00"))
    gap_box = gap.bounding_box()
    assert gap_box is not None
    assert abs(gap_box["x"] - (box["x"] + box["width"] * 17 / 336)) < 2
    assert abs(gap_box["width"] - box["width"] * 3 / 336) < 2
    page.screenshot(path=str(shots / "schedule-desktop.png"), full_page=True)

    # drag across that gap on the final row: the form's start and end are filled
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 17 / 336 + 0.5, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 18.5 / 336, y, steps=4)
    page.mouse.move(box["x"] + box["width"] * 20 / 336 + 0.5, y, steps=4)
    page.mouse.up()
    form = page.locator("#override-form")
    expect(form.get_by_label("Start")).to_have_value("2026-03-09T17:00")
    expect(form.get_by_label("End")).to_have_value("2026-03-09T20:00")
    expect(page.locator("[data-oc-span-oncall]")).to_contain_text("Gap")
    page.screenshot(path=str(shots / "span-picked.png"))
    who = form.get_by_role("combobox", name=re.compile("^Who is on call"))
    who.fill("cid")
    who.press("Enter")
    expect(who).to_have_value("Cid Cedar (cid)")
    form.get_by_role("button", name="Add override").click()
    page.wait_for_load_state()

    expect(page.locator(".flash-success")).to_contain_text("Override added: Cid Cedar")
    expect(_gap_bars(page)).to_have_count(gaps_before - 1)
    expect(_gap_bars(page).filter(has_text=re.compile("Mon 9 Mar 17:00"))).to_have_count(0)
    final = page.locator(".oc-row-final .oc-bar.oc-override")
    expect(final).to_have_count(2)
    expect(final.filter(has_text="Cid Cedar, Mon 9 Mar 17:00 – 20:00")).to_have_count(1)
    assert Override.objects.filter(user=world["people"]["cid"], replaces=None).count() == 1
    page.screenshot(path=str(shots / "after-override-desktop.png"), full_page=True)
    page.goto("/schedules/")
    row = page.get_by_role("row", name=re.compile("Platform primary"))
    expect(row).to_contain_text("gaps")
    page.screenshot(path=str(shots / "schedules-desktop.png"))
    page.goto("/oncall/mine/")
    page.screenshot(path=str(shots / "mine-desktop.png"))
    assert watched.problems() == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_timeline_passes_axe_in_both_themes(
    open_as: Callable[[str], Watched], world: dict[str, Any], shots: Path, scheme: str
) -> None:
    """The accessibility crawl sees the dark theme at phone width, where the timeline is
    a list: here the bars themselves, at desktop width, in both themes."""
    axe_source()
    watched = open_as("mia")
    page = watched.page
    page.set_viewport_size(DESKTOP)
    page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
    page.goto(f"/schedules/{world['schedule'].pk}/?week={WEEK}")
    expect(page.locator(".oc-row-final .oc-bar").first).to_be_visible()
    page.locator("#timeline").screenshot(path=str(shots / f"timeline-{scheme}.png"))
    found = [f"{v.impact} {v.rule}: {v.line_target()}" for v in axe_violations(page)]
    assert found == []
    assert watched.problems() == []


def test_the_schedule_on_a_phone_is_a_day_by_day_list(
    open_as: Callable[[str], Watched], world: dict[str, Any], shots: Path
) -> None:
    schedule: Schedule = world["schedule"]
    watched = open_as("ann")
    page = watched.page
    page.set_viewport_size(PHONE)
    page.goto(f"/schedules/{schedule.pk}/?week={WEEK}")
    expect(page.locator(".oc-tl")).to_be_hidden()
    days = page.locator(".oc-daylist")
    expect(days).to_have_count(14)
    monday = days.first
    expect(monday.get_by_role("heading")).to_have_text("Monday 9 March")
    expect(monday.locator(".oc-item-gap")).to_have_count(2)
    expect(monday).to_contain_text("Ann Alder")
    thursday = days.nth(3)
    expect(thursday.locator(".oc-item-override")).to_contain_text("Cid Cedar")
    expect(page.locator("#gaps summary")).to_contain_text("Gaps in these two weeks: 24")
    page.screenshot(path=str(shots / "schedule-phone-top.png"))
    thursday.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "schedule-phone-thursday.png"))
    # nothing wider than the screen
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390
    page.screenshot(path=str(shots / "schedule-phone.png"), full_page=True)
    page.goto("/oncall/")
    expect(page.get_by_role("link", name="Platform primary")).to_be_visible()
    page.screenshot(path=str(shots / "oncall-phone.png"), full_page=True)
    page.goto("/oncall/mine/")
    expect(page.get_by_role("heading", name="My shifts")).to_be_visible()
    page.screenshot(path=str(shots / "mine-phone.png"), full_page=True)
    assert watched.problems() == []


def test_reporter_gets_404(open_as: Callable[[str], Watched], world: dict[str, Any]) -> None:
    watched = open_as("rex")
    response = watched.page.goto(f"/schedules/{world['schedule'].pk}/")
    assert response is not None and response.status == 404
    expect(watched.page.get_by_role("link", name="On call")).to_have_count(0)


def test_a_span_picked_by_two_clicks(
    open_as: Callable[[str], Watched], world: dict[str, Any]
) -> None:
    watched = open_as("ann")  # a participant: may add overrides
    page = watched.page
    page.set_viewport_size(DESKTOP)
    page.goto(f"/schedules/{world['schedule'].pk}/?week={WEEK}")
    expect(page.locator(".oc-pick-hint")).to_be_visible()
    box = page.locator(".oc-row-final .oc-track").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    hours = 24 + 17  # Tuesday 17:00
    page.mouse.click(box["x"] + box["width"] * hours / 336 + 0.5, y)
    page.mouse.click(box["x"] + box["width"] * (hours + 3) / 336 + 0.5, y)
    form = page.locator("#override-form")
    expect(form.get_by_label("Start")).to_have_value("2026-03-10T17:00")
    expect(form.get_by_label("End")).to_have_value("2026-03-10T20:00")
    expect(page.locator("[data-oc-span-oncall]")).to_contain_text("Tue 10 Mar 17:00 – 20:00")
    assert watched.problems() == []
