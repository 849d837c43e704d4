"""Alert-noise day summaries: the noise page's two tables (noisiest integrations,
noisiest alert names; reports/noise.py) summed per UTC day, so that a year's tables are
read from the rows of its days instead of every alert (reports/models.py
`AlertDaySummary`; docs/metrics.md, "Alert-noise day summaries").

A row sums, for the alerts of the incidents reported on one UTC day that share an
incident service, an incident team and an integration (`kind` "integration") or an alert
service and an alert name (`kind` "name"): the alerts, the incidents (distinct), those of
them that ended with no human action, the alerts that resolved by themselves, and the
answers given on those incidents. The day, service and team are the incident's fact's
(the filters select incidents by them), so an incident is in exactly one row of each
integration and name it has alerts of: a period's figures, or a service's, are sums.

Kept with the day summaries (reports/summaries.py `rebuild_days`: the same days, in the
same transaction, so only days that are over, and edits to older days follow their
facts); read by reports/noise.py for whole summarised days, the partial days at a
period's ends (today) from the alerts as before.

The definitions the tables and these rows share live here (`SHORT`, `alert_name()`,
`resolved_by_itself()`), the bottom of the reports' modules (summaries imports this).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Count, F, Max, Min, Q, QuerySet, Sum, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, NullIf, Substr

from tocsin.alerts.models import Alert
from tocsin.escalation.models import PageFeedback
from tocsin.reports.models import AlertDaySummary, IncidentFact

if TYPE_CHECKING:
    from tocsin.reports.summaries import Days

# An alert resolved within SHORT of its first sighting, on an incident with no human
# action, "resolved by itself" (docs/alert-noise.md).
SHORT = dt.timedelta(minutes=5)
NAME_MAX = 200  # an alert name's characters (AlertDaySummary.name)
INTEGRATION = "integration"
NAME = "name"
FIGURES = ("alerts", "incidents", "quiet_incidents", "short", "answered_yes", "answered_no")


def alert_name(alert: str = "") -> Any:
    """An alert's name: its `alertname` label, else its summary (cut to NAME_MAX); `alert`:
    the path to the alert from the query's model ("" on alerts, "incident__alerts__")."""
    return Coalesce(
        NullIf(Substr(KeyTextTransform("alertname", f"{alert}labels"), 1, NAME_MAX), Value("")),
        Substr(f"{alert}summary", 1, NAME_MAX),
    )


def resolved_by_itself(quiet: Q) -> Q:
    """On alerts: `quiet` (their incident had no human action) and resolved within SHORT."""
    return quiet & Q(resolved_at__isnull=False) & Q(resolved_at__lte=F("first_seen_at") + SHORT)


def counts(quiet: Q) -> dict[str, Any]:
    """The grouped figures of a table's row over alerts; `quiet`: their incident ended
    with no human action (a fact column through the join, or an `Exists` annotation)."""
    return {
        "alerts": Count("id"),
        "incidents": Count("incident_id", distinct=True),
        "quiet_incidents": Count("incident_id", distinct=True, filter=quiet),
        "short": Count("id", filter=resolved_by_itself(quiet)),
    }


def answers(feedback: str | None = None) -> dict[str, Any]:
    """The "actionable" (yes) and "not actionable" (no) answers of a group, distinct (the
    joins repeat them); `feedback`: the path to the answers (None: on answers)."""
    counted = feedback or "pk"
    actionable = f"{feedback}__actionable" if feedback else "actionable"
    return {
        "yes": Count(counted, distinct=True, filter=Q(**{actionable: True})),
        "no": Count(counted, distinct=True, filter=Q(**{actionable: False})),
    }


# --- keeping them ---------------------------------------------------------------------------

_FACT = "incident__fact__"
_HEAD = {
    "d": F(f"{_FACT}reported_day"),
    "s": F(f"{_FACT}service_id"),
    "t": F(f"{_FACT}team_id"),
}


def compute(where: Q, facts: QuerySet[IncidentFact]) -> list[AlertDaySummary]:
    """The rows of the incidents whose fact matches `where` (a filter on
    `incident__fact__…`: whole days; `facts`: the same days' facts): four grouped queries,
    two over the alerts, two over the answers."""
    quiet = Q(**{f"{_FACT}no_human_action": True})
    # the alerts between the days' first and last incident ids (true of all of theirs):
    # SQLite otherwise read every alert to find a day's (1.4 s at a million incidents).
    # (+ 0: not MIN()/MAX() of the key, as noise.id_range)
    ids = F("incident_id") + 0
    bounds = facts.aggregate(lo=Min(ids), hi=Max(ids))
    if bounds["lo"] is None:
        return []
    alerts = Alert.objects.filter(
        where, incident_id__gte=bounds["lo"], incident_id__lte=bounds["hi"]
    )
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in alerts.values(**_HEAD, i=F("integration_id")).annotate(**counts(quiet)).order_by():
        rows[(r["d"], r["s"], r["t"], INTEGRATION, r["i"], None, "")] = r
    named = alerts.annotate(alert_name=alert_name())
    for r in (
        named.values(**_HEAD, a=F("service_id"), n=F("alert_name"))
        .annotate(**counts(quiet))
        .order_by()
    ):
        rows[(r["d"], r["s"], r["t"], NAME, None, r["a"], r["n"] or "")] = r
    said = (
        PageFeedback.objects.filter(where)
        .values(**_HEAD, i=F("incident__alerts__integration_id"))
        .annotate(**answers())
        .order_by()
    )
    for r in said:
        key = (r["d"], r["s"], r["t"], INTEGRATION, r["i"], None, "")
        if r["i"] is not None and key in rows:
            rows[key].update(answered_yes=r["yes"], answered_no=r["no"])
    said_of_names = (
        named.filter(incident__page_feedback__isnull=False)
        .values(**_HEAD, a=F("service_id"), n=F("alert_name"))
        .annotate(**answers("incident__page_feedback"))
        .order_by()
    )
    for r in said_of_names:
        key = (r["d"], r["s"], r["t"], NAME, None, r["a"], r["n"] or "")
        if key in rows:
            rows[key].update(answered_yes=r["yes"], answered_no=r["no"])
    return [
        AlertDaySummary(
            day=day,
            kind=kind,
            service_id=service,
            team_id=team,
            integration_id=integration,
            alert_service_id=alert_service,
            name=name,
            **{figure: r.get(figure, 0) for figure in FIGURES},
        )
        for (day, service, team, kind, integration, alert_service, name), r in rows.items()
    ]


def rebuild(where: Q, days: Q, facts: QuerySet[IncidentFact]) -> int:
    """Recompute the rows of these days (`days`: a filter on `day`; `where`: the same
    days as a filter on `incident__fact__`; `facts`: their facts); returns how many rows.
    Inside the caller's transaction (summaries.rebuild_days)."""
    for kind in (INTEGRATION, NAME):  # (by kind: the index leads with it)
        AlertDaySummary.objects.filter(days, kind=kind).delete()
    rows = compute(where, facts)
    AlertDaySummary.objects.bulk_create(rows, batch_size=500)
    return len(rows)


# --- reading them ---------------------------------------------------------------------------


@dataclass
class Row:
    """A table's row: its key's figures summed."""

    alerts: int = 0
    incidents: int = 0
    quiet_incidents: int = 0
    short: int = 0
    answered_yes: int = 0
    answered_no: int = 0

    def add(self, other: dict[str, Any] | Row) -> None:
        for figure in FIGURES:
            value = other[figure] if isinstance(other, dict) else getattr(other, figure)
            setattr(self, figure, getattr(self, figure) + int(value or 0))


def table(
    kind: str, days: Days, *, service: int | None = None, team: int | None = None
) -> dict[Any, Row]:
    """The whole days' rows of one table summed by its key (integration id, or (alert
    service id, name)), for the incidents of one service and/or team if given."""
    rows = AlertDaySummary.objects.filter(kind=kind, day__gte=days.first_day, day__lt=days.end_day)
    if service is not None:
        rows = rows.filter(service_id=service)
    if team is not None:
        rows = rows.filter(team_id=team)
    key = ["integration_id"] if kind == INTEGRATION else ["alert_service_id", "name"]
    out: dict[Any, Row] = {}
    for r in rows.values(*key).annotate(**{f: Sum(f) for f in FIGURES}).order_by():
        row = Row()
        row.add(r)
        out[r["integration_id"] if kind == INTEGRATION else (r["alert_service_id"], r["name"])] = (
            row
        )
    return out


def merged(parts: Iterable[dict[Any, Row]]) -> dict[Any, Row]:
    """Tables of parts of a period (whole days, partial days) as one."""
    out: dict[Any, Row] = {}
    for part in parts:
        for key, row in part.items():
            out.setdefault(key, Row()).add(row)
    return out
