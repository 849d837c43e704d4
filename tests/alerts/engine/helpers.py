"""Building blocks for the engine tests: services, integrations, inbox rows, ticks."""

from __future__ import annotations

import itertools
from typing import Any

from tocsin.alerts.adapters.base import Event
from tocsin.alerts.engine import IngestModule
from tocsin.alerts.models import Alert, InboxEvent
from tocsin.catalog.models import Integration, Service
from tocsin.core.clock import now
from tocsin.core.crypto import sha256_hex

_seq = itertools.count(1)


def make_service(name: str | None = None, **fields: Any) -> Service:
    return Service.objects.create(name=name or f"Service {next(_seq)}", **fields)


def make_integration(
    service: Service, kind: str = "pagerduty", name: str = "", **options: Any
) -> Integration:
    n = next(_seq)
    return Integration.objects.create(
        service=service,
        kind=kind,
        name=name or f"{kind}-{n}",
        key_hash=sha256_hex(f"key-{n}-{kind}"),
        key_prefix=f"k{n}"[:8],
        options=options,
        created_at=now(),
    )


def trigger(key: str, summary: str | None = None, **fields: Any) -> dict[str, Any]:
    return Event(
        action="trigger", dedup_key=key, summary=summary or f"{key} is down", **fields
    ).to_json()


def ack(key: str) -> dict[str, Any]:
    return Event(action="acknowledge", dedup_key=key).to_json()


def resolve(key: str, **fields: Any) -> dict[str, Any]:
    return Event(action="resolve", dedup_key=key, **fields).to_json()


def firing(group: str, fingerprint: str, **fields: Any) -> dict[str, Any]:
    """One entry of an Alertmanager-style snapshot."""
    fields.setdefault("summary", f"{fingerprint} firing")
    return Event(
        action="trigger",
        dedup_key=f"{group}:{fingerprint}",
        group_key=group,
        snapshot=True,
        **fields,
    ).to_json()


def cleared(group: str, fingerprint: str) -> dict[str, Any]:
    return Event(
        action="resolve",
        dedup_key=f"{group}:{fingerprint}",
        group_key=group,
        snapshot=True,
        summary=f"{fingerprint} firing",
    ).to_json()


def push(integration: Integration, *events: dict[str, Any], kind: str = "event") -> InboxEvent:
    """What the ingest endpoints commit for an accepted request."""
    return InboxEvent.objects.create(
        integration=integration, kind=kind, events=list(events), received_at=now()
    )


def ping(integration: Integration) -> InboxEvent:
    return push(integration, kind="heartbeat")


def drain(module: IngestModule | None = None, limit: int = 50) -> int:
    """Tick until the inbox is empty; the number of rows processed."""
    module = module or IngestModule("test-worker")
    total = 0
    for _ in range(limit):
        done = module.tick(now())
        if done == 0:
            return total
        total += done
    raise AssertionError("the ingest module never ran out of work")


def outcome(row: InboxEvent) -> tuple[str, str]:
    row.refresh_from_db()
    return row.outcome, row.outcome_detail


def alert_of(integration: Integration, key: str) -> Alert:
    return Alert.objects.filter(integration=integration, dedup_key=key).latest("id")
