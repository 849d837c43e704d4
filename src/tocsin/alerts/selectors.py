"""Reads for alerts: lists for the API and the UI, and what the engine modules look up."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import F, Q, QuerySet

from tocsin.alerts.models import (
    Alert,
    AlertStatus,
    AlertStorm,
    ChangeEvent,
    Heartbeat,
    InboxEvent,
    InboxState,
    MaintenanceWindow,
    Silence,
)
from tocsin.catalog.models import Integration, Service
from tocsin.incidents.models import OPEN_STATUSES, Incident

# --- lists (staff only: the API and the views gate access before calling these) ------


def alert_list(
    *,
    service: Service | None = None,
    status: str | None = None,
    integration: Integration | None = None,
    incident: Incident | None = None,
) -> QuerySet[Alert]:
    """Alerts, newest activity first, filtered by service, status, integration, incident."""
    qs = Alert.objects.select_related("integration", "service", "incident")
    if service is not None:
        qs = qs.filter(service=service)
    if status:
        qs = qs.filter(status=status)
    if integration is not None:
        qs = qs.filter(integration=integration)
    if incident is not None:
        qs = qs.filter(incident=incident)
    return qs.order_by("-last_seen_at", "-id")


def alerts_of_incident(incident: Incident) -> QuerySet[Alert]:
    return alert_list(incident=incident).order_by("first_seen_at", "id")


def change_events_of_service(service: Service, *, limit: int = 50) -> list[ChangeEvent]:
    return list(ChangeEvent.objects.filter(service=service).order_by("-timestamp", "-id")[:limit])


def inbox_event_outcome(pk: int) -> InboxEvent | None:
    """One inbox row with its outcome (what happened to an accepted request)."""
    return InboxEvent.objects.filter(pk=pk).first()


# --- what the engine looks up -----------------------------------------------------------


def inbox_pending_ids(*, limit: int) -> list[int]:
    """Pending inbox rows in arrival order (id order)."""
    return list(
        InboxEvent.objects.filter(state=InboxState.PENDING)
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )


def inbox_has_pending_ping(integration_id: int) -> bool:
    return InboxEvent.objects.filter(
        state=InboxState.PENDING, integration_id=integration_id, kind="heartbeat"
    ).exists()


def open_alerts_by_key(integration_id: int, keys: list[str]) -> dict[str, Alert]:
    """The open (not resolved) alert of each dedup key on this integration."""
    if not keys:
        return {}
    rows = (
        Alert.objects.filter(integration_id=integration_id, dedup_key__in=set(keys))
        .exclude(status=AlertStatus.RESOLVED)
        .select_related("incident")
    )
    return {alert.dedup_key: alert for alert in rows}


def open_incident_for_grouping(
    *, service: Service, grouping_key: str, started_after: dt.datetime | None = None
) -> int | None:
    """The newest open incident holding alerts of this grouping key on this service."""
    qs = Alert.objects.filter(
        service=service, grouping_key=grouping_key, incident__status__in=OPEN_STATUSES
    )
    if started_after is not None:
        qs = qs.filter(incident__reported_at__gte=started_after)
    return qs.order_by("-incident_id").values_list("incident_id", flat=True).first()


def open_storm_of(service: Service) -> AlertStorm | None:
    return (
        AlertStorm.objects.filter(service=service, incident__status__in=OPEN_STATUSES)
        .select_related("incident", "service")
        .order_by("-id")
        .first()
    )


def monitoring_incidents_since(service: Service, since: dt.datetime) -> int:
    return Incident.objects.filter(
        service=service, source="monitoring", reported_at__gte=since
    ).count()


def incident_has_open_alerts(incident_id: int) -> bool:
    return (
        Alert.objects.filter(incident_id=incident_id).exclude(status=AlertStatus.RESOLVED).exists()
    )


def maintenance_windows_active(service: Service, at: dt.datetime) -> list[MaintenanceWindow]:
    return list(
        MaintenanceWindow.objects.filter(services=service, starts_at__lte=at, ends_at__gt=at)
        .order_by("id")
        .distinct()
    )


def silences_active(service: Service, at: dt.datetime) -> list[Silence]:
    return list(
        Silence.objects.filter(Q(service__isnull=True) | Q(service=service))
        .filter(starts_at__lte=at, ends_at__gt=at)
        .order_by("id")
    )


def silence_matches(silence: Silence, labels: dict[str, Any]) -> bool:
    """Every matcher's label is present with exactly that value (no matchers: all alerts)."""
    for matcher in silence.matchers or []:
        if not isinstance(matcher, dict):
            return False
        label = str(matcher.get("label", ""))
        if label not in labels or str(labels[label]) != str(matcher.get("value", "")):
            return False
    return True


def heartbeats_due(*, at: dt.datetime, limit: int) -> list[tuple[int, str, dt.datetime]]:
    """(pk, state, due_at) of heartbeats whose due time has passed and that are not
    already down: up, or new (set up, never pinged) when they have a due time."""
    return list(
        Heartbeat.objects.filter(state__in=("up", "new"), due_at__lt=at)
        .order_by("due_at")
        .values_list("pk", "state", "due_at")[:limit]
    )


def storms_to_refresh(*, shown_before: dt.datetime) -> list[int]:
    """Open storms whose incident shows an out-of-date count."""
    return list(
        AlertStorm.objects.filter(incident__status__in=OPEN_STATUSES, shown_at__lte=shown_before)
        .exclude(shown_count=F("alert_count"))
        .values_list("pk", flat=True)
    )
