"""REST API for metrics (issue 13).

`GET /api/v1/metrics?since=&until=&service=&team=&priority=&category=&source=&metric=`
answers every metric by name (docs/metrics.md): a duration (`mttd`, `mtta`,
`mttr_mitigate`, `mttr_resolve`, `mtbf`) as `{"count", "mean_seconds", "median_seconds",
"p90_seconds"}`, a rate as `{"count", "total", "rate"}`, a count as `{"count"}`; beside
them `period` (`since`, `until`), `filters` and `as_of` (when the figures were last
brought up to date). `metric` (repeatable) answers only the named ones; the alert-noise
and on-call metrics (`alerts_per_incident`, `pages_without_action`, `pages_actionable`,
`pages_answered`, `pages_out_of_hours`) are answered only when named. Staff only; anyone
else gets 404.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema

from tocsin.accounts.api_auth import user_from_request
from tocsin.core.api import ERRORS
from tocsin.core.errors import Invalid
from tocsin.reports import facts
from tocsin.reports.metrics import compute, metric_names
from tocsin.reports.selectors import access_reports, parse_filters

router = Router(tags=["metrics"])


class MetricsQuery(Schema):
    since: str | None = None
    until: str | None = None
    service: str | None = None
    team: str | None = None
    priority: str | None = None
    category: str | None = None
    source: str | None = None
    metric: list[str] | None = None


@router.get("/metrics", response={200: dict[str, Any], **ERRORS})
def metrics(request: HttpRequest, query: Query[MetricsQuery]) -> dict[str, Any]:
    """Every metric over the period (default: the last 30 days), filtered."""
    access_reports(user_from_request(request))
    filters = parse_filters(
        since=query.since,
        until=query.until,
        service=query.service,
        team=query.team,
        priority=query.priority,
        category=query.category,
        source=query.source,
    )
    names = query.metric or None
    if names:
        known = metric_names()
        unknown = [name for name in names if name not in known]
        if unknown:
            raise Invalid("metric", f"unknown: {', '.join(unknown)}; known: {', '.join(known)}")
    out: dict[str, Any] = {
        "period": {"since": filters.since.isoformat(), "until": filters.until.isoformat()},
        "filters": {
            "service": filters.service,
            "team": filters.team,
            "priority": filters.priority,
            "category": filters.category,
            "source": filters.source,
        },
        "as_of": (lambda at: at.isoformat() if at else None)(facts.refreshed_to()),
    }
    for name, stat in compute(filters, names).items():
        out[name] = stat.as_json()
    return out
