"""Hand-offs and restriction windows around every 2026 clock change of a few hard zones
(and a weekly rotation across 29 February 2028), as tables.

Each expectation is a UTC instant written out by hand from the zone's rules (the 2026
changes, looked up once, are listed below); none is computed by the code under test, so
the tables are an oracle independent of `rules.py`.

- Europe/Berlin       29 Mar 02:00 CET → 03:00 CEST (01:00Z); 25 Oct 03:00 CEST → 02:00 CET (01:00Z)
- America/Chicago      8 Mar 02:00 CST → 03:00 CDT (08:00Z);  1 Nov 02:00 CDT → 01:00 CST (07:00Z)
- Australia/Lord_Howe  5 Apr 02:00 +11 → 01:30 +10:30 (4 Apr 15:00Z);
                       4 Oct 02:00 +10:30 → 02:30 +11 (3 Oct 15:30Z)   (a 30-minute change)
- America/Santiago     5 Apr 00:00 -03 → 4 Apr 23:00 -04 (03:00Z);
                       6 Sep 00:00 -04 → 01:00 -03 (04:00Z)   (southern hemisphere, at midnight)
- Asia/Kathmandu       +05:45 all year
- America/Chicago 2028 12 Mar 02:00 CST → 03:00 CDT (08:00Z); 2028 is a leap year

People: A = 1, B = 2, C = 3.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest

from tocsin.oncall import rules
from tocsin.oncall.rules import Layer, Override, Schedule, Window

A, B, C = 1, 2, 3
UTC = dt.UTC
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def z(text: str) -> dt.datetime:
    """A UTC instant written 'YYYY-MM-DD HH:MM'."""
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def loc(text: str) -> dt.datetime:
    """A naive local date-time written 'YYYY-MM-DD HH:MM'."""
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M")


def hm(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


def daily(start: str, end: str, days: tuple[int, ...] = tuple(range(7))) -> Window:
    return Window.daily(hm(start), hm(end), days)


def layer(
    start: str,
    every: int,
    unit: str,
    users: tuple[int, ...] = (A, B),
    windows: tuple[Window, ...] = (),
    end: str | None = None,
    layer_id: int = 1,
) -> Layer:
    return Layer(
        id=layer_id,
        start=loc(start),
        every=every,
        unit=unit,
        users=users,
        end=loc(end) if end else None,
        windows=windows,
    )


def rows(shifts: list[rules.Shift]) -> list[tuple[int, dt.datetime, dt.datetime]]:
    return [(s.user, s.start, s.end) for s in shifts]


# --- R3 / R4: resolving one local time ----------------------------------------------------

# zone, local time, resolve_first (R3: hand-offs, window starts), resolve_last (R4: window ends)
RESOLVE = [
    # ordinary times: one instant
    ("Europe/Berlin", "2026-03-28 02:30", "2026-03-28 01:30", "2026-03-28 01:30"),
    ("Asia/Kathmandu", "2026-03-29 02:30", "2026-03-28 20:45", "2026-03-28 20:45"),
    # skipped (spring forward): the first instant after the gap, both ways
    ("Europe/Berlin", "2026-03-29 02:00", "2026-03-29 01:00", "2026-03-29 01:00"),
    ("Europe/Berlin", "2026-03-29 02:30", "2026-03-29 01:00", "2026-03-29 01:00"),
    ("Europe/Berlin", "2026-03-29 02:59", "2026-03-29 01:00", "2026-03-29 01:00"),
    ("Europe/Berlin", "2026-03-29 03:00", "2026-03-29 01:00", "2026-03-29 01:00"),
    ("America/Chicago", "2026-03-08 02:30", "2026-03-08 08:00", "2026-03-08 08:00"),
    ("Australia/Lord_Howe", "2026-10-04 02:15", "2026-10-03 15:30", "2026-10-03 15:30"),
    ("Australia/Lord_Howe", "2026-10-04 02:30", "2026-10-03 15:30", "2026-10-03 15:30"),
    ("America/Santiago", "2026-09-06 00:00", "2026-09-06 04:00", "2026-09-06 04:00"),
    ("America/Santiago", "2026-09-06 00:45", "2026-09-06 04:00", "2026-09-06 04:00"),
    # repeated (fall back): first occurrence / last occurrence
    ("Europe/Berlin", "2026-10-25 02:00", "2026-10-25 00:00", "2026-10-25 01:00"),
    ("Europe/Berlin", "2026-10-25 02:30", "2026-10-25 00:30", "2026-10-25 01:30"),
    ("Europe/Berlin", "2026-10-25 03:00", "2026-10-25 02:00", "2026-10-25 02:00"),
    ("America/Chicago", "2026-11-01 01:30", "2026-11-01 06:30", "2026-11-01 07:30"),
    ("Australia/Lord_Howe", "2026-04-05 01:30", "2026-04-04 14:30", "2026-04-04 15:00"),
    ("Australia/Lord_Howe", "2026-04-05 01:45", "2026-04-04 14:45", "2026-04-04 15:15"),
    ("Australia/Lord_Howe", "2026-04-05 02:00", "2026-04-04 15:30", "2026-04-04 15:30"),
    ("America/Santiago", "2026-04-04 23:30", "2026-04-05 02:30", "2026-04-05 03:30"),
    ("America/Santiago", "2026-04-05 00:00", "2026-04-05 04:00", "2026-04-05 04:00"),
]


@pytest.mark.parametrize(("zone", "local_time", "first", "last"), RESOLVE)
def test_resolving_a_local_time_r3_r4(zone: str, local_time: str, first: str, last: str) -> None:
    tz = ZoneInfo(zone)
    assert rules.resolve_first(loc(local_time), tz) == z(first)
    assert rules.resolve_last(loc(local_time), tz) == z(last)


# --- one layer's shifts: R1 (days, weeks keep the wall clock), R2 (hours exact), R3 ------


@dataclass(frozen=True)
class Case:
    name: str
    zone: str
    layer: Layer
    since: str
    until: str
    expected: list[tuple[int, str, str]]


LAYER_CASES = [
    # ---- Europe/Berlin, spring forward 29 Mar (02:00–03:00 does not exist)
    Case(
        "berlin spring: daily at 02:30, the skipped hand-off at 03:00 CEST",
        "Europe/Berlin",
        layer("2026-03-27 02:30", 1, "days"),
        "2026-03-28 00:00",
        "2026-03-30 12:00",
        [
            (A, "2026-03-28 00:00", "2026-03-28 01:30"),
            (B, "2026-03-28 01:30", "2026-03-29 01:00"),
            (A, "2026-03-29 01:00", "2026-03-30 00:30"),
            (B, "2026-03-30 00:30", "2026-03-30 12:00"),
        ],
    ),
    Case(
        "berlin spring: daily at 09:00 keeps 09:00 (a 23-hour shift)",
        "Europe/Berlin",
        layer("2026-03-28 09:00", 1, "days"),
        "2026-03-28 00:00",
        "2026-03-30 12:00",
        [
            (A, "2026-03-28 08:00", "2026-03-29 07:00"),
            (B, "2026-03-29 07:00", "2026-03-30 07:00"),
            (A, "2026-03-30 07:00", "2026-03-30 12:00"),
        ],
    ),
    Case(
        "berlin spring: every 12 hours is exact elapsed time (20:00 CET, then 09:00 CEST)",
        "Europe/Berlin",
        layer("2026-03-28 20:00", 12, "hours"),
        "2026-03-28 00:00",
        "2026-03-30 12:00",
        [
            (A, "2026-03-28 19:00", "2026-03-29 07:00"),
            (B, "2026-03-29 07:00", "2026-03-29 19:00"),
            (A, "2026-03-29 19:00", "2026-03-30 07:00"),
            (B, "2026-03-30 07:00", "2026-03-30 12:00"),
        ],
    ),
    Case(
        "berlin spring: an hours layer starting inside the gap starts after it",
        "Europe/Berlin",
        layer("2026-03-29 02:30", 8, "hours"),
        "2026-03-28 00:00",
        "2026-03-30 00:00",
        [
            (A, "2026-03-29 01:00", "2026-03-29 09:00"),
            (B, "2026-03-29 09:00", "2026-03-29 17:00"),
            (A, "2026-03-29 17:00", "2026-03-30 00:00"),
        ],
    ),
    Case(
        "berlin spring: weekly on Sunday 02:30",
        "Europe/Berlin",
        layer("2026-03-22 02:30", 1, "weeks"),
        "2026-03-20 00:00",
        "2026-04-06 00:00",
        [
            (A, "2026-03-22 01:30", "2026-03-29 01:00"),
            (B, "2026-03-29 01:00", "2026-04-05 00:30"),
            (A, "2026-04-05 00:30", "2026-04-06 00:00"),
        ],
    ),
    Case(
        "berlin spring: daily at 02:30 restricted to 01:00–04:00 (the window loses an hour)",
        "Europe/Berlin",
        layer("2026-03-27 02:30", 1, "days", windows=(daily("01:00", "04:00"),)),
        "2026-03-28 00:00",
        "2026-03-30 12:00",
        [
            (A, "2026-03-28 00:00", "2026-03-28 01:30"),
            (B, "2026-03-28 01:30", "2026-03-28 03:00"),
            (B, "2026-03-29 00:00", "2026-03-29 01:00"),
            (A, "2026-03-29 01:00", "2026-03-29 02:00"),
            (A, "2026-03-29 23:00", "2026-03-30 00:30"),
            (B, "2026-03-30 00:30", "2026-03-30 02:00"),
        ],
    ),
    Case(
        "berlin spring: a window inside the gap is empty; one ending in it ends after it",
        "Europe/Berlin",
        layer(
            "2026-03-01 00:00",
            1,
            "weeks",
            users=(A,),
            windows=(
                daily("02:00", "03:00", (SUN,)),
                daily("01:30", "02:30", (SUN,)),
            ),
        ),
        "2026-03-27 00:00",
        "2026-03-30 00:00",
        [
            (A, "2026-03-29 00:30", "2026-03-29 01:00"),
        ],
    ),
    Case(
        "berlin spring: 01:30–02:30 on the day of the change lasts 30 minutes",
        "Europe/Berlin",
        layer("2026-03-01 00:00", 1, "weeks", users=(A,), windows=(daily("01:30", "02:30"),)),
        "2026-03-28 12:00",
        "2026-03-30 12:00",
        [
            (A, "2026-03-29 00:30", "2026-03-29 01:00"),
            (A, "2026-03-29 23:30", "2026-03-30 00:30"),
        ],
    ),
    # ---- Europe/Berlin, fall back 25 Oct (02:00–03:00 happens twice)
    Case(
        "berlin fall: daily at 02:30 hands off at the first 02:30 (a 25-hour shift after)",
        "Europe/Berlin",
        layer("2026-10-24 02:30", 1, "days"),
        "2026-10-24 00:00",
        "2026-10-26 12:00",
        [
            (A, "2026-10-24 00:30", "2026-10-25 00:30"),
            (B, "2026-10-25 00:30", "2026-10-26 01:30"),
            (A, "2026-10-26 01:30", "2026-10-26 12:00"),
        ],
    ),
    Case(
        "berlin fall: every hour is every elapsed hour (02:00 CEST and 02:00 CET both hand off)",
        "Europe/Berlin",
        layer("2026-10-25 01:00", 1, "hours", users=(A, B, C)),
        "2026-10-24 00:00",
        "2026-10-25 03:00",
        [
            (A, "2026-10-24 23:00", "2026-10-25 00:00"),
            (B, "2026-10-25 00:00", "2026-10-25 01:00"),
            (C, "2026-10-25 01:00", "2026-10-25 02:00"),
            (A, "2026-10-25 02:00", "2026-10-25 03:00"),
        ],
    ),
    Case(
        "berlin fall: weekly on Sunday 02:30, one week of 7 days and 1 hour",
        "Europe/Berlin",
        layer("2026-10-18 02:30", 1, "weeks"),
        "2026-10-18 00:00",
        "2026-11-02 00:00",
        [
            (A, "2026-10-18 00:30", "2026-10-25 00:30"),
            (B, "2026-10-25 00:30", "2026-11-01 01:30"),
            (A, "2026-11-01 01:30", "2026-11-02 00:00"),
        ],
    ),
    Case(
        "berlin fall: every hour restricted to 02:00–03:00: the window holds both 02:00s",
        "Europe/Berlin",
        layer("2026-10-25 00:00", 1, "hours", users=(A, B, C), windows=(daily("02:00", "03:00"),)),
        "2026-10-24 12:00",
        "2026-10-25 12:00",
        [
            (C, "2026-10-25 00:00", "2026-10-25 01:00"),
            (A, "2026-10-25 01:00", "2026-10-25 02:00"),
        ],
    ),
    Case(
        "berlin fall: daily at 02:30 restricted to 02:15–02:45 (first 02:15 to second 02:45)",
        "Europe/Berlin",
        layer("2026-10-24 02:30", 1, "days", windows=(daily("02:15", "02:45"),)),
        "2026-10-24 12:00",
        "2026-10-26 12:00",
        [
            (A, "2026-10-25 00:15", "2026-10-25 00:30"),
            (B, "2026-10-25 00:30", "2026-10-25 01:45"),
            (B, "2026-10-26 01:15", "2026-10-26 01:30"),
            (A, "2026-10-26 01:30", "2026-10-26 01:45"),
        ],
    ),
    # ---- America/Chicago
    Case(
        "chicago spring: daily at 02:00: the skipped hand-off is 03:00 CDT, 24 h after 02:00 CST",
        "America/Chicago",
        layer("2026-03-07 02:00", 1, "days"),
        "2026-03-07 00:00",
        "2026-03-10 00:00",
        [
            (A, "2026-03-07 08:00", "2026-03-08 08:00"),
            (B, "2026-03-08 08:00", "2026-03-09 07:00"),
            (A, "2026-03-09 07:00", "2026-03-10 00:00"),
        ],
    ),
    Case(
        "chicago spring: every 24 hours drifts to 13:00 CDT",
        "America/Chicago",
        layer("2026-03-07 12:00", 24, "hours"),
        "2026-03-07 00:00",
        "2026-03-10 00:00",
        [
            (A, "2026-03-07 18:00", "2026-03-08 18:00"),
            (B, "2026-03-08 18:00", "2026-03-09 18:00"),
            (A, "2026-03-09 18:00", "2026-03-10 00:00"),
        ],
    ),
    Case(
        "chicago spring: weekly Sunday 02:30 restricted to Sundays 01:00–04:00",
        "America/Chicago",
        layer("2026-03-01 02:30", 1, "weeks", windows=(daily("01:00", "04:00", (SUN,)),)),
        "2026-03-01 00:00",
        "2026-03-16 00:00",
        [
            (A, "2026-03-01 08:30", "2026-03-01 10:00"),
            (A, "2026-03-08 07:00", "2026-03-08 08:00"),
            (B, "2026-03-08 08:00", "2026-03-08 09:00"),
            (B, "2026-03-15 06:00", "2026-03-15 07:30"),
            (A, "2026-03-15 07:30", "2026-03-15 09:00"),
        ],
    ),
    Case(
        "chicago fall: daily at 01:30 hands off at the first 01:30",
        "America/Chicago",
        layer("2026-10-31 01:30", 1, "days"),
        "2026-10-31 00:00",
        "2026-11-02 12:00",
        [
            (A, "2026-10-31 06:30", "2026-11-01 06:30"),
            (B, "2026-11-01 06:30", "2026-11-02 07:30"),
            (A, "2026-11-02 07:30", "2026-11-02 12:00"),
        ],
    ),
    Case(
        "chicago fall: every 2 days at 01:00 restricted to 00:00–01:30 (to the second 01:30)",
        "America/Chicago",
        layer("2026-10-30 01:00", 2, "days", windows=(daily("00:00", "01:30"),)),
        "2026-10-31 00:00",
        "2026-11-03 00:00",
        [
            (A, "2026-10-31 05:00", "2026-10-31 06:30"),
            (A, "2026-11-01 05:00", "2026-11-01 06:00"),
            (B, "2026-11-01 06:00", "2026-11-01 07:30"),
            (B, "2026-11-02 06:00", "2026-11-02 07:30"),
        ],
    ),
    # ---- Australia/Lord_Howe (a 30-minute change)
    Case(
        "lord howe spring: daily at 02:15: the skipped hand-off is 02:30 +11 (23 h 45 min)",
        "Australia/Lord_Howe",
        layer("2026-10-02 02:15", 1, "days"),
        "2026-10-01 12:00",
        "2026-10-05 00:00",
        [
            (A, "2026-10-01 15:45", "2026-10-02 15:45"),
            (B, "2026-10-02 15:45", "2026-10-03 15:30"),
            (A, "2026-10-03 15:30", "2026-10-04 15:15"),
            (B, "2026-10-04 15:15", "2026-10-05 00:00"),
        ],
    ),
    Case(
        "lord howe spring: every 6 hours from midnight (+10:30), exact",
        "Australia/Lord_Howe",
        layer("2026-10-04 00:00", 6, "hours"),
        "2026-10-03 12:00",
        "2026-10-04 12:00",
        [
            (A, "2026-10-03 13:30", "2026-10-03 19:30"),
            (B, "2026-10-03 19:30", "2026-10-04 01:30"),
            (A, "2026-10-04 01:30", "2026-10-04 07:30"),
            (B, "2026-10-04 07:30", "2026-10-04 12:00"),
        ],
    ),
    Case(
        "lord howe fall: weekly Sunday 01:45, the first 01:45 (a week and 30 minutes after)",
        "Australia/Lord_Howe",
        layer("2026-03-29 01:45", 1, "weeks"),
        "2026-03-28 00:00",
        "2026-04-12 00:00",
        [
            (A, "2026-03-28 14:45", "2026-04-04 14:45"),
            (B, "2026-04-04 14:45", "2026-04-11 15:15"),
            (A, "2026-04-11 15:15", "2026-04-12 00:00"),
        ],
    ),
    Case(
        "lord howe fall: daily 01:00 restricted to 01:45–09:00 starts at the first 01:45",
        "Australia/Lord_Howe",
        layer("2026-04-04 01:00", 1, "days", windows=(daily("01:45", "09:00"),)),
        "2026-04-04 00:00",
        "2026-04-05 00:00",
        [
            (B, "2026-04-04 14:45", "2026-04-04 22:30"),
        ],
    ),
    Case(
        "lord howe spring: weekly restricted to Sun 00:00–02:15, ending in the gap",
        "Australia/Lord_Howe",
        layer("2026-09-27 00:00", 1, "weeks", windows=(daily("00:00", "02:15", (SUN,)),)),
        "2026-10-03 00:00",
        "2026-10-04 00:00",
        [
            (B, "2026-10-03 13:30", "2026-10-03 15:30"),
        ],
    ),
    # ---- America/Santiago (southern hemisphere; midnight itself is skipped)
    Case(
        "santiago spring: daily at 00:00: the missing midnight hands off at 01:00 -03",
        "America/Santiago",
        layer("2026-09-04 00:00", 1, "days"),
        "2026-09-04 00:00",
        "2026-09-07 12:00",
        [
            (A, "2026-09-04 04:00", "2026-09-05 04:00"),
            (B, "2026-09-05 04:00", "2026-09-06 04:00"),
            (A, "2026-09-06 04:00", "2026-09-07 03:00"),
            (B, "2026-09-07 03:00", "2026-09-07 12:00"),
        ],
    ),
    Case(
        "santiago spring: weekly on Sunday 00:00",
        "America/Santiago",
        layer("2026-08-30 00:00", 1, "weeks"),
        "2026-08-30 00:00",
        "2026-09-14 00:00",
        [
            (A, "2026-08-30 04:00", "2026-09-06 04:00"),
            (B, "2026-09-06 04:00", "2026-09-13 03:00"),
            (A, "2026-09-13 03:00", "2026-09-14 00:00"),
        ],
    ),
    Case(
        "santiago fall: daily at 23:30 hands off at the first 23:30 (-03)",
        "America/Santiago",
        layer("2026-04-03 23:30", 1, "days"),
        "2026-04-04 00:00",
        "2026-04-07 00:00",
        [
            (A, "2026-04-04 02:30", "2026-04-05 02:30"),
            (B, "2026-04-05 02:30", "2026-04-06 03:30"),
            (A, "2026-04-06 03:30", "2026-04-07 00:00"),
        ],
    ),
    Case(
        "santiago fall: every 8 hours, exact (the second 23:00 hands off)",
        "America/Santiago",
        layer("2026-04-04 16:00", 8, "hours"),
        "2026-04-04 00:00",
        "2026-04-05 12:00",
        [
            (A, "2026-04-04 19:00", "2026-04-05 03:00"),
            (B, "2026-04-05 03:00", "2026-04-05 11:00"),
            (A, "2026-04-05 11:00", "2026-04-05 12:00"),
        ],
    ),
    Case(
        "santiago fall: restricted to 22:00–23:30, the window runs to the second 23:30",
        "America/Santiago",
        layer("2026-04-01 00:00", 1, "weeks", users=(A,), windows=(daily("22:00", "23:30"),)),
        "2026-04-04 12:00",
        "2026-04-06 12:00",
        [
            (A, "2026-04-05 01:00", "2026-04-05 03:30"),
            (A, "2026-04-06 02:00", "2026-04-06 03:30"),
        ],
    ),
    # ---- Asia/Kathmandu (+05:45, no change)
    Case(
        "kathmandu: daily at 09:00 is 03:15Z every day",
        "Asia/Kathmandu",
        layer("2026-03-28 09:00", 1, "days"),
        "2026-03-28 00:00",
        "2026-03-30 12:00",
        [
            (A, "2026-03-28 03:15", "2026-03-29 03:15"),
            (B, "2026-03-29 03:15", "2026-03-30 03:15"),
            (A, "2026-03-30 03:15", "2026-03-30 12:00"),
        ],
    ),
    Case(
        "kathmandu: every 12 hours from midnight",
        "Asia/Kathmandu",
        layer("2026-10-25 00:00", 12, "hours"),
        "2026-10-24 12:00",
        "2026-10-25 20:00",
        [
            (A, "2026-10-24 18:15", "2026-10-25 06:15"),
            (B, "2026-10-25 06:15", "2026-10-25 18:15"),
            (A, "2026-10-25 18:15", "2026-10-25 20:00"),
        ],
    ),
    Case(
        "kathmandu: weekly Monday 09:00, restricted to Mon–Fri 09:00–17:00",
        "Asia/Kathmandu",
        layer(
            "2026-03-23 09:00",
            1,
            "weeks",
            windows=(daily("09:00", "17:00", (MON, TUE, WED, THU, FRI)),),
        ),
        "2026-03-27 00:00",
        "2026-03-31 00:00",
        [
            (A, "2026-03-27 03:15", "2026-03-27 11:15"),
            (B, "2026-03-30 03:15", "2026-03-30 11:15"),
        ],
    ),
    # ---- 29 February 2028 (America/Chicago; its change comes on 12 March)
    Case(
        "leap year: weekly on Tuesday 09:00 across 29 February, then across the change",
        "America/Chicago",
        layer("2028-02-22 09:00", 1, "weeks", users=(A, B, C)),
        "2028-02-20 00:00",
        "2028-03-15 00:00",
        [
            (A, "2028-02-22 15:00", "2028-02-29 15:00"),
            (B, "2028-02-29 15:00", "2028-03-07 15:00"),
            (C, "2028-03-07 15:00", "2028-03-14 14:00"),
            (A, "2028-03-14 14:00", "2028-03-15 00:00"),
        ],
    ),
    Case(
        "leap year: every 4 weeks from 1 February hands off on 29 February",
        "America/Chicago",
        layer("2028-02-01 09:00", 4, "weeks"),
        "2028-02-01 00:00",
        "2028-03-30 00:00",
        [
            (A, "2028-02-01 15:00", "2028-02-29 15:00"),
            (B, "2028-02-29 15:00", "2028-03-28 14:00"),
            (A, "2028-03-28 14:00", "2028-03-30 00:00"),
        ],
    ),
    Case(
        "leap year: daily across 28 Feb, 29 Feb, 1 Mar",
        "America/Chicago",
        layer("2028-02-28 09:00", 1, "days", users=(A, B, C)),
        "2028-02-28 00:00",
        "2028-03-02 00:00",
        [
            (A, "2028-02-28 15:00", "2028-02-29 15:00"),
            (B, "2028-02-29 15:00", "2028-03-01 15:00"),
            (C, "2028-03-01 15:00", "2028-03-02 00:00"),
        ],
    ),
    Case(
        "leap year: weekly restricted to Tue 09:00 – Wed 09:00 (a span over 29 Feb)",
        "America/Chicago",
        layer(
            "2028-02-22 09:00",
            1,
            "weeks",
            windows=(Window.span(TUE, hm("09:00"), WED, hm("09:00")),),
        ),
        "2028-02-26 00:00",
        "2028-03-02 00:00",
        [
            (B, "2028-02-29 15:00", "2028-03-01 15:00"),
        ],
    ),
    # ---- more of each unit, restricted or not, across the same changes
    Case(
        "berlin spring: every 2 hours restricted to 01:00–04:00 (two hours that night)",
        "Europe/Berlin",
        layer("2026-03-29 00:00", 2, "hours", (A, B, C), (daily("01:00", "04:00"),)),
        "2026-03-28 12:00",
        "2026-03-29 12:00",
        [
            (A, "2026-03-29 00:00", "2026-03-29 01:00"),
            (B, "2026-03-29 01:00", "2026-03-29 02:00"),
        ],
    ),
    Case(
        "berlin fall: weekly Sunday 02:30 restricted to Sundays 02:00–03:00",
        "Europe/Berlin",
        layer("2026-10-18 02:30", 1, "weeks", windows=(daily("02:00", "03:00", (SUN,)),)),
        "2026-10-18 00:00",
        "2026-11-02 00:00",
        [
            (A, "2026-10-18 00:30", "2026-10-18 01:00"),
            (A, "2026-10-25 00:00", "2026-10-25 00:30"),
            (B, "2026-10-25 00:30", "2026-10-25 02:00"),
            (B, "2026-11-01 01:00", "2026-11-01 01:30"),
            (A, "2026-11-01 01:30", "2026-11-01 02:00"),
        ],
    ),
    Case(
        "chicago fall: every hour: 01:00 CDT and 01:00 CST both hand off",
        "America/Chicago",
        layer("2026-11-01 00:00", 1, "hours"),
        "2026-11-01 05:00",
        "2026-11-01 09:00",
        [
            (A, "2026-11-01 05:00", "2026-11-01 06:00"),
            (B, "2026-11-01 06:00", "2026-11-01 07:00"),
            (A, "2026-11-01 07:00", "2026-11-01 08:00"),
            (B, "2026-11-01 08:00", "2026-11-01 09:00"),
        ],
    ),
    Case(
        "chicago fall: weekly Sunday 01:30, the first 01:30, then 01:30 CST",
        "America/Chicago",
        layer("2026-10-25 01:30", 1, "weeks"),
        "2026-10-25 00:00",
        "2026-11-09 00:00",
        [
            (A, "2026-10-25 06:30", "2026-11-01 06:30"),
            (B, "2026-11-01 06:30", "2026-11-08 07:30"),
            (A, "2026-11-08 07:30", "2026-11-09 00:00"),
        ],
    ),
    Case(
        "santiago spring: every 6 hours restricted to 22:00–02:00 across the missing midnight",
        "America/Santiago",
        layer("2026-09-05 18:00", 6, "hours", windows=(daily("22:00", "02:00"),)),
        "2026-09-05 12:00",
        "2026-09-06 12:00",
        [
            (A, "2026-09-06 02:00", "2026-09-06 04:00"),
            (B, "2026-09-06 04:00", "2026-09-06 05:00"),
        ],
    ),
    Case(
        "lord howe fall: every hour restricted to 01:30–02:00, an hour that night",
        "Australia/Lord_Howe",
        layer("2026-04-05 00:00", 1, "hours", (A, B, C), (daily("01:30", "02:00"),)),
        "2026-04-04 12:00",
        "2026-04-05 12:00",
        [
            (B, "2026-04-04 14:30", "2026-04-04 15:00"),
            (C, "2026-04-04 15:00", "2026-04-04 15:30"),
        ],
    ),
    Case(
        "a layer's end is a local time too (resolved by R3): ends at 03:00 CEST",
        "Europe/Berlin",
        layer("2026-03-27 09:00", 1, "days", end="2026-03-29 02:30"),
        "2026-03-27 00:00",
        "2026-03-31 00:00",
        [
            (A, "2026-03-27 08:00", "2026-03-28 08:00"),
            (B, "2026-03-28 08:00", "2026-03-29 01:00"),
        ],
    ),
]


@pytest.mark.parametrize("case", LAYER_CASES, ids=lambda c: c.name)
def test_layer_shifts_table(case: Case) -> None:
    got = rules.layer_shifts(case.layer, ZoneInfo(case.zone), z(case.since), z(case.until))
    assert rows(got) == [(u, z(s), z(e)) for u, s, e in case.expected]


# --- R4 across layers: adjacent windows never open a gap; R5 priority -----------------------


def night_and_morning(zone: str, night_first: bool, meet: str = "02:30") -> Schedule:
    """Nights 22:00–``meet`` (A, always), mornings ``meet``–08:00 (B, always)."""
    night = layer("2026-01-01 00:00", 52, "weeks", (A,), (daily("22:00", meet),), layer_id=1)
    morning = layer("2026-01-01 00:00", 52, "weeks", (B,), (daily(meet, "08:00"),), layer_id=2)
    return Schedule(zone, (night, morning) if night_first else (morning, night))


FINAL_CASES = [
    (
        "berlin spring: the night ends and the morning begins at 03:00 CEST",
        night_and_morning("Europe/Berlin", True),
        "2026-03-28 20:00",
        "2026-03-29 07:00",
        [
            (A, 1, "2026-03-28 21:00", "2026-03-29 01:00"),
            (B, 2, "2026-03-29 01:00", "2026-03-29 06:00"),
        ],
    ),
    (
        "berlin fall: the night (higher) runs to the second 02:30",
        night_and_morning("Europe/Berlin", True),
        "2026-10-24 19:00",
        "2026-10-25 08:00",
        [
            (A, 1, "2026-10-24 20:00", "2026-10-25 01:30"),
            (B, 2, "2026-10-25 01:30", "2026-10-25 07:00"),
        ],
    ),
    (
        "berlin fall: the morning (higher) begins at the first 02:30",
        night_and_morning("Europe/Berlin", False),
        "2026-10-24 19:00",
        "2026-10-25 08:00",
        [
            (A, 1, "2026-10-24 20:00", "2026-10-25 00:30"),
            (B, 2, "2026-10-25 00:30", "2026-10-25 07:00"),
        ],
    ),
    (
        "chicago spring: night to morning without a gap at 03:00 CDT",
        night_and_morning("America/Chicago", True),
        "2026-03-08 00:00",
        "2026-03-08 14:00",
        [
            (A, 1, "2026-03-08 04:00", "2026-03-08 08:00"),
            (B, 2, "2026-03-08 08:00", "2026-03-08 13:00"),
        ],
    ),
    (
        "lord howe fall: night (higher) to the second 01:45 (+10:30)",
        night_and_morning("Australia/Lord_Howe", True, "01:45"),
        "2026-04-04 10:00",
        "2026-04-04 22:00",
        [
            (A, 1, "2026-04-04 11:00", "2026-04-04 15:15"),
            (B, 2, "2026-04-04 15:15", "2026-04-04 21:30"),
        ],
    ),
    (
        "lord howe fall: the morning (higher) begins at the first 01:45 (+11)",
        night_and_morning("Australia/Lord_Howe", False, "01:45"),
        "2026-04-04 10:00",
        "2026-04-04 22:00",
        [
            (A, 1, "2026-04-04 11:00", "2026-04-04 14:45"),
            (B, 2, "2026-04-04 14:45", "2026-04-04 21:30"),
        ],
    ),
    (
        "lord howe spring: 02:15 (skipped) is the first instant after the gap; no gap",
        night_and_morning("Australia/Lord_Howe", True, "02:15"),
        "2026-10-03 10:00",
        "2026-10-03 22:00",
        [
            (A, 1, "2026-10-03 11:30", "2026-10-03 15:30"),
            (B, 2, "2026-10-03 15:30", "2026-10-03 21:00"),
        ],
    ),
]


@pytest.mark.parametrize(
    ("name", "schedule", "since", "until", "expected"), FINAL_CASES, ids=[c[0] for c in FINAL_CASES]
)
def test_adjacent_windows_across_a_change_leave_no_gap(
    name: str,
    schedule: Schedule,
    since: str,
    until: str,
    expected: list[tuple[int, int, str, str]],
) -> None:
    got = rules.final_shifts(schedule, z(since), z(until))
    assert [(s.user, s.layer, s.start, s.end) for s in got] == [
        (u, lid, z(s), z(e)) for u, lid, s, e in expected
    ]
    # the windows meet: nothing uncovered between the first start and the last end
    assert rules.gaps(got, got[0].start, got[-1].end) == []


def test_santiago_night_window_ending_at_the_missing_midnight_meets_the_next() -> None:
    """18:00–00:00 then 00:00–08:00: 6 Sep 00:00 does not exist; both use 01:00 -03."""
    evening = layer("2026-08-01 00:00", 8, "weeks", (A,), (daily("18:00", "00:00"),), layer_id=1)
    early = layer("2026-08-01 00:00", 8, "weeks", (B,), (daily("00:00", "08:00"),), layer_id=2)
    got = rules.final_shifts(
        Schedule("America/Santiago", (evening, early)), z("2026-09-05 12:00"), z("2026-09-06 12:00")
    )
    assert rows(got) == [
        (A, z("2026-09-05 22:00"), z("2026-09-06 04:00")),
        (B, z("2026-09-06 04:00"), z("2026-09-06 11:00")),
    ]


# --- who is on call at an instant around the changes ---------------------------------------


ONCALL = [
    # Berlin daily at 02:30 (A from 27 Mar, B from 28 Mar, A from 29 Mar 03:00 CEST)
    (
        "Europe/Berlin",
        layer("2026-03-27 02:30", 1, "days"),
        "2026-03-29 00:59",
        B,
        "2026-03-29 01:00",
    ),
    (
        "Europe/Berlin",
        layer("2026-03-27 02:30", 1, "days"),
        "2026-03-29 01:00",
        A,
        "2026-03-30 00:30",
    ),
    # Berlin daily at 02:30 in the fall: the hand-off is the first 02:30; the second is A's
    (
        "Europe/Berlin",
        layer("2026-10-24 02:30", 1, "days"),
        "2026-10-25 00:29",
        A,
        "2026-10-25 00:30",
    ),
    (
        "Europe/Berlin",
        layer("2026-10-24 02:30", 1, "days"),
        "2026-10-25 01:30",
        B,
        "2026-10-26 01:30",
    ),
    # Lord Howe every 6 hours
    (
        "Australia/Lord_Howe",
        layer("2026-10-04 00:00", 6, "hours"),
        "2026-10-03 19:29",
        A,
        "2026-10-03 19:30",
    ),
    # Kathmandu daily 09:00
    (
        "Asia/Kathmandu",
        layer("2026-03-28 09:00", 1, "days"),
        "2026-03-29 03:15",
        B,
        "2026-03-30 03:15",
    ),
    # 29 February 2028
    (
        "America/Chicago",
        layer("2028-02-22 09:00", 1, "weeks", (A, B, C)),
        "2028-02-29 14:59",
        A,
        "2028-02-29 15:00",
    ),
    (
        "America/Chicago",
        layer("2028-02-22 09:00", 1, "weeks", (A, B, C)),
        "2028-02-29 15:00",
        B,
        "2028-03-07 15:00",
    ),
]


@pytest.mark.parametrize(("zone", "the_layer", "at", "user", "until"), ONCALL)
def test_oncall_at_around_changes(
    zone: str, the_layer: Layer, at: str, user: int, until: str
) -> None:
    answer = rules.oncall_at(Schedule(zone, (the_layer,)), z(at))
    assert answer.shift is not None
    assert (answer.shift.user, answer.until) == (user, z(until))


def test_override_in_the_repeated_hour_replaces_only_its_person() -> None:
    """Berlin, 25 Oct, every hour A, B, C from 01:00 CEST: C has the second 02:00 hour
    (01:00Z–02:00Z); an override of C by B over 00:30Z–01:30Z takes C's half hour only."""
    hourly = layer("2026-10-25 01:00", 1, "hours", (A, B, C))
    schedule = Schedule(
        "Europe/Berlin",
        (hourly,),
        (Override(7, B, z("2026-10-25 00:30"), z("2026-10-25 01:30"), replaces=C),),
    )
    got = rules.final_shifts(schedule, z("2026-10-24 23:00"), z("2026-10-25 03:00"))
    assert [(s.user, s.start, s.end, s.layer, s.override) for s in got] == [
        (A, z("2026-10-24 23:00"), z("2026-10-25 00:00"), 1, None),
        (B, z("2026-10-25 00:00"), z("2026-10-25 01:00"), 1, None),
        (B, z("2026-10-25 01:00"), z("2026-10-25 01:30"), None, 7),
        (C, z("2026-10-25 01:30"), z("2026-10-25 02:00"), 1, None),
        (A, z("2026-10-25 02:00"), z("2026-10-25 03:00"), 1, None),
    ]
    # B is on call without a break from 00:00Z to 01:30Z
    assert rules.oncall_at(schedule, z("2026-10-25 00:10")).until == z("2026-10-25 01:30")


def test_oncall_at_follows_a_long_run_across_its_look_ahead_steps() -> None:
    """Berlin weekly on Sunday 02:30, A then B: at Monday 00:00Z A is on until the skipped
    hand-off (29 Mar 01:00Z); an override puts A on for the next 23 hours, so A goes off
    call only then. The shift itself is the layer's, whole; `until` is the end of the run."""
    weekly = layer("2026-03-22 02:30", 1, "weeks")
    plain = Schedule("Europe/Berlin", (weekly,))
    answer = rules.oncall_at(plain, z("2026-03-23 00:00"))
    assert answer.shift == rules.Shift(A, z("2026-03-23 00:00"), z("2026-03-29 01:00"), layer=1)
    assert answer.until == z("2026-03-29 01:00")

    extended = Schedule(
        "Europe/Berlin", (weekly,), (Override(5, A, z("2026-03-29 01:00"), z("2026-03-30 00:00")),)
    )
    answer = rules.oncall_at(extended, z("2026-03-23 00:00"))
    assert answer.shift is not None and answer.shift.end == z("2026-03-29 01:00")
    assert answer.until == z("2026-03-30 00:00")

    # one person alone: on call beyond the horizon looked at
    alone = Schedule("Europe/Berlin", (layer("2026-03-22 02:30", 1, "weeks", (C,)),))
    answer = rules.oncall_at(alone, z("2026-03-23 00:00"), horizon=dt.timedelta(days=30))
    assert answer.shift is not None and answer.shift.user == C
    assert answer.until is None
    assert rules.oncall_at(alone, z("2026-03-22 01:29")).shift is None  # before the start
