"""Helpers shared by the incident service tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tocsin.accounts.models import User
from tocsin.core.actors import Actor
from tocsin.incidents.models import Attachment, EntryKind, Incident, TimelineEntry
from tocsin.incidents.services import incident_act

# A Monday morning, UTC: the tests' fixed "now".
T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)

# How to bring a new incident into each status (actions in order).
PATH_TO: dict[str, list[str]] = {
    "new": [],
    "acknowledged": ["acknowledge"],
    "in_progress": ["start"],
    "on_hold": ["hold"],
    "resolved": ["resolve"],
    "closed": ["resolve", "close"],
}


def act(incident: Incident, user: User, action: str, **kwargs: Any) -> Incident:
    if action == "resolve":
        kwargs.setdefault("resolution_code", "fixed")
        kwargs.setdefault("resolution_notes", "Replaced the toner")
    return incident_act(incident=incident, actor=Actor.for_user(user), action=action, **kwargs)


def bring_to(incident: Incident, status: str, user: User) -> Incident:
    for action in PATH_TO[status]:
        incident = act(incident, user, action)
    return reload(incident)


def reload(incident: Incident) -> Incident:
    return Incident.objects.get(pk=incident.pk)


def entries(incident: Incident, kind: str | None = None) -> list[TimelineEntry]:
    qs = TimelineEntry.objects.filter(incident_id=incident.pk).order_by("created_at", "id")
    if kind is not None:
        qs = qs.filter(kind=kind)
    return list(qs)


def transitions(incident: Incident) -> list[TimelineEntry]:
    return entries(incident, EntryKind.TRANSITION)


def snapshot(incident: Incident) -> dict[str, Any]:
    """Everything about an incident as stored: to prove that nothing changed."""
    return {
        "row": Incident.objects.filter(pk=incident.pk).values().get(),
        "affected": sorted(
            Incident.objects.get(pk=incident.pk).affected_services.values_list("pk", flat=True)
        ),
        "timeline": list(
            TimelineEntry.objects.filter(incident_id=incident.pk)
            .order_by("id")
            .values_list("id", "kind", "text", "visibility", "redacted_at")
        ),
        "attachments": Attachment.objects.filter(incident_id=incident.pk).count(),
    }
