"""Appending to an incident's timeline (inside the caller's transaction)."""

from __future__ import annotations

from typing import Any

from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.incidents.models import Incident, TimelineEntry, Visibility


def timeline_append(
    *,
    incident: Incident,
    kind: str,
    actor: Actor,
    text: str = "",
    visibility: str = Visibility.INTERNAL,
    data: dict[str, Any] | None = None,
) -> TimelineEntry:
    return TimelineEntry.objects.create(
        incident=incident,
        created_at=now(),
        kind=kind,
        visibility=visibility,
        text=text,
        data=data or {},
        **actor.timeline_fields(),
    )
