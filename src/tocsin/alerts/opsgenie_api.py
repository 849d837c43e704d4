"""Reads for Opsgenie's alert API (specs/wire-formats.md §4): an alert by id, tiny id or
alias, and the outcome of an accepted request (`GET v2/alerts/requests/{requestId}`, which
Opsgenie's SDKs poll after every call). The answers are Opsgenie's shapes; the HTTP side
is alerts/ingest.py.

Ids: Tocsin's alert id serves as Opsgenie's `id` and `tinyId`; the alias is the alert's
dedup key.
"""

from __future__ import annotations

from typing import Any

from tocsin.alerts.models import Alert, AlertStatus, InboxEvent, InboxState, Outcome
from tocsin.alerts.opsgenie_actions import ALERT_ID
from tocsin.catalog.models import Integration

SUCCESS = {Outcome.CREATED, Outcome.MERGED, Outcome.REFRESHED, Outcome.UPDATED, Outcome.SUPPRESSED}
ACTION_NAMES = {
    "trigger": "Create",
    "resolve": "Close",
    "acknowledge": "Acknowledge",
    "unacknowledge": "UnAcknowledge",
    "note": "AddNote",
}
DONE_STATUS = {
    "trigger": "Created alert",
    "resolve": "Closed alert",
    "acknowledge": "Acknowledged alert",
    "unacknowledge": "Unacknowledged alert",
    "note": "Added note",
}


def alert_by_id(integration: Integration, identifier: str) -> Alert | None:
    """The integration's alert with this id (Opsgenie's id or tinyId)."""
    if not identifier.isdigit() or len(identifier) > 18:
        return None
    return Alert.objects.filter(pk=int(identifier), integration=integration).first()


def alert_by_alias(integration: Integration, dedup_key: str) -> Alert | None:
    """The open alert with this alias, else the newest one that had it."""
    alerts = Alert.objects.filter(integration=integration, dedup_key=dedup_key)
    found = alerts.exclude(status=AlertStatus.RESOLVED).first()
    return found or alerts.order_by("-id").first()


def _time(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def alert_json(alert: Alert) -> dict[str, Any]:
    details = alert.details if isinstance(alert.details, dict) else {}
    extra = details.get("details")
    return {
        "id": str(alert.pk),
        "tinyId": str(alert.pk),
        "alias": alert.dedup_key,
        "message": alert.summary,
        "status": "closed" if alert.status == AlertStatus.RESOLVED else "open",
        "acknowledged": alert.status == AlertStatus.ACKNOWLEDGED,
        "isSeen": alert.status == AlertStatus.ACKNOWLEDGED,
        "tags": details.get("tags") or [],
        "snoozed": False,
        "count": alert.occurrences,
        "lastOccurredAt": _time(alert.last_seen_at),
        "createdAt": _time(alert.first_seen_at),
        "updatedAt": _time(alert.resolved_at or alert.acknowledged_at or alert.last_seen_at),
        "source": alert.source,
        "owner": "",
        "priority": details.get("priority", "P3"),
        "responders": details.get("responders") or [],
        "integration": {
            "id": str(alert.integration_id),
            "name": alert.integration.name,
            "type": "API",
        },
        "report": {
            "ackTime": _millis(alert.first_seen_at, alert.acknowledged_at),
            "closeTime": _millis(alert.first_seen_at, alert.resolved_at),
        },
        "description": details.get("description", ""),
        "entity": details.get("entity", ""),
        "details": extra if isinstance(extra, dict) else {},
        "notes": details.get("notes") or [],
        "incident": alert.incident.ref if alert.incident is not None else None,
    }


def _millis(start: Any, end: Any) -> int | None:
    if start is None or end is None:
        return None
    return int((end - start).total_seconds() * 1000)


def request_row(integration: Integration, request_id: str) -> InboxEvent | None:
    """The integration's newest inbox row with this request id (the SDK asks right after
    the call, so the walk back through the integration's rows is short)."""
    if not request_id or len(request_id) > 64:
        return None
    return (
        InboxEvent.objects.filter(integration=integration, request_id=request_id)
        .order_by("-id")
        .first()
    )


def request_status(row: InboxEvent) -> dict[str, Any] | None:
    """Opsgenie's request status of a processed row; None while it waits in the inbox."""
    if row.state != InboxState.DONE:
        return None
    events = row.events if isinstance(row.events, list) else []
    first = events[0] if events and isinstance(events[0], dict) else {}
    action = str(first.get("action", "trigger"))
    dedup_key = str(first.get("dedup_key", ""))
    success = row.outcome in SUCCESS
    alert_id = (first.get("details") or {}).get(ALERT_ID)
    if alert_id is None and dedup_key:
        alert = (
            Alert.objects.filter(
                integration_id=row.integration_id,
                dedup_key=dedup_key,
                first_seen_at__lte=row.received_at,
            )
            .order_by("-id")
            .only("pk")
            .first()
        )
        alert_id = alert.pk if alert is not None else None
    if success:
        status = DONE_STATUS.get(action, "Processed")
        if row.outcome == Outcome.MERGED:
            status = "Alert already exists: its count was increased"
        elif row.outcome == Outcome.SUPPRESSED:
            status = f"Created alert (suppressed: {row.outcome_detail[:200]})"
    elif row.outcome == Outcome.IGNORED:
        status = "Alert does not exist or is already closed"
        if "not acknowledged" in row.outcome_detail or "already acknowledged" in (
            row.outcome_detail
        ):
            status = row.outcome_detail[:200]
    else:
        status = row.outcome_detail[:200] or "Request could not be processed"
    return {
        "success": success,
        "action": ACTION_NAMES.get(action, action),
        "processedAt": _time(row.processed_at),
        "integrationId": str(row.integration_id),
        "isSuccess": success,
        "status": status,
        "alertId": str(alert_id) if alert_id is not None else "",
        "alias": dedup_key,
    }
