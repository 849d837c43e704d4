"""`/reports/oncall/`: on-call load per person, the fairness view and the CSV for on-call
pay (`/reports/oncall.csv`). reports/oncall_load.py has the definitions and the access
rules; the dates are days in the viewer's time zone, the last one included."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from tocsin.accounts.models import Team, User
from tocsin.core.clock import now
from tocsin.core.errors import Invalid, NotFound
from tocsin.core.web import apply_error, error_page
from tocsin.oncall import rules
from tocsin.reports import oncall_load
from tocsin.reports.selectors import access_reports

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DEFAULT_DAYS = 30
TABS = "reports/_tabs.html"


class LoadForm(forms.Form):
    since = forms.DateField(label="From", widget=DATE_INPUT)
    until = forms.DateField(label="To (inclusive)", widget=DATE_INPUT)
    team = forms.ModelChoiceField(
        label="Team", queryset=Team.objects.none(), required=False, empty_label="All I may see"
    )

    def __init__(self, *args: Any, viewer: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ids = [t.pk for t in oncall_load.visible_teams(viewer)]
        self.fields["team"].queryset = Team.objects.filter(pk__in=ids).order_by("name")  # type: ignore[attr-defined]
        if oncall_load.may_see_everyone(viewer):
            self.fields["team"].empty_label = "Everyone"  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("since", "until"):
            day = data.get(name)
            if day is not None and not 1900 <= day.year <= 2999:
                self.add_error(name, "Must lie between the years 1900 and 2999.")
        if data.get("since") and data.get("until") and data["until"] < data["since"]:
            self.add_error("until", "Must not be before the start date.")
        return data


def _tabs() -> str:
    """The reports' tab bar, when the dashboards have brought it (reports/_tabs.html)."""
    try:
        get_template(TABS)
    except TemplateDoesNotExist:
        return ""
    return TABS


def _start_of(day: dt.date) -> dt.datetime:
    """Local midnight of ``day`` in the viewer's zone, as an instant (rules.R3)."""
    return rules.resolve_first(dt.datetime.combine(day, dt.time()), timezone.get_current_timezone())


def _default_period() -> dict[str, str]:
    today = timezone.localdate(now())
    return {
        "since": (today - dt.timedelta(days=DEFAULT_DAYS - 1)).isoformat(),
        "until": today.isoformat(),
    }


def _report(
    request: HttpRequest,
) -> tuple[LoadForm, oncall_load.LoadReport | None, int]:
    viewer: User = request.user  # type: ignore[assignment]
    given = {k: request.GET[k] for k in ("since", "until", "team") if k in request.GET}
    data = {**_default_period(), **given} if "since" not in given else given
    form = LoadForm(data, viewer=viewer)
    if not form.is_valid():
        return form, None, 422
    clean = form.cleaned_data
    try:
        report = oncall_load.oncall_load(
            viewer=viewer,
            since=_start_of(clean["since"]),
            until=_start_of(clean["until"] + dt.timedelta(days=1)),
            team=clean.get("team"),
        )
    except Invalid as exc:
        apply_error(form, exc)
        return form, None, 422
    return form, report, 200


@login_required
@require_GET
def oncall_load_page(request: HttpRequest) -> HttpResponse:
    try:
        access_reports(request.user)
    except NotFound as exc:
        return error_page(request, exc)
    form, report, status = _report(request)
    csv_url = ""
    if report is not None:
        params = {
            "since": form.cleaned_data["since"].isoformat(),
            "until": form.cleaned_data["until"].isoformat(),
        }
        if report.team is not None:
            params["team"] = str(report.team.pk)
        csv_url = reverse("reports-oncall-csv") + "?" + urlencode(params)
    peak_pages = max((r.pages for r in report.rows), default=0) if report else 0
    peak_hours = max((r.hours for r in report.rows), default=0.0) if report else 0.0
    return render(
        request,
        "reports/oncall.html",
        {
            "form": form,
            "report": report,
            "csv_url": csv_url,
            "everyone": oncall_load.may_see_everyone(request.user),  # type: ignore[arg-type]
            "peak_pages": peak_pages,
            "peak_hours": peak_hours,
            "gap_minutes": int(oncall_load.INTERRUPTION_GAP.total_seconds() // 60),
            "anonymous_min": oncall_load.ANONYMOUS_MIN,
            "tabs": _tabs(),
        },
        status=status,
    )


@login_required
@require_GET
def oncall_load_csv(request: HttpRequest) -> HttpResponse:
    """The same rows as the page, one per person, for on-call pay."""
    try:
        access_reports(request.user)
    except NotFound as exc:
        return error_page(request, exc)
    form, report, status = _report(request)
    if report is None:
        errors = "; ".join(
            f"{name}: {' '.join(str(e) for e in errs)}" for name, errs in form.errors.items()
        )
        return HttpResponse(errors, status=status, content_type="text/plain; charset=utf-8")
    since, until = form.cleaned_data["since"], form.cleaned_data["until"]
    response = HttpResponse(oncall_load.csv_text(report), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="oncall-load-{since.isoformat()}-{until.isoformat()}.csv"'
    )
    return response
