"""Incident events inside the comms app, for the parts that react to each other without
importing each other: the automation webhooks listen; stakeholder updates, roles and the
status page emit what the incident hooks do not carry ("update posted", "public update").

`emit` runs inside the caller's transaction; a listener that raises rolls it back, so a
listener only enqueues work (outbox rows), it never calls out.

Events: `created`, `acknowledged`, `escalated`, `priority_changed`, `resolved`, `closed`,
`update_posted`, `role_assigned`, `major_declared` (with an incident) and
`public_update` (a status-page update: `incident` is None, `data["update_id"]` set).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tocsin.core.actors import Actor
from tocsin.incidents.models import Incident

Listener = Callable[..., object]
_listeners: list[Listener] = []


def listen(listener: Listener) -> None:
    """`listener(event=…, incident=…, actor=…, data=…)`; registered once."""
    if listener not in _listeners:
        _listeners.append(listener)


def emit(
    event: str, *, incident: Incident | None, actor: Actor, data: dict[str, Any] | None = None
) -> None:
    for listener in _listeners:
        listener(event=event, incident=incident, actor=actor, data=data or {})
