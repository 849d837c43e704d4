"""`/oncall/hours/`: hours on call for a period, as a table and a CSV file (hours.py has
the definitions; the CSV link is the API's `GET /api/v1/oncall/hours?format=csv`)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from tocsin.accounts.models import Team, User
from tocsin.accounts.permissions import Action, people_who_may
from tocsin.core.clock import now
from tocsin.core.errors import Invalid, NotFound
from tocsin.core.web import apply_error, error_page
from tocsin.oncall import hours, rules

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class HoursForm(forms.Form):
    since = forms.DateField(label="From", widget=DATE_INPUT)
    until = forms.DateField(label="To (inclusive)", widget=DATE_INPUT)
    team = forms.ModelChoiceField(
        label="Team", queryset=Team.objects.order_by("name"), required=False, empty_label="Everyone"
    )
    user = forms.ModelChoiceField(
        label="Person",
        queryset=User.objects.none(),
        required=False,
        empty_label="Anyone",
        to_field_name="username",
    )

    def __init__(self, *args: Any, everyone: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if everyone:
            people = people_who_may(Action.SCHEDULE_VIEW).order_by("name", "username")
            self.fields["user"].queryset = people  # type: ignore[attr-defined]
        else:
            del self.fields["team"]
            del self.fields["user"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("since", "until"):
            day = data.get(name)
            if day is not None and not 1900 <= day.year <= 2999:
                self.add_error(name, "Must lie between the years 1900 and 2999.")
        if data.get("since") and data.get("until") and data["until"] < data["since"]:
            self.add_error("until", "Must not be before the start date.")
        return data


def _start_of(day: dt.date) -> dt.datetime:
    """Local midnight of ``day`` in the viewer's zone, as an instant (rules.R3)."""
    zone = timezone.get_current_timezone()
    return rules.resolve_first(dt.datetime.combine(day, dt.time()), zone)


def _this_month() -> dict[str, str]:
    today = timezone.localdate(now())
    first = today.replace(day=1)
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    return {"since": first.isoformat(), "until": last.isoformat()}


@login_required
@require_GET
def oncall_hours(request: HttpRequest) -> HttpResponse:
    viewer: User = request.user  # type: ignore[assignment]
    try:
        hours.check_viewer(viewer)
    except NotFound as exc:
        return error_page(request, exc)
    everyone = hours.may_see_everyone(viewer)
    form = HoursForm(request.GET if "since" in request.GET else _this_month(), everyone=everyone)
    rows: list[dict[str, Any]] | None = None
    csv_url = ""
    status = 200
    if form.is_valid():
        data = form.cleaned_data
        since = _start_of(data["since"])
        until = _start_of(data["until"] + dt.timedelta(days=1))
        try:
            found = hours.hours_report(
                viewer=viewer,
                since=since,
                until=until,
                team=data.get("team"),
                person=data.get("user"),
            )
        except Invalid as exc:
            apply_error(form, exc)
            status = 422
        else:
            rows = [row.as_json() for row in found]
            params = {"since": since.isoformat(), "until": until.isoformat(), "format": "csv"}
            if data.get("team"):
                params["team"] = str(data["team"].pk)
            if data.get("user"):
                params["user"] = data["user"].username
            csv_url = reverse("api:oncall_hours") + "?" + urlencode(params)
    else:
        status = 422
    return render(
        request,
        "oncall/hours.html",
        {"form": form, "rows": rows, "csv_url": csv_url, "everyone": everyone},
        status=status,
    )
