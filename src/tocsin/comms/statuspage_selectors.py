"""Reads of the status page's staff side, and its access gates.

Staff (`Action.STATUS_VIEW`) see the status-page administration; for anyone else every
object here is "not found" (404), so reporters and the public learn nothing from it.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from tocsin.accounts.permissions import Action, can
from tocsin.alerts.models import MaintenanceWindow
from tocsin.catalog.models import Service
from tocsin.comms.models import (
    Component,
    ComponentGroup,
    ComponentRule,
    PublicIncident,
    PublicIncidentStatus,
    PublicMaintenance,
    PublicUpdate,
)
from tocsin.core.clock import now
from tocsin.core.errors import NotFound
from tocsin.incidents.models import OPEN_STATUSES, Incident


def may_view(user: Any) -> bool:
    return can(user, Action.STATUS_VIEW)


def _gate(user: Any) -> None:
    if not may_view(user):
        raise NotFound("not found")


# --- components --------------------------------------------------------------------------


def component_list(*, user: Any, include_archived: bool = False) -> QuerySet[Component]:
    _gate(user)
    qs = Component.objects.select_related("group").prefetch_related("services")
    if not include_archived:
        qs = qs.filter(archived_at__isnull=True)
    return qs.order_by("group__position", "group__name", "position", "name", "pk")


def component_get(component_id: int, *, user: Any) -> Component:
    _gate(user)
    try:
        return Component.objects.select_related("group").get(pk=component_id)
    except Component.DoesNotExist:
        raise NotFound(f"no component with id {component_id}") from None


def component_history(component: Component, limit: int = 20) -> list[Any]:
    return list(component.history.select_related("by").order_by("-at", "-pk")[:limit])


def component_open_incidents(component: Component) -> QuerySet[Incident]:
    """The open incidents of the component's services (what its derived status reads)."""
    return Incident.objects.filter(
        status__in=OPEN_STATUSES, service__in=component.services.all()
    ).order_by("priority", "-reported_at")


def group_list(*, user: Any, include_archived: bool = False) -> QuerySet[ComponentGroup]:
    _gate(user)
    qs = ComponentGroup.objects.all()
    if not include_archived:
        qs = qs.filter(archived_at__isnull=True)
    return qs.order_by("position", "name", "pk")


def group_get(group_id: int, *, user: Any) -> ComponentGroup:
    _gate(user)
    try:
        return ComponentGroup.objects.get(pk=group_id)
    except ComponentGroup.DoesNotExist:
        raise NotFound(f"no component group with id {group_id}") from None


def component_choices() -> QuerySet[Component]:
    return Component.objects.filter(archived_at__isnull=True).order_by(
        "group__position", "position", "name"
    )


def settable_components() -> QuerySet[Component]:
    """Components whose status may be set by hand (or by a public update)."""
    return component_choices().filter(rule=ComponentRule.MANUAL)


def service_choices() -> QuerySet[Service]:
    return Service.objects.order_by("name")


# --- public incidents --------------------------------------------------------------------


def public_incident_list(
    *, user: Any, state: str = "", include_drafts: bool = True
) -> QuerySet[PublicIncident]:
    """state: "" (all), "draft", "open" (published, unresolved), "resolved"."""
    _gate(user)
    qs = PublicIncident.objects.prefetch_related("components", "incidents")
    if state == "draft":
        qs = qs.filter(published_at__isnull=True)
    elif state == "open":
        qs = qs.filter(published_at__isnull=False).exclude(status=PublicIncidentStatus.RESOLVED)
    elif state == "resolved":
        qs = qs.filter(status=PublicIncidentStatus.RESOLVED)
    elif not include_drafts:
        qs = qs.filter(published_at__isnull=False)
    return qs.order_by("-created_at", "-pk")


def public_incident_get(public_incident_id: int, *, user: Any) -> PublicIncident:
    _gate(user)
    try:
        return PublicIncident.objects.prefetch_related(
            Prefetch("updates", queryset=PublicUpdate.objects.order_by("-created_at", "-pk")),
            "components",
            "incidents",
        ).get(pk=public_incident_id)
    except PublicIncident.DoesNotExist:
        raise NotFound(f"no public incident with id {public_incident_id}") from None


def public_incidents_of(incident: Incident) -> QuerySet[PublicIncident]:
    return incident.public_incidents.order_by("-created_at")


def components_for_incident(incident: Incident) -> list[Component]:
    """The components of the incident's service (to prefill a public incident)."""
    if incident.service_id is None:
        return []
    return list(component_choices().filter(services=incident.service_id).distinct())


# --- maintenances ------------------------------------------------------------------------


def maintenance_list(*, user: Any) -> QuerySet[PublicMaintenance]:
    _gate(user)
    return (
        PublicMaintenance.objects.select_related("window")
        .prefetch_related("components")
        .order_by("-scheduled_for", "-pk")
    )


def maintenance_get(maintenance_id: int, *, user: Any) -> PublicMaintenance:
    _gate(user)
    try:
        return (
            PublicMaintenance.objects.select_related("window")
            .prefetch_related(
                Prefetch("updates", queryset=PublicUpdate.objects.order_by("-created_at", "-pk")),
                "components",
            )
            .get(pk=maintenance_id)
        )
    except PublicMaintenance.DoesNotExist:
        raise NotFound(f"no maintenance with id {maintenance_id}") from None


def window_get(window_id: int, *, user: Any) -> MaintenanceWindow:
    _gate(user)
    try:
        return MaintenanceWindow.objects.prefetch_related("services").get(pk=window_id)
    except MaintenanceWindow.DoesNotExist:
        raise NotFound(f"no maintenance window with id {window_id}") from None


def windows_not_public(*, user: Any) -> QuerySet[MaintenanceWindow]:
    """Maintenance windows not over yet and not marked public (to offer "mark public")."""
    _gate(user)
    return (
        MaintenanceWindow.objects.filter(ends_at__gt=now(), public__isnull=True)
        .prefetch_related("services")
        .order_by("starts_at")
    )


def components_for_window(window: MaintenanceWindow) -> list[Component]:
    return list(component_choices().filter(services__in=window.services.all()).distinct())
