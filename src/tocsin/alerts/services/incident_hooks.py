"""What an incident's resolve or merge does to its alerts (registered in AlertsConfig.ready)."""

from __future__ import annotations

from tocsin.alerts.models import (
    Alert,
    AlertStatus,
)
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.incidents.models import EntryKind, Incident
from tocsin.incidents.timeline import timeline_append

# --- what an incident's resolve or merge does to its alerts --------------------------


def alerts_resolve_for_incident(*, incident: Incident, actor: Actor) -> int:
    """A resolve of the incident resolves its open alerts (inside the caller's transaction).

    It never touches the incident itself, so it cannot recurse with auto-resolve (which
    resolves the incident only once its alerts are all resolved).
    """
    at = now()
    resolved = (
        Alert.objects.filter(incident_id=incident.pk)
        .exclude(status=AlertStatus.RESOLVED)
        .update(status=AlertStatus.RESOLVED, resolved_at=at)
    )
    if resolved:
        timeline_append(
            incident=incident,
            kind=EntryKind.NOTE,
            actor=actor,
            text=f"{resolved} open alert{'s' if resolved != 1 else ''} resolved with the incident",
        )
    return resolved


def alerts_follow_merge(*, incident: Incident, into: Incident, actor: Actor) -> int:
    """A merged duplicate's open alerts move to the incident it was merged into, so that
    their next re-send from monitoring lands there instead of opening a new incident (and
    the original resolves with them if it came from monitoring). If the original is not
    open, they are resolved with the duplicate instead."""
    if not into.is_open:
        return alerts_resolve_for_incident(incident=incident, actor=actor)
    moved = (
        Alert.objects.filter(incident_id=incident.pk)
        .exclude(status=AlertStatus.RESOLVED)
        .update(incident=into)
    )
    if moved:
        timeline_append(
            incident=into,
            kind=EntryKind.NOTE,
            actor=actor,
            text=f"{moved} open alert{'s' if moved != 1 else ''} moved here from {incident.ref}",
        )
    return moved
