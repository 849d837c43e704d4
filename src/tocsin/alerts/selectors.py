"""Reads for alerts: lists for the API and the UI, and what the engine modules look up."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Q, QuerySet

from tocsin.accounts.models import User
from tocsin.accounts.permissions import Action, can, require
from tocsin.alerts import sql
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
from tocsin.core.clock import now
from tocsin.core.errors import Invalid, NotFound
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

# Asked for every inbox row: hand-written statements (tocsin.alerts.sql says why).
open_alerts_by_key = sql.open_alerts_by_key
open_incident_for_grouping = sql.open_incident_for_grouping
last_resolved_start_by_key = sql.last_resolved_start_by_key


def inbox_pending_by_service(*, limit: int) -> dict[int, list[int]]:
    """The first `limit` pending inbox rows in arrival (id) order, by the service of
    their integration: {service id: [row ids in order]}, services in the order of their
    oldest pending row."""
    found: dict[int, list[int]] = {}
    rows = (
        InboxEvent.objects.filter(state=InboxState.PENDING)
        .order_by("id")
        .values_list("pk", "integration__service_id")[:limit]
    )
    for pk, service_id in rows:
        found.setdefault(service_id, []).append(pk)
    return found


def inbox_has_pending_ping(integration_id: int) -> bool:
    return InboxEvent.objects.filter(
        state=InboxState.PENDING, integration_id=integration_id, kind="heartbeat"
    ).exists()


def open_storm_of(service: Service) -> AlertStorm | None:
    """The service's newest storm whose incident is open, with its incident; `service` is
    the one given (asked once per batch of a service's rows: a prepared statement,
    tocsin.alerts.sql)."""
    storm = sql.open_storm_of(service)
    if storm is not None:
        storm.service = service
    return storm


def suppressions_possible(
    service: Service, at: dt.datetime, *, until: dt.datetime | None = None
) -> bool:
    """Whether any maintenance window of the service or any silence (of the service or of
    every service) runs at `at` (or at any time from `at` to `until`): two cheap
    queries, so that the usual case (none) never loads them (maintenance_windows_active
    and silences_active say which). Asked once per batch of a service's rows."""
    end = until or at
    return (
        MaintenanceWindow.objects.filter(
            services=service, starts_at__lte=end, ends_at__gt=at
        ).exists()
        or Silence.objects.filter(Q(service__isnull=True) | Q(service=service))
        .filter(starts_at__lte=end, ends_at__gt=at)
        .exists()
    )


def monitoring_incidents_since(service: Service, since: dt.datetime) -> int:
    """Incidents monitoring opened for the service since then (once per batch)."""
    return Incident.objects.filter(
        service=service, source="monitoring", reported_at__gte=since
    ).count()


def incident_has_open_alerts(incident_id: int) -> bool:
    return (
        Alert.objects.filter(incident_id=incident_id).exclude(status=AlertStatus.RESOLVED).exists()
    )


def maintenance_windows_active(
    service: Service, at: dt.datetime, *, until: dt.datetime | None = None
) -> list[MaintenanceWindow]:
    """The service's windows running at `at` (or at any time from `at` to `until`)."""
    return list(
        MaintenanceWindow.objects.filter(
            services=service, starts_at__lte=until or at, ends_at__gt=at
        )
        .order_by("id")
        .distinct()
    )


def silences_active(
    service: Service, at: dt.datetime, *, until: dt.datetime | None = None
) -> list[Silence]:
    """Silences of the service or of every service running at `at` (or at any time from
    `at` to `until`)."""
    return list(
        Silence.objects.filter(Q(service__isnull=True) | Q(service=service))
        .filter(starts_at__lte=until or at, ends_at__gt=at)
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


def heartbeats_due(*, at: dt.datetime, limit: int) -> list[tuple[int, str, dt.datetime, int]]:
    """(pk, state, due_at, service id) of heartbeats whose due time has passed and that
    are not already down: up, or new (set up, never pinged) when they have a due time."""
    rows = (
        Heartbeat.objects.filter(state__in=("up", "new"), due_at__lt=at)
        .order_by("due_at")
        .values_list("pk", "state", "due_at", "integration__service_id")[:limit]
    )
    return [(pk, state, due, service) for pk, state, due, service in rows if due is not None]


def storms_to_refresh(*, shown_before: dt.datetime) -> list[int]:
    """Open storms whose incident shows an out-of-date count."""
    return list(
        AlertStorm.objects.filter(incident__status__in=OPEN_STATUSES, shown_at__lte=shown_before)
        .exclude(shown_count=F("alert_count"))
        .values_list("pk", flat=True)
    )


# --- Reads for the API and the pages (access gates: 404 for what one may not see) ---

ALERT_OPEN_STATUSES = (AlertStatus.TRIGGERED, AlertStatus.ACKNOWLEDGED)
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
        qs = qs.filter(status__in=ALERT_OPEN_STATUSES)
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
    """One alert; NotFound if it does not exist or the person may not see alerts (so
    that its existence does not leak)."""
    alert = _alerts().filter(pk=alert_id).first() if can(user, Action.ALERTS_VIEW) else None
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
        .filter(service=service, status__in=ALERT_OPEN_STATUSES)
        .order_by("-last_seen_at")[:limit]
    )


def open_alert_counts() -> dict[int, int]:
    """Open alerts per service id."""
    from django.db.models import Count

    rows = (
        Alert.objects.filter(status__in=ALERT_OPEN_STATUSES)
        .values("service_id")
        .annotate(n=Count("id"))
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
