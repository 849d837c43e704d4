"""The metrics (docs/metrics.md defines each one): aggregates in SQL over the fact table.

A period is the incidents *reported* in [since, until); the filters narrow it by service,
team, priority, category and source. Every figure is computed by the database: a count
and a mean by one aggregate; a median and a 90th percentile by a walk along the
duration's covering index to the rank wanted (`ORDER BY … LIMIT … OFFSET …`). No row is
read into Python. A period's whole UTC days are read from the day summaries
(reports/summaries.py); over more than 35 of them, medians and p90 from their histograms
(within 1.6 %, docs/metrics.md).

- A duration answers `DurationStat`: count (incidents with the duration known), mean,
  median (the middle value; the mean of the two middle ones for an even count) and p90
  (nearest rank: the value at rank ⌈0.9·n⌉), in seconds; None when the count is 0.
- A rate answers `RateStat`: count (those that did), total (those that could), rate
  (count / total; None when the total is 0).
- A count answers `CountStat`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from django.db import connection
from django.db.models import Count, Exists, F, Max, Min, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from tocsin.core.clock import now
from tocsin.learning.models import (
    ActionItem,
    ActionItemStatus,
    Postmortem,
    Problem,
    ProblemIncident,
)
from tocsin.reports import summaries
from tocsin.reports.models import SUMMARY_COUNTS, IncidentFact

DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Filters:
    """Which incidents a metric counts: reported in [since, until), narrowed by the rest."""

    since: dt.datetime
    until: dt.datetime
    service: int | None = None
    team: int | None = None
    priority: int | None = None
    category: int | None = None
    source: str | None = None

    @classmethod
    def last(cls, days: int = DEFAULT_DAYS, *, at: dt.datetime | None = None, **kw: Any) -> Filters:
        until = at or now()
        return cls(since=until - dt.timedelta(days=days), until=until, **kw)

    def q(self) -> Q:
        q = Q(reported_at__gte=self.since, reported_at__lt=self.until)
        for name in ("service", "team", "priority", "category", "source"):
            value = getattr(self, name)
            if value is not None:
                q &= Q(**{name if name in ("priority", "source") else f"{name}_id": value})
        return q

    def previous(self) -> Filters:
        """The period of the same length just before this one (for trends)."""
        length = self.until - self.since
        return Filters(
            since=self.since - length,
            until=self.since,
            service=self.service,
            team=self.team,
            priority=self.priority,
            category=self.category,
            source=self.source,
        )

    def facts(self) -> QuerySet[IncidentFact]:
        return IncidentFact.objects.filter(self.q())


@dataclass(frozen=True)
class DurationStat:
    count: int
    mean_seconds: float | None
    median_seconds: float | None
    p90_seconds: float | None
    kind: str = field(default="duration", repr=False)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("kind")
        return data


@dataclass(frozen=True)
class RateStat:
    count: int
    total: int
    rate: float | None
    kind: str = field(default="rate", repr=False)

    @classmethod
    def of(cls, count: int, total: int) -> RateStat:
        return cls(count=count, total=total, rate=(count / total) if total else None)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("kind")
        return data


@dataclass(frozen=True)
class CountStat:
    count: int
    kind: str = field(default="count", repr=False)

    def as_json(self) -> dict[str, Any]:
        return {"count": self.count}


Stat = DurationStat | RateStat | CountStat


# Up to this many values, a rank is found by sorting the period's values (read from the
# covering `fact_reported` index); above it, by a walk along the duration's own covering
# index (`fact_<column>`), whose length does not depend on the period's: about half the
# index for a median, a tenth for a p90 (walked from the top).
SORT_MAX = 50_000


def _rows(qs: QuerySet[Any], index: str, outer: str = "{}") -> list[tuple[Any, ...]]:
    """Run `qs` (its SQL inside `outer`, if given); on SQLite, through the named index
    (`INDEXED BY`): SQLite keeps no histograms (no STAT4), so it cannot tell a period of
    three years from one of a day, and takes the period index for every query, then
    reads and sorts every row of the period."""
    sql, params = qs.query.sql_with_params()
    if connection.vendor == "sqlite":
        table = connection.ops.quote_name(IncidentFact._meta.db_table)
        sql = sql.replace(
            f"FROM {table}", f"FROM {table} INDEXED BY {connection.ops.quote_name(index)}", 1
        )
    sql = outer.format(sql)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _at_rank(
    values: QuerySet[Any], column: str, offset: int, limit: int, *, n: int | None = None
) -> list[float]:
    """The values at ranks offset .. offset+limit-1 (0-based, ascending) of `column`.

    Given n (how many values there are), a rank in the upper half is reached from the top
    instead: the walk along the covering index (`ORDER BY column DESC … OFFSET`) is then
    n − offset − limit entries long rather than offset, so a p90 reads a tenth of the
    entries instead of nine tenths. Same values, in ascending order."""
    index = f"fact_{column}" if n is not None and n > SORT_MAX else "fact_reported"
    if n is not None and offset + limit > n - offset:
        top = n - offset - limit
        qs = values.order_by(f"-{column}").values_list(column)[top : top + limit]
        return [float(row[0]) for row in _rows(qs, index)][::-1]
    qs = values.order_by(column).values_list(column)[offset : offset + limit]
    return [float(row[0]) for row in _rows(qs, index)]


def duration(
    column: str, filters: Filters, counted: tuple[int, float | None] | None = None
) -> DurationStat:
    """count, mean, median and p90 of one duration column over the filtered facts.
    `counted`: its count and mean, when already known (compute() reads every duration's
    with the rates' counts, in one pass over the period)."""
    known = filters.facts().filter(**{f"{column}__isnull": False})
    if counted is None:
        # the column is one of the model's (DURATION_METRICS), quoted
        outer = f"SELECT COUNT(*), AVG(q.{connection.ops.quote_name(column)}) FROM ({{}}) q"  # noqa: S608
        ((count, mean),) = _rows(known.order_by().values_list(column), "fact_reported", outer)
    else:
        count, mean = counted
    n = int(count or 0)
    if n == 0:
        return DurationStat(0, None, None, None)
    middle = _at_rank(known, column, (n - 1) // 2, 1 if n % 2 else 2, n=n)
    median = sum(middle) / len(middle)
    p90 = _at_rank(known, column, math.ceil(0.9 * n) - 1, 1, n=n)[0]
    return DurationStat(n, float(mean), median, p90)


def _duration_from_histograms(
    column: str, filters: Filters, p: summaries.Plan, counted: tuple[int, float | None]
) -> DurationStat:
    """A long period's duration: count and mean exact, median and p90 from the day
    summaries' histograms (within summaries.PRECISION; docs/metrics.md)."""
    hist = summaries.histogram_total(p, column)
    days: list[dict[int, int]] = []
    for since, until in p.edges:
        edge = replace(filters, since=since, until=until).facts()
        days += summaries.fact_histograms(edge, column).values()
    for day in days:
        for b, n in day.items():
            hist[b] = hist.get(b, 0) + n
    found = summaries.median_p90(hist)
    if found is None:
        return DurationStat(0, None, None, None)
    return DurationStat(counted[0], counted[1], found[1], found[2])


def mtbf_by_service(filters: Filters) -> dict[int, DurationStat]:
    """MTBF of each service with at least one gap in the period ({service id: stat}),
    each computed as `duration("gap_s", …)` with that service as the filter."""
    services = (
        filters.facts()
        .filter(gap_s__isnull=False)
        .values_list("service_id", flat=True)
        .distinct()
        .order_by("service_id")
    )
    return {
        service: duration("gap_s", replace(filters, service=service))
        for service in list(services)
        if service is not None
    }


# name -> fact column
DURATION_METRICS: dict[str, str] = {
    "mttd": "detect_s",
    "mtta": "ack_s",
    "mttr_mitigate": "mitigate_s",
    "mttr_resolve": "resolve_s",
    "mtbf": "gap_s",
}


def _fact_counts(filters: Filters, durations: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every count the fact-based rates need; with the count and the mean of each of these
    duration columns (`<column>_count`, `<column>_mean`), so the durations do not each
    read the period again; and the period's first and last incident ids. The whole UTC
    days of the period from the day summaries (reports/summaries.py) when it has any, its
    partial days (or all of it) from the facts in one aggregate query."""
    p = summaries.plan(filters)
    if p is None:
        parts = [_fact_counts_of(filters.facts(), durations)]
    else:
        parts = [summaries.counts(p, durations)] + [
            _fact_counts_of(replace(filters, since=since, until=until).facts(), durations)
            for since, until in p.edges
        ]
    out: dict[str, Any] = {name: sum(part[name] for part in parts) for name in SUMMARY_COUNTS}
    firsts = [part["first_id"] for part in parts if part["first_id"] is not None]
    lasts = [part["last_id"] for part in parts if part["last_id"] is not None]
    out["first_id"] = min(firsts) if firsts else None
    out["last_id"] = max(lasts) if lasts else None
    for column in durations:
        n = sum(part[f"{column}_count"] for part in parts)
        total = sum(part[f"{column}_sum"] for part in parts)
        out[f"{column}_count"] = n
        out[f"{column}_mean"] = total / n if n else None
    return out


def _fact_counts_of(facts: QuerySet[IncidentFact], durations: tuple[str, ...]) -> dict[str, Any]:
    """summaries.counts()' figures, from these facts in one aggregate query."""
    extra: dict[str, Any] = {}
    for column in durations:
        extra[f"d_{column}_count"] = Count(column)
        extra[f"d_{column}_sum"] = Sum(column)
    agg = facts.aggregate(
        **extra,
        d_first_id=Min("incident_id"),
        d_last_id=Max("incident_id"),
        **{
            f"n_{name}": Count("pk", filter=q) if q is not None else Count("pk")
            for name, q in summaries.COUNTS.items()
        },
    )
    out: dict[str, Any] = {}
    for key, value in agg.items():
        if key.endswith("_sum"):
            out[key.removeprefix("d_")] = float(value or 0.0)
        elif key.startswith("d_"):
            out[key.removeprefix("d_")] = value if key.endswith("_id") else int(value or 0)
        else:
            out[key.removeprefix("n_")] = int(value or 0)
    return out


def _incidents_of(filters: Filters) -> QuerySet[IncidentFact, Any]:
    return filters.facts().values("incident_id")


def _in_period(filters: Filters, incident: str) -> Exists:
    """The row's incident (the outer column `incident`) is counted in the period: a
    correlated EXISTS on the fact's key. (An `IN (the period's ids)` made PostgreSQL
    check every row against hundreds of thousands of ids over a long period.)"""
    return Exists(filters.facts().filter(incident_id=OuterRef(incident)))


def postmortem_completion(
    filters: Filters, ids: tuple[int | None, int | None] | None = None
) -> RateStat:
    """Postmortems of the period's incidents that are complete (every action item done
    or accepted as a risk, and published). `ids`: the period's first and last incident
    ids, when known (compute() reads them with the counts): only the postmortems of
    incidents in that range are tested (the same ones counted, far fewer tests for a
    short period)."""
    postmortems = Postmortem.objects.all()
    if ids is not None:
        if ids[0] is None:
            return RateStat.of(0, 0)
        postmortems = postmortems.filter(incident_id__gte=ids[0], incident_id__lte=ids[1])
    in_period = _in_period(filters, "incident_id")
    # the test inside the counts' FILTER, not in WHERE: there PostgreSQL made it a join
    # that read every fact of the period (a million for three years); here it is one
    # probe of the fact's key a postmortem (a few tens of thousands)
    agg = postmortems.aggregate(
        total=Count("pk", filter=Q(in_period)),
        done=Count("pk", filter=Q(completed_at__isnull=False) & Q(in_period)),
    )
    return RateStat.of(int(agg["done"] or 0), int(agg["total"] or 0))


def action_items_overdue(
    filters: Filters,
    at: dt.datetime | None = None,
    ids: tuple[int | None, int | None] | None = None,
) -> RateStat:
    """Action items from the period's incidents (directly or through their postmortem)
    still open past their due date, out of all those still open. `ids`: as for
    postmortem_completion (an item outside the range cannot be the period's)."""
    at = at or now()
    items = ActionItem.objects.filter(
        status__in=[ActionItemStatus.OPEN, ActionItemStatus.IN_PROGRESS]
    )
    if ids is not None:
        if ids[0] is None:
            return RateStat.of(0, 0)
        items = items.filter(
            Q(incident_id__gte=ids[0], incident_id__lte=ids[1])
            | Q(
                incident_id__isnull=True,
                postmortem__incident_id__gte=ids[0],
                postmortem__incident_id__lte=ids[1],
            )
        )
    # its incident, directly or through its postmortem; in FILTER: see postmortem_completion
    in_period = Exists(
        filters.facts().filter(
            incident_id=Coalesce(OuterRef("incident_id"), OuterRef("postmortem__incident_id"))
        )
    )
    agg = items.aggregate(
        total=Count("pk", filter=Q(in_period)),
        overdue=Count("pk", filter=Q(due_at__lt=at) & Q(in_period)),
    )
    return RateStat.of(int(agg["overdue"] or 0), int(agg["total"] or 0))


def problems_opened(filters: Filters) -> CountStat:
    """Problems recorded in the period (for the service and category filters, if any)."""
    q = Q(created_at__gte=filters.since, created_at__lt=filters.until)
    if filters.service is not None:
        q &= Q(service_id=filters.service)
    if filters.category is not None:
        q &= Q(category_id=filters.category)
    return CountStat(Problem.objects.filter(q).count())


def known_errors_reused(filters: Filters, total: int) -> RateStat:
    """The period's incidents linked to a problem that was already a known error."""
    linked = (
        ProblemIncident.objects.filter(
            _in_period(filters, "incident_id"),
            problem__known_error_at__isnull=False,
            problem__known_error_at__lte=F("linked_at"),
        )
        .values("incident_id")
        .distinct()
        .count()
    )
    return RateStat.of(linked, total)


def compute(filters: Filters, names: list[str] | None = None) -> dict[str, Stat]:
    """Every metric (or the named ones), by name."""
    wanted = set(names) if names else None

    def want(name: str) -> bool:
        return wanted is None or name in wanted

    out: dict[str, Stat] = {}
    columns = tuple(column for name, column in DURATION_METRICS.items() if want(name))
    c = _fact_counts(filters, columns)
    p = summaries.plan(filters)
    long = p is not None and (p.end_day - p.first_day).days > summaries.EXACT_RANK_DAYS
    for name, column in DURATION_METRICS.items():
        if want(name):
            mean = c[f"{column}_mean"]
            counted = (int(c[f"{column}_count"] or 0), None if mean is None else float(mean))
            if long and p is not None and counted[0]:
                out[name] = _duration_from_histograms(column, filters, p, counted)
            else:
                out[name] = duration(column, filters, counted)
    rates: dict[str, Callable[[], Stat]] = {
        "volume": lambda: CountStat(c["total"]),
        "open": lambda: CountStat(c["open"]),
        "escalation_functional": lambda: RateStat.of(c["escalated_functional"], c["total"]),
        "escalation_hierarchical": lambda: RateStat.of(c["escalated_hierarchical"], c["total"]),
        "first_contact_resolution": lambda: RateStat.of(c["first_contact"], c["people_resolved"]),
        "solved_by_article": lambda: RateStat.of(c["solved_by_article"], c["resolved"]),
        "detected_by_monitoring": lambda: RateStat.of(c["monitoring"], c["total"]),
        "detected_by_people": lambda: RateStat.of(c["total"] - c["monitoring"], c["total"]),
        "sla_response": lambda: RateStat.of(c["response_met"], c["response_decided"]),
        "sla_resolution": lambda: RateStat.of(c["resolution_met"], c["resolution_decided"]),
        "reopen_rate": lambda: RateStat.of(c["reopened"], c["ever_resolved"]),
        "major_rate": lambda: RateStat.of(c["major"], c["total"]),
        "postmortem_completion": lambda: postmortem_completion(
            filters, (c["first_id"], c["last_id"])
        ),
        "action_items_overdue": lambda: action_items_overdue(
            filters, ids=(c["first_id"], c["last_id"])
        ),
        "problems_opened": lambda: problems_opened(filters),
        "known_errors_reused": lambda: known_errors_reused(filters, c["total"]),
    }
    for name, make in rates.items():
        if want(name):
            out[name] = make()
    # Metrics other modules add (alert noise, on-call load) read tables far larger than
    # the facts (alerts, pages): they are answered when named, not by default (their
    # pages show them), so the default answer stays fast over a million incidents.
    for name, fn in EXTRA_METRICS.items():
        if wanted is not None and name in wanted:
            out[name] = fn(filters)
    return out


# Metrics other modules add (alert noise, on-call load): name -> fn(filters) -> Stat.
EXTRA_METRICS: dict[str, Callable[[Filters], Stat]] = {}


def register_metric(name: str, fn: Callable[[Filters], Stat]) -> None:
    """Add a metric to `compute()` and to GET /api/v1/metrics when asked for by name
    (`?metric=alerts_per_incident`), called at import time of the module that defines it
    (reports/wiring.py imports those modules)."""
    if name in METRIC_NAMES or name in EXTRA_METRICS:
        raise ValueError(f"metric {name} is already defined")
    EXTRA_METRICS[name] = fn


def metric_names() -> tuple[str, ...]:
    return (*METRIC_NAMES, *EXTRA_METRICS)


METRIC_NAMES: tuple[str, ...] = (
    *DURATION_METRICS,
    "volume",
    "open",
    "escalation_functional",
    "escalation_hierarchical",
    "first_contact_resolution",
    "solved_by_article",
    "detected_by_monitoring",
    "detected_by_people",
    "sla_response",
    "sla_resolution",
    "reopen_rate",
    "major_rate",
    "postmortem_completion",
    "action_items_overdue",
    "problems_opened",
    "known_errors_reused",
)


def volume_by_priority(filters: Filters) -> list[dict[str, Any]]:
    """Incidents per UTC day and priority: [{"day": date, "priority": 1, "count": n}]
    (whole days from the day summaries, partial ones from the facts)."""
    p = summaries.plan(filters)
    found: list[tuple[dt.date, int, int]] = []
    if p is not None:
        found += p.rows_by_priority().values_list("day", "priority", "total")
    for part in _fact_parts(filters, p):
        rows = part.values("reported_day", "priority").annotate(n=Count("pk")).order_by()
        found += [(r["reported_day"], r["priority"], r["n"]) for r in rows]
    return [
        {"day": day, "priority": priority, "count": n} for day, priority, n in sorted(found) if n
    ]


def _fact_parts(filters: Filters, p: summaries.Plan | None) -> list[QuerySet[IncidentFact]]:
    """The facts a plan leaves to the facts: its partial days, or the whole period."""
    if p is None:
        return [filters.facts()]
    return [replace(filters, since=since, until=until).facts() for since, until in p.edges]


_SLA = ("response_decided", "response_met", "resolution_decided", "resolution_met")


def sla_by_priority(filters: Filters) -> dict[int, dict[str, RateStat]]:
    """SLA compliance (response and resolution) per priority, in one grouped query (and
    one over the day summaries)."""
    totals: dict[int, dict[str, int]] = {}

    def add(priority: int, row: dict[str, Any]) -> None:
        into = totals.setdefault(priority, dict.fromkeys(_SLA, 0))
        for name in _SLA:
            into[name] += int(row[f"x_{name}"] or 0)

    p = summaries.plan(filters)
    if p is not None:
        summed = (
            p.rows_by_priority()
            .values("priority")
            .annotate(**{f"x_{name}": Sum(name) for name in _SLA})
            .order_by()
        )
        for r in summed:
            add(r["priority"], r)
    for part in _fact_parts(filters, p):
        rows = (
            part.values("priority")
            .annotate(**{f"x_{name}": Count("pk", filter=summaries.COUNTS[name]) for name in _SLA})
            .order_by()
        )
        for r in rows:
            add(r["priority"], r)
    return {
        priority: {
            "response": RateStat.of(t["response_met"], t["response_decided"]),
            "resolution": RateStat.of(t["resolution_met"], t["resolution_decided"]),
        }
        for priority, t in sorted(totals.items())
    }
