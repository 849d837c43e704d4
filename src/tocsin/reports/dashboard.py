"""What the dashboards show: each metric's label and good direction, the tiles (this
period against the previous one of the same length) and the series behind the charts.

The figures come from `metrics.compute()`; the series are aggregated in SQL: incidents
per UTC day and priority (`metrics.volume_by_priority`, rolled up into weeks or months
here, over days, never rows), and each bucket's median and 90th percentile of a duration
by one windowed query (`ROW_NUMBER() OVER (PARTITION BY bucket ORDER BY duration)`, then
only the middle and the p90 rows leave the database).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from django.db.models import Count, DateField, F, Q, Window
from django.db.models.functions import RowNumber, Trunc

from tocsin.reports import summaries
from tocsin.reports.drill import DRILLS
from tocsin.reports.metrics import (
    DURATION_METRICS,
    CountStat,
    DurationStat,
    Filters,
    RateStat,
    Stat,
    compute,
    sla_by_priority,
    volume_by_priority,
)

Better = Literal["up", "down", ""]
BucketKind = Literal["day", "week", "month"]
PRIORITIES = (1, 2, 3, 4)


@dataclass(frozen=True)
class MetricInfo:
    label: str
    help: str
    better: Better = ""  # which way is good; "" when neither is
    group: str = "Other"


GROUPS = ("Response times", "Volume", "Escalation and resolution", "SLA", "Learning", "Other")

INFO: dict[str, MetricInfo] = {
    "mttd": MetricInfo(
        "MTTD · time to detect", "detected − impact started", "down", "Response times"
    ),
    "mtta": MetricInfo(
        "MTTA · time to acknowledge", "acknowledged − reported", "down", "Response times"
    ),
    "mttr_mitigate": MetricInfo(
        "MTTR · time to mitigate",
        "mitigated (else resolved) − reported",
        "down",
        "Response times",
    ),
    "mttr_resolve": MetricInfo(
        "MTTR · time to resolve", "resolved − reported", "down", "Response times"
    ),
    "mtbf": MetricInfo(
        "MTBF · time between failures",
        "impact start − the previous start on the same service",
        "up",
        "Response times",
    ),
    "volume": MetricInfo("Incidents", "reported in the period", "", "Volume"),
    "open": MetricInfo("Still open", "of the period's incidents", "down", "Volume"),
    "major_rate": MetricInfo("Major incidents", "declared major", "down", "Volume"),
    "reopen_rate": MetricInfo("Reopened", "of those resolved at least once", "down", "Volume"),
    "detected_by_monitoring": MetricInfo(
        "Detected by monitoring", "of the period's incidents", "up", "Volume"
    ),
    "detected_by_people": MetricInfo(
        "Reported by people", "of the period's incidents", "down", "Volume"
    ),
    "escalation_functional": MetricInfo(
        "Escalated to another team",
        "functional escalation",
        "down",
        "Escalation and resolution",
    ),
    "escalation_hierarchical": MetricInfo(
        "Escalated to management",
        "hierarchical escalation",
        "down",
        "Escalation and resolution",
    ),
    "first_contact_resolution": MetricInfo(
        "Resolved at first contact",
        "of those reported by people and resolved",
        "up",
        "Escalation and resolution",
    ),
    "solved_by_article": MetricInfo(
        "Solved with a help article", "of those resolved", "up", "Escalation and resolution"
    ),
    "sla_response": MetricInfo("Response SLA met", "of those met or breached", "up", "SLA"),
    "sla_resolution": MetricInfo("Resolution SLA met", "of those met or breached", "up", "SLA"),
    "postmortem_completion": MetricInfo(
        "Postmortems complete", "of the period's postmortems", "up", "Learning"
    ),
    "action_items_overdue": MetricInfo(
        "Action items overdue", "of those still open", "down", "Learning"
    ),
    "problems_opened": MetricInfo("Problems opened", "recorded in the period", "", "Learning"),
    "known_errors_reused": MetricInfo(
        "Known errors reused", "incidents linked to a known error", "up", "Learning"
    ),
}


def describe_metric(
    name: str, label: str, help: str = "", better: Better = "", group: str = "Other"
) -> None:
    """For metrics other modules add (`metrics.register_metric`): the tile's label, a
    short definition, which way is good ("up", "down" or "") and the tile's group."""
    INFO[name] = MetricInfo(label, help, better, group if group in GROUPS else "Other")


def info_of(name: str) -> MetricInfo:
    return INFO.get(name) or MetricInfo(name.replace("_", " ").capitalize(), "")


# --- presentation -----------------------------------------------------------------------


def human_duration(seconds: float | None) -> str:
    """A span as people say it: 42s, 12m, 3h 5m, 2d 4h; "—" when unknown."""
    if seconds is None:
        return "—"
    total = round(abs(seconds))
    if total < 60:
        return f"{total}s"
    minutes = total // 60
    if minutes < 60:
        secs = total % 60
        return f"{minutes}m {secs}s" if minutes < 10 and secs else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h" if hours else f"{days}d"


def percent(rate: float | None) -> str:
    if rate is None:
        return "—"
    value = rate * 100
    return f"{value:.0f}%" if value in (0, 100) or value >= 10 else f"{value:.1f}%"


@dataclass
class Trend:
    """This period's headline against the previous period's."""

    direction: Literal["up", "down", "same", "none"]
    tone: Literal["good", "bad", "neutral"]
    delta: str  # "12m", "4 pp", "3"
    previous: str  # the previous period's headline, as shown

    @property
    def arrow(self) -> str:
        return {"up": "▲", "down": "▼", "same": "▬", "none": ""}[self.direction]

    @property
    def words(self) -> str:
        if self.direction == "none":
            return "no figure for the previous period"
        if self.direction == "same":
            return f"unchanged from the previous period ({self.previous})"
        return f"{self.direction} {self.delta} from {self.previous} in the previous period"


@dataclass
class Tile:
    name: str
    info: MetricInfo
    kind: str
    headline: str
    stat: Stat
    trend: Trend
    # durations
    median: str = ""
    p90: str = ""
    # rates and durations
    count: int = 0
    total: int | None = None
    drillable: bool = False
    rest_label: str = ""
    rest: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def headline_value(stat: Stat) -> float | None:
    if isinstance(stat, DurationStat):
        return stat.mean_seconds
    if isinstance(stat, RateStat):
        return stat.rate
    return float(stat.count)


def headline_text(stat: Stat) -> str:
    if isinstance(stat, DurationStat):
        return human_duration(stat.mean_seconds)
    if isinstance(stat, RateStat):
        return percent(stat.rate)
    return str(stat.count)


def trend_of(name: str, stat: Stat, previous: Stat | None) -> Trend:
    now_value = headline_value(stat)
    before = headline_value(previous) if previous is not None else None
    shown_before = headline_text(previous) if previous is not None else "—"
    if now_value is None or before is None:
        return Trend("none", "neutral", "", shown_before)
    diff = now_value - before
    if isinstance(stat, DurationStat):
        delta = human_duration(diff)
        same = abs(diff) < 1
    elif isinstance(stat, RateStat):
        points = diff * 100
        delta = f"{abs(points):.1f} pp" if abs(points) < 10 else f"{abs(points):.0f} pp"
        same = abs(points) < 0.05
    else:
        delta = f"{abs(diff):.0f}"
        same = diff == 0
    if same:
        return Trend("same", "neutral", "", shown_before)
    direction: Literal["up", "down"] = "up" if diff > 0 else "down"
    better = info_of(name).better
    tone: Literal["good", "bad", "neutral"] = (
        "neutral" if not better else "good" if better == direction else "bad"
    )
    return Trend(direction, tone, delta, shown_before)


def tile_of(name: str, stat: Stat, previous: Stat | None) -> Tile:
    drill = DRILLS.get(name)
    tile = Tile(
        name=name,
        info=info_of(name),
        kind=getattr(stat, "kind", "count"),
        headline=headline_text(stat),
        stat=stat,
        trend=trend_of(name, stat, previous),
        drillable=drill is not None,
    )
    if isinstance(stat, DurationStat):
        tile.median = human_duration(stat.median_seconds)
        tile.p90 = human_duration(stat.p90_seconds)
        tile.count = stat.count
    elif isinstance(stat, RateStat):
        tile.count = stat.count
        tile.total = stat.total
        if drill is not None and drill.rest_label:
            tile.rest_label = drill.rest_label
            tile.rest = stat.total - stat.count
    elif isinstance(stat, CountStat):
        tile.count = stat.count
    return tile


@dataclass
class Overview:
    filters: Filters
    previous: Filters
    stats: dict[str, Stat]
    previous_stats: dict[str, Stat]
    tiles: list[Tile]

    def groups(self) -> list[tuple[str, list[Tile]]]:
        by_group: dict[str, list[Tile]] = defaultdict(list)
        for tile in self.tiles:
            by_group[tile.info.group].append(tile)
        return [(name, by_group[name]) for name in GROUPS if by_group.get(name)]


def overview(filters: Filters) -> Overview:
    """Every metric of `compute()` for the period and for the one before it."""
    previous = filters.previous()
    stats = compute(filters)
    before = compute(previous)
    tiles = [tile_of(name, stat, before.get(name)) for name, stat in stats.items()]
    return Overview(filters, previous, stats, before, tiles)


# --- series -----------------------------------------------------------------------------


def bucket_kind(filters: Filters) -> BucketKind:
    """Days for a month or less, weeks up to about half a year, months beyond."""
    days = (filters.until - filters.since).total_seconds() / 86400
    if days <= 35:
        return "day"
    if days <= 190:
        return "week"
    return "month"


def bucket_of(day: dt.date, kind: BucketKind) -> dt.date:
    if kind == "week":
        return day - dt.timedelta(days=day.weekday())  # Monday, as SQL's week truncation
    if kind == "month":
        return day.replace(day=1)
    return day


def _next(start: dt.date, kind: BucketKind) -> dt.date:
    if kind == "day":
        return start + dt.timedelta(days=1)
    if kind == "week":
        return start + dt.timedelta(days=7)
    return (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def buckets(filters: Filters) -> tuple[BucketKind, list[dt.date]]:
    """Every bucket of the period (UTC days), in order, empty ones too."""
    kind = bucket_kind(filters)
    first = bucket_of(filters.since.astimezone(dt.UTC).date(), kind)
    last_day = (filters.until - dt.timedelta(microseconds=1)).astimezone(dt.UTC).date()
    out: list[dt.date] = []
    at = first
    while at <= last_day:
        out.append(at)
        at = _next(at, kind)
    return kind, out


def bucket_label(day: dt.date, kind: BucketKind) -> str:
    if kind == "month":
        return day.strftime("%b %Y")
    return f"{day.day} {day.strftime('%b')}"


@dataclass
class Series:
    kind: BucketKind
    buckets: list[dt.date]
    values: dict[Any, list[float | None]]  # series key -> one value per bucket

    def labels(self) -> list[str]:
        return [bucket_label(day, self.kind) for day in self.buckets]

    def rows(self) -> list[tuple[dt.date, str, list[float | None]]]:
        keys = list(self.values)
        return [
            (day, label, [self.values[k][i] for k in keys])
            for i, (day, label) in enumerate(zip(self.buckets, self.labels(), strict=True))
        ]


def volume_series(filters: Filters) -> Series:
    """Incidents per bucket and priority: SQL counts per day, summed here per bucket."""
    kind, days = buckets(filters)
    index = {day: i for i, day in enumerate(days)}
    values: dict[Any, list[float | None]] = {p: [0.0] * len(days) for p in PRIORITIES}
    for row in volume_by_priority(filters):
        i = index.get(bucket_of(row["day"], kind))
        if i is not None and row["priority"] in values:
            values[row["priority"]][i] = (values[row["priority"]][i] or 0) + row["count"]
    return Series(kind, days, values)


def duration_by_bucket(
    column: str, filters: Filters, kind: BucketKind
) -> dict[dt.date, tuple[int, float, float]]:
    """bucket -> (count, median, p90) of one duration column. Day buckets: exact, in one
    windowed query that returns only the rows at the middle and p90 ranks of each bucket.
    Week and month buckets: from the day summaries' histograms (within
    summaries.PRECISION of the exact figures; docs/metrics.md), when the period can be
    read from them."""
    p = summaries.plan(filters) if kind != "day" else None
    if p is not None:
        return _duration_by_bucket_from_summaries(column, filters, kind, p)
    bucket = F("reported_day") if kind == "day" else Trunc("reported_day", kind, DateField())
    ranked = (
        filters.facts()
        .filter(**{f"{column}__isnull": False})
        .annotate(
            bucket=bucket,
            rn=Window(RowNumber(), partition_by=[bucket], order_by=[F(column).asc(), F("pk")]),
            n=Window(Count("pk"), partition_by=[bucket]),
        )
    )
    # ranks: the middle one (odd n) or two (even n), and ⌈0.9·n⌉ (written (9n+9)/10 in
    # integer arithmetic, the same on both databases)
    wanted = ranked.filter(
        Q(rn__gte=(F("n") + 1) / 2, rn__lte=F("n") / 2 + 1) | Q(rn=(F("n") * 9 + 9) / 10)
    ).values_list("bucket", "rn", "n", column)
    middles: dict[dt.date, list[float]] = defaultdict(list)
    p90s: dict[dt.date, float] = {}
    counts: dict[dt.date, int] = {}
    for day, rn, n, value in wanted:
        key = day if isinstance(day, dt.date) and not isinstance(day, dt.datetime) else day.date()
        counts[key] = n
        if (n + 1) // 2 <= rn <= n // 2 + 1:
            middles[key].append(float(value))
        if rn == math.ceil(0.9 * n):
            p90s[key] = float(value)
    return {
        key: (counts[key], sum(middles[key]) / len(middles[key]), p90s.get(key, middles[key][-1]))
        for key in middles
    }


def _duration_by_bucket_from_summaries(
    column: str, filters: Filters, kind: BucketKind, p: summaries.Plan
) -> dict[dt.date, tuple[int, float, float]]:
    """duration_by_bucket from the histograms: each bucket's days' (whole days from the
    summaries, the partial ones at the period's ends binned from the facts) merged."""
    by_bucket: dict[dt.date, dict[int, int]] = defaultdict(dict)
    by_bucket.update(
        summaries.histograms_by_bucket(p, column, kind, lambda day: bucket_of(day, kind))
    )
    for since, until in p.edges:
        edge = summaries.fact_histograms(replace(filters, since=since, until=until).facts(), column)
        for day, hist in edge.items():
            into = by_bucket[bucket_of(day, kind)]
            for b, n in hist.items():
                into[b] = into.get(b, 0) + n
    out = {}
    for key, hist in by_bucket.items():
        found = summaries.median_p90(hist)
        if found is not None:
            out[key] = found
    return out


TREND_METRICS = ("mtta", "mttr_mitigate", "mttr_resolve")


def response_series(filters: Filters) -> Series:
    """Median of MTTA and of both MTTRs per bucket (None where no incident had one)."""
    kind, days = buckets(filters)
    values: dict[Any, list[float | None]] = {}
    for name in TREND_METRICS:
        found = duration_by_bucket(DURATION_METRICS[name], filters, kind)
        values[name] = [found[day][1] if day in found else None for day in days]
    return Series(kind, days, values)


def sla_table(filters: Filters) -> list[dict[str, Any]]:
    """One row per priority (all four, empty ones too): response and resolution RateStat."""
    found = sla_by_priority(filters)
    empty = RateStat.of(0, 0)
    return [
        {
            "priority": p,
            "response": found.get(p, {}).get("response", empty),
            "resolution": found.get(p, {}).get("resolution", empty),
        }
        for p in PRIORITIES
    ]
