"""Forms of the alert pages: filters, maintenance windows and silences."""

from __future__ import annotations

import re
from typing import Any, cast

from django import forms

from tocsin.alerts.models import AlertStatus
from tocsin.catalog.models import Integration, Service
from tocsin.catalog.selectors import service_list

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
_MATCHER = re.compile(r"^\s*([^=\s]+)\s*=\s*(.*?)\s*$")


class AlertFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    status = forms.ChoiceField(
        required=False,
        choices=[("open", "Open"), ("all", "Any status"), *AlertStatus.choices],
    )
    service = forms.ModelChoiceField(
        queryset=Service.objects.none(), required=False, empty_label="Any service"
    )
    integration = forms.ModelChoiceField(
        queryset=Integration.objects.none(), required=False, empty_label="Any integration"
    )
    suppressed = forms.ChoiceField(
        required=False,
        choices=[("", "Suppressed or not"), ("yes", "Suppressed"), ("no", "Not suppressed")],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        services = cast("forms.ModelChoiceField[Service]", self.fields["service"])
        services.queryset = service_list()
        integrations = cast("forms.ModelChoiceField[Integration]", self.fields["integration"])
        integrations.queryset = Integration.objects.select_related("service").order_by(
            "service__name", "name"
        )
        self.fields["integration"].label_from_instance = (  # type: ignore[attr-defined]
            lambda i: f"{i.service.name}: {i.name}"
        )


class WindowForm(forms.Form):
    starts_at = forms.DateTimeField(
        required=False, widget=DATETIME_INPUT, label="Starts", help_text="Empty: now"
    )
    ends_at = forms.DateTimeField(widget=DATETIME_INPUT, label="Ends")
    reason = forms.CharField(required=False, max_length=300)


class SilenceForm(forms.Form):
    matchers = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=4000,
        label="Matchers",
        help_text="One label=value a line; alerts matching every line are silenced",
    )
    all_services = forms.BooleanField(required=False, label="For every service")
    starts_at = forms.DateTimeField(
        required=False, widget=DATETIME_INPUT, label="Starts", help_text="Empty: now"
    )
    ends_at = forms.DateTimeField(widget=DATETIME_INPUT, label="Ends")
    comment = forms.CharField(required=False, max_length=300)

    def clean_matchers(self) -> list[dict[str, str]]:
        result = []
        for line in self.cleaned_data["matchers"].splitlines():
            if not line.strip():
                continue
            match = _MATCHER.match(line)
            if not match:
                raise forms.ValidationError(f"“{line.strip()}” is not label=value")
            result.append({"label": match.group(1), "value": match.group(2)})
        if not result:
            raise forms.ValidationError("Write at least one label=value")
        return result
