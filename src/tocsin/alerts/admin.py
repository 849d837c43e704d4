from __future__ import annotations

from django.contrib import admin

from tocsin.alerts.models import (
    Alert,
    AlertStorm,
    ChangeEvent,
    Heartbeat,
    InboxEvent,
    MaintenanceWindow,
    Silence,
)


@admin.register(InboxEvent)
class InboxEventAdmin(admin.ModelAdmin):
    list_display = ("id", "integration", "kind", "received_at", "state", "outcome")
    list_filter = ("state", "kind", "outcome")
    readonly_fields = [f.name for f in InboxEvent._meta.fields]


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("summary", "service", "integration", "status", "occurrences", "incident")
    list_filter = ("status", "severity", "service")
    search_fields = ("summary", "dedup_key")
    raw_id_fields = ("incident",)


@admin.register(ChangeEvent)
class ChangeEventAdmin(admin.ModelAdmin):
    list_display = ("summary", "service", "timestamp")
    list_filter = ("service",)


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(admin.ModelAdmin):
    list_display = ("__str__", "starts_at", "ends_at")


@admin.register(Silence)
class SilenceAdmin(admin.ModelAdmin):
    list_display = ("__str__", "service", "starts_at", "ends_at", "comment")


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ("integration", "state", "last_ping_at", "due_at")
    list_filter = ("state",)


@admin.register(AlertStorm)
class AlertStormAdmin(admin.ModelAdmin):
    list_display = ("service", "incident", "started_at", "alert_count")
    raw_id_fields = ("incident",)
