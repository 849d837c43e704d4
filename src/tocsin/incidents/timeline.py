"""Appending to an incident's timeline (inside the caller's transaction)."""

from __future__ import annotations

from typing import Any

from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.core.fastinsert import insert
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
    return insert(  # every change writes one: built once, not by the ORM each time
        TimelineEntry(
            incident=incident,
            created_at=now(),
            kind=kind,
            visibility=visibility,
            text=text,
            data=data or {},
            **actor.timeline_fields(),
        )
    )


# How integrations are named on a timeline ("Alertmanager · Prometheus prod").
INTEGRATION_NAMES = {
    "pagerduty": "PagerDuty",
    "opsgenie": "Opsgenie",
    "alertmanager": "Alertmanager",
    "grafana": "Grafana",
    "webhook": "Webhook",
    "email": "Email",
    "heartbeat": "Heartbeat",
}
BY_EMAIL = "by email from "


def actor_display(entry: TimelineEntry) -> str:
    """Who made an entry, as people read it: a person's name ("Inês Duarte", "Inês
    Duarte (API)" through a token), "Alertmanager · Prometheus prod" for an integration,
    "Tocsin · auto-close" for Tocsin itself; mail stays "by email from …"."""
    kind = entry.actor_kind
    if entry.actor_user_id and entry.actor_user is not None:
        name = str(entry.actor_user.display_name)
        return f"{name} (API)" if kind == "token" else name
    label = entry.actor_label
    if kind == "system":
        return f"Tocsin · {label}" if label else "Tocsin"
    if kind == "integration":
        if label.startswith(BY_EMAIL):
            return label
        source, sep, name = label.partition(":")
        if sep and source in INTEGRATION_NAMES:
            return f"{INTEGRATION_NAMES[source]} · {name}" if name else INTEGRATION_NAMES[source]
    return label or kind
