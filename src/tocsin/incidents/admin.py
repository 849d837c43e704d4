"""Configuration lives in the admin (matrix, SLA targets, calendars): the matrix and the
SLA targets save through their services (checked, and recorded in the audit log under the
administrator's name); incidents are shown read-only here, since every change to an
incident goes through the services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from tocsin.core.admin import ReadOnlyAdmin, ServiceWriteAdmin, admin_actor
from tocsin.incidents.models import (
    BusinessCalendar,
    Incident,
    MailReceipt,
    PriorityMatrixCell,
    SlaTarget,
    TimelineEntry,
)
from tocsin.incidents.priority import priority_matrix_set
from tocsin.incidents.sla import CALENDAR_FIELDS, business_calendar_save, sla_target_set


def _labelled_rows(form_class: Any, label: Callable[[Any, str], str]) -> Any:
    """A changelist form whose editable cells are named for screen readers: the admin's
    list_editable inputs carry no label, and sixteen selects called nothing are no help."""

    class Labelled(form_class):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            if self.instance.pk is not None:
                for name, field in self.fields.items():
                    field.widget.attrs["aria-label"] = label(self.instance, name)

    return Labelled


MATRIX_NOTE = "Easier as a grid: Settings → Priority matrix (/settings/priority-matrix/)."
SLA_NOTE = "Easier as durations (4h, 3d): Settings → SLA targets (/settings/sla-targets/)."


@admin.register(PriorityMatrixCell)
class PriorityMatrixCellAdmin(ServiceWriteAdmin):
    list_display = ("urgency", "impact", "priority")
    list_editable = ("priority",)
    list_display_links = None
    ordering = ("urgency", "impact")
    readonly_fields = ("urgency", "impact")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the sixteen cells always exist

    def get_changelist_form(self, request: HttpRequest, **kwargs: Any) -> Any:
        return _labelled_rows(
            super().get_changelist_form(request, **kwargs),
            lambda cell, name: f"Priority for impact {cell.impact}, urgency {cell.urgency}",
        )

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra = {"subtitle": MATRIX_NOTE, **(extra_context or {})}
        return super().changelist_view(request, extra)

    def write(
        self, request: HttpRequest, current: Any, data: dict[str, Any], changed: list[str]
    ) -> PriorityMatrixCell:
        return priority_matrix_set(
            impact=current.impact,
            urgency=current.urgency,
            priority=data["priority"],
            actor=admin_actor(request),
        )


@admin.register(SlaTarget)
class SlaTargetAdmin(ServiceWriteAdmin):
    list_display = ("priority", "response_minutes", "resolution_minutes", "calendar")
    list_editable = ("response_minutes", "resolution_minutes", "calendar")
    list_display_links = ("priority",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # one target per priority, set on Settings → SLA targets

    def get_changelist_form(self, request: HttpRequest, **kwargs: Any) -> Any:
        words = {"response_minutes": "response minutes", "resolution_minutes": "resolution minutes"}
        return _labelled_rows(
            super().get_changelist_form(request, **kwargs),
            lambda target, name: f"P{target.priority} {words.get(name, name)}",
        )

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra = {"subtitle": SLA_NOTE, **(extra_context or {})}
        return super().changelist_view(request, extra)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("priority",) if obj else ()  # a target is for one priority, set when made

    def write(
        self, request: HttpRequest, current: Any, data: dict[str, Any], changed: list[str]
    ) -> SlaTarget:
        def value(name: str) -> Any:
            return data[name] if name in data else getattr(current, name)

        return sla_target_set(
            priority=current.priority if current is not None else data["priority"],
            response_minutes=value("response_minutes"),
            resolution_minutes=value("resolution_minutes"),
            calendar=value("calendar"),
            actor=admin_actor(request),
        )


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(ServiceWriteAdmin):
    list_display = ("name", "time_zone", "weekdays", "day_start", "day_end")

    def write(
        self, request: HttpRequest, current: Any, data: dict[str, Any], changed: list[str]
    ) -> BusinessCalendar:
        fields = CALENDAR_FIELDS if current is None else changed
        return business_calendar_save(
            calendar=current,
            values={name: data[name] for name in fields if name in data},
            actor=admin_actor(request),
        )


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


@admin.register(MailReceipt)
class MailReceiptAdmin(ReadOnlyAdmin):
    note = "Read-only: mails the e-mail intake filed, kept so a mail sent twice is filed once."
    list_display = ("received_at", "integration", "incident", "outcome")
    raw_id_fields = ("incident",)
