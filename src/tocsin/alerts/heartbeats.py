"""Heartbeat integrations: the pings the engine expects (tocsin.alerts.engine opens an
incident when one is late).

Registered with the catalog at start-up (AlertsConfig.ready()): whenever an integration is
created or its options change, `heartbeat_sync` runs inside the catalog service's
transaction and keeps the heartbeat's interval, grace and next due time in step.
"""

from __future__ import annotations

from datetime import timedelta

from tocsin.alerts.models import Heartbeat
from tocsin.catalog.models import Integration, IntegrationKind
from tocsin.catalog.services import HEARTBEAT_GRACE_DEFAULT


def heartbeat_sync(integration: Integration) -> None:
    """Keep a heartbeat integration's expectations in step with its options (other kinds
    are left alone). Heartbeats are due from creation: one that never pings is noticed
    interval + grace after it was set up."""
    if integration.kind != IntegrationKind.HEARTBEAT:
        return
    interval = int(integration.options["interval_seconds"])
    grace = int(integration.options.get("grace_seconds", HEARTBEAT_GRACE_DEFAULT))
    since = integration.created_at
    heartbeat = Heartbeat.objects.filter(integration=integration).first()
    if heartbeat is None:
        Heartbeat.objects.create(
            integration=integration,
            interval_seconds=interval,
            grace_seconds=grace,
            state="new",
            due_at=since + timedelta(seconds=interval + grace),
        )
        return
    since = heartbeat.last_ping_at or since
    heartbeat.interval_seconds = interval
    heartbeat.grace_seconds = grace
    heartbeat.due_at = since + timedelta(seconds=interval + grace)
    heartbeat.save(update_fields=["interval_seconds", "grace_seconds", "due_at"])
