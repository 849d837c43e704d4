"""REST API for alerts, change events, maintenance windows and silences (staff only)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from tocsin.accounts.api_auth import user_from_request
from tocsin.accounts.permissions import Action, require
from tocsin.alerts import selectors
from tocsin.alerts import services as alert_services
from tocsin.alerts.models import Alert, ChangeEvent, MaintenanceWindow, Silence
from tocsin.catalog.selectors import service_get
from tocsin.core.api import (
    ERRORS,
    BodyId,
    Id,
    InSchema,
    Paging,
    Ref,
    Text,
    actor_from_request,
    idempotent_create,
    lookup,
    page,
    ref,
)
from tocsin.incidents.models import Incident

router = Router(tags=["alerts"])


# --- alerts --------------------------------------------------------------------------------


class IntegrationRef(Schema):
    id: int
    kind: str
    name: str


class AlertOut(Schema):
    id: int
    service: Ref
    integration: IntegrationRef
    dedup_key: str
    status: str
    severity: str
    summary: str
    source: str
    labels: dict[str, Any]
    details: dict[str, Any]
    links: list[Any]
    first_seen_at: dt.datetime
    last_seen_at: dt.datetime
    started_at: dt.datetime
    acknowledged_at: dt.datetime | None
    resolved_at: dt.datetime | None
    occurrences: int
    incident: str | None = Field(description='"INC-42", or null (none yet, or suppressed)')
    suppressed_reason: str = Field(description="why no incident was opened, or empty")


class AlertList(Schema):
    items: list[AlertOut]
    count: int


def alert_json(alert: Alert) -> dict[str, Any]:
    integration = alert.integration
    return {
        "id": alert.pk,
        "service": ref(alert.service),
        "integration": {"id": integration.pk, "kind": integration.kind, "name": integration.name},
        "dedup_key": alert.dedup_key,
        "status": alert.status,
        "severity": alert.severity,
        "summary": alert.summary,
        "source": alert.source,
        "labels": alert.labels if isinstance(alert.labels, dict) else {},
        "details": alert.details if isinstance(alert.details, dict) else {"value": alert.details},
        "links": alert.links if isinstance(alert.links, list) else [],
        "first_seen_at": alert.first_seen_at,
        "last_seen_at": alert.last_seen_at,
        "started_at": alert.started_at,
        "acknowledged_at": alert.acknowledged_at,
        "resolved_at": alert.resolved_at,
        "occurrences": alert.occurrences,
        "incident": alert.incident.ref if alert.incident_id else None,  # type: ignore[union-attr]
        "suppressed_reason": alert.suppressed_reason,
    }


class AlertQuery(Schema):
    service: Id | None = None
    status: Literal["all", "open", "triggered", "acknowledged", "resolved"] = Field(
        "all", description='"open" is triggered or acknowledged'
    )
    integration: Id | None = None
    incident: Annotated[Text, Field(max_length=30)] | None = Field(None, description="INC-42 or 42")
    suppressed: bool | None = None
    q: Annotated[Text, Field(max_length=200)] = ""


@router.get("/alerts", response={200: AlertList, **ERRORS})
def list_alerts(request: HttpRequest, filters: Query[AlertQuery], paging: Query[Paging]) -> Any:
    """Alerts, most recently seen first. Staff only."""
    wanted = selectors.AlertFilters(
        service=filters.service,
        status=filters.status,
        integration=filters.integration,
        incident=selectors.incident_number(filters.incident) if filters.incident else None,
        suppressed=filters.suppressed,
        q=filters.q,
    )
    return page(selectors.alert_list_for(user_from_request(request), wanted), paging, alert_json)


class BulkIn(InSchema):
    action: Literal["acknowledge", "resolve"]
    ids: Annotated[list[BodyId], Field(min_length=1, max_length=alert_services.BULK_MAX)]


class Skipped(Schema):
    id: int
    reason: str


class BulkOut(Schema):
    action: str
    changed: list[AlertOut]
    skipped: list[Skipped] = Field(description="alerts already past the action, and why")
    incidents_resolved: list[str] = Field(description='"INC-42": resolved with their alerts')


# Before /alerts/{alert_id}: Django matches the first route that fits.
@router.post("/alerts/bulk", response={200: BulkOut, **ERRORS})
def bulk_alerts(request: HttpRequest, payload: BulkIn) -> dict[str, Any]:
    """Acknowledge or resolve several alerts in one transaction. Alerts already past the
    action are skipped and listed (repeating a bulk action changes nothing); an id that
    does not exist is a 404 and nothing changes."""
    selectors.require_staff(user_from_request(request))
    done = alert_services.alerts_act(
        actor=actor_from_request(request), alert_ids=payload.ids, action=payload.action
    )
    changed = selectors.alert_list_for(
        user_from_request(request), selectors.AlertFilters(status="all")
    ).filter(pk__in=[alert.pk for alert in done.changed])
    numbers = Incident.objects.filter(pk__in=done.incidents_resolved).order_by("number")
    return {
        "action": done.action,
        "changed": [alert_json(alert) for alert in changed.order_by("pk")],
        "skipped": [{"id": alert.pk, "reason": reason} for alert, reason in done.skipped],
        "incidents_resolved": [incident.ref for incident in numbers],
    }


@router.get("/alerts/{alert_id}", response={200: AlertOut, **ERRORS})
def get_alert(request: HttpRequest, alert_id: Id) -> dict[str, Any]:
    """One alert with its whole payload. 404 for a missing alert, and for anyone who may
    not see alerts."""
    return alert_json(selectors.access_alert(user_from_request(request), alert_id))


def _act(request: HttpRequest, alert_id: int, action: str) -> dict[str, Any]:
    user = user_from_request(request)
    alert = selectors.access_alert(user, alert_id)
    alert_services.alerts_act(
        actor=actor_from_request(request), alert_ids=[alert.pk], action=action, strict=True
    )
    return alert_json(selectors.access_alert(user, alert_id))


@router.post("/alerts/{alert_id}/acknowledge", response={200: AlertOut, **ERRORS})
def acknowledge_alert(request: HttpRequest, alert_id: Id) -> dict[str, Any]:
    """Acknowledge a triggered alert (a `new` incident of it is acknowledged too); 409 if
    it is acknowledged or resolved already."""
    return _act(request, alert_id, "acknowledge")


@router.post("/alerts/{alert_id}/resolve", response={200: AlertOut, **ERRORS})
def resolve_alert(request: HttpRequest, alert_id: Id) -> dict[str, Any]:
    """Resolve an open alert (its monitoring incident resolves with its last open alert
    if the service auto-resolves); 409 if it is resolved already."""
    return _act(request, alert_id, "resolve")


# --- change events ------------------------------------------------------------------------


class ChangeEventOut(Schema):
    id: int
    service: Ref
    integration: IntegrationRef
    summary: str
    source: str
    timestamp: dt.datetime
    details: dict[str, Any]
    links: list[Any]
    received_at: dt.datetime


class ChangeEventList(Schema):
    items: list[ChangeEventOut]
    count: int


def change_json(event: ChangeEvent) -> dict[str, Any]:
    integration = event.integration
    return {
        "id": event.pk,
        "service": ref(event.service),
        "integration": {"id": integration.pk, "kind": integration.kind, "name": integration.name},
        "summary": event.summary,
        "source": event.source,
        "timestamp": event.timestamp,
        "details": event.details if isinstance(event.details, dict) else {},
        "links": event.links if isinstance(event.links, list) else [],
        "received_at": event.received_at,
    }


@router.get("/services/{service_id}/change-events", response={200: ChangeEventList, **ERRORS})
def list_change_events(request: HttpRequest, service_id: Id, paging: Query[Paging]) -> Any:
    """Deploys and config changes sent to the service, newest first (they never page)."""
    selectors.require_staff(user_from_request(request))
    service = service_get(service_id)
    return page(selectors.change_events_for(service).select_related("service"), paging, change_json)


# --- maintenance windows --------------------------------------------------------------------

State = Literal["scheduled", "active", "ended", "current"]


class WindowOut(Schema):
    id: int
    services: list[Ref]
    starts_at: dt.datetime
    ends_at: dt.datetime
    reason: str
    state: str = Field(description="scheduled, active or ended")
    created_by: str | None
    created_at: dt.datetime


class WindowList(Schema):
    items: list[WindowOut]
    count: int


class WindowIn(InSchema):
    services: Annotated[list[BodyId], Field(min_length=1, max_length=100)]
    starts_at: dt.datetime | None = Field(None, description="default: now")
    ends_at: dt.datetime
    reason: Annotated[Text, Field(max_length=300)] = ""


class SpanQuery(Schema):
    service: Id | None = None
    state: State | None = Field(None, description='"current" is active or scheduled')


def window_json(window: MaintenanceWindow) -> dict[str, Any]:
    return {
        "id": window.pk,
        "services": [ref(s) for s in window.services.all()],
        "starts_at": window.starts_at,
        "ends_at": window.ends_at,
        "reason": window.reason,
        "state": selectors.span_state(window.starts_at, window.ends_at),
        "created_by": window.created_by.username if window.created_by_id else None,  # type: ignore[union-attr]
        "created_at": window.created_at,
    }


@router.get("/maintenance-windows", response={200: WindowList, **ERRORS})
def list_windows(request: HttpRequest, filters: Query[SpanQuery], paging: Query[Paging]) -> Any:
    qs = selectors.maintenance_windows(
        user_from_request(request), service=filters.service, state=filters.state
    )
    return page(qs, paging, window_json)


@router.post("/maintenance-windows", response={201: WindowOut, **ERRORS})
def create_window(request: HttpRequest, payload: WindowIn) -> HttpResponse:
    """While the window is open, the services' alerts are recorded but open no incident."""
    user = user_from_request(request)
    require(user, Action.WINDOW_MANAGE, what="manage maintenance windows and silences")

    def create() -> dict[str, Any]:
        chosen = [lookup("services", service_get, s) for s in dict.fromkeys(payload.services)]
        window = alert_services.maintenance_window_create(
            actor=actor_from_request(request),
            services=chosen,
            starts_at=payload.starts_at,
            ends_at=payload.ends_at,
            reason=payload.reason,
        )
        return window_json(selectors.access_maintenance_window(user, window.pk))

    return idempotent_create(request, create)


@router.get("/maintenance-windows/{window_id}", response={200: WindowOut, **ERRORS})
def get_window(request: HttpRequest, window_id: Id) -> dict[str, Any]:
    return window_json(selectors.access_maintenance_window(user_from_request(request), window_id))


@router.post("/maintenance-windows/{window_id}/end", response={200: WindowOut, **ERRORS})
def end_window(request: HttpRequest, window_id: Id) -> dict[str, Any]:
    """End the window now (one not started yet is cancelled); 409 if it has ended."""
    user = user_from_request(request)
    window = selectors.access_maintenance_window(user, window_id)
    alert_services.maintenance_window_end(actor=actor_from_request(request), window=window)
    return window_json(selectors.access_maintenance_window(user, window_id))


# --- silences ----------------------------------------------------------------------------------


class Matcher(InSchema):
    label: Annotated[Text, Field(min_length=1, max_length=100)]
    value: Annotated[Text, Field(max_length=200)]


class SilenceOut(Schema):
    id: int
    service: Ref | None = Field(description="null: every service")
    matchers: list[dict[str, str]]
    starts_at: dt.datetime
    ends_at: dt.datetime
    comment: str
    state: str
    created_by: str | None
    created_at: dt.datetime


class SilenceList(Schema):
    items: list[SilenceOut]
    count: int


class SilenceIn(InSchema):
    service: BodyId | None = Field(None, description="null: alerts of every service")
    matchers: Annotated[list[Matcher], Field(min_length=1, max_length=20)]
    starts_at: dt.datetime | None = Field(None, description="default: now")
    ends_at: dt.datetime
    comment: Annotated[Text, Field(max_length=300)] = ""


def silence_json(silence: Silence) -> dict[str, Any]:
    return {
        "id": silence.pk,
        "service": ref(silence.service),
        "matchers": silence.matchers,
        "starts_at": silence.starts_at,
        "ends_at": silence.ends_at,
        "comment": silence.comment,
        "state": selectors.span_state(silence.starts_at, silence.ends_at),
        "created_by": silence.created_by.username if silence.created_by_id else None,  # type: ignore[union-attr]
        "created_at": silence.created_at,
    }


@router.get("/silences", response={200: SilenceList, **ERRORS})
def list_silences(request: HttpRequest, filters: Query[SpanQuery], paging: Query[Paging]) -> Any:
    """With ?service=, that service's silences and those for every service."""
    qs = selectors.silences(
        user_from_request(request), service=filters.service, state=filters.state
    )
    return page(qs, paging, silence_json)


@router.post("/silences", response={201: SilenceOut, **ERRORS})
def create_silence(request: HttpRequest, payload: SilenceIn) -> HttpResponse:
    """Alerts whose labels match every matcher open no incident during the span."""
    user = user_from_request(request)
    require(user, Action.SILENCE_MANAGE, what="manage maintenance windows and silences")

    def create() -> dict[str, Any]:
        silence = alert_services.silence_create(
            actor=actor_from_request(request),
            service=lookup("service", service_get, payload.service),
            matchers=[m.model_dump() for m in payload.matchers],
            starts_at=payload.starts_at,
            ends_at=payload.ends_at,
            comment=payload.comment,
        )
        return silence_json(selectors.access_silence(user, silence.pk))

    return idempotent_create(request, create)


@router.get("/silences/{silence_id}", response={200: SilenceOut, **ERRORS})
def get_silence(request: HttpRequest, silence_id: Id) -> dict[str, Any]:
    return silence_json(selectors.access_silence(user_from_request(request), silence_id))


@router.post("/silences/{silence_id}/expire", response={200: SilenceOut, **ERRORS})
def expire_silence(request: HttpRequest, silence_id: Id) -> dict[str, Any]:
    """Stop the silence now; 409 if it has already expired."""
    user = user_from_request(request)
    silence = selectors.access_silence(user, silence_id)
    alert_services.silence_expire(actor=actor_from_request(request), silence=silence)
    return silence_json(selectors.access_silence(user, silence_id))
