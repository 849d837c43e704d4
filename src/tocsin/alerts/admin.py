from __future__ import annotations

from django.contrib import admin

from tocsin.alerts.models import (
    Alert,
    AlertStorm,
    ChangeEvent,
    Heartbeat,
    InboxEvent,
    MaintenanceWindow,
    SeenSignature,
    Silence,
)
from tocsin.core.admin import ReadOnlyAdmin

ENGINE_NOTE = "Read-only here: the worker writes these rows (see the Alerts and Services pages)."


@admin.register(InboxEvent)
class InboxEventAdmin(ReadOnlyAdmin):
    note = ENGINE_NOTE
    list_display = ("id", "integration", "kind", "received_at", "state", "outcome")
    list_filter = ("state", "kind", "outcome")


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    note = ENGINE_NOTE
    list_display = ("summary", "service", "integration", "status", "occurrences", "incident")
    list_filter = ("status", "severity", "service")
    search_fields = ("summary", "dedup_key")
    raw_id_fields = ("incident",)


@admin.register(ChangeEvent)
class ChangeEventAdmin(ReadOnlyAdmin):
    note = ENGINE_NOTE
    list_display = ("summary", "service", "timestamp")
    list_filter = ("service",)


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(ReadOnlyAdmin):
    note = (
        "Read-only here: plan and end maintenance windows on a service's page "
        "or with /api/v1/maintenance-windows."
    )
    list_display = ("__str__", "starts_at", "ends_at")


@admin.register(Silence)
class SilenceAdmin(ReadOnlyAdmin):
    note = "Read-only here: add and expire silences on a service's page or with /api/v1/silences."
    list_display = ("__str__", "service", "starts_at", "ends_at", "comment")


@admin.register(Heartbeat)
class HeartbeatAdmin(ReadOnlyAdmin):
    note = ENGINE_NOTE
    list_display = ("integration", "state", "last_ping_at", "due_at")
    list_filter = ("state",)


@admin.register(AlertStorm)
class AlertStormAdmin(ReadOnlyAdmin):
    note = ENGINE_NOTE
    list_display = ("service", "incident", "started_at", "alert_count")
    raw_id_fields = ("incident",)


@admin.register(SeenSignature)
class SeenSignatureAdmin(ReadOnlyAdmin):
    note = "Read-only: signed requests already accepted, kept to refuse replays."
    list_display = ("integration", "signature", "expires_at")
