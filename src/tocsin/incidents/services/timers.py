"""Writes the engine makes when time passes: SLA breaches, auto-close, ack timeouts."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction

from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.incidents import sla
from tocsin.incidents.lifecycle import transition
from tocsin.incidents.models import (
    EntryKind,
    Incident,
    Status,
    Visibility,
)
from tocsin.incidents.services.actions import incident_unacknowledge
from tocsin.incidents.timeline import timeline_append


@transaction.atomic
def incident_auto_close(*, incident: Incident) -> bool:
    """The system closes a resolved incident TOCSIN_AUTO_CLOSE_DAYS days after its last
    resolve; False (and nothing changed) if it is not due or changed meanwhile."""
    actor = Actor.system("auto-close")
    at = now()
    cutoff = at - dt.timedelta(days=settings.TOCSIN_AUTO_CLOSE_DAYS)
    updated = Incident.objects.filter(
        pk=incident.pk,
        status=Status.RESOLVED,
        resolved_at=incident.resolved_at,
        resolved_at__lte=cutoff,
    ).update(closed_at=at)
    if updated != 1:
        return False
    incident.refresh_from_db()
    transition(
        incident,
        "close",
        actor=actor,
        visibility=Visibility.PUBLIC,
        note=f"Closed automatically {settings.TOCSIN_AUTO_CLOSE_DAYS} days after resolution",
    )
    return True


@transaction.atomic
def incident_mark_breaches(*, at: dt.datetime, limit: int = 200) -> int:
    """Record SLA breaches whose due time has passed (once each, on the timeline)."""
    marked = 0
    for name in ("response", "resolution"):
        due = f"{name}_due_at"
        candidates = (
            Incident.objects.filter(
                status__in=sla.RUNNING_STATUSES,
                **{
                    f"{due}__lt": at,
                    f"{name}_met_at__isnull": True,
                    f"{name}_breached_at__isnull": True,
                },
            )
            .order_by(due)
            .values_list("pk", due)[:limit]
        )
        for pk, due_at in candidates:
            claimed = Incident.objects.filter(
                pk=pk, **{f"{name}_breached_at__isnull": True}
            ).update(**{f"{name}_breached_at": due_at})
            if claimed != 1:
                continue
            incident = Incident.objects.get(pk=pk)
            timeline_append(
                incident=incident,
                kind=EntryKind.SLA,
                actor=Actor.system("sla"),
                text=f"{name.capitalize()} target breached",
                data={"target": name, "due_at": due_at.isoformat()},
            )
            marked += 1
    return marked


@transaction.atomic
def incident_ack_timeout(*, incident: Incident, at: dt.datetime) -> bool:
    """The system takes back an acknowledgement that timed out; False if it moved on."""
    current = Incident.objects.select_for_update().filter(
        pk=incident.pk, status=Status.ACKNOWLEDGED, ack_expires_at__lte=at
    )
    if not current.exists():
        return False
    minutes = incident.service.ack_timeout_minutes if incident.service is not None else None
    incident_unacknowledge(
        incident=incident,
        actor=Actor.system("ack-timeout"),
        note=f"Acknowledgement timed out after {minutes} minutes without progress"
        if minutes
        else "Acknowledgement timed out",
    )
    return True
