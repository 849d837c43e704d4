"""The dashboards' filter bar: a period (last 7/30/90 days, this quarter, or custom
dates in the viewer's time zone) and the dimensions, turned into `metrics.Filters` by
the one parser the API uses (`selectors.parse_filters`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone

from tocsin.accounts.models import Team
from tocsin.catalog.models import Category, Service
from tocsin.core.clock import now
from tocsin.core.errors import Invalid
from tocsin.incidents.models import Source
from tocsin.reports.metrics import Filters
from tocsin.reports.selectors import parse_filters

PERIODS = (
    ("7", "Last 7 days"),
    ("30", "Last 30 days"),
    ("90", "Last 90 days"),
    ("quarter", "This quarter"),
    ("custom", "Custom dates"),
)
DEFAULT_PERIOD = "30"
# the query parameters the filter bar owns (links to charts, lists and exports carry them)
FILTER_KEYS = ("period", "since", "until", "service", "team", "priority", "category", "source")
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ReportFilterForm(forms.Form):
    period = forms.ChoiceField(choices=PERIODS, required=False, label="Period")
    since = forms.DateField(required=False, label="Custom: from", widget=DATE_INPUT)
    until = forms.DateField(required=False, label="Custom: to (inclusive)", widget=DATE_INPUT)
    service = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    team = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    priority = forms.TypedChoiceField(
        coerce=int,
        required=False,
        empty_value=None,
        choices=[("", "Any priority"), *((str(p), f"P{p}") for p in (1, 2, 3, 4))],
    )
    category = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    source = forms.ChoiceField(
        required=False, choices=[("", "Any source"), *Source.choices], label="Source"
    )

    def __init__(self, *args: Any, fixed_team: Team | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fixed_team = fixed_team
        self._choices(
            "service",
            [
                ("", "Any service"),
                *Service.objects.order_by("name").values_list("pk", "name"),
            ],
        )
        self._choices(
            "category",
            [
                ("", "Any category"),
                *Category.objects.order_by("name").values_list("pk", "name"),
            ],
        )
        if fixed_team is not None:
            del self.fields["team"]
        else:
            self._choices(
                "team",
                [
                    ("", "Any team"),
                    *Team.objects.order_by("name").values_list("pk", "name"),
                ],
            )
        for name in ("service", "team", "category"):
            if name in self.fields:
                self.fields[name].label = name.capitalize()
                self.fields[name].error_messages["invalid_choice"] = (
                    f"There is no such {name} (it may have been removed)."
                )
        self.fields["priority"].label = "Priority"

    def _choices(self, name: str, choices: list[Any]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        period = data.get("period") or DEFAULT_PERIOD
        data["period"] = period
        if period == "custom":
            if not data.get("since") and "since" not in self.errors:
                self.add_error("since", "Choose the first day of the period.")
            if data.get("since") and data.get("until") and data["until"] < data["since"]:
                self.add_error("until", "Must not be before the first day.")
        return data

    def filters(self) -> Filters:
        """The period and filters (after is_valid()); raises Invalid naming the field."""
        data = self.cleaned_data
        zone = timezone.get_current_timezone()
        at = now()
        since: dt.datetime | None
        until: dt.datetime | None = at
        period = data["period"]
        if period == "custom":
            since = dt.datetime.combine(data["since"], dt.time(), tzinfo=zone)
            last = data.get("until") or timezone.localdate(at)
            until = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=zone)
        elif period == "quarter":
            today = timezone.localdate(at)
            first = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
            since = dt.datetime.combine(first, dt.time(), tzinfo=zone)
        else:
            since = at - dt.timedelta(days=int(period))
        team = self.fixed_team.pk if self.fixed_team is not None else data.get("team")
        return parse_filters(
            since=since.isoformat(),
            until=until.isoformat() if until else None,
            service=data.get("service"),
            team=team,
            priority=data.get("priority"),
            category=data.get("category"),
            source=data.get("source") or None,
            at=at,
        )


def filters_or_error(form: ReportFilterForm) -> tuple[Filters | None, str]:
    """The filters, or None and a sentence saying what is wrong with the input."""
    if not form.is_valid():
        problems = []
        for name, errors in form.errors.items():
            label = form.fields[name].label if name in form.fields else name
            problems.append(f"{label}: {' '.join(str(e) for e in errors)}")
        return None, " ".join(problems)
    try:
        return form.filters(), ""
    except Invalid as exc:
        return None, f"{exc.field.capitalize()}: {exc.detail}."
