"""On-call schedules for the demo organisation, set relative to the demo's "now" so the
pages have something to show on first start:

- Service Desk (Europe/London): a business-hours layer (Mon–Fri 09:00–17:00) over an
  around-the-clock layer, and an override in place of tomorrow's business-hours person;
- Network: a follow-the-sun pair, "Network — Berlin day" (Europe/Berlin, 07:00–19:00)
  and "Network — Chicago day" (America/Chicago, 12:00–00:00), which between them cover
  the day (and show an hour's gap or overlap in the weeks when the US and Europe change
  their clocks on different dates);
- Platform (Europe/Berlin): an old rotation that ends and a new one that starts the next
  morning, leaving one gap;
- Applications (Asia/Kolkata): business hours (Mon–Fri 09:00–18:00) over nights and
  weekends, and a pending cover request.

Everything goes through the oncall services, as a person would write it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from tocsin.accounts.models import Team, User
from tocsin.core.actors import Actor
from tocsin.oncall import selectors, services, specs
from tocsin.oncall.models import Schedule

DAY = dt.timedelta(days=1)
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def _monday_before(end: dt.datetime, zone: str) -> dt.date:
    """The Monday of the week before `end`'s local week: rotations are mid-flight."""
    today = end.astimezone(ZoneInfo(zone)).date()
    return today - dt.timedelta(days=today.weekday() + 7)


def _local(day: dt.date, hour: int, minute: int = 0) -> str:
    return dt.datetime.combine(day, dt.time(hour, minute)).isoformat(timespec="minutes")


def _instant(day: dt.date, hour: int, zone: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=ZoneInfo(zone)).astimezone(dt.UTC)


def _next_weekday(day: dt.date) -> dt.date:
    day += DAY
    while day.weekday() >= 5:
        day += DAY
    return day


def _business_hours(monday: dt.date, people: list[str], until: str) -> dict[str, Any]:
    """A weekly rotation on call Mon–Fri from 09:00 to `until`."""
    return {
        "name": "Business hours",
        "start": _local(monday, 9),
        "rotation": "weekly",
        "users": people,
        "restrictions": [{"type": "weekly", "days": WEEKDAYS, "start": "09:00", "end": until}],
    }


def _create(
    name: str, zone: str, team: Team, description: str, layers: list[dict[str, Any]]
) -> Schedule:
    return services.schedule_create(
        name=name,
        time_zone=zone,
        description=description,
        team=team,
        layers=specs.parse_layers(layers),
        actor=Actor.system("demo loader"),
    )


def write_schedules(end: dt.datetime) -> list[Schedule]:
    """The demo's schedules, one or two a team, around `end` (the demo's now)."""
    teams = {team.name: team for team in Team.objects.all()}
    users = {u.username: u for u in User.objects.all()}
    made = []

    # Service Desk: business hours over around the clock, and an override.
    zone = "Europe/London"
    monday = _monday_before(end, zone)
    desk = _create(
        "Service Desk on call",
        zone,
        teams["Service Desk"],
        "Business hours on the desk; out of hours the on-call agent takes urgent calls.",
        [
            _business_hours(monday, ["sam", "lucia"], "17:00"),
            {
                "name": "Out of hours",
                "start": _local(monday, 9),
                "rotation": "weekly",
                "users": ["olivia", "maya"],
            },
        ],
    )
    made.append(desk)
    day = _next_weekday(end.astimezone(ZoneInfo(zone)).date())
    start, finish = _instant(day, 13, zone), _instant(day, 17, zone)
    answer = selectors.oncall(desk, start)
    away = users["sam"]
    if answer.shift is not None and answer.shift.user == users["lucia"].pk:
        away = users["lucia"]
    stand_in = users["lucia"] if away.username == "sam" else users["sam"]
    services.override_create(
        schedule=desk,
        user=stand_in,
        replaces=away,
        start=start,
        end=finish,
        note=f"{away.display_name} is at a training course",
        actor=Actor.for_user(away),
    )

    # Network: a follow-the-sun pair of zones.
    for name, zone, hours, people, other in (
        ("Network — Berlin day", "Europe/Berlin", ("07:00", "19:00"), ["ravi", "noah"], "Chicago"),
        (
            "Network — Chicago day",
            "America/Chicago",
            ("12:00", "00:00"),
            ["noah", "daniel"],
            "Berlin",
        ),
    ):
        monday = _monday_before(end, zone)
        made.append(
            _create(
                name,
                zone,
                teams["Network"],
                f"Follow the sun: hands over to Network — {other} day. "
                f"On call {hours[0]}–{hours[1]} local time.",
                [
                    {
                        "name": name.split("— ")[1].capitalize(),
                        "start": _local(monday, int(hours[0][:2])),
                        "rotation": "weekly",
                        "users": people,
                        "restrictions": [{"type": "daily", "start": hours[0], "end": hours[1]}],
                    }
                ],
            )
        )

    # Platform: the old rotation ends before the new one starts, leaving one gap.
    zone = "Europe/Berlin"
    monday = _monday_before(end, zone)
    handover = end.astimezone(ZoneInfo(zone)).date() + 3 * DAY
    made.append(
        _create(
            "Platform primary",
            zone,
            teams["Platform"],
            "Identity, email and storage. The new rotation starts the morning after the "
            "old one ends: nobody is on call that night (the gap on the timeline).",
            [
                {
                    "name": "Primary (until the re-organisation)",
                    "start": _local(monday, 9),
                    "end": _local(handover, 18),
                    "rotation": "weekly",
                    "users": ["arjun", "ines", "tom"],
                },
                {
                    "name": "Primary (new rotation)",
                    "start": _local(handover + DAY, 9),
                    "rotation": {"every": 2, "unit": "days"},
                    "users": ["ines", "arjun"],
                },
            ],
        )
    )

    # Applications: business hours over nights and weekends, and a pending cover request.
    zone = "Asia/Kolkata"
    monday = _monday_before(end, zone)
    apps = _create(
        "Applications",
        zone,
        teams["Applications"],
        "Customer portal, payroll and the line-of-business applications.",
        [
            _business_hours(monday, ["priya", "chloe"], "18:00"),
            {
                "name": "Nights and weekends",
                "start": _local(monday, 18),
                "rotation": "daily",
                "users": ["chloe", "priya"],
            },
        ],
    )
    made.append(apps)
    chloe = users["chloe"]
    upcoming = [
        s
        for s in selectors.shifts(apps, end + DAY, end + 8 * DAY)
        if s.user == chloe.pk and s.end - s.start >= dt.timedelta(hours=2)
    ]
    if upcoming:
        shift = upcoming[0]
        services.cover_request_create(
            schedule=apps,
            requester=chloe,
            start=shift.start,
            end=min(shift.end, shift.start + dt.timedelta(hours=6)),
            note="Flying back from a conference; can someone take this?",
            actor=Actor.for_user(chloe),
        )
    return made
