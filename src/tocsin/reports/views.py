"""The reports pages (docs/reports.md): the overview dashboard, team pages, the list of
incidents behind a number, the charts as SVG images and the exports. Every one is a
GET that changes nothing; staff only (anyone else gets 404)."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from tocsin.accounts.models import Team
from tocsin.catalog.models import Category, Service
from tocsin.core.errors import Invalid, TocsinError
from tocsin.core.web import error_page, sentence
from tocsin.incidents.models import Status
from tocsin.reports import charts, facts
from tocsin.reports.dashboard import (
    INFO,
    PRIORITIES,
    human_duration,
    info_of,
    overview,
    response_series,
    sla_table,
    volume_series,
)
from tocsin.reports.drill import drill_facts, drill_label, drill_of, duration_column
from tocsin.reports.forms import FILTER_KEYS, ReportFilterForm, filters_or_error
from tocsin.reports.metrics import Filters, Stat
from tocsin.reports.selectors import access_reports
from tocsin.reports.teams import access_team_report, team_rows

PAGE_SIZE = 50
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
STATUS_LABELS = dict(Status.choices)


def _query(request: HttpRequest, team: Team | None = None, **extra: Any) -> str:
    """The filter bar's parameters as given (links carry them), plus `extra`."""
    params = [(k, v) for k in FILTER_KEYS for v in request.GET.getlist(k) if v != ""]
    if team is not None:
        params = [(k, v) for k, v in params if k != "team"] + [("team", str(team.pk))]
    params += [(k, str(v)) for k, v in extra.items() if v not in (None, "")]
    return urlencode(params)


def _gate(request: HttpRequest) -> None:
    access_reports(request.user)


def _filters(request: HttpRequest, team: Team | None = None) -> tuple[ReportFilterForm, Filters]:
    """The filters of a request or Invalid (for the exports and the lists)."""
    form = ReportFilterForm(request.GET, fixed_team=team)
    found, problem = filters_or_error(form)
    if found is None:
        raise Invalid("filters", problem)
    return form, found


# --- the dashboard ----------------------------------------------------------------------


def _dashboard(request: HttpRequest, team: Team | None) -> HttpResponse:
    form = ReportFilterForm(request.GET or None, fixed_team=team)
    if not request.GET:
        form = ReportFilterForm({"period": "30"}, fixed_team=team)
    filters, problem = filters_or_error(form)
    query = _query(request, team)
    context: dict[str, Any] = {
        "form": form,
        "team": team,
        "here": "teams" if team else "overview",
        "problem": problem,
        "query": query,
        "filtered": any(request.GET.get(k) for k in FILTER_KEYS if k != "period"),
        "as_of": facts.refreshed_to(),
    }
    if filters is None:
        return render(request, "reports/overview.html", context, status=400)
    volume = volume_series(filters)
    response = response_series(filters)
    context.update(
        filters=filters,
        overview=overview(filters),
        volume=volume,
        volume_rows=volume.rows(),
        response_rows=[
            (label, [human_duration(v) for v in values]) for _day, label, values in response.rows()
        ],
        response_names=[INFO[name].label for name in response.values],
        sla_rows=sla_table(filters),
        priorities=PRIORITIES,
        chart_src={
            name: reverse("reports-chart", args=[name]) + "?" + (f"{query}&" if query else "")
            for name in charts.CHART_NAMES
        },
    )
    return render(request, "reports/overview.html", context)


@login_required
@require_GET
def overview_page(request: HttpRequest) -> HttpResponse:
    try:
        _gate(request)
    except TocsinError as exc:
        return error_page(request, exc)
    return _dashboard(request, None)


@login_required
@require_GET
def team_list(request: HttpRequest) -> HttpResponse:
    try:
        _gate(request)
    except TocsinError as exc:
        return error_page(request, exc)
    form = ReportFilterForm(request.GET or {"period": "30"})
    del form.fields["team"]  # the list is of every team
    filters, problem = filters_or_error(form)
    rows = team_rows(request.user, filters) if filters is not None else []
    return render(
        request,
        "reports/teams.html",
        {
            "form": form,
            "here": "teams",
            "problem": problem,
            "rows": rows,
            "query": _query(request),
            "filtered": any(request.GET.get(k) for k in FILTER_KEYS if k != "period"),
        },
        status=200 if filters is not None else 400,
    )


@login_required
@require_GET
def team_page(request: HttpRequest, team_id: int) -> HttpResponse:
    try:
        team = access_team_report(request.user, team_id)
    except TocsinError as exc:
        return error_page(request, exc)
    return _dashboard(request, team)


# --- the incidents behind a number ------------------------------------------------------


@login_required
@require_GET
def drill_page(request: HttpRequest) -> HttpResponse:
    try:
        _gate(request)
    except TocsinError as exc:
        return error_page(request, exc)
    metric = request.GET.get("metric", "")
    part = request.GET.get("part", "") or "count"
    form = ReportFilterForm(request.GET or None)
    context: dict[str, Any] = {"form": form, "here": "overview", "metric": metric, "part": part}
    try:
        drill_of(metric, part)
        _form, filters = _filters(request)
    except Invalid as exc:
        context["problem"] = sentence(exc.detail if exc.field == "filters" else exc.message)
        return render(request, "reports/drill.html", context, status=422)
    qs = drill_facts(metric, filters, part)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    column = duration_column(metric)
    rows = [
        {
            "fact": fact,
            "incident": fact.incident,
            "value": human_duration(getattr(fact, column)) if column else "",
            "status": STATUS_LABELS.get(fact.incident.status, fact.incident.status),
        }
        for fact in page.object_list
    ]
    query = _query(request, metric=metric, part=part)
    context.update(
        narrowed=_narrowed(filters),
        filters=filters,
        info=info_of(metric),
        label=drill_label(metric, part),
        page=page,
        rows=rows,
        column=column,
        query=query,
        back_query=_query(request),
        csv_url=reverse("reports-drill-csv") + "?" + query,
    )
    return render(request, "reports/drill.html", context)


def _narrowed(filters: Filters) -> list[str]:
    """The filters other than the period, in words ("P1", "service Checkout")."""
    words = []
    if filters.priority is not None:
        words.append(f"P{filters.priority}")
    for name, model in (("service", Service), ("team", Team), ("category", Category)):
        pk = getattr(filters, name)
        if pk is not None:
            found = model.objects.filter(pk=pk).values_list("name", flat=True).first()
            words.append(f"{name} {found}")
    if filters.source:
        words.append(f"source {filters.source}")
    return words


def _csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _csv_response(rows: list[list[Any]], filename: str) -> HttpResponse:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _bad(exc: TocsinError) -> HttpResponse:
    detail = exc.detail if isinstance(exc, Invalid) and exc.field == "filters" else exc.message
    return HttpResponse(
        sentence(detail) + "\n", status=exc.status, content_type="text/plain; charset=utf-8"
    )


@login_required
@require_GET
def drill_csv(request: HttpRequest) -> HttpResponse:
    try:
        _gate(request)
    except TocsinError as exc:
        return error_page(request, exc)
    metric = request.GET.get("metric", "")
    part = request.GET.get("part", "") or "count"
    try:
        drill_of(metric, part)
        _form, filters = _filters(request)
    except Invalid as exc:
        return _bad(exc)
    column = duration_column(metric)
    header = ["number", "title", "priority", "status", "service", "team", "source", "reported_at"]
    if column:
        header.append(f"{column.removesuffix('_s')}_seconds")
    rows: list[list[Any]] = [header]
    # the columns only, as tuples: whole incident, service and team objects for each of a
    # month's ~27,000 rows cost 3.5 s of CPU at 1M incidents (docs/benchmarks.md)
    fields = [
        "incident__number",
        "incident__title",
        "priority",
        "incident__status",
        "service__name",
        "team__name",
        "source",
        "reported_at",
    ]
    if column:
        fields.append(column)
    for values in drill_facts(metric, filters, part).values_list(*fields).iterator(chunk_size=2000):
        number, title, priority, status, service, team, source, reported, *rest = values
        rows.append(
            [
                f"INC-{number}",
                title,
                f"P{priority}",
                status,
                service or "",
                team or "",
                source,
                reported.isoformat(),
                *rest,
            ]
        )
    return _csv_response(rows, f"incidents-{metric}-{part}.csv")


# --- exports ----------------------------------------------------------------------------


def _stat_columns(stat: Stat) -> dict[str, Any]:
    data = stat.as_json()
    return {
        "kind": getattr(stat, "kind", "count"),
        "count": data.get("count"),
        "total": data.get("total"),
        "rate": data.get("rate"),
        "mean_seconds": data.get("mean_seconds"),
        "median_seconds": data.get("median_seconds"),
        "p90_seconds": data.get("p90_seconds"),
    }


EXPORT_COLUMNS = (
    "period",
    "since",
    "until",
    "metric",
    "label",
    "kind",
    "count",
    "total",
    "rate",
    "mean_seconds",
    "median_seconds",
    "p90_seconds",
)


@login_required
@require_GET
def export_csv(request: HttpRequest) -> HttpResponse:
    """Every figure of the overview, this period's and the previous one's, one a row."""
    try:
        _gate(request)
        _form, filters = _filters(request)
    except Invalid as exc:
        return _bad(exc)
    except TocsinError as exc:
        return error_page(request, exc)
    data = overview(filters)
    rows: list[list[Any]] = [list(EXPORT_COLUMNS)]
    for which, period, stats in (
        ("current", data.filters, data.stats),
        ("previous", data.previous, data.previous_stats),
    ):
        for name, stat in stats.items():
            cols = _stat_columns(stat)
            rows.append(
                [
                    which,
                    period.since.isoformat(),
                    period.until.isoformat(),
                    name,
                    info_of(name).label,
                    *(cols[c] for c in EXPORT_COLUMNS[5:]),
                ]
            )
    return _csv_response(rows, "reports-overview.csv")


def _period_json(filters: Filters) -> dict[str, Any]:
    return {"since": filters.since.isoformat(), "until": filters.until.isoformat()}


@login_required
@require_GET
def export_json(request: HttpRequest) -> HttpResponse:
    """The overview as JSON: the metrics in the API's shapes for this period and the
    previous one, and the series behind the charts."""
    try:
        _gate(request)
        _form, filters = _filters(request)
    except Invalid as exc:
        return JsonResponse({"detail": sentence(exc.detail)}, status=exc.status)
    except TocsinError as exc:
        return error_page(request, exc)
    data = overview(filters)
    volume = volume_series(filters)
    response = response_series(filters)
    as_of = facts.refreshed_to()
    body = {
        "period": _period_json(filters),
        "previous_period": _period_json(data.previous),
        "filters": {
            "service": filters.service,
            "team": filters.team,
            "priority": filters.priority,
            "category": filters.category,
            "source": filters.source,
        },
        "as_of": as_of.isoformat() if as_of else None,
        "metrics": {name: stat.as_json() for name, stat in data.stats.items()},
        "previous": {name: stat.as_json() for name, stat in data.previous_stats.items()},
        "bucket": volume.kind,
        "volume_by_priority": [
            {
                "bucket": day.isoformat(),
                **{f"P{p}": int(volume.values[p][i] or 0) for p in PRIORITIES},
            }
            for i, day in enumerate(volume.buckets)
        ],
        "median_seconds_by_bucket": [
            {
                "bucket": day.isoformat(),
                **{name: values[i] for name, values in response.values.items()},
            }
            for i, day in enumerate(response.buckets)
        ],
        "sla_by_priority": [
            {
                "priority": row["priority"],
                "response": row["response"].as_json(),
                "resolution": row["resolution"].as_json(),
            }
            for row in sla_table(filters)
        ],
    }
    return JsonResponse(body)


# --- charts -----------------------------------------------------------------------------

SVG_POLICY = {
    "default-src": ["'none'"],
    "style-src": ["'unsafe-inline'"],
    "script-src": ["'none'"],
    "img-src": ["'none'"],
}


@login_required
@require_GET
def chart_svg(request: HttpRequest, name: str) -> HttpResponse:
    """One chart as an SVG image (theme=light|dark, size=wide|narrow)."""
    try:
        _gate(request)
    except TocsinError as exc:
        return error_page(request, exc)
    if name not in charts.CHART_NAMES:
        raise Http404("no such chart")
    theme: charts.Theme = "dark" if request.GET.get("theme") == "dark" else "light"
    size: charts.Size = "narrow" if request.GET.get("size") == "narrow" else "wide"
    try:
        _form, filters = _filters(request)
    except Invalid as exc:
        return _bad(exc)
    if name == "volume":
        svg = charts.volume_chart(volume_series(filters), theme, size)
    elif name == "ack":
        svg = charts.response_chart(response_series(filters), theme, size, ["mtta"])
    elif name == "recovery":
        svg = charts.response_chart(
            response_series(filters), theme, size, ["mttr_mitigate", "mttr_resolve"]
        )
    else:
        svg = charts.sla_chart(filters, theme, size)
    response = HttpResponse(svg, content_type="image/svg+xml")
    response["Cache-Control"] = "private, max-age=60"
    # the SVG's own policy (django-csp reads it from the response): its inline <style>
    # only, no script, nothing loaded
    setattr(response, "_csp_replace", SVG_POLICY)  # noqa: B010
    return response
