"""Schedules in Django admin: a window on the data, read-only. Schedules, layers,
overrides and cover requests change through the schedule pages and the API (their
services check who may and write the audit log); a calendar feed's secret is never shown."""

from __future__ import annotations

from django.contrib import admin

from tocsin.core.admin import ReadOnlyAdmin
from tocsin.oncall.models import CalendarFeed, CoverRequest, Layer, Override, Schedule

NOTE = "Read-only here: schedules change on their pages (On call) and through the API."


@admin.register(Schedule)
class ScheduleAdmin(ReadOnlyAdmin):
    note = NOTE
    list_display = ("name", "team", "time_zone", "archived_at")
    list_filter = ("team",)
    search_fields = ("name",)


@admin.register(Layer)
class LayerAdmin(ReadOnlyAdmin):
    note = NOTE
    list_display = ("name", "schedule", "position", "every", "unit", "start_date", "start_time")
    list_select_related = ("schedule",)
    search_fields = ("name", "schedule__name")


@admin.register(Override)
class OverrideAdmin(ReadOnlyAdmin):
    note = NOTE
    list_display = ("schedule", "user", "replaces", "start", "end", "created_by")
    list_select_related = ("schedule", "user", "replaces", "created_by")
    search_fields = ("schedule__name", "user__username")


@admin.register(CoverRequest)
class CoverRequestAdmin(ReadOnlyAdmin):
    note = NOTE
    list_display = ("schedule", "requester", "start", "end", "state", "accepted_by")
    list_filter = ("state",)
    list_select_related = ("schedule", "requester", "accepted_by")
    search_fields = ("schedule__name", "requester__username")


@admin.register(CalendarFeed)
class CalendarFeedAdmin(ReadOnlyAdmin):
    note = "Read-only here: people make and revoke their calendar feeds on their pages."
    list_display = ("prefix", "owner", "schedule", "created_at", "last_used_at", "revoked_at")
    list_select_related = ("owner", "schedule")
    exclude = ("token_hash",)
