"""REST API for on-call load (issue 13, reports/oncall_load.py has the definitions).

`GET /api/v1/reports/oncall-load?since=&until=&team=` answers `{"items": [...],
"count": N}`, one item per person the caller may see, beside `period`, `team`, `scope`
and `fairness`. `since` and `until` are dates (UTC midnight) or instants with a zone;
the default is the last 30 days. Access as on the page: reporters 404; managers and
administrators everyone; other staff their own row and the people of teams they manage;
a team they belong to gives their own row and the team's aggregate without names.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema

from tocsin.accounts.api_auth import user_from_request
from tocsin.accounts.models import Team
from tocsin.core.api import ERRORS
from tocsin.reports.oncall_load import oncall_load
from tocsin.reports.selectors import access_reports, parse_filters

router = Router(tags=["reports"])


class LoadQuery(Schema):
    since: str | None = None
    until: str | None = None
    team: str | None = None


@router.get("/reports/oncall-load", response={200: dict[str, Any], **ERRORS})
def oncall_load_api(request: HttpRequest, query: Query[LoadQuery]) -> dict[str, Any]:
    """Pages, out-of-hours and night pages, sleep interruptions and hours on call per
    person over the period, with the fairness figures (docs/oncall-load.md)."""
    viewer = user_from_request(request)
    access_reports(viewer)
    filters = parse_filters(since=query.since, until=query.until, team=query.team)
    team = Team.objects.get(pk=filters.team) if filters.team is not None else None
    report = oncall_load(viewer=viewer, since=filters.since, until=filters.until, team=team)
    return report.as_json()
