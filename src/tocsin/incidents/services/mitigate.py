"""Mitigation: the impact has stopped (a workaround, a rollback, a fix being watched);
the cause may be fixed later. Recorded once, the first time (the reports' time to
mitigate, docs/metrics.md)."""

from __future__ import annotations

from django.db import transaction

from tocsin.accounts.permissions import Action, require_for
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.core.errors import Conflict, Invalid
from tocsin.incidents.models import EntryKind, Incident
from tocsin.incidents.services._common import NOTE_MAX, _clean_text, _lock
from tocsin.incidents.timeline import timeline_append

# How a mitigation was recorded: the incident page's or the API's action, or a
# stakeholder update saying "monitoring" (the comms app).
MITIGATED_VIA = ("action", "update")


@transaction.atomic
def incident_mitigate(
    *, incident: Incident, actor: Actor, note: str = "", via: str = "action"
) -> Incident:
    """Mark an open incident mitigated (staff only): `mitigated_at` is set to now, with
    its timeline entry, in one transaction. Only the first time: an incident already
    mitigated, or no longer open, answers Conflict."""
    require_for(actor, Action.INCIDENT_MITIGATE, incident, what="mark incidents mitigated")
    if via not in MITIGATED_VIA:
        raise Invalid("via", f"must be one of {', '.join(MITIGATED_VIA)}")
    note = _clean_text("note", note, required=False, limit=NOTE_MAX)
    incident = _lock(incident)
    if incident.mitigated_at is not None:
        raise Conflict(
            f"{incident.ref} was already marked mitigated at "
            f"{incident.mitigated_at:%Y-%m-%d %H:%M} UTC"
        )
    if not incident.is_open:
        raise Conflict(
            f"only open incidents can be marked mitigated; {incident.ref} is {incident.status}"
        )
    at = now()
    incident.mitigated_at = at
    incident.updated_at = at
    incident.save(update_fields=["mitigated_at", "updated_at"])
    timeline_append(
        incident=incident,
        kind=EntryKind.FIELD,
        actor=actor,
        text=note,
        data={"field": "mitigated_at", "old": None, "new": at.isoformat(), "via": via},
    )
    return incident
