"""Merging a duplicate into the original incident."""

from __future__ import annotations

from django.db import transaction

from tocsin.accounts.permissions import Action, require_for
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.core.errors import Conflict, Invalid
from tocsin.incidents import hooks, sla
from tocsin.incidents.lifecycle import transition
from tocsin.incidents.models import (
    EntryKind,
    Incident,
    ResolutionCode,
    Status,
    Visibility,
)
from tocsin.incidents.timeline import timeline_append


@transaction.atomic
def incident_merge(*, incident: Incident, into: Incident, actor: Actor, note: str = "") -> Incident:
    """Mark `incident` a duplicate of `into`: resolved as duplicate, linked, timeline on both.

    Runs the `hooks.on_merged` hooks in the same transaction."""
    require_for(actor, Action.INCIDENT_MERGE, what="merge incidents")
    if incident.pk == into.pk:
        raise Invalid("into", "an incident cannot be merged into itself")
    locked = {
        row.pk: row
        for row in Incident.objects.select_for_update()
        .filter(pk__in=[incident.pk, into.pk])
        .order_by("pk")
    }
    incident, into = locked[incident.pk], locked[into.pk]
    if not incident.is_open:
        raise Conflict(f"only open incidents can be merged; {incident.ref} is {incident.status}")
    if into.status == Status.CLOSED:
        raise Conflict(f"{into.ref} is closed; merge into an open incident")
    if into.duplicate_of_id:
        raise Conflict(f"{into.ref} is itself a duplicate; merge into the original")
    at = now()
    incident.duplicate_of = into
    incident.resolution_code = ResolutionCode.DUPLICATE
    incident.resolution_notes = f"Duplicate of {into.ref}"
    incident.resolved_at = at
    sla.sla_stop(incident, at)
    incident.save()
    transition(
        incident,
        "resolve",
        actor=actor,
        note=f"Merged into {into.ref}" + (f": {note}" if note else ""),
        visibility=Visibility.PUBLIC,
    )
    timeline_append(
        incident=incident,
        kind=EntryKind.MERGE,
        actor=actor,
        text=note,
        visibility=Visibility.PUBLIC,
        data={"into": into.ref},
    )
    into.updated_at = at
    into.save(update_fields=["updated_at"])
    timeline_append(
        incident=into,
        kind=EntryKind.MERGE,
        actor=actor,
        text=note,
        data={"from": incident.ref},
    )
    # E.g. the duplicate's open alerts follow it into the original (registered by alerts).
    hooks.run_merged(incident=incident, into=into, actor=actor)
    return incident
