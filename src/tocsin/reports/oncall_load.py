"""On-call load: per person, the pages received and when, and the hours on call.

docs/oncall-load.md defines every figure for users; in short:

- **A page** is one `escalation.Page` row: one person paged at one step of one climb
  (policy escalation, "page now", a responder request), at its ``created_at``, whatever
  became of it (acknowledged, cancelled) and however many messages (SMS, call, mail)
  carried it. **Incidents** counts the distinct incidents behind a person's pages.
- **Out of working hours**: outside Monday–Friday 09:00–17:00 on the person's own clock
  (``User.time_zone``) — the working hours that low-urgency paging already waits for
  (escalation.messages). Tocsin has no per-person working hours to prefer.
- **At night**: 22:00–07:00 on the person's own clock, every day of the week (the nights
  of oncall/hours.py; a weekend night is a night too).
- **Sleep interruptions**: night pages that woke the person: a night page with no other
  page to the same person in the 30 minutes before it. Pages that follow one another
  within 30 minutes (each within 30 minutes of the one before) are one interruption;
  a page just before the period counts as "the one before".
- **Hours on call** and the shifts: oncall/hours.py, unchanged (final shifts, overrides
  applied, an hour on two schedules counted once); **hours out of working hours** splits
  the same merged spans by the working hours above.
- **Fairness** across a group (a team's members, or everyone shown): each person's share
  of the pages and of the hours, and their figure against the group mean; for the group
  the coefficient of variation (population standard deviation / mean) and the max/min
  ratio (none when someone has zero).

Local-clock buckets are not computed by the database: "the hour of the day in each
person's zone" has no portable SQL (SQLite knows no zones). So the period's pages are read
once — three columns (person, incident, seconds since the epoch), through the cursor,
unordered — and counted, tallied and placed on each person's clock in one pass; a GROUP
BY for the counts beside that read was measured slower than counting in the pass. Pages
are far fewer than incidents; docs/oncall-load.md has the figures for 200,000 pages.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import functools
import io
import math
import statistics
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import FloatField, Func, Q, QuerySet

from tocsin.accounts.models import Team, User
from tocsin.accounts.permissions import Action, can
from tocsin.core.errors import NotFound
from tocsin.escalation.messages import WORK_END, WORK_START
from tocsin.escalation.models import Page
from tocsin.oncall import hours, rules
from tocsin.reports.metrics import Filters, RateStat, register_metric
from tocsin.reports.selectors import access_reports

NIGHT_START = hours.NIGHT_START  # 22:00
NIGHT_END = hours.NIGHT_END  # 07:00
INTERRUPTION_GAP = dt.timedelta(minutes=30)
# A team's aggregate is shown to its members without names (the mean alone, no spread)
# only from this many people (fewer and one's own row would give the others' figures away).
ANONYMOUS_MIN = 3
ZERO = dt.timedelta(0)


# --- local clocks (pure) -------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def is_working(local: dt.datetime) -> bool:
    """Monday–Friday, 09:00 ≤ time < 17:00 on this local clock."""
    return local.weekday() < 5 and WORK_START <= local.time() < WORK_END


def is_night(local: dt.datetime) -> bool:
    """22:00 ≤ time or time < 07:00 on this local clock, any day."""
    clock = local.time()
    return clock >= NIGHT_START or clock < NIGHT_END


@functools.lru_cache(maxsize=4096)
def _work_day(zone: str, day: dt.date) -> tuple[tuple[dt.datetime, dt.datetime, str], ...]:
    """The local day cut at the working hours, as instants (for hours.split)."""
    tz = _zone(zone)
    start = rules.resolve_first(dt.datetime.combine(day, dt.time(0)), tz)
    end = rules.resolve_first(dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0)), tz)
    if day.weekday() >= 5:
        return ((start, end, "out"),)
    morning = rules.resolve_first(dt.datetime.combine(day, WORK_START), tz)
    evening = rules.resolve_first(dt.datetime.combine(day, WORK_END), tz)
    return ((start, morning, "out"), (morning, evening, "working"), (evening, end, "out"))


def out_of_hours(spans: Iterable[hours.Span], zone: str) -> dt.timedelta:
    """How much of the (merged) spans falls outside the working hours in ``zone``."""
    total = ZERO
    for a, b in spans:
        total += hours.split(a, b, zone, _work_day, ("working", "out"))["out"]
    return total


@dataclass
class PageCounts:
    out_of_hours: int = 0
    night: int = 0
    interruptions: int = 0


def _seconds(clock: dt.time) -> int:
    return clock.hour * 3600 + clock.minute * 60 + clock.second


WORK_FROM_S, WORK_TO_S = _seconds(WORK_START), _seconds(WORK_END)
NIGHT_FROM_S, NIGHT_TO_S = _seconds(NIGHT_START), _seconds(NIGHT_END)
QUARTER = 900  # seconds
DAY_S = 86400


class LocalClock:
    """Seconds since the epoch (UTC) to seconds on one zone's wall clock, fast.

    The offset is looked up once per UTC day: when the day's first and last seconds
    have the same offset, the whole day has it (no zone changes its clocks twice in a
    day). A day with a change is looked up by quarter hours: every zone's offsets and
    changes of offset since the 1970s fall on quarter hours (offsets are whole quarter
    hours — +05:45 and +12:45 are the oddest — and clocks change on a local hour or
    half hour). No datetime per page. One clock per zone (``clock_of``) serves every
    person in that zone."""

    def __init__(self, zone: str) -> None:
        self.tz = _zone(zone)
        self.days: dict[int, float | None] = {}
        self.quarters: dict[int, float] = {}

    def _at(self, epoch: int) -> float:
        local = dt.datetime.fromtimestamp(epoch, dt.UTC).astimezone(self.tz)
        return local.utcoffset().total_seconds()  # type: ignore[union-attr]

    def offset(self, epoch: float) -> float:
        day = int(epoch // DAY_S)
        if day not in self.days:
            first, last = self._at(day * DAY_S), self._at((day + 1) * DAY_S - 1)
            self.days[day] = first if first == last else None
        found = self.days[day]
        if found is not None:
            return found
        slot = int(epoch // QUARTER)
        if slot not in self.quarters:
            self.quarters[slot] = self._at(slot * QUARTER)
        return self.quarters[slot]

    def local(self, epoch: float) -> float:
        return epoch + self.offset(epoch)


@functools.lru_cache(maxsize=64)
def clock_of(zone: str) -> LocalClock:
    """The zone's clock, kept between reports (a few hundred bytes a zone and month)."""
    return LocalClock(zone)


def local_flags(local: float) -> tuple[bool, bool]:
    """(working, night) for seconds on a local clock since 1970-01-01 00:00 (a Thursday)."""
    days, clock = divmod(local, DAY_S)
    weekday = (int(days) + 3) % 7  # Monday is 0
    working = weekday < 5 and WORK_FROM_S <= clock < WORK_TO_S
    night = clock >= NIGHT_FROM_S or clock < NIGHT_TO_S
    return working, night


def classify_epochs(epochs: Sequence[float], zone: str, since: float) -> PageCounts:
    """Out-of-hours pages, night pages and sleep interruptions among one person's pages,
    given as seconds since the epoch (sorted; those before ``since`` only serve as "the
    page before"). The loop is ``local_flags(LocalClock.local(at))`` written out: it
    runs once per page."""
    clock = clock_of(zone)
    days = clock.days
    gap = INTERRUPTION_GAP.total_seconds()
    out_of_hours = night = interruptions = 0
    previous = -math.inf
    for at in epochs:
        if at >= since:
            offset = days.get(int(at // DAY_S))
            if offset is None:
                offset = clock.offset(at)
            day, seconds = divmod(at + offset, DAY_S)
            if (int(day) + 3) % 7 >= 5 or not WORK_FROM_S <= seconds < WORK_TO_S:
                out_of_hours += 1
            if seconds >= NIGHT_FROM_S or seconds < NIGHT_TO_S:
                night += 1
                if at - previous >= gap:
                    interruptions += 1
        previous = at
    return PageCounts(out_of_hours=out_of_hours, night=night, interruptions=interruptions)


def page_instants(pages: QuerySet[Page], *columns: str) -> Iterator[tuple[Any, ...]]:
    """``(*columns, seconds since the epoch)`` for each page, unordered, read through the
    cursor: no model, no converter, no sort in the database (sorting 200,000 rows there
    cost more than reading them; callers sort the few lists they need)."""
    query = pages.values_list(*columns, Epoch("created_at")).order_by()
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(5000):
            yield from batch


def classify(instants: Sequence[dt.datetime], zone: str, since: dt.datetime) -> PageCounts:
    """``classify_epochs`` for datetimes."""
    return classify_epochs([at.timestamp() for at in instants], zone, since.timestamp())


class Epoch(Func):
    """A datetime column as seconds since the epoch (a float), so that reading many page
    instants costs no datetime parsing. SQLite: from the Julian day, rounded to the
    millisecond; PostgreSQL: date_part('epoch', ...)."""

    output_field = FloatField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = "(ROUND((julianday(%(expressions)s) - 2440587.5) * 86400000.0) / 1000.0)"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = "date_part('epoch', %(expressions)s)"
        return self.as_sql(compiler, connection, template=template, **extra)


# --- fairness (pure) -----------------------------------------------------------------------


@dataclass(frozen=True)
class Spread:
    """One figure across a group of people."""

    people: int
    total: float
    mean: float | None
    cv: float | None  # population standard deviation / mean
    max_min: float | None  # the largest over the smallest (None when the smallest is 0)

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        n = len(values)
        total = float(sum(values))
        if n == 0:
            return cls(0, 0.0, None, None, None)
        mean = total / n
        cv = statistics.pstdev(values) / mean if mean > 0 else None
        low, high = min(values), max(values)
        return cls(n, total, mean, cv, (high / low) if low > 0 else None)

    def share(self, value: float) -> float | None:
        return value / self.total if self.total > 0 else None

    def vs_mean(self, value: float) -> float | None:
        return value / self.mean if self.mean else None

    def as_json(self) -> dict[str, Any]:
        return {
            "people": self.people,
            "total": _r(self.total),
            "mean": _r(self.mean),
            "cv": _r(self.cv, 3),
            "max_min": _r(self.max_min, 3),
        }


def _r(value: float | None, digits: int = 2) -> float | None:
    return None if value is None or math.isnan(value) else round(value, digits)


# --- the report ----------------------------------------------------------------------------


@dataclass
class PersonLoad:
    user: User
    teams: list[str]
    pages: int = 0
    incidents: int = 0
    out_of_hours_pages: int = 0
    night_pages: int = 0
    sleep_interruptions: int = 0
    hours_on_call: dt.timedelta = ZERO
    hours_out_of_hours: dt.timedelta = ZERO
    shifts: int = 0
    # against the fairness group (None outside one)
    page_share: float | None = None
    pages_vs_mean: float | None = None
    hours_share: float | None = None
    hours_vs_mean: float | None = None

    @property
    def hours(self) -> float:
        return round(self.hours_on_call.total_seconds() / 3600, 2)

    @property
    def hours_off(self) -> float:
        return round(self.hours_out_of_hours.total_seconds() / 3600, 2)

    def as_json(self) -> dict[str, Any]:
        return {
            "username": self.user.username,
            "name": self.user.display_name,
            "time_zone": self.user.time_zone,
            "teams": self.teams,
            "pages": self.pages,
            "incidents": self.incidents,
            "out_of_hours_pages": self.out_of_hours_pages,
            "night_pages": self.night_pages,
            "sleep_interruptions": self.sleep_interruptions,
            "hours_on_call": self.hours,
            "hours_out_of_hours": self.hours_off,
            "shifts": self.shifts,
            "page_share": _r(self.page_share, 4),
            "pages_vs_mean": _r(self.pages_vs_mean, 3),
            "hours_share": _r(self.hours_share, 4),
            "hours_vs_mean": _r(self.hours_vs_mean, 3),
        }


@dataclass
class Fairness:
    """Pages and hours on call across a group; `named` is False for a member's view of a
    team's aggregate (no per-person figures but their own)."""

    group: str
    pages: Spread
    hours: Spread
    named: bool = True

    def as_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "named": self.named,
            "pages": self.pages.as_json(),
            "hours_on_call": self.hours.as_json(),
        }


@dataclass
class LoadReport:
    since: dt.datetime
    until: dt.datetime
    team: Team | None
    scope: str  # "everyone", "teams" (the viewer's own and the teams they manage), "own"
    rows: list[PersonLoad] = field(default_factory=list)
    fairness: Fairness | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "items": [row.as_json() for row in self.rows],
            "count": len(self.rows),
            "period": {"since": self.since.isoformat(), "until": self.until.isoformat()},
            "team": self.team.pk if self.team else None,
            "scope": self.scope,
            "fairness": self.fairness.as_json() if self.fairness else None,
        }


def may_see_everyone(viewer: User) -> bool:
    return can(viewer, Action.REPORT_ONCALL_ALL)


def visible_teams(viewer: User) -> list[Team]:
    """The teams whose report the viewer may ask for: every team for those who see
    everyone, else the teams they manage or belong to."""
    teams = Team.objects.order_by("name")
    if not may_see_everyone(viewer):
        teams = teams.filter(Q(manager=viewer) | Q(members=viewer)).distinct()
    return list(teams)


def _people(viewer: User, team: Team | None) -> tuple[str, list[User] | None, list[User] | None]:
    """(scope, the people whose rows the viewer sees — None: everyone active in the
    period —, the fairness group's people if it differs from the rows)."""
    if may_see_everyone(viewer):
        if team is None:
            return "everyone", None, None
        return "everyone", list(team.members.all()), None
    if team is not None:
        members = list(team.members.all())
        if team.manager_id == viewer.pk:
            return "teams", members, None
        if not any(m.pk == viewer.pk for m in members):
            raise NotFound(f"no team with id {team.pk}")  # not theirs: as if not there
        mine = [m for m in members if m.pk == viewer.pk]
        return "own", mine, members
    managed = User.objects.filter(teams__manager=viewer).distinct()
    people = {u.pk: u for u in managed}
    people[viewer.pk] = viewer
    return ("teams" if len(people) > 1 else "own"), list(people.values()), None


def oncall_load(
    *, viewer: User, since: dt.datetime, until: dt.datetime, team: Team | None = None
) -> LoadReport:
    """The on-call load the viewer may see (module docstring; docs/oncall-load.md).

    Access: reporters get 404; managers and administrators (`report.oncall_all`) see
    everyone; other staff see their own row and the people of the teams they manage
    (``Team.manager``); a team they belong to without managing it shows their own row
    and, from three members, the team's aggregate without names; another team is 404."""
    access_reports(viewer)
    scope, people, group = _people(viewer, team)
    measured = people if group is None else group
    hour_rows = hours.hours_of(since=since, until=until, people=measured)
    paged = _read_pages(since, until, None if measured is None else {u.pk for u in measured})
    if measured is None:
        # everyone: who held a shift or was paged in the period
        ids = {pk for pk, seen in paged.items() if seen.incidents}
        ids |= {r.user.pk for r in hour_rows}
        measured = list(User.objects.filter(pk__in=ids))
    loads = _measure(measured, hour_rows, paged, since)
    fairness: Fairness | None = None
    if group is not None:
        if len(group) >= ANONYMOUS_MIN:
            fairness = _fairness(loads, str(team), named=False)
    elif scope != "own" or team is not None:
        fairness = _fairness(loads, str(team) if team else "Everyone shown", named=True)
    shown = {u.pk for u in people} if people is not None else None
    rows = [row for row in loads if shown is None or row.user.pk in shown]
    if fairness is not None and not fairness.named:
        for row in rows:
            _against(row, fairness)
    return LoadReport(
        since=since, until=until, team=team, scope=scope, rows=rows, fairness=fairness
    )


@dataclass
class _Paged:
    instants: list[float] = field(default_factory=list)  # from the gap before the period
    incidents: set[int] = field(default_factory=set)  # in the period
    pages: int = 0  # in the period


# Up to this many people, the pages are read by person (the person index); for more, the
# period's pages are read whole and the others' skipped (faster than an index lookup a row).
FEW_PEOPLE = 25


def _read_pages(
    since: dt.datetime, until: dt.datetime, person_ids: set[int] | None
) -> dict[int, _Paged]:
    """Every page of the period (and of the gap before it), per person, in one read of
    three columns: counts and distinct incidents are tallied in the same pass that the
    local clocks need anyway (measured: cheaper than a GROUP BY beside it)."""
    pages = Page.objects.filter(created_at__gte=since - INTERRUPTION_GAP, created_at__lt=until)
    if person_ids is not None:
        if not person_ids:
            return {}
        if len(person_ids) <= FEW_PEOPLE:
            pages = pages.filter(person_id__in=person_ids)
    start = since.timestamp()
    out: dict[int, _Paged] = {}
    for person_id, incident_id, at in page_instants(pages, "person_id", "incident_id"):
        if person_ids is not None and person_id not in person_ids:
            continue
        seen = out.get(person_id)
        if seen is None:
            seen = out[person_id] = _Paged()
        epoch = float(at)
        seen.instants.append(epoch)
        if epoch >= start:
            seen.pages += 1
            seen.incidents.add(incident_id)
    return out


def _measure(
    people: Sequence[User],
    hour_rows: Sequence[hours.HoursRow],
    paged: dict[int, _Paged],
    since: dt.datetime,
) -> list[PersonLoad]:
    ids = [u.pk for u in people]
    teams: dict[int, list[str]] = {}
    memberships = (
        Team.members.through.objects.filter(user_id__in=ids)
        .order_by("team__name")
        .values_list("user_id", "team__name")
    )
    for user_id, name in memberships:
        teams.setdefault(user_id, []).append(name)
    loads = {u.pk: PersonLoad(user=u, teams=teams.get(u.pk, [])) for u in people}
    for pk, load in loads.items():
        seen = paged.get(pk)
        if seen is None or not seen.pages:
            continue
        seen.instants.sort()
        counts = classify_epochs(seen.instants, load.user.time_zone, since.timestamp())
        load.pages = seen.pages
        load.incidents = len(seen.incidents)
        load.out_of_hours_pages = counts.out_of_hours
        load.night_pages = counts.night
        load.sleep_interruptions = counts.interruptions
    for row in hour_rows:
        held = loads.get(row.user.pk)
        if held is None:
            continue
        held.hours_on_call = row.total
        held.shifts = row.shifts
        held.hours_out_of_hours = out_of_hours(row.spans, row.user.time_zone)
    out = list(loads.values())
    out.sort(key=lambda r: (r.user.display_name.casefold(), r.user.username))
    return out


def _fairness(loads: Sequence[PersonLoad], group: str, *, named: bool) -> Fairness:
    pages = Spread.of([float(r.pages) for r in loads])
    hours_on_call = Spread.of([r.hours_on_call.total_seconds() / 3600 for r in loads])
    if not named:
        # A member's view: the mean only. With the spread too, a member of a small team
        # could work out the others' figures from their own (three people: exactly).
        pages = dataclasses.replace(pages, cv=None, max_min=None)
        hours_on_call = dataclasses.replace(hours_on_call, cv=None, max_min=None)
    fairness = Fairness(group=group, pages=pages, hours=hours_on_call, named=named)
    if named:
        for row in loads:
            _against(row, fairness)
    return fairness


def _against(row: PersonLoad, fairness: Fairness) -> None:
    hours_of = row.hours_on_call.total_seconds() / 3600
    row.page_share = fairness.pages.share(row.pages)
    row.pages_vs_mean = fairness.pages.vs_mean(row.pages)
    row.hours_share = fairness.hours.share(hours_of)
    row.hours_vs_mean = fairness.hours.vs_mean(hours_of)


# --- a metric for GET /api/v1/metrics -------------------------------------------------------


def pages_out_of_hours(filters: Filters) -> RateStat:
    """Pages for the period's (filtered) incidents that reached the person outside their
    working hours, out of all those pages (reports.metrics registers it)."""
    pages = Page.objects.filter(incident_id__in=filters.facts().values("incident_id"))
    total = out = 0
    for zone, at in page_instants(pages, "person__time_zone"):
        clock = clock_of(zone)
        total += 1
        if not local_flags(clock.local(float(at)))[0]:
            out += 1
    return RateStat.of(out, total)


register_metric("pages_out_of_hours", pages_out_of_hours)


# --- CSV -----------------------------------------------------------------------------------

CSV_COLUMNS = (
    "username",
    "name",
    "team",
    "time_zone",
    "hours_on_call",
    "hours_out_of_hours",
    "shifts",
    "pages",
    "incidents",
    "out_of_hours_pages",
    "night_pages",
    "sleep_interruptions",
)


def csv_text(report: LoadReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in report.rows:
        data = row.as_json()
        data["team"] = str(report.team) if report.team else "; ".join(row.teams)
        writer.writerow([hours.csv_cell(data[c]) for c in CSV_COLUMNS])
    return out.getvalue()
