"""Reads and access gates for alerts, change events, maintenance windows and silences.

Alerts and what suppresses them are for staff only; a reporter is refused (403), as the
list itself is not theirs to see. Anything missing answers 404.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from tocsin.accounts.models import User
from tocsin.accounts.permissions import Action, can, require
from tocsin.alerts.models import Alert, AlertStatus, ChangeEvent, MaintenanceWindow, Silence
from tocsin.catalog.models import Service
from tocsin.core.clock import now
from tocsin.core.errors import Invalid, NotFound
from tocsin.incidents.models import Incident

OPEN_STATUSES = (AlertStatus.TRIGGERED, AlertStatus.ACKNOWLEDGED)
STATUS_FILTERS = ("open", "all", *AlertStatus.values)


def require_staff(user: User | None) -> None:
    require(user, Action.ALERTS_VIEW, what="see alerts (staff only)")


def incident_number(ref: str | int) -> int:
    """42 from "INC-42" or "42"; a malformed reference is a 422 naming `incident`."""
    from tocsin.incidents.selectors import parse_ref

    try:
        return parse_ref(ref)
    except NotFound:
        raise Invalid("incident", f"{ref!r} is not an incident number (INC-42 or 42)") from None


@dataclass
class AlertFilters:
    service: int | None = None
    status: str = "all"  # all | open | triggered | acknowledged | resolved
    integration: int | None = None
    incident: int | None = None  # the incident's number
    suppressed: bool | None = None
    q: str = ""


def _alerts() -> QuerySet[Alert]:
    return Alert.objects.select_related("service", "integration", "incident")


def alert_list_for(user: User | None, filters: AlertFilters) -> QuerySet[Alert]:
    require_staff(user)
    qs = _alerts()
    if filters.status not in STATUS_FILTERS:
        raise Invalid("status", f"must be one of {', '.join(STATUS_FILTERS)}")
    if filters.status == "open":
        qs = qs.filter(status__in=OPEN_STATUSES)
    elif filters.status != "all":
        qs = qs.filter(status=filters.status)
    if filters.service:
        qs = qs.filter(service_id=filters.service)
    if filters.integration:
        qs = qs.filter(integration_id=filters.integration)
    if filters.incident:
        qs = qs.filter(incident__number=filters.incident)
    if filters.suppressed is True:
        qs = qs.exclude(suppressed_reason="")
    elif filters.suppressed is False:
        qs = qs.filter(suppressed_reason="")
    q = filters.q.strip()
    if q:
        qs = qs.filter(Q(summary__icontains=q) | Q(dedup_key__icontains=q) | Q(source__icontains=q))
    return qs.order_by("-last_seen_at", "-id")


def access_alert(user: User | None, alert_id: int) -> Alert:
    require_staff(user)
    alert = _alerts().filter(pk=alert_id).first()
    if alert is None:
        raise NotFound(f"no alert with id {alert_id}")
    return alert


def alerts_for_incident(user: User | None, incident: Incident) -> list[Alert]:
    """The incident's alerts, newest first (an empty list for anyone but staff)."""
    if not can(user, Action.ALERTS_VIEW):
        return []
    return list(_alerts().filter(incident=incident).order_by("-last_seen_at", "-id")[:200])


def open_alerts_for_service(service: Service, limit: int = 50) -> list[Alert]:
    return list(
        _alerts()
        .filter(service=service, status__in=OPEN_STATUSES)
        .order_by("-last_seen_at")[:limit]
    )


def open_alert_counts() -> dict[int, int]:
    """Open alerts per service id."""
    from django.db.models import Count

    rows = (
        Alert.objects.filter(status__in=OPEN_STATUSES).values("service_id").annotate(n=Count("id"))
    )
    return {row["service_id"]: row["n"] for row in rows}


def change_events_for(service: Service) -> QuerySet[ChangeEvent]:
    return ChangeEvent.objects.filter(service=service).select_related("integration")


# --- maintenance windows and silences ------------------------------------------------------


def span_state(starts_at: dt.datetime, ends_at: dt.datetime, at: dt.datetime | None = None) -> str:
    """scheduled | active | ended."""
    at = at or now()
    if ends_at <= at:
        return "ended"
    return "active" if starts_at <= at else "scheduled"


SPAN_STATES = ("scheduled", "active", "ended", "current")


def _by_state(qs: QuerySet, state: str | None) -> QuerySet:
    at = now()
    if state is None or state == "":
        return qs
    if state not in SPAN_STATES:
        raise Invalid("state", f"must be one of {', '.join(SPAN_STATES)}")
    if state == "active":
        return qs.filter(starts_at__lte=at, ends_at__gt=at)
    if state == "scheduled":
        return qs.filter(starts_at__gt=at)
    if state == "ended":
        return qs.filter(ends_at__lte=at)
    return qs.filter(ends_at__gt=at)  # current: active or scheduled


def maintenance_windows(
    user: User | None, *, service: int | None = None, state: str | None = None
) -> QuerySet[MaintenanceWindow]:
    require_staff(user)
    qs = MaintenanceWindow.objects.select_related("created_by").prefetch_related("services")
    if service:
        qs = qs.filter(services__id=service).distinct()
    return _by_state(qs, state).order_by("-starts_at", "-id")


def access_maintenance_window(user: User | None, window_id: int) -> MaintenanceWindow:
    require_staff(user)
    window = (
        MaintenanceWindow.objects.select_related("created_by")
        .prefetch_related("services")
        .filter(pk=window_id)
        .first()
    )
    if window is None:
        raise NotFound(f"no maintenance window with id {window_id}")
    return window


def silences(
    user: User | None, *, service: int | None = None, state: str | None = None
) -> QuerySet[Silence]:
    """Silences of a service include those that apply to every service."""
    require_staff(user)
    qs = Silence.objects.select_related("service", "created_by")
    if service:
        qs = qs.filter(Q(service_id=service) | Q(service__isnull=True))
    return _by_state(qs, state).order_by("-starts_at", "-id")


def access_silence(user: User | None, silence_id: int) -> Silence:
    require_staff(user)
    silence = Silence.objects.select_related("service", "created_by").filter(pk=silence_id).first()
    if silence is None:
        raise NotFound(f"no silence with id {silence_id}")
    return silence
