"""The drain's part of Opsgenie's alert calls (ingest: alerts/ingest.py; wire format:
specs/wire-formats.md §4): acknowledge, unacknowledge, add note and close, applied in
inbox order like every other event.

Acknowledge and close are the drain's own `acknowledge` and `resolve`. What is Opsgenie's
alone lives here:
- an event addressed by alert id (`identifierType=id` or `tiny`) carries that id in
  details["opsgenie_alert_id"]: it acts only on that alert, never on a newer alert that
  reuses the alias after the first one resolved;
- `unacknowledge`: an acknowledged alert goes back to triggered (its incident keeps its
  status: people may be working on it);
- `note`: the note is kept on the alert (details["notes"], the newest NOTES_KEPT) and, when
  the alert belongs to an incident, added to the incident's timeline as an internal note
  by the integration.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from tocsin.alerts.adapters.base import Event
from tocsin.alerts.models import Alert, AlertStatus, Outcome
from tocsin.core.actors import Actor
from tocsin.incidents import services as incident_services

ALERT_ID = "opsgenie_alert_id"
NOTES_KEPT = 50
EXTRA_ACTIONS = ("unacknowledge", "note")

R = TypeVar("R")


class Row(Protocol):
    """What this module needs of the drain's row being applied (alerts/services/alert_ops.py)."""

    open: dict[str, Alert]
    received_at: dt.datetime

    @property
    def actor(self) -> Actor: ...

    def acknowledge(self, event: Event) -> Any: ...

    def resolve(self, event: Event) -> Any: ...


def handles(event: Event) -> bool:
    """Events this module applies (the others go the drain's usual way)."""
    return event.action in EXTRA_ACTIONS or ALERT_ID in event.details


def apply(row: Row, event: Event, result: Callable[[str, str], R]) -> R:
    alert = row.open.get(event.dedup_key)
    wanted = event.details.get(ALERT_ID)
    if wanted is not None and (alert is None or alert.pk != wanted):
        return result(Outcome.IGNORED, f"alert #{wanted} is not open")
    if event.action == "acknowledge":
        return row.acknowledge(event)
    if event.action == "resolve":
        return row.resolve(event)
    if alert is None:
        return result(Outcome.IGNORED, f"{event.action} for unknown or resolved key")
    if event.action == "unacknowledge":
        return result(*_unacknowledge(alert, row))
    return result(*_note(alert, row, event))


def _unacknowledge(alert: Alert, row: Row) -> tuple[str, str]:
    if alert.status != AlertStatus.ACKNOWLEDGED:
        return Outcome.IGNORED, f"alert #{alert.pk} is not acknowledged"
    alert.status = AlertStatus.TRIGGERED
    alert.acknowledged_at = None
    alert.last_seen_at = max(alert.last_seen_at, row.received_at)
    alert.save(update_fields=["status", "acknowledged_at", "last_seen_at"])
    return Outcome.UPDATED, f"alert #{alert.pk} unacknowledged"


def _note(alert: Alert, row: Row, event: Event) -> tuple[str, str]:
    text = str(event.details.get("note") or "").strip()
    user = str(event.details.get("user") or "").strip()
    source = str(event.details.get("source") or "").strip()
    if not text:
        return Outcome.REJECTED, "a note without text"
    details = dict(alert.details or {})
    notes = list(details.get("notes") or [])
    notes.append({"at": row.received_at.isoformat(), "note": text, "user": user, "source": source})
    details["notes"] = notes[-NOTES_KEPT:]
    alert.details = details
    alert.last_seen_at = max(alert.last_seen_at, row.received_at)
    alert.save(update_fields=["details", "last_seen_at"])
    if alert.incident_id is not None:
        by = f" ({user})" if user else ""
        incident_services.incident_add_note(
            incident=alert.incident,  # type: ignore[arg-type]
            actor=row.actor,
            text=f"Note on alert #{alert.pk}{by}: {text}"[: incident_services.NOTE_MAX],
        )
    return Outcome.UPDATED, f"note added to alert #{alert.pk}"
