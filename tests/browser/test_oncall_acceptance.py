"""Issue 9's browser acceptance check, as one flow through the UI: a team manager builds
a weekly rotation limited to business hours (Mon–Fri 09:00–17:00) and a nightly layer
(20:00–08:00) in the editor, previews and saves it, lands on the schedule page, counts
the gaps of the final schedule, picks the span of one gap, adds an override for it and
sees the final row change and that gap disappear.

At desktop width (1400×900) the span is dragged across the final row of the timeline.
A phone (390×844) shows the final schedule as a day-by-day list instead of a timeline
you could drag on, so there the span is picked from the gap list: "Cover it with an
override" fills the override form with that gap's start and end.

Both widths reach the form's submit button by Tab and send it with Enter. "Now" is
pinned (Tuesday 10 March 2026, 13:00 in Berlin) so the page lands on the same two weeks
whatever day the tests run; the layers start the week before. Screenshots of every step
in test-output/browser/<database>/<test>/.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import time_machine

from tocsin.accounts.models import Role, Team, User
from tocsin.oncall.models import Override, Schedule

from .conftest import Watched, expect

pytestmark = pytest.mark.django_db(transaction=True)

DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)  # Tue 10 Mar 13:00 in Berlin
FIRST_MONDAY = "2026-03-02"  # the layers' first hand-offs: the week before the one shown
WEEK_HOURS = 14 * 24  # the timeline's two weeks, Mon 9 – Sun 22 March (no DST change)
# Per weekday two gaps (08:00–09:00 between the night and business hours, 17:00–20:00
# after them); Saturday and Sunday 08:00–20:00: twelve a week.
GAPS = 24
PICKED = "Wed 11 Mar 17:00 – 20:00"  # the gap the manager covers
PICKED_HOURS = (2 * 24 + 17, 2 * 24 + 20)  # its place on the timeline, in hours from Mon 00:00
PART = {"desktop": ".oc-row-final", "phone": ".oc-daylist >> nth=2"}  # where the change shows


@pytest.fixture(autouse=True)
def _pinned_now() -> Iterator[None]:
    # ticking from NOW: the live server's requests see a moving clock, as in production
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def team(make_user: Callable[..., User]) -> Team:
    zone = {"time_zone": "Europe/Berlin"}
    manager = make_user(Role.MANAGER, username="mia", name="Mia Manager", **zone)
    make_user(Role.RESPONDER, username="ann", name="Ann Alder", **zone)
    make_user(Role.RESPONDER, username="bob", name="Bob Birch", **zone)
    cid = make_user(Role.RESPONDER, username="cid", name="Cid Cedar", **zone)
    team = Team.objects.create(name="Platform", manager=manager)
    team.members.add(cid)
    return team


class Steps:
    """Numbered full-page screenshots of one viewport's walk through the flow."""

    def __init__(self, page: Any, shots: Path, viewport: str) -> None:
        self.page, self.shots, self.viewport, self.n = page, shots, viewport, 0

    def shot(self, name: str, part: str = "") -> None:
        """The whole page; and `part` (a selector) alone, where a change is small."""
        self.n += 1
        path = self.shots / f"{self.n:02d}-{name}-{self.viewport}.png"
        # from the top: a full-page shot of a scrolled page draws the sticky bar mid-page
        self.page.evaluate("() => window.scrollTo({top: 0, behavior: 'instant'})")
        self.page.screenshot(path=str(path), full_page=True)
        if part:
            where = self.shots / f"{self.n:02d}-{name}-{self.viewport}-part.png"
            self.page.locator(part).screenshot(path=str(where))
        if self.viewport == "phone":
            width = self.page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{name} scrolls sideways on a phone ({width}px)"


def _build_in_the_editor(page: Any) -> None:
    page.goto("/schedules/new/")
    expect(page.get_by_role("heading", name="New schedule")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("Platform primary")
    page.get_by_label("Owning team").select_option(label="Platform")
    page.get_by_label("Time zone").fill("Europe/Berlin")

    # layer 1: a weekly rotation, business hours only
    first = page.locator("#layer-0")
    first.get_by_label("Layer name").fill("Business hours")
    first.get_by_label("First hand-off").fill(f"{FIRST_MONDAY}T09:00")
    first.get_by_role("button", name="Weekly rotation for layer 1").click()
    expect(first.get_by_label("Unit")).to_have_value("weeks")
    first.get_by_label("People, in order").fill("ann\nbob")
    first.get_by_role("button", name="Add a window to layer 1").click()
    first = page.locator("#layer-0")
    expect(first.get_by_label("From")).to_have_value("09:00")
    expect(first.get_by_label("Until")).to_have_value("17:00")
    for day in ("Mon", "Tue", "Wed", "Thu", "Fri"):
        expect(first.get_by_label(day, exact=True)).to_be_checked()
    for day in ("Sat", "Sun"):
        expect(first.get_by_label(day, exact=True)).not_to_be_checked()

    # layer 2: nightly, 20:00–08:00 every day
    page.get_by_role("button", name="Add layer").click()
    second = page.locator("#layer-1")
    second.get_by_label("Layer name").fill("Nights")
    second.get_by_label("First hand-off").fill(f"{FIRST_MONDAY}T20:00")
    second.get_by_role("button", name="Daily rotation for layer 2").click()
    second.get_by_label("People, in order").fill("bob\nann")
    second.get_by_role("button", name="Add a window to layer 2").click()
    second = page.locator("#layer-1")
    second.get_by_label("Days", exact=True).select_option(label="Every day")
    second.get_by_label("From").fill("20:00")
    second.get_by_label("Until").fill("08:00")


def _final_gaps(page: Any, viewport: str) -> Any:
    """The gaps of the final schedule as the viewport shows them: bars on the timeline's
    final row (desktop), items of the day-by-day list (phone)."""
    if viewport == "desktop":
        return page.locator(".oc-row-final .oc-bar.oc-gap")
    return page.locator(".oc-daylist .oc-item-gap")


def _pick_by_dragging(page: Any) -> None:
    track = page.locator(".oc-row-final .oc-track")
    # the mouse works in the viewport: bring the track into it as a person would scroll
    track.scroll_into_view_if_needed()
    box = track.bounding_box()
    assert box is not None
    start, end = PICKED_HOURS
    x = [box["x"] + box["width"] * h / WEEK_HOURS for h in (start, (start + end) / 2, end)]
    y = box["y"] + box["height"] / 2
    page.mouse.move(x[0] + 0.5, y)
    page.mouse.down()
    page.mouse.move(x[1], y, steps=4)
    page.mouse.move(x[2] + 0.5, y, steps=4)
    page.mouse.up()


def _pick_from_the_gap_list(page: Any) -> None:
    item = page.locator("#gaps").get_by_role("listitem").filter(has_text=PICKED)
    expect(item).to_have_count(1)
    item.get_by_role("link", name="Cover it with an override").click()
    page.wait_for_load_state()
    assert page.url.endswith("#override-panel"), page.url


def _tab_to(page: Any, button: Any, most: int = 40) -> int:
    """Press Tab until `button` has the focus; how many presses it took."""
    for presses in range(1, most + 1):
        page.keyboard.press("Tab")
        if button.evaluate("el => el === document.activeElement"):
            return presses
    raise AssertionError(f"{most} presses of Tab never reached the form's submit button")


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_a_manager_builds_a_schedule_and_covers_a_gap_with_an_override(
    team: Team,
    open_as: Callable[[str], Watched],
    shots: Path,
    viewport: str,
) -> None:
    watched = open_as("mia")
    page = watched.page
    page.set_viewport_size(DESKTOP if viewport == "desktop" else PHONE)
    steps = Steps(page, shots, viewport)

    # 1. the editor: two layers, previewed (nothing saved), then saved
    _build_in_the_editor(page)
    steps.shot("editor-filled")
    page.get_by_role("button", name="Preview", exact=True).click()
    preview = page.locator("#editor-preview")
    expect(preview.get_by_role("table")).to_be_visible()
    expect(preview).to_contain_text("Nothing is saved yet.")
    # the 14 days from NOW (Tue 13:00): Tue 17–20, then 4 h a weekday, 12 h a weekend day
    expect(preview).to_contain_text("24 gaps: nobody is on call for 88 hours.")
    expect(preview).to_contain_text("Ann Alder")
    expect(preview).to_contain_text("Bob Birch")
    expect(preview.locator("tr.editor-gap").first).to_contain_text("nobody on call")
    assert Schedule.objects.count() == 0
    steps.shot("editor-preview")
    page.get_by_role("button", name="Create schedule").click()
    page.wait_for_load_state()

    # 2. the schedule page: the two weeks of NOW, with their gaps
    schedule = Schedule.objects.get()
    assert schedule.team == team
    assert re.search(rf"/schedules/{schedule.pk}/$", page.url), page.url
    expect(page.get_by_role("heading", name="Platform primary", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Two weeks from Mon 9 Mar 2026")).to_be_visible()
    expect(page.locator(".oc-row-layer")).to_have_count(2)
    expect(page.locator(".oc-row-overrides .oc-bar")).to_have_count(0)
    gaps = _final_gaps(page, viewport)
    expect(gaps).to_have_count(GAPS)
    if viewport == "desktop":
        expect(gaps.filter(has_text=PICKED)).to_have_count(1)
        expect(page.locator(".oc-tl")).to_be_visible()
    else:
        expect(page.locator(".oc-tl")).to_be_hidden()
        wednesday = page.locator(".oc-daylist").nth(2)
        expect(wednesday.get_by_role("heading")).to_have_text("Wednesday 11 March")
        expect(wednesday.locator(".oc-item-gap")).to_have_count(2)
    gap_list = page.locator("#gaps")
    expect(gap_list.locator("summary")).to_contain_text(f"Gaps in these two weeks: {GAPS}")
    gap_list.locator("summary").click()  # more than six gaps: the list starts closed
    expect(gap_list.get_by_role("listitem")).to_have_count(GAPS)
    steps.shot("schedule-saved", PART[viewport])

    # 3. the span of one gap, picked: the form's Start and End, and "who is on call then"
    if viewport == "desktop":
        _pick_by_dragging(page)
    else:
        _pick_from_the_gap_list(page)
    form = page.locator("#override-form")
    expect(form.get_by_label("Start")).to_have_value("2026-03-11T17:00")
    expect(form.get_by_label("End")).to_have_value("2026-03-11T20:00")
    expect(page.locator("[data-oc-span-oncall]")).to_contain_text(f"nobody, {PICKED}")
    steps.shot("span-picked")

    # 4. who: Cid, over the whole schedule; the submit button reached by Tab, sent by Enter
    who = form.get_by_role("combobox", name=re.compile("^Who is on call"))
    who.fill("cid")
    who.press("Enter")
    expect(who).to_have_value("Cid Cedar (cid)")
    expect(form.get_by_label("In place of")).to_have_value("")
    submit = form.get_by_role("button", name="Add override")
    who.focus()
    presses = _tab_to(page, submit)
    assert presses >= 4  # past Start, End, "In place of" and Note at least
    steps.shot("submit-focused")
    page.keyboard.press("Enter")
    page.wait_for_load_state()

    # 5. the final schedule: Cid in that span, one gap fewer
    expect(page.locator(".flash-success")).to_contain_text(f"Override added: Cid Cedar, {PICKED}.")
    override = Override.objects.get()
    assert (override.user.username, override.replaces) == ("cid", None)
    assert (override.start, override.end) == (
        dt.datetime(2026, 3, 11, 16, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 11, 19, tzinfo=dt.UTC),
    )
    expect(page.get_by_role("heading", name="Two weeks from Mon 9 Mar 2026")).to_be_visible()
    gaps = _final_gaps(page, viewport)
    expect(gaps).to_have_count(GAPS - 1)
    expect(gap_list.locator("summary")).to_contain_text(f"Gaps in these two weeks: {GAPS - 1}")
    gap_list.locator("summary").click()
    expect(gap_list.get_by_role("listitem")).to_have_count(GAPS - 1)
    expect(gap_list.get_by_role("listitem").filter(has_text=PICKED)).to_have_count(0)
    if viewport == "desktop":
        expect(gaps.filter(has_text=PICKED)).to_have_count(0)
        final = page.locator(".oc-row-final .oc-bar.oc-override")
        expect(final).to_have_count(1)
        expect(final).to_contain_text(f"Cid Cedar, {PICKED}")
        # where the gap was: the bar spans 17:00–20:00 of Wednesday on the track
        track = page.locator(".oc-row-final .oc-track").bounding_box()
        bar = final.bounding_box()
        assert track is not None and bar is not None
        start, end = PICKED_HOURS
        assert abs(bar["x"] - (track["x"] + track["width"] * start / WEEK_HOURS)) < 2
        assert abs(bar["width"] - track["width"] * (end - start) / WEEK_HOURS) < 2
        expect(page.locator(".oc-row-overrides .oc-bar")).to_have_count(1)
    else:
        wednesday = page.locator(".oc-daylist").nth(2)
        expect(wednesday.locator(".oc-item-gap")).to_have_count(1)
        expect(wednesday.locator(".oc-item-override")).to_have_count(1)
        expect(wednesday.locator(".oc-item-override")).to_contain_text("Cid Cedar")
        expect(wednesday.locator(".oc-item-override")).to_contain_text("17:00 – 20:00")
    steps.shot("override-added", PART[viewport])
    page.locator("#timeline").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / f"{steps.n + 1:02d}-timeline-view-{viewport}.png"))
    assert watched.problems() == []
