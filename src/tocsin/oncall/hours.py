"""Hours on call: per person for a period, split by the person's own local clock.

The definitions (docs/calendar.md, "Hours on call", says the same for users):

- **Source**: the final shifts of every schedule (overrides applied), as the schedules
  are now; an archived schedule counts up to its archiving. A person's shifts on two
  schedules at once count once: an hour is an hour on call, however many schedules page.
- **Categories**, in the person's zone (``User.time_zone``), by local wall clock:
  *weekend* is Saturday 00:00 to Monday 00:00; *night* is 22:00 to 07:00 on the other
  days (Friday 22:00 – Saturday 00:00 and Monday 00:00 – 07:00 are nights); *working*
  is the rest: Monday to Friday, 07:00 to 22:00. Every instant is in exactly one
  category, so the three add up to the total.
- **Hours** are elapsed time: a night across a daylight-saving change lasts 8 or 10
  hours. A local boundary that does not exist (spring forward) is the first instant
  after the gap; one that occurs twice is its first occurrence (rules.R3).
- **Rounding**: hours to two decimals; the categories are rounded so that they still
  add up to the rounded total (largest remainder).
- **Shifts**: how many final shifts of any schedule touch the period.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Q

from tocsin.accounts.models import Team, User
from tocsin.accounts.permissions import Action, can
from tocsin.core.errors import NotFound
from tocsin.oncall import rules, selectors
from tocsin.oncall.models import Schedule

CATEGORIES = ("working", "night", "weekend")
NIGHT_START = dt.time(22)
NIGHT_END = dt.time(7)
DAY = dt.timedelta(days=1)
ZERO = dt.timedelta(0)

Span = tuple[dt.datetime, dt.datetime]


# --- the split (pure) ----------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _day(zone: str, day: dt.date) -> tuple[tuple[dt.datetime, dt.datetime, str], ...]:
    """The local day's three parts as instants, each with its category."""
    tz = ZoneInfo(zone)
    start = rules.resolve_first(dt.datetime.combine(day, dt.time(0)), tz)
    morning = rules.resolve_first(dt.datetime.combine(day, NIGHT_END), tz)
    evening = rules.resolve_first(dt.datetime.combine(day, NIGHT_START), tz)
    end = rules.resolve_first(dt.datetime.combine(day + DAY, dt.time(0)), tz)
    if day.weekday() >= 5:
        return ((start, end, "weekend"),)
    return ((start, morning, "night"), (morning, evening, "working"), (evening, end, "night"))


DayParts = Callable[[str, dt.date], tuple[tuple[dt.datetime, dt.datetime, str], ...]]


def split(
    start: dt.datetime,
    end: dt.datetime,
    zone: str,
    day_parts: DayParts = _day,
    categories: Sequence[str] = CATEGORIES,
) -> dict[str, dt.timedelta]:
    """How much of [start, end) falls in each category, by the local clock of ``zone``.

    ``day_parts`` cuts a local day into categorised instants (by default this module's
    working / night / weekend; the on-call load report passes its own working hours)."""
    out = dict.fromkeys(categories, ZERO)
    if end <= start:
        return out
    tz = ZoneInfo(zone)
    day = rules.local(start, tz).date() - DAY
    last = rules.local(end, tz).date() + DAY
    while day <= last:
        for a, b, category in day_parts(zone, day):
            lo, hi = max(a, start), min(b, end)
            if hi > lo:
                out[category] += hi - lo
        day += DAY
    return out


def merge(spans: Iterable[Span]) -> list[Span]:
    """The union of spans, sorted, overlapping and touching ones joined."""
    out: list[Span] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def hundredths(parts: Sequence[dt.timedelta], total: dt.timedelta) -> tuple[int, list[int]]:
    """The total and the parts in hundredths of an hour, rounded so that the parts add up
    to the rounded total (largest remainder)."""
    unit = 36.0  # seconds in a hundredth of an hour
    whole = round(total.total_seconds() / unit)
    exact = [p.total_seconds() / unit for p in parts]
    floors = [int(x) for x in exact]
    short = whole - sum(floors)
    order = sorted(range(len(parts)), key=lambda i: exact[i] - floors[i], reverse=True)
    for i in order[: max(short, 0)]:
        floors[i] += 1
    return whole, floors


# --- the report ----------------------------------------------------------------------------


@dataclass
class HoursRow:
    user: User
    total: dt.timedelta
    parts: dict[str, dt.timedelta]
    shifts: int
    # the person's time on call in the period, merged (for reports that split it their way)
    spans: list[Span] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        whole, parts = hundredths([self.parts[c] for c in CATEGORIES], self.total)
        return {
            "username": self.user.username,
            "name": self.user.display_name,
            "time_zone": self.user.time_zone,
            "total_hours": whole / 100,
            **{f"{c}_hours": n / 100 for c, n in zip(CATEGORIES, parts, strict=True)},
            "shifts": self.shifts,
        }


def check_viewer(viewer: User) -> None:
    """Hours are for staff: 404 for anyone else."""
    if not can(viewer, Action.SCHEDULE_VIEW):
        raise NotFound("not found")  # reporters: as if there were nothing here


def may_see_everyone(viewer: User) -> bool:
    return can(viewer, Action.ONCALL_HOURS_ALL)


def hours_report(
    *,
    viewer: User,
    since: dt.datetime,
    until: dt.datetime,
    team: Team | None = None,
    person: User | None = None,
) -> list[HoursRow]:
    """The rows ``viewer`` may see: managers and administrators everyone's (by default,
    everyone with a shift in the period; with ``team``, its members; with ``person``,
    that person), other staff only their own. 404 for reporters, and for a person the
    viewer may not see."""
    check_viewer(viewer)
    selectors.check_span(since, until)
    everyone = may_see_everyone(viewer)
    if person is not None and person.pk != viewer.pk and not everyone:
        raise NotFound(f"no person with username {person.username!r}")
    wanted: list[User] | None = None
    if person is not None:
        wanted = [person]
    elif not everyone:
        wanted = [viewer]
    if team is not None:
        members = list(team.members.all())
        ids = {m.pk for m in members}
        wanted = members if wanted is None else [u for u in wanted if u.pk in ids]
    return hours_of(since=since, until=until, people=wanted)


def hours_of(
    *, since: dt.datetime, until: dt.datetime, people: Sequence[User] | None
) -> list[HoursRow]:
    """The hours of ``people`` (None: everyone with a shift in the period), with no access
    check: callers gate (``hours_report`` here, the on-call load report in reports/)."""
    selectors.check_span(since, until)
    spans, counts = _spans(since, until, None if people is None else {u.pk for u in people})
    if people is None:
        people = list(selectors.users_by_id(spans).values())
    rows = []
    for user in people:
        merged = merge(spans.get(user.pk, []))
        parts = dict.fromkeys(CATEGORIES, ZERO)
        for a, b in merged:
            for category, length in split(a, b, user.time_zone).items():
                parts[category] += length
        total = sum((b - a for a, b in merged), ZERO)
        rows.append(HoursRow(user, total, parts, counts.get(user.pk, 0), merged))
    rows.sort(key=lambda r: (r.user.display_name.casefold(), r.user.username))
    return rows


def _spans(
    since: dt.datetime, until: dt.datetime, user_ids: set[int] | None
) -> tuple[dict[int, list[Span]], dict[int, int]]:
    """Each person's final shifts in [since, until) on every schedule, and how many."""
    schedules = Schedule.objects.filter(Q(archived_at__isnull=True) | Q(archived_at__gt=since))
    if user_ids is not None:
        if not user_ids:
            return {}, {}
        schedules = schedules.filter(
            Q(layers__members__user__in=user_ids) | Q(overrides__user__in=user_ids)
        ).distinct()
    spans: dict[int, list[Span]] = {}
    counts: dict[int, int] = {}
    found = list(schedules.order_by("pk"))
    plans = selectors.rules_many(found, since, until)
    selectors.check_work(plans.values(), since, until)  # a bound on the CPU of one report
    for schedule in found:
        end = until if schedule.archived_at is None else min(until, schedule.archived_at)
        if end <= since:
            continue
        for shift in rules.final_shifts(plans[schedule.pk], since, end):
            if user_ids is not None and shift.user not in user_ids:
                continue
            spans.setdefault(shift.user, []).append((shift.start, shift.end))
            counts[shift.user] = counts.get(shift.user, 0) + 1
    return spans, counts


# --- CSV -----------------------------------------------------------------------------------

CSV_COLUMNS = (
    "username",
    "name",
    "time_zone",
    "total_hours",
    "working_hours",
    "night_hours",
    "weekend_hours",
    "shifts",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """A cell a spreadsheet shows as text: one starting like a formula gets a ``'``."""
    if isinstance(value, float):
        return f"{value:.2f}"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_text(rows: Sequence[HoursRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        data = row.as_json()
        writer.writerow([csv_cell(data[c]) for c in CSV_COLUMNS])
    return out.getvalue()
