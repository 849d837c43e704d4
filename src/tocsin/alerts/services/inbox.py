"""The inbox: adding an accepted request, and purging old rows and change events."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import (
    connection,
)

from tocsin.alerts import sql
from tocsin.alerts.models import (
    ChangeEvent,
    InboxEvent,
    InboxState,
)
from tocsin.alerts.services._common import CHANGE_EVENT_KEEP
from tocsin.catalog.models import Integration
from tocsin.core.env import env_int
from tocsin.core.jsonfast import json_param
from tocsin.core.wake import work_committed

# --- inbox rows -------------------------------------------------------------------------


def inbox_add(
    *,
    integration: Integration,
    kind: str,
    received_at: dt.datetime,
    events: list[dict[str, Any]],
    payload: str = "",
    payload_truncated: bool = False,
    request_id: str = "",
) -> None:
    """A pending inbox row: what an accepted request leaves (N1).

    `InboxEvent.objects.create(...)` as one prepared INSERT (tocsin.alerts.sql). Outside
    a transaction it is its own, committed when this returns.
    """
    ops = connection.ops
    values = {
        "integration": integration.pk,
        "kind": kind,
        "received_at": ops.adapt_datetimefield_value(received_at),
        "events": json_param(connection, _INBOX_EVENTS)(events),
        "payload": payload,
        "payload_truncated": bool(payload_truncated),
        "request_id": request_id,
        "state": str(InboxState.PENDING),
        "outcome": "",
        "outcome_detail": "",
    }
    sql.insert_inbox_row([values[name] for name in sql.INBOX_COLUMNS])
    work_committed()  # wakes a waiting worker (PostgreSQL NOTIFY; SQLite polls)


_INBOX_EVENTS = InboxEvent._meta.get_field("events")


def inbox_purge(*, at: dt.datetime, limit: int = 1000) -> int:
    """Delete done inbox rows older than TOCSIN_INBOX_RETENTION_DAYS (default 7), a batch."""
    days = env_int("TOCSIN_INBOX_RETENTION_DAYS", 7)
    cutoff = at - dt.timedelta(days=days)
    ids = list(
        InboxEvent.objects.filter(state=InboxState.DONE, received_at__lt=cutoff)
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
    if not ids:
        return 0
    deleted, _ = InboxEvent.objects.filter(pk__in=ids, state=InboxState.DONE).delete()
    return deleted


def change_events_purge(*, at: dt.datetime, limit: int = 1000) -> int:
    """Change events are kept 90 days (as PagerDuty does)."""
    ids = list(
        ChangeEvent.objects.filter(received_at__lt=at - CHANGE_EVENT_KEEP)
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
    if not ids:
        return 0
    deleted, _ = ChangeEvent.objects.filter(pk__in=ids).delete()
    return deleted
