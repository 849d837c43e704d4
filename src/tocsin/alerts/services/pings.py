"""Heartbeats: a ping, and a missed heartbeat (not to be confused with alerts/heartbeats.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import (
    transaction,
)

from tocsin.alerts import selectors
from tocsin.alerts.adapters.base import Event
from tocsin.alerts.models import (
    Heartbeat,
    InboxEvent,
    Outcome,
)
from tocsin.alerts.services._common import DEFAULT_GRACE, DEFAULT_INTERVAL, HEARTBEAT_KEY
from tocsin.alerts.services.alert_ops import _Row
from tocsin.catalog.models import Integration
from tocsin.core.clock import now


def _heartbeat_of(integration: Integration) -> Heartbeat:
    heartbeat = Heartbeat.objects.filter(integration=integration).first()
    if heartbeat is not None:
        return heartbeat
    # Normally made with the integration (catalog.services); a ping never goes unrecorded.
    options = integration.options if isinstance(integration.options, dict) else {}
    return Heartbeat.objects.create(
        integration=integration,
        interval_seconds=_option_seconds(options, "interval", DEFAULT_INTERVAL),
        grace_seconds=_option_seconds(options, "grace", DEFAULT_GRACE),
    )


def _option_seconds(options: dict[str, Any], name: str, default: int) -> int:
    for key in (f"{name}_seconds", name):
        value = options.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return default


def _record_ping(row: InboxEvent) -> tuple[str, str]:
    """A ping: the heartbeat is up until ping + interval + grace; an outage it ends resolves."""
    heartbeat = _heartbeat_of(row.integration)
    ping_at = row.received_at
    if heartbeat.last_ping_at is not None and heartbeat.last_ping_at > ping_at:
        ping_at = heartbeat.last_ping_at
    due = ping_at + dt.timedelta(seconds=heartbeat.interval_seconds + heartbeat.grace_seconds)
    # The heartbeat row first: on PostgreSQL this waits for a concurrent "missed" claim,
    # so the alert it may have opened is seen (and resolved) below.
    Heartbeat.objects.filter(pk=heartbeat.pk).update(last_ping_at=ping_at, due_at=due, state="up")
    work = _Row(integration=row.integration, received_at=row.received_at, at=now())
    work.open = selectors.open_alerts_by_key(row.integration_id, [HEARTBEAT_KEY])
    if HEARTBEAT_KEY not in work.open:
        return Outcome.RECORDED, f"ping; next due by {due.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC"
    result = work.resolve(Event(action="resolve", dedup_key=HEARTBEAT_KEY))
    work.finish()
    return Outcome.UPDATED, f"ping; {result.detail}"


# --- heartbeats ---------------------------------------------------------------------


@transaction.atomic
def heartbeat_missed(
    *, heartbeat_id: int, state: str, due_at: dt.datetime, at: dt.datetime
) -> bool:
    """A heartbeat past due (up, or new and never pinged since it was set up) goes down
    and triggers its alert, which opens an incident.

    Claimed with a compare-and-set on (state, due_at), so two workers never both fire and
    a ping processed meanwhile wins. A ping still waiting in the inbox postpones it.
    """
    heartbeat = Heartbeat.objects.select_related("integration__service").get(pk=heartbeat_id)
    if selectors.inbox_has_pending_ping(heartbeat.integration_id):
        return False
    claimed = Heartbeat.objects.filter(pk=heartbeat_id, state=state, due_at=due_at).update(
        state="down"
    )
    if claimed != 1:
        return False
    integration = heartbeat.integration
    since = heartbeat.last_ping_at
    if since is not None:
        since_text = f"{since.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC"
    else:
        created = integration.created_at.astimezone(dt.UTC)
        since_text = f"it was set up ({created:%Y-%m-%d %H:%M:%S} UTC)"
    work = _Row(integration=integration, received_at=at, at=at)
    work.open = selectors.open_alerts_by_key(integration.pk, [HEARTBEAT_KEY])
    work.apply(
        Event(
            action="trigger",
            dedup_key=HEARTBEAT_KEY,
            summary=f"Heartbeat {integration.name} missed: no ping since {since_text}",
            severity="critical",
            source=integration.name,
            group_key=f"heartbeat:{integration.pk}",
            details={
                "last_ping_at": since.isoformat() if since else None,
                "due_at": due_at.isoformat(),
                "interval_seconds": heartbeat.interval_seconds,
                "grace_seconds": heartbeat.grace_seconds,
            },
            occurred_at=due_at.isoformat(),
        )
    )
    work.finish()
    return True
