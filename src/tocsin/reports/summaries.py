"""Day summaries: the facts of each UTC day summed, so a long period's figures are read
from a few hundred rows instead of every fact (reports/models.py `DaySummary`;
docs/metrics.md, "Day summaries").

A summary row holds, for the incidents reported on one UTC day (all of them, or those of
one service, team, category or source; of one priority, or of every priority), each
count the rates need, and for each duration its count, its sum and a histogram of its
values in fixed log-scale bins (`BINS`). Everything in a row is computed in SQL from the
facts (grouped counts and sums; the bin of a value is `floor(ln(1 + seconds) · BINS)`,
the same expression on both databases).

Only days that are over are summarised: the summaries run up to a day kept with their
watermark (`through()`, normally yesterday); `keep_up()` summarises each day once it has
ended (the worker's first turn after midnight, UTC). Kept in step with the facts:
`facts.build()` recomputes the summaries of every summarised day whose facts it changed
(the days an incident's fact was on before and is on now, and those of the facts whose
gap it changed), in the same transaction; a whole rebuild of the facts rebuilds them all.
So a summary never lags its facts, and the day that is still going on — where a storm's
incidents change every few seconds — costs the refresh nothing (before, every refresh
recomputed today's summary from all of today's facts: ~3 s of a 1,000-alert storm).

Read (`plan()`): a period [since, until) is its whole UTC days up to `through()`, read
from the summaries, and the rest — a partial day at its start, and at its end what is
after the last summarised day (today, a partial day) — read from the facts as before.
Counts and sums are exact either way (a mean may differ from the facts' own in the last
digits: a float sum in another order). A median or p90 from a histogram is the middle of
its bin: within `PRECISION` of the exact value (relative to 1 + seconds): used for the
median and p90 of a period of more than `EXACT_RANK_DAYS` whole days (metrics.compute())
and for the week and month buckets of the charts (`dashboard.duration_by_bucket`);
shorter periods and day buckets keep the exact ranks. Two filters at once other than
priority (say a service and a source) have no summary: those read the facts.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.db.models import Count, F, FloatField, Max, Min, Q, QuerySet, Sum, Value
from django.db.models.functions import Floor, Ln

from tocsin.core.clock import now
from tocsin.escalation.models import ClimbState, Page, PageFeedback
from tocsin.reports import alert_days
from tocsin.reports.models import (
    DURATIONS,
    NOISE_SUMS,
    SUMMARY_COUNTS,
    AlertDaySummary,
    DaySummary,
    FactsWatermark,
    IncidentFact,
)

if TYPE_CHECKING:
    from tocsin.reports.metrics import Filters

# Histogram bins per unit of ln(1 + seconds): a bin's upper edge is e^(1/32) ≈ 3.2 %
# above its lower edge, so its middle is within 1.6 % of any value in it.
BINS = 32
PRECISION = math.exp(0.5 / BINS) - 1  # 0.0157…

# The counts: what each counts, as a filter over the facts (metrics._fact_counts reads
# the same from the facts directly).
_MONITORING = Q(source="monitoring")
COUNTS: dict[str, Q | None] = {
    "total": None,
    "open": Q(is_open=True),
    "resolved": Q(resolved=True),
    "escalated_functional": Q(escalated_functional=True),
    "escalated_hierarchical": Q(escalated_hierarchical=True),
    "people_resolved": Q(resolved=True) & ~_MONITORING,
    "first_contact": Q(first_contact=True) & ~_MONITORING,
    "solved_by_article": Q(solved_by_article=True) & Q(resolved=True),
    "monitoring": _MONITORING,
    "response_decided": Q(response_sla__isnull=False),
    "response_met": Q(response_sla=True),
    "resolution_decided": Q(resolution_sla__isnull=False),
    "resolution_met": Q(resolution_sla=True),
    "ever_resolved": Q(resolved=True) | Q(reopen_count__gt=0),
    "reopened": Q(reopen_count__gt=0),
    "major": Q(major=True),
}
assert tuple(COUNTS) == SUMMARY_COUNTS

# The alert-noise figures (reports/noise.py defines them): pages of the day's incidents
# (not responder requests; the facts' `page_count`), of those that ended, of those that
# ended with no human action; the pages that got an answer; the answers, about a page or
# about an incident's paging as a whole, "actionable" (yes) or not. The first three are
# sums over the facts (`_aggregates`), the rest counted from the pages and answers
# (`_feedback`). Beside them, `alerts_hist`: {alerts: incidents} over the incidents with
# at least one alert (the facts' `alert_count`).
NOISE_FACT_SUMS: dict[str, tuple[str, Q | None]] = {
    "pages": ("page_count", None),
    "pages_ended": ("page_count", Q(resolved=True)),
    "pages_quiet": ("page_count", Q(no_human_action=True)),
}
NOISE_ANSWERS: dict[str, Q] = {
    "answers_page_yes": Q(page__isnull=False, actionable=True),
    "answers_page_no": Q(page__isnull=False, actionable=False),
    "answers_incident_yes": Q(page__isnull=True, actionable=True),
    "answers_incident_no": Q(page__isnull=True, actionable=False),
}
assert (*NOISE_FACT_SUMS, "pages_answered", *NOISE_ANSWERS) == NOISE_SUMS
# the histograms a summary keeps: each duration's, and the alerts per incident
HISTOGRAMS = (*DURATIONS, "alerts")

# dim -> the fact column it groups by (None: every incident)
DIMS: dict[str, str | None] = {
    "all": None,
    "service": "service_id",
    "team": "team_id",
    "category": "category_id",
    "source": "source",
}
ALL_PRIORITIES = 0
# A period with more whole days than this answers each duration's median and p90 from the
# histograms (metrics.compute()); up to it, by the exact walk along the duration's index.
EXACT_RANK_DAYS = 35
# days recomputed at once (a bound on the rows held in memory)
CHUNK_DAYS = 31

_enabled: contextvars.ContextVar[bool] = contextvars.ContextVar("summaries", default=True)


@contextmanager
def facts_only() -> Iterator[None]:
    """Read every figure from the facts, not the summaries (tests and the bench compare
    the two)."""
    token = _enabled.set(False)
    try:
        yield
    finally:
        _enabled.reset(token)


def bin_expression(column: str) -> Floor:
    """The histogram bin of a duration, in SQL: floor(ln(1 + seconds) · BINS)."""
    return Floor(
        Ln(F(column) + Value(1.0, output_field=FloatField())) * Value(float(BINS)),
        output_field=FloatField(),
    )


def bin_middle(b: int) -> float:
    """The value a bin stands for: its middle on the log scale, in seconds."""
    return max(0.0, math.exp((b + 0.5) / BINS) - 1.0)


def at_rank(hist: dict[int, int], rank: int) -> float:
    """The value at 0-based `rank` of the sorted values a histogram counts (its bin's
    middle)."""
    seen = 0
    for b in sorted(hist):
        seen += hist[b]
        if rank < seen:
            return bin_middle(b)
    raise ValueError(f"rank {rank} beyond the histogram's {seen} values")


def median_p90(hist: dict[int, int]) -> tuple[int, float, float] | None:
    """(count, median, p90) of a histogram, with metrics.py's definitions (the mean of the
    two middle values for an even count; p90 at rank ⌈0.9·n⌉); None when empty."""
    n = sum(hist.values())
    if n == 0:
        return None
    middle = [at_rank(hist, (n - 1) // 2)] + ([at_rank(hist, n // 2)] if n % 2 == 0 else [])
    return n, sum(middle) / len(middle), at_rank(hist, math.ceil(0.9 * n) - 1)


# --- keeping them ---------------------------------------------------------------------------


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _runs(days: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Sorted days as runs of consecutive days: [(first, last + 1 day)]."""
    out: list[tuple[dt.date, dt.date]] = []
    for day in sorted(set(days)):
        if out and out[-1][1] == day:
            out[-1] = (out[-1][0], day + dt.timedelta(days=1))
        else:
            out.append((day, day + dt.timedelta(days=1)))
    return out


def days_q(runs: list[tuple[dt.date, dt.date]], fact: str = "") -> Q:
    """Reported on these days: a filter on the facts' reported_at (ranges: the period
    index), or, with `fact` ("incident__fact__"), on the fact of a row's incident."""
    q = Q()
    for first, end in runs:
        q |= Q(
            **{
                f"{fact}reported_at__gte": _midnight(first),
                f"{fact}reported_at__lt": _midnight(end),
            }
        )
    return q


def _facts_of(runs: list[tuple[dt.date, dt.date]]) -> QuerySet[IncidentFact]:
    """The facts reported on these days (through the period index: reported_at ranges)."""
    return IncidentFact.objects.filter(days_q(runs))


def _aggregates() -> dict[str, Any]:
    """The summary's figures as aggregates over facts, by `x_<field>` (an annotation may
    not take a fact column's name)."""
    agg: dict[str, Any] = {
        f"x_{name}": Count("pk", filter=q) if q is not None else Count("pk")
        for name, q in COUNTS.items()
    }
    for column in DURATIONS:
        agg[f"x_{column}_n"] = Count(column)
        agg[f"x_{column}_sum"] = Sum(column)
    for name, (column, q) in NOISE_FACT_SUMS.items():
        agg[f"x_{name}"] = Sum(column, filter=q)
    agg["x_first_id"] = Min("incident_id")
    agg["x_last_id"] = Max("incident_id")
    return agg


Key = tuple[dt.date, str, str, int]


def _add(into: dict[str, Any], row: dict[str, Any]) -> None:
    """Add one summary's figures to another's (the every-priority row)."""
    for name in (*SUMMARY_COUNTS, *NOISE_SUMS):
        into[name] = into.get(name, 0) + row[name]
    for column in DURATIONS:
        into[f"{column}_n"] = into.get(f"{column}_n", 0) + row[f"{column}_n"]
        into[f"{column}_sum"] = into.get(f"{column}_sum", 0.0) + (row[f"{column}_sum"] or 0.0)
    into["first_id"] = min(into.get("first_id", row["first_id"]), row["first_id"])
    into["last_id"] = max(into.get("last_id", row["last_id"]), row["last_id"])


def _feedback(
    runs: list[tuple[dt.date, dt.date]], column: str | None
) -> Iterator[tuple[dict[str, Any], str, int]]:
    """(group, figure, count) of the answers and answered pages of these days'
    incidents, grouped as the facts are (`reported_day`, `priority`, `column`): read
    from the answers and the answered pages (few), through their incident's fact."""
    fact = "incident__fact__"
    group = {"reported_day": F(f"{fact}reported_day"), "priority": F(f"{fact}priority")}
    where = days_q(runs, fact)
    if column:
        group[column] = F(f"{fact}{column}")
        where &= Q(**{f"{fact}{column}__isnull": False})
    answers = (
        PageFeedback.objects.filter(where)
        .values(**group)
        .annotate(**{name: Count("pk", filter=q) for name, q in NOISE_ANSWERS.items()})
        .order_by()
    )
    for r in answers:
        for name in NOISE_ANSWERS:
            yield r, name, r[name]
    answered = (
        Page.objects.filter(where, feedback__isnull=False)
        .exclude(escalation__state=ClimbState.RESPONDERS)
        .values(**group)
        .annotate(n=Count("pk", distinct=True))
        .order_by()
    )
    for r in answered:
        yield r, "pages_answered", r["n"]


def _compute(runs: list[tuple[dt.date, dt.date]]) -> list[DaySummary]:
    """The summary rows of these days: grouped counts and sums of their facts, the
    grouped bins of each duration and of the alerts per incident, and the answers, a few
    queries each per dimension."""
    facts = _facts_of(runs)
    rows: dict[Key, dict[str, Any]] = {}
    hists: dict[Key, dict[str, dict[int, int]]] = defaultdict(lambda: defaultdict(dict))
    aggregates = _aggregates()
    for dim, column in DIMS.items():
        group = ["reported_day", "priority"] + ([column] if column else [])
        of = facts.filter(**{f"{column}__isnull": False}) if column else facts

        def key(
            r: dict[str, Any], priority: int, dim: str = dim, column: str | None = column
        ) -> Key:
            return (r["reported_day"], dim, "" if column is None else str(r[column]), priority)

        for r in of.values(*group).annotate(**aggregates).order_by():
            row = {name.removeprefix("x_"): r[name] for name in aggregates}
            for column_ in DURATIONS:
                row[f"{column_}_sum"] = row[f"{column_}_sum"] or 0.0
            for name in NOISE_SUMS:
                row[name] = row.get(name) or 0
            rows[key(r, r["priority"])] = row
            _add(rows.setdefault(key(r, ALL_PRIORITIES), {}), row)
        binned_by: dict[str, QuerySet[Any]] = {
            duration: of.filter(**{f"{duration}__isnull": False})
            .annotate(b=bin_expression(duration))
            .values(*group, "b")
            .annotate(n=Count("pk"))
            .order_by()
            for duration in DURATIONS
        }
        binned_by["alerts"] = (  # exact: a bin is a count of alerts
            of.filter(alert_count__gt=0)
            .annotate(b=F("alert_count"))
            .values(*group, "b")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for name, binned in binned_by.items():
            for r in binned:
                b = int(r["b"])
                for priority in (r["priority"], ALL_PRIORITIES):
                    hist = hists[key(r, priority)][name]
                    hist[b] = hist.get(b, 0) + r["n"]
        for r, name, n in _feedback(runs, column):
            for priority in (r["priority"], ALL_PRIORITIES):
                found = rows.get(key(r, priority))
                if found is not None:  # (its fact is there: the same days, the same dims)
                    found[name] += n
    out = []
    for (day, dim, value, priority), row in rows.items():
        binned_ = hists.get((day, dim, value, priority), {})
        out.append(
            DaySummary(
                day=day,
                dim=dim,
                value=value,
                priority=priority,
                **row,
                **{
                    f"{d}_hist": {str(b): n for b, n in sorted(binned_.get(d, {}).items())}
                    for d in HISTOGRAMS
                },
            )
        )
    return out


def rebuild_days(days: Iterable[dt.date]) -> int:
    """Recompute the summaries of these days from their facts; returns how many rows.
    Call inside the transaction that changed the facts."""
    runs = _runs(days)
    written = 0
    while runs:
        chunk, size = [], 0
        while runs and size < CHUNK_DAYS:
            first, end = runs.pop(0)
            take = min((end - first).days, CHUNK_DAYS - size)
            chunk.append((first, first + dt.timedelta(days=take)))
            if first + dt.timedelta(days=take) < end:
                runs.insert(0, (first + dt.timedelta(days=take), end))
            size += take
        q = Q()
        for first, end in chunk:
            q |= Q(day__gte=first, day__lt=end)
        DaySummary.objects.filter(q).delete()
        rows = _compute(chunk)
        DaySummary.objects.bulk_create(rows, batch_size=500)
        written += len(rows)
        written += alert_days.rebuild(days_q(chunk, "incident__fact__"), q, _facts_of(chunk))
    return written


# Their FactsWatermark row: refreshed_to set once they are all built (`ready()`);
# build_after, the ordinal of the last day summarised (`through()`), during the first build
# and after it.
MARK = "summaries"


def _span() -> tuple[dt.date, dt.date] | None:
    """The first and last day with a fact (through the period index)."""
    span = IncidentFact.objects.aggregate(first=Min("reported_at"), last=Max("reported_at"))
    if span["first"] is None:
        return None
    return span["first"].astimezone(dt.UTC).date(), span["last"].astimezone(dt.UTC).date()


def _yesterday(at: dt.datetime) -> dt.date:
    """The last UTC day that is over at `at`."""
    return at.astimezone(dt.UTC).date() - dt.timedelta(days=1)


def _done(at: dt.datetime) -> None:
    FactsWatermark.objects.update_or_create(
        key=MARK, defaults={"refreshed_to": at, "build_after": _yesterday(at).toordinal()}
    )


def through() -> dt.date | None:
    """The last day summarised (every day up to it has its summaries), or None while they
    are not ready (`ready()`)."""
    mark = FactsWatermark.objects.filter(key=MARK).values_list("refreshed_to", "build_after")
    found = mark.first()
    if found is None or found[0] is None or found[1] is None:
        return None
    return dt.date.fromordinal(int(found[1]))


def summarised(days: Iterable[dt.date]) -> list[dt.date]:
    """Those of these days that have summaries to keep in step (`facts.build()`): up to
    `through()` (during the first build, up to the last day it built)."""
    days = list(days)
    if not days:
        return []
    last = FactsWatermark.objects.filter(key=MARK).values_list("build_after", flat=True).first()
    if last is None:
        return []
    end = dt.date.fromordinal(int(last))
    return [day for day in days if day <= end]


@transaction.atomic
def rebuild_all(at: dt.datetime | None = None) -> int:
    """Every summary, from the facts, at once (after a rebuild of every fact;
    `tocsin manage reports_rebuild --summaries`): every day up to yesterday; returns how
    many rows."""
    at = at or now()
    DaySummary.objects.all().delete()
    AlertDaySummary.objects.all().delete()
    span = _span()
    done = 0
    if span is not None:
        first, last = span[0], min(span[1], _yesterday(at))
        done = rebuild_days(first + dt.timedelta(days=i) for i in range((last - first).days + 1))
    _done(at)
    return done


def keep_up(at: dt.datetime | None = None) -> bool:
    """Summarise the days that have ended since the last summarised one (`through()`), a
    month of days at most, in one transaction: the worker's first turn after midnight
    summarises yesterday. Returns whether more days are left (a worker stopped for longer
    than CHUNK_DAYS). Nothing to do before the first build is done (`build_step`)."""
    at = at or now()
    last = through()
    yesterday = _yesterday(at)
    if last is None or last >= yesterday:
        return False
    end = min(last + dt.timedelta(days=CHUNK_DAYS), yesterday)
    with transaction.atomic():
        rebuild_days(last + dt.timedelta(days=i) for i in range(1, (end - last).days + 1))
        FactsWatermark.objects.filter(key=MARK).update(build_after=end.toordinal())
    return end < yesterday


def start_over() -> None:
    """Have the engine build every summary again, a month of days a turn (`build_step`);
    until it is done the reports read the facts."""
    FactsWatermark.objects.update_or_create(
        key=MARK, defaults={"refreshed_to": None, "build_after": None}
    )


def build_step(at: dt.datetime | None = None) -> bool:
    """One bounded step of building every summary (after the migration that added them,
    or a first build of the facts): the next CHUNK_DAYS days after the last one done, up
    to yesterday; returns whether there is more to do. Days the refresh changes meanwhile
    are kept by `facts.build()` as always; a day built here is the facts as they are now."""
    at = at or now()
    mark = FactsWatermark.objects.filter(key=MARK).values_list("refreshed_to", "build_after")
    found = mark.first()
    if found is not None and found[0] is not None:
        return False
    span = _span()
    start = None
    last = None
    if span is not None:
        start, last = span[0], min(span[1], _yesterday(at))
        if found is not None and found[1] is not None:
            start = max(start, dt.date.fromordinal(int(found[1]) + 1))
    if span is None or start is None or last is None or start > last:
        _done(at)
        return False
    end = min(start + dt.timedelta(days=CHUNK_DAYS), last + dt.timedelta(days=1))
    with transaction.atomic():
        rebuild_days(start + dt.timedelta(days=i) for i in range((end - start).days))
        FactsWatermark.objects.update_or_create(
            key=MARK,
            defaults={
                "refreshed_to": None,
                "build_after": (end - dt.timedelta(days=1)).toordinal(),
            },
        )
    return True


# --- reading them ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """How a period is read: its whole days [first_day, end_day) from the summaries of
    `dim`/`value` (and `priority`, 0 for every one), the partial days at its ends
    (`edges`, [since, until) ranges) from the facts."""

    dim: str
    value: str
    priority: int
    first_day: dt.date
    end_day: dt.date
    edges: tuple[tuple[dt.datetime, dt.datetime], ...]

    def rows(self) -> QuerySet[DaySummary]:
        return DaySummary.objects.filter(
            dim=self.dim,
            value=self.value,
            priority=self.priority,
            day__gte=self.first_day,
            day__lt=self.end_day,
        )

    def rows_by_priority(self) -> QuerySet[DaySummary]:
        """Each priority's own rows (only the filter's, when there is one)."""
        priorities = [self.priority] if self.priority else [1, 2, 3, 4]
        return DaySummary.objects.filter(
            dim=self.dim,
            value=self.value,
            priority__in=priorities,
            day__gte=self.first_day,
            day__lt=self.end_day,
        )


def _readable() -> dt.date | None:
    """The last day whose summaries can be read (`through()`), or None: the facts' first
    build and the summaries' (`build_step`) are not both done."""
    marks = {
        key: (refreshed, last)
        for key, refreshed, last in FactsWatermark.objects.filter(
            key__in=("facts", MARK)
        ).values_list("key", "refreshed_to", "build_after")
    }
    facts, mine = marks.get("facts"), marks.get(MARK)
    if facts is None or facts[0] is None or mine is None or mine[0] is None or mine[1] is None:
        return None
    return dt.date.fromordinal(int(mine[1]))


def ready() -> bool:
    """Whether the summaries can be read: the facts' first build is done, and so is the
    summaries' (`build_step`); from then on they follow the facts."""
    return _readable() is not None


@dataclass(frozen=True)
class Days:
    """A period's whole summarised UTC days [first_day, end_day), and the rest of it
    (`edges`: [since, until) ranges, at most two) to read from the facts."""

    first_day: dt.date
    end_day: dt.date
    edges: tuple[tuple[dt.datetime, dt.datetime], ...]


def whole_days(filters: Filters) -> Days | None:
    """The whole summarised UTC days of this period (up to `through()`), or None: none,
    summaries switched off (`facts_only`) or not ready. (plan() for the day summaries;
    reports/alert_days.py for the alert-noise tables.)"""
    if not _enabled.get():
        return None
    since_day = filters.since.astimezone(dt.UTC).date()
    if _midnight(since_day) < filters.since:
        since_day += dt.timedelta(days=1)
    end_day = filters.until.astimezone(dt.UTC).date()
    if since_day >= end_day:
        return None
    last = _readable()
    if last is None:
        return None
    end_day = min(end_day, last + dt.timedelta(days=1))  # a day still going on: its facts
    if since_day >= end_day:
        return None
    edges = []
    if filters.since < _midnight(since_day):
        edges.append((filters.since, _midnight(since_day)))
    if _midnight(end_day) < filters.until:
        edges.append((_midnight(end_day), filters.until))
    return Days(first_day=since_day, end_day=end_day, edges=tuple(edges))


def plan(filters: Filters) -> Plan | None:
    """How to read this period from the summaries, or None: no whole summarised UTC day in
    it (up to `through()`), two filters other than priority, summaries switched off
    (`facts_only`) or not ready."""
    given = [
        (dim, getattr(filters, dim))
        for dim in ("service", "team", "category", "source")
        if getattr(filters, dim) is not None
    ]
    if len(given) > 1:
        return None
    days = whole_days(filters)
    if days is None:
        return None
    dim, value = given[0] if given else ("all", "")
    return Plan(
        dim=dim,
        value=str(value) if given else "",
        priority=filters.priority or ALL_PRIORITIES,
        first_day=days.first_day,
        end_day=days.end_day,
        edges=days.edges,
    )


def counts(p: Plan, durations: tuple[str, ...]) -> dict[str, Any]:
    """The whole days' counts, and each duration's count and sum (metrics._fact_counts'
    shape, with `<column>_sum` for the mean)."""
    agg: dict[str, Any] = {f"x_{name}": Sum(name) for name in SUMMARY_COUNTS}
    for column in durations:
        agg[f"x_{column}_count"] = Sum(f"{column}_n")
        agg[f"x_{column}_sum"] = Sum(f"{column}_sum")
    agg["x_first_id"] = Min("first_id")
    agg["x_last_id"] = Max("last_id")
    found = {k.removeprefix("x_"): v for k, v in p.rows().aggregate(**agg).items()}
    for name in (*SUMMARY_COUNTS, *(f"{c}_count" for c in durations)):
        found[name] = int(found[name] or 0)
    for column in durations:
        found[f"{column}_sum"] = float(found[f"{column}_sum"] or 0.0)
    return found


def _summed(p: Plan, column: str, bucket: str | None) -> list[tuple[Any, ...]]:
    """Rows of (bucket,) bin, count: the whole days' histograms of one duration summed in
    SQL, each row's JSON expanded (`jsonb_each_text` on PostgreSQL, `json_each` on
    SQLite) and grouped by bin (and by week or month), so a year's ~365 histograms never
    reach Python."""
    if column not in HISTOGRAMS:
        raise ValueError(f"no histogram for {column}")
    qn = connection.ops.quote_name
    postgres = connection.vendor == "postgresql"
    expand = "jsonb_each_text" if postgres else "json_each"
    group = ""
    if bucket == "month":
        group = "date_trunc('month', s.day)::date" if postgres else "strftime('%%Y-%%m-01', s.day)"
    elif bucket == "week":  # Monday, as dashboard.bucket_of
        group = (
            "date_trunc('week', s.day)::date"
            if postgres
            else "date(s.day, '-' || ((CAST(strftime('%%w', s.day) AS INTEGER) + 6) %% 7)"
            " || ' days')"
        )
    elif bucket is not None:
        raise ValueError(f"no bucket {bucket}")
    sql = (
        f"SELECT {group + ', ' if group else ''}j.key, SUM(CAST(j.value AS INTEGER)) "  # noqa: S608 (the model's names)
        f"FROM {qn(DaySummary._meta.db_table)} s, {expand}(s.{qn(column + '_hist')}) j "
        f"WHERE s.dim = %s AND s.value = %s AND s.priority = %s AND s.day >= %s AND s.day < %s "
        f"GROUP BY {group + ', ' if group else ''}j.key"
    )
    params: list[Any] = [
        p.dim,
        p.value,
        p.priority,
        connection.ops.adapt_datefield_value(p.first_day),
        connection.ops.adapt_datefield_value(p.end_day),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def histogram_total(p: Plan, column: str) -> dict[int, int]:
    """The whole days' histogram of one duration, or of the alerts per incident ("alerts"),
    ({bin: count}), summed in SQL."""
    return {int(b): int(n) for b, n in _summed(p, column, None)}


def noise_sums(p: Plan) -> dict[str, int]:
    """The whole days' alert-noise figures (NOISE_SUMS), summed."""
    found = p.rows().aggregate(**{f"x_{name}": Sum(name) for name in NOISE_SUMS})
    return {name: int(found[f"x_{name}"] or 0) for name in NOISE_SUMS}


def histograms_by_bucket(
    p: Plan, column: str, kind: str, bucket_of: Callable[[dt.date], dt.date]
) -> dict[dt.date, dict[int, int]]:
    """The whole days' histograms of one duration summed per week or month
    ({bucket's first day: {bin: count}}): in SQL on PostgreSQL; on SQLite each day's row
    merged here (`json_each` grouped by bucket was twice as slow there, docs/benchmarks.md)."""
    out: dict[dt.date, dict[int, int]] = defaultdict(dict)
    if connection.vendor == "sqlite":
        rows = p.rows().filter(**{f"{column}_n__gt": 0}).values_list("day", f"{column}_hist")
        for day, hist in rows:
            into = out[bucket_of(day)]
            for b, n in hist.items():
                into[int(b)] = into.get(int(b), 0) + int(n)
        return dict(out)
    for bucket, b, n in _summed(p, column, kind):
        day = bucket if isinstance(bucket, dt.date) else dt.date.fromisoformat(str(bucket))
        out[day][int(b)] = int(n)
    return dict(out)


def fact_histograms(facts: QuerySet[IncidentFact], column: str) -> dict[dt.date, dict[int, int]]:
    """The same from facts (a period's partial days): grouped by day and bin in SQL."""
    out: dict[dt.date, dict[int, int]] = defaultdict(dict)
    binned = (
        facts.filter(**{f"{column}__isnull": False})
        .annotate(b=bin_expression(column))
        .values("reported_day", "b")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for r in binned:
        day, b = r["reported_day"], int(r["b"])
        out[day][b] = out[day].get(b, 0) + r["n"]
    return dict(out)
