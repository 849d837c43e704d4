"""Calendar feeds: a person's shifts, or a schedule's final schedule, as an RFC 5545
calendar (built with the `icalendar` package). docs/calendar.md is the user's side.

- Times are UTC (``DTSTART:20260302T080000Z``); each event's description gives the local
  times in the schedule's zone (and, in a person's feed, in the person's own zone).
- The window: six weeks back (from a UTC midnight, so it moves once a day) to six months
  ahead. Shifts are computed from a month before the window, so a shift that began before
  it keeps its real start (and its UID) unless it is longer than that month.
- UIDs are derived from the schedule, the person and the start instant, so a calendar app
  updates an event whose end moved instead of adding a second one. A shift whose start
  moves (an override, an edited layer) is a new event with a new UID: the app drops the
  old one at its next refresh.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from icalendar import Calendar, Event, vText

from tocsin.accounts.models import User
from tocsin.accounts.permissions import Action, can
from tocsin.core.crypto import sha256_hex
from tocsin.core.errors import Invalid, NotFound
from tocsin.oncall import rules, selectors
from tocsin.oncall.models import CalendarFeed, Layer, Schedule

BACK = dt.timedelta(weeks=6)
AHEAD = dt.timedelta(days=183)  # six months
LOOK_BACK = dt.timedelta(days=31)  # shifts that began before the window keep their start
REFRESH = dt.timedelta(hours=1)
PRODID = "-//Tocsin//On-call calendar//EN"
_STAMP = "%Y%m%dT%H%M%SZ"


TOUCH_EVERY = dt.timedelta(minutes=1)
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


# --- reads and gates -----------------------------------------------------------------------


def feed_list(*, user: User, owner: User | None = None) -> QuerySet[CalendarFeed]:
    """A person's feeds, newest first, revoked ones too (an administrator may read
    anyone's); 404 for reporters."""
    if not can(user, Action.SCHEDULE_VIEW):
        raise NotFound("not found")  # reporters: as if there were nothing here
    owner = owner or user
    if owner.pk != user.pk and not can(user, Action.PEOPLE_MANAGE):
        raise NotFound(f"no person with username {owner.username!r}")
    return (
        CalendarFeed.objects.filter(owner=owner)
        .select_related("schedule", "owner")
        .order_by("-created_at", "-id")
    )


def feed_get(feed_id: int, *, user: User) -> CalendarFeed:
    """One's own feed (an administrator: anyone's); 404 otherwise."""
    feed = None
    if can(user, Action.SCHEDULE_VIEW):
        feed = CalendarFeed.objects.select_related("schedule", "owner").filter(pk=feed_id).first()
    if feed is None or (feed.owner_id != user.pk and not can(user, Action.PEOPLE_MANAGE)):
        raise NotFound(f"no calendar feed with id {feed_id}")
    return feed


def feed_schedule(schedule_id: int, *, user: User) -> Schedule:
    """A schedule a new feed may follow: one the person sees, not archived (422 naming
    the field ``schedule`` otherwise)."""
    try:
        schedule = selectors.schedule_get(schedule_id, user=user)
    except NotFound as exc:
        raise Invalid("schedule", exc.message) from None
    if schedule.archived_at is not None:
        raise Invalid("schedule", f"{schedule.name!r} is archived")
    return schedule


def feed_for_token(token: str) -> CalendarFeed | None:
    """The live feed a token opens, or None: unknown or revoked, an inactive owner, an
    owner who may no longer see schedules or this schedule. Compared by hash lookup."""
    if not 16 <= len(token) <= 100 or not set(token) <= _TOKEN_CHARS:
        return None
    feed = selectors.feed_by_token(sha256_hex(token))
    if feed is None or not can(feed.owner, Action.SCHEDULE_VIEW):
        return None
    if feed.schedule_id is not None:
        try:
            selectors.schedule_get(feed.schedule_id, user=feed.owner)
        except NotFound:
            return None
    return feed


def feed_touch(feed: CalendarFeed, at: dt.datetime) -> None:
    """Bookkeeping, as for API tokens: when the feed was last read (at most once a
    minute). The only write a feed's GET makes."""
    if feed.last_used_at is None or at - feed.last_used_at > TOUCH_EVERY:
        CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=at)
        feed.last_used_at = at


def feed_url(token: str) -> str:
    """The secret address (https or http, as TOCSIN_BASE_URL)."""
    return settings.BASE_URL + reverse("calendar-feed", args=[token])


def webcal_url(url: str) -> str:
    """The same address as ``webcal://``, which opens the subscribe dialog of Apple
    Calendar and Outlook."""
    return "webcal://" + url.split("://", 1)[-1]


# --- building ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """What a feed shows: shifts that end after ``since`` and start before ``until``,
    computed from ``compute_since``."""

    since: dt.datetime
    until: dt.datetime
    compute_since: dt.datetime


def window(at: dt.datetime) -> Window:
    day = at.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    since = day - BACK
    return Window(since, day + dt.timedelta(days=1) + AHEAD, since - LOOK_BACK)


@dataclass(frozen=True)
class FeedShift:
    schedule: Schedule
    shift: rules.Shift


def _domain() -> str:
    return urlsplit(settings.BASE_URL).hostname or "tocsin.invalid"


def uid(schedule_id: int, user_id: int, start: dt.datetime, kind: str) -> str:
    """Stable for one shift: the schedule, the person and the start instant (``kind``
    keeps a person's feed and a schedule's feed apart in apps that share UIDs)."""
    stamp = start.astimezone(dt.UTC).strftime(_STAMP)
    return f"shift-{schedule_id}-{user_id}-{stamp}-{kind}@{_domain()}"


def _when(start: dt.datetime, end: dt.datetime, zone: str) -> str:
    tz = ZoneInfo(zone)
    a, b = start.astimezone(tz), end.astimezone(tz)
    fmt = "%a %d %b %Y %H:%M"
    return f"{a.strftime(fmt)} – {b.strftime(fmt)} ({zone})"


def _layer_names(layer_ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in layer_ids if i is not None}
    if not wanted:
        return {}
    return dict(Layer.objects.filter(pk__in=wanted).values_list("pk", "name"))


def feed_shifts(feed: CalendarFeed, win: Window) -> list[FeedShift]:
    """The shifts a feed shows in ``win`` (the owner's across schedules, or the final
    schedule of the feed's schedule, up to its archiving)."""
    if feed.schedule is None:
        found = selectors.user_shifts(feed.owner, win.compute_since, win.until)
        return [FeedShift(s, shift) for s, shift in found if shift.end > win.since]
    schedule = feed.schedule
    until = win.until
    if schedule.archived_at is not None:
        until = min(until, schedule.archived_at)
    if until <= win.since:
        return []
    return [
        FeedShift(schedule, shift)
        for shift in selectors.shifts(schedule, win.compute_since, until)
        if shift.end > win.since
    ]


def build(feed: CalendarFeed, shifts: Sequence[FeedShift], at: dt.datetime) -> bytes:
    """The calendar for ``feed`` with ``shifts`` (generated at ``at``)."""
    owner: User = feed.owner
    kind = "p" if feed.schedule is None else "s"
    title = f"On call: {owner.display_name if feed.schedule is None else feed.schedule.name}"
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    # X- properties are written as given unless typed: as text, a newline or a CR in a
    # name is escaped (not a 500, nor a line of its own)
    cal.add("x-wr-calname", vText(title))
    cal.add(
        "x-wr-caldesc",
        vText(
            "Shifts of "
            + (
                owner.display_name
                if feed.schedule is None
                else f"the {feed.schedule.name} schedule"
            )
            + ", from Tocsin. Times are UTC; calendar apps show them in your zone."
        ),
    )
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")  # = REFRESH, for Outlook
    layers = _layer_names(item.shift.layer for item in shifts)
    people = selectors.users_by_id(item.shift.user for item in shifts)
    for item in shifts:
        schedule, shift = item.schedule, item.shift
        person = people.get(shift.user)
        name = person.display_name if person is not None else f"person {shift.user}"
        lines = [
            f"Schedule: {schedule.name} (time zone {schedule.time_zone})",
            f"On call: {name}",
            f"Local time: {_when(shift.start, shift.end, schedule.time_zone)}",
        ]
        if feed.schedule is None and owner.time_zone != schedule.time_zone:
            lines.append(f"Your time: {_when(shift.start, shift.end, owner.time_zone)}")
        if shift.override is not None:
            lines.append("From: an override")
        elif shift.layer is not None:
            lines.append(f"From: layer {layers.get(shift.layer, shift.layer)}")
        event = Event()
        event.add("uid", uid(schedule.pk, shift.user, shift.start, kind))
        event.add("dtstamp", at.astimezone(dt.UTC).replace(microsecond=0))
        event.add("dtstart", shift.start.astimezone(dt.UTC))
        event.add("dtend", shift.end.astimezone(dt.UTC))
        event.add("summary", f"On call: {schedule.name if kind == 'p' else name}")
        event.add("description", "\n".join(lines))
        event.add("categories", ["On call"])
        # Being on call does not make a person busy for meetings.
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    return cal.to_ical()
