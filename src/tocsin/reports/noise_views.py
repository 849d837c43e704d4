"""`/reports/noise/`: alert noise (reports/noise.py computes, docs/alert-noise.md defines).

Filters as the other reports (period, service, team; `parse_filters`); `?format=csv`
downloads the two tables as one CSV file, `?format=json` the whole report as JSON. Staff
only; anyone else gets 404.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from tocsin.accounts.models import Team
from tocsin.catalog.models import Service
from tocsin.core.clock import now
from tocsin.core.errors import Invalid, NotFound
from tocsin.core.web import error_page, sentence
from tocsin.reports import facts, noise
from tocsin.reports.metrics import DEFAULT_DAYS
from tocsin.reports.selectors import access_reports, parse_filters

FIELDS = ("since", "to", "service", "team")
LABELS = {"since": "From", "to": "To", "until": "To", "service": "Service", "team": "Team"}


def _until_from(to: str) -> str:
    """The form's "To" is a day, included; parse_filters' `until` is excluded."""
    text = to.strip()
    if len(text) == 10:
        try:
            return (dt.date.fromisoformat(text) + dt.timedelta(days=1)).isoformat()
        except ValueError:
            pass
    return text  # parse_filters names what is wrong with it


def _defaults() -> dict[str, str]:
    today = now().astimezone(dt.UTC).date()
    return {
        "since": (today - dt.timedelta(days=DEFAULT_DAYS - 1)).isoformat(),
        "to": today.isoformat(),
        "service": "",
        "team": "",
    }


def _csv(report: noise.NoiseReport) -> HttpResponse:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "table",
            "name",
            "service",
            "alerts",
            "incidents",
            "alerts_per_incident",
            "incidents_without_action",
            "resolved_by_itself",
            "answered_actionable",
            "answered_not_actionable",
        ]
    )
    for row in [*report.integrations, *report.names]:
        per = row.alerts_per_incident
        writer.writerow(
            [
                row.kind,
                _cell(row.name),
                _cell(row.service),
                row.alerts,
                row.incidents,
                f"{per:.2f}" if per is not None else "",
                row.incidents_without_action,
                row.resolved_by_itself,
                row.answered_yes,
                row.answered_no,
            ]
        )
    since = report.filters.since.date().isoformat()
    until = report.filters.until.date().isoformat()
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="alert-noise-{since}-{until}.csv"'
    return response


def _cell(text: str) -> str:
    """No formula injection when the file is opened in a spreadsheet."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@login_required
@require_GET
def noise_page(request: HttpRequest) -> HttpResponse:
    try:
        access_reports(request.user)
    except NotFound as exc:
        return error_page(request, exc)
    values = _defaults()
    for name in FIELDS:
        if name in request.GET:
            values[name] = request.GET.get(name, "")[:100]
    error = ""
    report = None
    wanted = request.GET.get("format", "")
    if wanted not in ("", "csv", "json"):
        return error_page(request, Invalid("format", "must be csv or json (or nothing: the page)"))
    try:
        filters = parse_filters(
            since=values["since"],
            until=_until_from(values["to"]) if values["to"] else None,
            service=values["service"],
            team=values["team"],
        )
    except Invalid as exc:
        error = sentence(exc.detail, LABELS.get(exc.field, exc.field.capitalize()))
    else:
        report = noise.noise_report(filters)
        if wanted == "csv":
            return _csv(report)
        if wanted == "json":
            return JsonResponse(report.as_json(), json_dumps_params={"ensure_ascii": False})
    csv_url = "?" + urlencode({**{k: values[k] for k in FIELDS}, "format": "csv"})
    context: dict[str, Any] = {
        "values": values,
        "error": error,
        "report": report,
        "services": Service.objects.order_by("name").values_list("pk", "name"),
        "teams": Team.objects.order_by("name").values_list("pk", "name"),
        "csv_url": csv_url,
        "as_of": facts.refreshed_to(),
        "short_minutes": int(noise.SHORT.total_seconds() // 60),
    }
    return render(request, "reports/noise.html", context, status=422 if error else 200)
