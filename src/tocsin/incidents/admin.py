"""Configuration lives in the admin (matrix, SLA targets, calendars); incidents are shown
read-only here, since every change to an incident goes through the services."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from tocsin.core.admin import ReadOnlyAdmin
from tocsin.incidents.models import (
    BusinessCalendar,
    Incident,
    PriorityMatrixCell,
    SlaTarget,
    TimelineEntry,
)


@admin.register(PriorityMatrixCell)
class PriorityMatrixCellAdmin(admin.ModelAdmin):
    list_display = ("urgency", "impact", "priority")
    list_editable = ("priority",)
    list_display_links = None
    ordering = ("urgency", "impact")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(SlaTarget)
class SlaTargetAdmin(admin.ModelAdmin):
    list_display = ("priority", "response_minutes", "resolution_minutes", "calendar")
    list_editable = ("response_minutes", "resolution_minutes", "calendar")
    list_display_links = ("priority",)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ("name", "time_zone", "weekdays", "day_start", "day_end")


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    note = "Read-only here: incidents change on their page or through /api/v1/incidents."
    list_display = ("number", "title", "status", "priority", "assignee", "team", "reported_at")
    list_filter = ("status", "priority", "source", "team")
    search_fields = ("title", "number")


@admin.register(TimelineEntry)
class TimelineEntryAdmin(ReadOnlyAdmin):
    note = (
        "Read-only here: the timeline is append-only (administrators redact on the incident page)."
    )
    list_display = ("incident", "kind", "visibility", "actor_label", "created_at")
    list_filter = ("kind", "visibility")
