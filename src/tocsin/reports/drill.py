"""Drill-down: which incidents are behind a number on the dashboards.

Each metric that counts incidents names, as a Q over `IncidentFact`, the incidents in
its count ("those that did": escalated, SLA met, duration known), in its total ("those
that could") and, where the dashboards show it, the rest (total − count: the breached
ones, those not resolved at first contact). `drill_facts()` adds the dashboard's filters
(`Filters.q()`), so a list has exactly as many rows as the number it came from
(docs/metrics.md defines the numbers; docs/reports.md the lists).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Q, QuerySet

from tocsin.core.clock import now
from tocsin.core.errors import Invalid
from tocsin.learning.models import ActionItem, ActionItemStatus, Postmortem, ProblemIncident
from tocsin.reports.metrics import DURATION_METRICS, Filters
from tocsin.reports.models import IncidentFact

PARTS = ("count", "total", "rest")
MONITORING = Q(source="monitoring")


@dataclass(frozen=True)
class Drill:
    """The incidents behind one metric: `count` and `total` build a Q (given the filters,
    for the few that look outside the fact table); `rest` is total − count when the
    dashboards offer it, named by `rest_label` ("breached")."""

    count: Callable[[Filters], Q]
    total: Callable[[Filters], Q]
    count_label: str
    total_label: str
    rest_label: str = ""
    order: str = "-reported_at"

    def q(self, part: str, filters: Filters) -> Q:
        if part == "count":
            return self.count(filters)
        if part == "total":
            return self.total(filters)
        return self.total(filters) & ~self.count(filters)


def _fixed(q: Q) -> Callable[[Filters], Q]:
    return lambda _filters: q


def _everything(_filters: Filters) -> Q:
    return Q()


def _with_postmortem(filters: Filters) -> Q:
    return Q(incident_id__in=Postmortem.objects.values("incident_id"))


def _with_complete_postmortem(filters: Filters) -> Q:
    done = Postmortem.objects.filter(completed_at__isnull=False)
    return Q(incident_id__in=done.values("incident_id"))


def _open_items() -> QuerySet[ActionItem]:
    return ActionItem.objects.filter(
        status__in=[ActionItemStatus.OPEN, ActionItemStatus.IN_PROGRESS]
    )


def _items_incidents(items: QuerySet[ActionItem]) -> Q:
    direct = items.filter(incident_id__isnull=False).values("incident_id")
    through = items.filter(postmortem__isnull=False).values("postmortem__incident_id")
    return Q(incident_id__in=direct) | Q(incident_id__in=through)


def _with_open_items(filters: Filters) -> Q:
    return _items_incidents(_open_items())


def _with_overdue_items(filters: Filters) -> Q:
    return _items_incidents(_open_items().filter(due_at__lt=now()))


def _known_error_reused(filters: Filters) -> Q:
    linked = ProblemIncident.objects.filter(
        problem__known_error_at__isnull=False, problem__known_error_at__lte=F("linked_at")
    )
    return Q(incident_id__in=linked.values("incident_id"))


def _duration(column: str) -> Drill:
    return Drill(
        count=_fixed(Q(**{f"{column}__isnull": False})),
        total=_fixed(Q(**{f"{column}__isnull": False})),
        count_label="with the time known",
        total_label="with the time known",
        order=f"-{column}",
    )


def _share(count: Q, total: Q, did: str, could: str, rest: str = "") -> Drill:
    return Drill(
        count=_fixed(count),
        total=_fixed(total),
        count_label=did,
        total_label=could,
        rest_label=rest,
    )


DRILLS: dict[str, Drill] = {
    **{name: _duration(column) for name, column in DURATION_METRICS.items()},
    "volume": _share(Q(), Q(), "reported", "reported"),
    "open": _share(Q(is_open=True), Q(), "still open", "reported"),
    "escalation_functional": _share(
        Q(escalated_functional=True), Q(), "escalated to another team", "reported"
    ),
    "escalation_hierarchical": _share(
        Q(escalated_hierarchical=True), Q(), "escalated to management", "reported"
    ),
    "first_contact_resolution": _share(
        Q(first_contact=True) & ~MONITORING,
        Q(resolved=True) & ~MONITORING,
        "resolved at first contact",
        "reported by people and resolved",
        "not at first contact",
    ),
    "solved_by_article": _share(
        Q(solved_by_article=True, resolved=True),
        Q(resolved=True),
        "solved with a help article",
        "resolved",
    ),
    "detected_by_monitoring": _share(MONITORING, Q(), "detected by monitoring", "reported"),
    "detected_by_people": _share(~MONITORING, Q(), "reported by people", "reported"),
    "sla_response": _share(
        Q(response_sla=True),
        Q(response_sla__isnull=False),
        "response target met",
        "response target met or breached",
        "breached",
    ),
    "sla_resolution": _share(
        Q(resolution_sla=True),
        Q(resolution_sla__isnull=False),
        "resolution target met",
        "resolution target met or breached",
        "breached",
    ),
    "reopen_rate": _share(
        Q(reopen_count__gt=0),
        Q(resolved=True) | Q(reopen_count__gt=0),
        "reopened",
        "resolved at least once",
    ),
    "major_rate": _share(Q(major=True), Q(), "declared major", "reported"),
    "postmortem_completion": Drill(
        count=_with_complete_postmortem,
        total=_with_postmortem,
        count_label="with a complete postmortem",
        total_label="with a postmortem",
        rest_label="not complete",
    ),
    "action_items_overdue": Drill(
        count=_with_overdue_items,
        total=_with_open_items,
        count_label="with an overdue action item",
        total_label="with an open action item",
    ),
    "known_errors_reused": Drill(
        count=_known_error_reused,
        total=_everything,
        count_label="linked to a known error",
        total_label="reported",
    ),
}


def register_drill(name: str, drill: Drill) -> None:
    """For metrics other modules add (`metrics.register_metric`) whose figure counts
    incidents: the dashboards then link its numbers to the list."""
    if name in DRILLS:
        raise ValueError(f"drill-down {name} is already defined")
    DRILLS[name] = drill


def drill_of(metric: str, part: str = "count") -> Drill:
    """The drill-down of a metric, or Invalid naming what is wrong."""
    if metric not in DRILLS:
        raise Invalid(
            "metric",
            f"no incident list for {metric or 'an empty name'}; known: {', '.join(DRILLS)}",
        )
    if part not in PARTS:
        raise Invalid("part", f"must be one of {', '.join(PARTS)}")
    drill = DRILLS[metric]
    if part == "rest" and not drill.rest_label:
        raise Invalid("part", f"{metric} has no list of the rest")
    return drill


def drill_facts(metric: str, filters: Filters, part: str = "count") -> QuerySet[IncidentFact]:
    """The facts of the incidents behind a number: the filters, then the metric's part
    (slowest first for a duration; newest first otherwise)."""
    drill = drill_of(metric, part)
    qs: QuerySet[IncidentFact] = IncidentFact.objects.filter(filters.q() & drill.q(part, filters))
    return qs.select_related("incident", "service", "team").order_by(drill.order, "-incident_id")


def drill_label(metric: str, part: str) -> str:
    drill = drill_of(metric, part)
    if part == "count":
        return drill.count_label
    if part == "total":
        return drill.total_label
    return drill.rest_label


def duration_column(metric: str) -> str | None:
    return DURATION_METRICS.get(metric)


def drill_value(fact: IncidentFact, metric: str) -> Any:
    column = duration_column(metric)
    return getattr(fact, column) if column else None
