"""Alert noise (issue 13, point 2; docs/alert-noise.md defines every figure).

Everything is about the period's incidents as the other metrics count them (reported in
[since, until), narrowed by service, team, priority, category, source: `Filters.facts()`),
the alerts that joined them and the pages they sent. Every figure is one aggregate
query (grouped where it is a table); the only Python loops run over the top-N rows of a
table already cut to N by the database.

Definitions, in short:
- An incident **had no human action** when it ended (resolved or closed) and no person —
  directly or through their API token — wrote anything on its timeline up to its
  resolution: no acknowledgement, note, status or field change, escalation, page. Creating
  it and answering "was this page actionable?" do not count. (`quiet_incidents`)
- A page **led to no human action** when its incident had no human action. Of the pages
  whose incident has ended (open ones are not decided yet); responder requests (a person
  asking for help) are not counted as pages here.
- An alert **resolved by itself** when its incident had no human action and the alert
  was resolved within `SHORT` (5 minutes) of its first sighting.
- **Alerts per incident**: over the period's incidents that hold at least one alert.
- An alert's **name** is its `alertname` label when it has one, else its summary.

Where it reads: the per-incident inputs (alert and page counts, "no human action") are
columns of the fact table (reports/facts.py keeps them), so alerts per incident and pages
without action are fact aggregates. The tables read the period's alerts through their
incident (`alerts_alert.incident_id`, the foreign key's index, between the period's
first and last incident ids: `id_range`), and test "no human action" per alert against
the partial index of the quiet facts (`fact_quiet`); answers through their incident or
page (the foreign keys' indexes).

A period's whole days that are summarised are read from the day summaries instead
(reports/summaries.py: the figures' sums and the alerts-per-incident histogram of each
day; reports/alert_days.py: the tables' rows of each day), the rest of it (a partial day
at either end, today) as above; the same figures (tests/reports/test_noise_summaries.py).
The tables' ranking then happens here, over the summed rows: ties in alerts by
integration id, or by service id and name in code-point order. The suggestions' bursts
and labels read the alerts of the top integrations as before.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import wraps
from typing import Any, TypedDict, TypeVar, cast

from django.db import connection, transaction
from django.db.models import (
    Count,
    Exists,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Window,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Lag
from django.urls import reverse

from tocsin.alerts.models import Alert
from tocsin.catalog.models import Grouping, Integration, Service
from tocsin.escalation.models import ClimbState, Page, PageFeedback
from tocsin.incidents.models import TimelineEntry
from tocsin.reports import alert_days, summaries
from tocsin.reports.alert_days import INTEGRATION, NAME, NAME_MAX, SHORT
from tocsin.reports.facts import human_actions
from tocsin.reports.metrics import Filters, RateStat, register_metric
from tocsin.reports.models import IncidentFact

__all__ = ["NAME_MAX", "SHORT"]  # (defined with the day summaries: reports/alert_days.py)
TOP_DEFAULT = 10
TOP_MAX = 50
# Suggestion thresholds (docs/alert-noise.md).
FLAP_MIN_ALERTS = 3
FLAP_SHARE = 0.8
NOT_ACTIONABLE_MIN = 2
UNGROUPED_MIN_INCIDENTS = 5
UNGROUPED_MAX_PER_INCIDENT = 1.5
UNGROUPED_MIN_BURSTS = 3  # incidents opened close to another one of the same integration
BURST = dt.timedelta(minutes=60)
# The grouping checks (bursts, labels) read the alerts themselves, which no day summary
# answers; they look at the period's last 30 days at most: a cost bounded like a month's
# report however long the period, and a suggestion that fits how the integration
# behaves now, not how it behaved before someone changed its grouping.
SUGGESTION_WINDOW = dt.timedelta(days=30)
QUIET_MIN_INCIDENTS = 5
QUIET_SHARE = 0.5
# Labels that often tell which alerts belong together (the grouping suggestion).
# (Fewest values wins; on a tie, the first here: a cluster says more than an alert's name.)
GROUP_LABEL_CANDIDATES = ("cluster", "namespace", "service", "job", "env", "team", "alertname")
GROUP_LABEL_COVERAGE = 0.8

T = TypeVar("T")


# --- the building blocks ---------------------------------------------------------------------


@contextmanager
def no_jit() -> Iterator[None]:
    """On PostgreSQL, no JIT compilation for these queries: their correlated tests make
    the planner's cost estimate large, and compiling them took seconds where running them
    took a few hundred milliseconds (measured on 100,000 incidents; docs/alert-noise.md)."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        yield


def _without_jit(fn: Callable[[Filters], T]) -> Callable[[Filters], T]:
    @wraps(fn)
    def run(filters: Filters) -> T:
        with no_jit():
            return fn(filters)

    return run


def incident_ids(filters: Filters) -> QuerySet[Any]:
    """The period's incidents (a subquery)."""
    return filters.facts().values("incident_id")


def ended_ids(filters: Filters) -> QuerySet[Any]:
    return filters.facts().filter(resolved=True).values("incident_id")


def human_entries() -> QuerySet[TimelineEntry]:
    """Timeline entries by a person on the outer incident up to its resolution (for
    `Exists`), other than creating it and answering about a page (facts.human_actions:
    the test the fact table's `no_human_action` was computed with)."""
    return human_actions(TimelineEntry.objects.filter(incident_id=OuterRef("incident_id")))


def quiet_incidents(filters: Filters) -> QuerySet[Any]:
    """The period's ended incidents that had no human action (a subquery of ids)."""
    return filters.facts().filter(no_human_action=True).values("incident_id")


def is_quiet() -> Exists:
    """For a row with an `incident_id` (an alert): its incident ended with no human action.
    A probe of the fact's key, so that a grouped count can filter on it (`incident_id IN
    (quiet_incidents)` inside an aggregate's FILTER is not hashed by PostgreSQL and was
    tested row by row against the whole period)."""
    return Exists(
        IncidentFact.objects.filter(incident_id=OuterRef("incident_id"), no_human_action=True)
    )


def id_range(filters: Filters) -> Q:
    """`incident_id` between the period's first and last incident ids: true of every row
    of the period's incidents already (so the results are the same), but it tells the
    planner how few rows of a table of alerts or pages that is. Without it, PostgreSQL
    read all of a million incidents' alerts to keep the month's (a hash join; measured in
    docs/benchmarks.md "Reports"); with it, the range of the incident-id index."""
    # (+ 0: not MIN()/MAX() of the key, which PostgreSQL answers by walking the primary
    # key from its end until a row is in the period — most of the table for a recent one)
    key = F("incident_id") + 0
    bounds = filters.facts().aggregate(lo=Min(key), hi=Max(key))
    if bounds["lo"] is None:
        return Q(incident_id__in=[])
    return Q(incident_id__gte=bounds["lo"], incident_id__lte=bounds["hi"])


def alerts_of(filters: Filters) -> QuerySet[Alert]:
    return Alert.objects.filter(id_range(filters), incident_id__in=incident_ids(filters))


def pages_of(filters: Filters) -> QuerySet[Page]:
    """The period's pages (not responder requests)."""
    return Page.objects.filter(id_range(filters), incident_id__in=incident_ids(filters)).exclude(
        escalation__state=ClimbState.RESPONDERS
    )


def alert_name() -> Any:
    """An alert's name: its `alertname` label, else its summary (cut to NAME_MAX)."""
    return alert_days.alert_name()


def _edges(filters: Filters, days: summaries.Plan | summaries.Days) -> list[Filters]:
    """The parts of the period that are not whole summarised days, as periods."""
    return [dataclasses.replace(filters, since=a, until=b) for a, b in days.edges]


# --- alerts per incident -----------------------------------------------------------------------


@dataclass(frozen=True)
class CountStat4:
    """count (incidents with at least one alert), mean, median and p90 (nearest rank, as
    the durations) of alerts per incident; JSON keys end in `_count` (not seconds)."""

    count: int
    mean_count: float | None
    median_count: float | None
    p90_count: float | None
    kind: str = field(default="distribution", repr=False)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("kind")
        return data


def alerts_per_incident(filters: Filters) -> CountStat4:
    """From the facts' `alert_count` (the alerts that joined each incident); over whole
    summarised days, from the days' histograms of it (exact: a bin is a count)."""
    p = summaries.plan(filters)
    if p is None:
        return _alerts_per_incident(filters)
    hist = summaries.histogram_total(p, "alerts")
    for edge in _edges(filters, p):
        counted = (
            edge.facts()
            .filter(alert_count__gt=0)
            .values("alert_count")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for r in counted:
            hist[r["alert_count"]] = hist.get(r["alert_count"], 0) + r["n"]
    n = sum(hist.values())
    if n == 0:
        return CountStat4(0, None, None, None)
    ranked = sorted(hist.items())

    def at(rank: int) -> float:
        seen = 0
        for alerts, incidents in ranked:
            seen += incidents
            if rank < seen:
                return float(alerts)
        raise ValueError(rank)

    middle = [at((n - 1) // 2)] + ([at(n // 2)] if n % 2 == 0 else [])
    total = sum(alerts * incidents for alerts, incidents in ranked)
    return CountStat4(n, total / n, sum(middle) / len(middle), at(math.ceil(0.9 * n) - 1))


def _alerts_per_incident(filters: Filters) -> CountStat4:
    with_alerts = filters.facts().filter(alert_count__gt=0)
    agg = with_alerts.aggregate(incidents=Count("pk"), alerts=Sum("alert_count"))
    n = int(agg["incidents"] or 0)
    if n == 0:
        return CountStat4(0, None, None, None)

    def at(offset: int, limit: int) -> list[float]:
        ranked = with_alerts.order_by("alert_count").values_list("alert_count", flat=True)
        return [float(v) for v in ranked[offset : offset + limit]]

    middle = at((n - 1) // 2, 1 if n % 2 else 2)
    p90 = at(math.ceil(0.9 * n) - 1, 1)[0]
    return CountStat4(n, int(agg["alerts"]) / n, sum(middle) / len(middle), p90)


# --- pages and answers --------------------------------------------------------------------------


def _summed(
    filters: Filters, read: Callable[[Filters], tuple[int, ...]], figures: tuple[str, ...]
) -> tuple[int, ...]:
    """A figure's counts over the period: `figures` (NOISE_SUMS) of the whole summarised
    days plus `read` (from the facts, answers, pages) of the rest; `read` of all of it
    when there are no such days (or no summary for these filters)."""
    p = summaries.plan(filters)
    if p is None:
        return read(filters)
    sums = summaries.noise_sums(p)
    out = [sums[name] for name in figures]
    for edge in _edges(filters, p):
        out = [a + b for a, b in zip(out, read(edge), strict=True)]
    return tuple(out)


def pages_without_action(filters: Filters) -> RateStat:
    """Pages whose incident had no human action, of the pages whose incident ended."""
    quiet, total = _summed(filters, _pages_without_action, ("pages_quiet", "pages_ended"))
    return RateStat.of(quiet, total)


def _pages_without_action(filters: Filters) -> tuple[int, int]:
    agg = filters.facts().aggregate(
        total=Sum("page_count", filter=Q(resolved=True)),
        quiet=Sum("page_count", filter=Q(no_human_action=True)),
    )
    return int(agg["quiet"] or 0), int(agg["total"] or 0)


def pages_actionable(filters: Filters) -> RateStat:
    """Answers "yes, actionable", of every answer (page and incident answers alike)."""
    split = feedback_split(filters)
    return RateStat.of(
        split.page_yes + split.incident_yes,
        split.page_yes + split.page_no + split.incident_yes + split.incident_no,
    )


def pages_answered(filters: Filters) -> RateStat:
    """Pages that got at least one answer, of the period's pages."""
    answered, total = _summed(filters, _pages_answered, ("pages_answered", "pages"))
    return RateStat.of(answered, total)


def _pages_answered(filters: Filters) -> tuple[int, int]:
    # from the answers (far fewer than the pages): the distinct pages answered that are
    # pages of the period (not responder requests); the pages, from the facts' page_count
    answered = (
        PageFeedback.objects.filter(page__isnull=False, page__incident_id__in=incident_ids(filters))
        .exclude(page__escalation__state=ClimbState.RESPONDERS)
        .values("page_id")
        .distinct()
        .count()
    )
    total = filters.facts().aggregate(n=Sum("page_count"))["n"]
    return answered, int(total or 0)


@dataclass(frozen=True)
class FeedbackSplit:
    page_yes: int
    page_no: int
    incident_yes: int
    incident_no: int


def feedback_split(filters: Filters) -> FeedbackSplit:
    return FeedbackSplit(
        *_summed(
            filters,
            _feedback_split,
            (
                "answers_page_yes",
                "answers_page_no",
                "answers_incident_yes",
                "answers_incident_no",
            ),
        )
    )


def _feedback_split(filters: Filters) -> tuple[int, int, int, int]:
    agg = PageFeedback.objects.filter(incident_id__in=incident_ids(filters)).aggregate(
        page_yes=Count("pk", filter=Q(page__isnull=False, actionable=True)),
        page_no=Count("pk", filter=Q(page__isnull=False, actionable=False)),
        incident_yes=Count("pk", filter=Q(page__isnull=True, actionable=True)),
        incident_no=Count("pk", filter=Q(page__isnull=True, actionable=False)),
    )
    return (
        int(agg["page_yes"] or 0),
        int(agg["page_no"] or 0),
        int(agg["incident_yes"] or 0),
        int(agg["incident_no"] or 0),
    )


# --- the noisiest --------------------------------------------------------------------------------


@dataclass
class NoisyRow:
    kind: str  # "integration" | "alert_name"
    name: str
    service_id: int | None
    service: str
    integration_id: int | None
    alerts: int
    incidents: int
    incidents_without_action: int
    resolved_by_itself: int  # alerts
    answered_yes: int = 0
    answered_no: int = 0
    grouping: str = ""

    @property
    def alerts_per_incident(self) -> float | None:
        return self.alerts / self.incidents if self.incidents else None

    @property
    def without_action_share(self) -> float | None:
        return self.incidents_without_action / self.incidents if self.incidents else None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("grouping")
        data["alerts_per_incident"] = self.alerts_per_incident
        return data


def _top(n: int) -> int:
    return max(1, min(int(n), TOP_MAX))


def _table_days(filters: Filters) -> summaries.Days | None:
    """The whole summarised days of the period, for the tables: their rows carry the
    incidents' service and team (the page's filters), not priority, category or source."""
    if filters.priority is not None or filters.category is not None or filters.source is not None:
        return None
    return summaries.whole_days(filters)


def _ranked(
    filters: Filters,
    kind: str,
    top: int,
    read: Callable[[Filters, int | None], list[tuple[Any, alert_days.Row]]],
) -> list[tuple[Any, alert_days.Row]]:
    """A table's top rows: from the alerts (`read`), or the whole summarised days' rows
    plus `read` of the rest of the period (every row of it), summed, then ranked by
    alerts, ties by key."""
    days = _table_days(filters)
    if days is None:
        return read(filters, _top(top))
    parts = [alert_days.table(kind, days, service=filters.service, team=filters.team)]
    parts += [dict(read(edge, None)) for edge in _edges(filters, days)]
    rows = alert_days.merged(parts)
    return sorted(rows.items(), key=lambda kv: (-kv[1].alerts, kv[0]))[: _top(top)]


def _integration_rows(filters: Filters, top: int | None) -> list[tuple[int, alert_days.Row]]:
    """(integration id, row) from the period's alerts, by alerts (the first `top`, or
    all), with the answers on their incidents."""
    grouped = (
        alerts_of(filters)
        .annotate(quiet=is_quiet())
        .values("integration_id")
        .annotate(**alert_days.counts(Q(quiet=True)))
        .order_by("-alerts", "integration_id")
    )
    rows = list(grouped[:top] if top is not None else grouped)
    ids = [r["integration_id"] for r in rows]
    answers = {
        r["incident__alerts__integration_id"]: r
        for r in PageFeedback.objects.filter(
            incident_id__in=incident_ids(filters), incident__alerts__integration_id__in=ids
        )
        .values("incident__alerts__integration_id")
        .annotate(**alert_days.answers())
        .order_by()
    }
    return [(r["integration_id"], _row(r, answers.get(r["integration_id"], {}))) for r in rows]


def _row(counted: dict[str, Any], said: dict[str, Any]) -> alert_days.Row:
    return alert_days.Row(
        alerts=counted["alerts"],
        incidents=counted["incidents"],
        quiet_incidents=counted["quiet_incidents"],
        short=counted["short"],
        answered_yes=said.get("yes", 0),
        answered_no=said.get("no", 0),
    )


def noisiest_integrations(filters: Filters, top: int = TOP_DEFAULT) -> list[NoisyRow]:
    rows = _ranked(filters, INTEGRATION, top, _integration_rows)
    ids = [integration_id for integration_id, _ in rows]
    integrations = {
        i.pk: i for i in Integration.objects.filter(pk__in=ids).select_related("service")
    }
    out = []
    for integration_id, r in rows:
        integration = integrations.get(integration_id)
        label = integration_label(integration) if integration else f"#{integration_id}"
        svc = integration.service if integration else None
        out.append(
            NoisyRow(
                kind="integration",
                name=label,
                service_id=svc.pk if svc else None,
                service=svc.name if svc else "",
                integration_id=integration_id,
                **_counted(r),
                grouping=svc.grouping if svc else "",
            )
        )
    return out


class _Counts(TypedDict):
    alerts: int
    incidents: int
    incidents_without_action: int
    resolved_by_itself: int
    answered_yes: int
    answered_no: int


def _counted(r: alert_days.Row) -> _Counts:
    """A ranked row's counts, as NoisyRow names them."""
    return {
        "alerts": r.alerts,
        "incidents": r.incidents,
        "incidents_without_action": r.quiet_incidents,
        "resolved_by_itself": r.short,
        "answered_yes": r.answered_yes,
        "answered_no": r.answered_no,
    }


def integration_label(integration: Integration) -> str:
    return integration.name or integration.get_kind_display()


def _name_rows(filters: Filters, top: int | None) -> list[tuple[tuple[int, str], alert_days.Row]]:
    """((alert service id, alert name), row) from the period's alerts, by alerts (the
    first `top`, or all), with the answers on their incidents."""
    grouped = (
        alerts_of(filters)
        .annotate(alert_name=alert_name(), quiet=is_quiet())
        .values("service_id", "alert_name")
        .annotate(**alert_days.counts(Q(quiet=True)))
        .order_by("-alerts", "service_id", "alert_name")
    )
    rows = list(grouped[:top] if top is not None else grouped)
    names = {r["alert_name"] for r in rows}
    answers: dict[tuple[int, str], dict[str, int]] = {}
    if rows:
        for r in (
            alerts_of(filters)
            .filter(incident__page_feedback__isnull=False)
            .annotate(alert_name=alert_name())
            .filter(alert_name__in=names)
            .values("service_id", "alert_name")
            .annotate(**alert_days.answers("incident__page_feedback"))
            .order_by()
        ):
            answers[(r["service_id"], r["alert_name"])] = r
    return [
        (
            (r["service_id"], r["alert_name"] or ""),
            _row(r, answers.get((r["service_id"], r["alert_name"]), {})),
        )
        for r in rows
    ]


def noisiest_names(filters: Filters, top: int = TOP_DEFAULT) -> list[NoisyRow]:
    rows = _ranked(filters, NAME, top, _name_rows)
    services = dict(
        Service.objects.filter(pk__in={key[0] for key, _ in rows}).values_list("pk", "name")
    )
    return [
        NoisyRow(
            kind="alert_name",
            name=name,
            service_id=service_id,
            service=services.get(service_id, ""),
            integration_id=None,
            **_counted(r),
        )
        for (service_id, name), r in rows
    ]


# --- suggestions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    kind: str  # silence | not_actionable | group | quiet
    title: str
    why: str
    action: str  # what to do, in words
    url: str  # where to do it ("" if nowhere)
    url_label: str
    service: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def burst_counts(filters: Filters, integration_ids: list[int]) -> dict[int, int]:
    """For each of these integrations, its incidents in the period whose alert came within
    BURST after the integration's previous alert, which belonged to another incident:
    incidents grouping would have merged. One query for them all: a window (LAG) over
    each integration's alerts of the period (`PARTITION BY` integration), in the order
    they fired — one pass over the period's alerts, one sort, no alert compared with
    every other. (One query an integration read the period's alerts once each: ~0.4 s
    an integration over a year at a million incidents.)"""
    if not integration_ids:
        return {}
    order = [F("first_seen_at").asc(), F("id").asc()]
    each = [F("integration_id")]
    bursts = (
        alerts_of(filters)
        .filter(integration_id__in=integration_ids)
        .annotate(
            prev_at=Window(Lag("first_seen_at"), partition_by=each, order_by=order),
            prev_incident=Window(Lag("incident_id"), partition_by=each, order_by=order),
        )
        .filter(prev_incident__isnull=False, first_seen_at__lte=F("prev_at") + BURST)
        .exclude(prev_incident=F("incident_id"))
        .values_list("integration_id", "incident_id")
    )
    # (distinct here: `.distinct()` on a query filtered on its window functions counted
    # other rows, 1,459 bursts where there are 1,419 on the bench data)
    counted = Counter(integration for integration, _ in set(bursts))
    return {integration: counted.get(integration, 0) for integration in integration_ids}


def group_labels(filters: Filters, integration_ids: list[int]) -> dict[int, str | None]:
    """For each of these integrations, a label that most of its alerts of the period
    carry with few values (at most half its incidents of the period): grouping by it
    would merge incidents. One aggregate query, grouped by integration."""
    if not integration_ids:
        return {}
    aggregates: dict[str, Any] = {"n": Count("id"), "of": Count("incident_id", distinct=True)}
    for i, label in enumerate(GROUP_LABEL_CANDIDATES):
        aggregates[f"has{i}"] = Count("id", filter=Q(labels__has_key=label))
        aggregates[f"values{i}"] = Count(KT(f"labels__{label}"), distinct=True)
    found = {
        r["integration_id"]: r
        for r in alerts_of(filters)
        .filter(integration_id__in=integration_ids)
        .values("integration_id")
        .annotate(**aggregates)
        .order_by()
    }
    out: dict[int, str | None] = {}
    for integration in integration_ids:
        agg = found.get(integration, {})
        n, of = int(agg.get("n") or 0), int(agg.get("of") or 0)
        best: tuple[int, str] | None = None
        for i, label in enumerate(GROUP_LABEL_CANDIDATES):
            has, values = int(agg.get(f"has{i}") or 0), int(agg.get(f"values{i}") or 0)
            fits = n and has >= GROUP_LABEL_COVERAGE * n and 0 < values <= of / 2
            if fits and (best is None or values < best[0]):
                best = (values, label)
        out[integration] = best[1] if best else None
    return out


def suggestion_filters(filters: Filters) -> Filters:
    """The part of the period the grouping checks read: its last SUGGESTION_WINDOW."""
    return dataclasses.replace(filters, since=max(filters.since, filters.until - SUGGESTION_WINDOW))


def _service_url(service_id: int | None, anchor: str) -> str:
    if service_id is None:
        return ""
    return reverse("service", kwargs={"service_id": service_id}) + anchor


def suggestions(
    filters: Filters, integrations: list[NoisyRow], names: list[NoisyRow]
) -> list[Suggestion]:
    """Grouping rules and silences for the worst offenders among the top rows."""
    out: list[Suggestion] = []
    silenced: set[int | None] = set()
    for row in names:
        if row.alerts >= FLAP_MIN_ALERTS and row.resolved_by_itself >= FLAP_SHARE * row.alerts:
            silenced.add(row.service_id)
            out.append(
                Suggestion(
                    kind="silence",
                    title=f"Silence “{row.name}” or raise its threshold",
                    why=(
                        f"It fired {row.alerts} times; {row.resolved_by_itself} of them "
                        f"resolved by themselves within {int(SHORT.total_seconds() // 60)} "
                        "minutes and nobody acted."
                    ),
                    action=(
                        f"Add a silence with alertname={row.name}"
                        if " " not in row.name
                        else "Add a silence matching its labels"
                    )
                    + ", or make the alert wait longer before firing (a “for” duration).",
                    url=_service_url(row.service_id, "#h-silences"),
                    url_label=f"Silences of {row.service}",
                    service=row.service,
                )
            )
        elif row.answered_no >= NOT_ACTIONABLE_MIN and row.answered_no > row.answered_yes:
            out.append(
                Suggestion(
                    kind="not_actionable",
                    title=f"Stop paging for “{row.name}”",
                    why=(
                        f"People answered “not actionable” {row.answered_no} times "
                        f"(“actionable” {row.answered_yes})."
                    ),
                    action=(
                        "Lower its severity so it opens a low-urgency incident, or silence it."
                    ),
                    url=_service_url(row.service_id, "#h-silences"),
                    url_label=f"Silences of {row.service}",
                    service=row.service,
                )
            )
    # the integrations that may want grouping: their bursts, then the labels of those
    # with enough of them (one query each for them all), over the period's last 30 days
    ungrouped = [
        row.integration_id
        for row in integrations
        if row.integration_id is not None
        and row.incidents >= UNGROUPED_MIN_INCIDENTS
        and (row.alerts_per_incident or 0) <= UNGROUPED_MAX_PER_INCIDENT
    ]
    recent = suggestion_filters(filters)
    of_them = (
        "of them"
        if recent.since == filters.since
        else f"of its incidents in the period's last {SUGGESTION_WINDOW.days} days"
    )
    burst = burst_counts(recent, ungrouped)
    labels = group_labels(recent, [i for i in ungrouped if burst.get(i, 0) >= UNGROUPED_MIN_BURSTS])
    for row in integrations:
        bursts = burst.get(row.integration_id, 0) if row.integration_id is not None else 0
        if bursts >= UNGROUPED_MIN_BURSTS and row.integration_id is not None:
            label = labels[row.integration_id]
            if label is not None or row.grouping != Grouping.LABELS:
                by = f"the label “{label}”" if label else "labels its alerts share"
                minutes = int(BURST.total_seconds() // 60)
                out.append(
                    Suggestion(
                        kind="group",
                        title=f"Group {row.name} alerts by {by}",
                        why=(
                            f"{row.incidents} incidents from {row.alerts} alerts; {bursts} "
                            f"{of_them} opened within {minutes} minutes of another one: one "
                            "page each where one would do."
                        ),
                        action=(
                            f"Set the service's grouping to labels, with {label}."
                            if label
                            else "Set the service's grouping to labels."
                        ),
                        url=_service_url(row.service_id, "#panel-settings"),
                        url_label=f"Alert settings of {row.service}",
                        service=row.service,
                    )
                )
                continue
        share = row.without_action_share or 0
        if row.service_id in silenced:  # already told: silence its flapping alert
            continue
        if row.incidents >= QUIET_MIN_INCIDENTS and share >= QUIET_SHARE:
            out.append(
                Suggestion(
                    kind="quiet",
                    title=f"Most {row.name} incidents needed nobody",
                    why=(
                        f"{row.incidents_without_action} of {row.incidents} incidents ended "
                        "without anyone acting on them."
                    ),
                    action=(
                        "Review which severities page (the service's severity map) and "
                        "let the alerts resolve without waking anyone."
                    ),
                    url=_service_url(row.service_id, "#panel-settings"),
                    url_label=f"Alert settings of {row.service}",
                    service=row.service,
                )
            )
    return out


# --- the whole report -----------------------------------------------------------------------------


@dataclass
class NoiseReport:
    filters: Filters
    alerts_per_incident: CountStat4
    pages_without_action: RateStat
    pages_actionable: RateStat
    pages_answered: RateStat
    feedback: FeedbackSplit
    integrations: list[NoisyRow]
    names: list[NoisyRow]
    suggestions: list[Suggestion]

    def as_json(self) -> dict[str, Any]:
        return {
            "period": {
                "since": self.filters.since.isoformat(),
                "until": self.filters.until.isoformat(),
            },
            "alerts_per_incident": self.alerts_per_incident.as_json(),
            "pages_without_action": self.pages_without_action.as_json(),
            "pages_actionable": self.pages_actionable.as_json(),
            "pages_answered": self.pages_answered.as_json(),
            "feedback": asdict(self.feedback),
            "integrations": [r.as_json() for r in self.integrations],
            "alert_names": [r.as_json() for r in self.names],
            "suggestions": [s.as_json() for s in self.suggestions],
        }


def noise_report(filters: Filters, top: int = TOP_DEFAULT) -> NoiseReport:
    with no_jit():
        return _noise_report(filters, top)


def _noise_report(filters: Filters, top: int) -> NoiseReport:
    integrations = noisiest_integrations(filters, top)
    names = noisiest_names(filters, top)
    return NoiseReport(
        filters=filters,
        alerts_per_incident=alerts_per_incident(filters),
        pages_without_action=pages_without_action(filters),
        pages_actionable=pages_actionable(filters),
        pages_answered=pages_answered(filters),
        feedback=feedback_split(filters),
        integrations=integrations,
        names=names,
        suggestions=suggestions(filters, integrations, names),
    )


# The metrics of GET /api/v1/metrics (docs/alert-noise.md). `alerts_per_incident` is a
# count distribution, not one of the core's three shapes: its JSON is
# {"count", "mean_count", "median_count", "p90_count"}.
register_metric("alerts_per_incident", cast(Any, _without_jit(alerts_per_incident)))
register_metric("pages_without_action", _without_jit(pages_without_action))
register_metric("pages_actionable", _without_jit(pages_actionable))
register_metric("pages_answered", _without_jit(pages_answered))
