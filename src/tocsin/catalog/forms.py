"""Forms of the service pages: they parse input; catalog.services validates and writes."""

from __future__ import annotations

from typing import Any

from django import forms

from tocsin.catalog.models import Grouping, IntegrationKind, Service
from tocsin.catalog.services import (
    ACK_TIMEOUT_MAX,
    GROUP_WINDOW_MAX,
    HEARTBEAT_GRACE_DEFAULT,
    HEARTBEAT_INTERVAL_MAX,
    HEARTBEAT_INTERVAL_MIN,
    RATE_LIMIT_MAX,
    SEVERITIES,
    STORM_THRESHOLD_MAX,
)

LEVELS = [(1, "1 — High"), (2, "2"), (3, "3"), (4, "4 — Low")]


class AlertSettingsForm(forms.Form):
    """How a service's alerts become incidents."""

    auto_resolve = forms.BooleanField(
        required=False, label="Resolve the incident when all its alerts resolve"
    )
    grouping = forms.ChoiceField(choices=Grouping.choices, widget=forms.RadioSelect)
    group_labels = forms.CharField(
        required=False,
        max_length=1000,
        help_text="Comma-separated label names, e.g. alertname, cluster (for grouping by labels)",
    )
    group_window_minutes = forms.IntegerField(
        min_value=1, max_value=GROUP_WINDOW_MAX, label="Group window (minutes)"
    )
    storm_threshold = forms.IntegerField(
        min_value=1,
        max_value=STORM_THRESHOLD_MAX,
        label="Storm threshold",
        help_text="New incidents a minute beyond which alerts join one storm incident",
    )
    ingest_rate_limit = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=RATE_LIMIT_MAX,
        label="Rate limit (events a minute per key)",
        help_text="Empty: no limit",
    )

    ack_timeout_minutes = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=ACK_TIMEOUT_MAX,
        label="Acknowledgement timeout (minutes)",
        help_text="An acknowledged incident returns to new after this long without progress. "
        "Empty: never",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for severity in SEVERITIES:
            for part in ("impact", "urgency"):
                self.fields[f"{severity}_{part}"] = forms.TypedChoiceField(
                    choices=LEVELS, coerce=int, label=f"{severity.capitalize()} {part}"
                )

    @classmethod
    def for_service(cls, service: Service) -> AlertSettingsForm:
        initial: dict[str, Any] = {
            "auto_resolve": service.auto_resolve,
            "grouping": service.grouping,
            "group_labels": ", ".join(service.group_labels or []),
            "group_window_minutes": service.group_window_minutes,
            "storm_threshold": service.storm_threshold,
            "ingest_rate_limit": service.ingest_rate_limit,
            "ack_timeout_minutes": service.ack_timeout_minutes,
        }
        for severity, pair in (service.severity_map or {}).items():
            if severity in SEVERITIES and isinstance(pair, list) and len(pair) == 2:
                initial[f"{severity}_impact"], initial[f"{severity}_urgency"] = pair
        return cls(initial=initial)

    def severity_rows(self) -> list[tuple[str, Any, Any]]:
        return [(s, self[f"{s}_impact"], self[f"{s}_urgency"]) for s in SEVERITIES]

    def changes(self) -> dict[str, Any]:
        data = self.cleaned_data
        labels = [part.strip() for part in data["group_labels"].split(",") if part.strip()]
        return {
            "auto_resolve": data["auto_resolve"],
            "grouping": data["grouping"],
            "group_labels": labels,
            "group_window_minutes": data["group_window_minutes"],
            "storm_threshold": data["storm_threshold"],
            "ingest_rate_limit": data["ingest_rate_limit"],
            "ack_timeout_minutes": data["ack_timeout_minutes"],
            "severity_map": {s: [data[f"{s}_impact"], data[f"{s}_urgency"]] for s in SEVERITIES},
        }


KIND_HELP: dict[str, str] = {
    IntegrationKind.PAGERDUTY: "Anything that speaks PagerDuty Events v2 (Alertmanager, Grafana)",
    IntegrationKind.OPSGENIE: "Anything that speaks the Opsgenie alert API",
    IntegrationKind.ALERTMANAGER: "Prometheus Alertmanager webhook_configs",
    IntegrationKind.GRAFANA: "Grafana Alerting webhook contact point",
    IntegrationKind.WEBHOOK: "Your own JSON, with a field mapping",
    IntegrationKind.EMAIL: "Mail to an address opens an incident",
    IntegrationKind.HEARTBEAT: "A job pings; a missed ping opens an incident",
}


class IntegrationForm(forms.Form):
    """A new integration: its kind, a name, and the options of that kind."""

    kind = forms.ChoiceField(
        choices=[(k, f"{label} — {KIND_HELP[k]}") for k, label in IntegrationKind.choices],
        widget=forms.RadioSelect,
    )
    name = forms.CharField(required=False, max_length=100, help_text="Default: the kind's name")
    # webhook
    summary_path = forms.CharField(
        required=False, max_length=200, initial="summary", label="Summary path"
    )
    severity_path = forms.CharField(
        required=False, max_length=200, initial="severity", label="Severity path"
    )
    dedup_key_path = forms.CharField(
        required=False, max_length=200, initial="dedup_key", label="Dedup key path"
    )
    status_path = forms.CharField(
        required=False, max_length=200, initial="status", label="Status path"
    )
    resolved_value = forms.CharField(
        required=False, max_length=100, initial="resolved", label="Status value meaning resolved"
    )
    # alertmanager / webhook
    bearer_token = forms.CharField(
        required=False,
        max_length=500,
        label="Bearer token",
        widget=forms.PasswordInput(render_value=False),
        help_text="Optional: senders must then send Authorization: Bearer <token>",
    )
    # grafana
    hmac_secret = forms.CharField(
        required=False,
        max_length=500,
        label="HMAC secret",
        widget=forms.PasswordInput(render_value=False),
        help_text="Optional: Grafana then signs every request with it",
    )
    hmac_header = forms.CharField(
        required=False,
        max_length=64,
        label="Signature header",
        help_text="Optional: blank accepts both X-Grafana-Alerting-Signature and "
        "X-Grafana-Alert-Signature (what Grafana sends when its field is left blank)",
    )
    timestamp_header = forms.CharField(
        required=False,
        max_length=64,
        label="Timestamp header",
        help_text="Optional, e.g. X-Grafana-Alerting-Timestamp (refuses replayed requests)",
    )
    # email
    staff_mail_public = forms.BooleanField(
        required=False,
        label="Replies from staff addresses are public notes",
        help_text="Off: they become internal notes (a From address can be forged)",
    )
    # heartbeat
    interval_seconds = forms.IntegerField(
        required=False,
        min_value=HEARTBEAT_INTERVAL_MIN,
        max_value=HEARTBEAT_INTERVAL_MAX,
        label="Interval (seconds)",
        initial=300,
    )
    grace_seconds = forms.IntegerField(
        required=False,
        min_value=0,
        label="Grace (seconds)",
        initial=HEARTBEAT_GRACE_DEFAULT,
    )

    OPTIONS = {
        IntegrationKind.WEBHOOK: (
            "summary_path",
            "severity_path",
            "dedup_key_path",
            "status_path",
            "resolved_value",
            "bearer_token",
        ),
        IntegrationKind.ALERTMANAGER: ("bearer_token",),
        IntegrationKind.GRAFANA: ("hmac_secret", "hmac_header", "timestamp_header"),
        IntegrationKind.HEARTBEAT: ("interval_seconds", "grace_seconds"),
        IntegrationKind.EMAIL: ("staff_mail_public",),
    }

    def options(self) -> dict[str, Any]:
        """The options of the chosen kind (the others are ignored, they were hidden)."""
        data = self.cleaned_data
        result: dict[str, Any] = {}
        for name in self.OPTIONS.get(data["kind"], ()):
            value = data.get(name)
            if value in (None, "") and name not in (
                "severity_path",
                "dedup_key_path",
                "status_path",
                "summary_path",
                "interval_seconds",
            ):
                continue
            result[name] = value
        return result

    def fieldsets(self) -> list[tuple[str, str, list[Any]]]:
        """(the kinds it applies to, space-separated; legend; fields): each field once."""
        groups = [
            (
                "webhook",
                "Field mapping (webhook)",
                [
                    "summary_path",
                    "severity_path",
                    "dedup_key_path",
                    "status_path",
                    "resolved_value",
                ],
            ),
            ("webhook alertmanager", "Authentication (optional)", ["bearer_token"]),
            (
                "grafana",
                "Signature (Grafana, optional)",
                ["hmac_secret", "hmac_header", "timestamp_header"],
            ),
            ("heartbeat", "Heartbeat timing", ["interval_seconds", "grace_seconds"]),
            ("email", "Replies by email", ["staff_mail_public"]),
        ]
        return [(kinds, legend, [self[name] for name in names]) for kinds, legend, names in groups]


class WarRoomTemplatesForm(forms.Form):
    """The service's war-room link templates (checked by catalog.services)."""

    chat_url_template = forms.CharField(
        required=False,
        max_length=500,
        label="Chat channel template",
        help_text="e.g. https://chat.example.com/incident-{number}",
    )
    video_url_template = forms.CharField(
        required=False,
        max_length=500,
        label="Video bridge template",
        help_text="e.g. https://meet.example.com/{service}-{number}",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "warroom_%s")
        super().__init__(*args, **kwargs)
