"""The lifecycle actions: one service per action, each one transaction that moves the
status through `lifecycle.transition()` (which writes the timeline entry).

`incident_act(action=...)` is only for callers that receive the action's name from a
request (the API's `POST /incidents/{ref}/{action}` and the incident page's forms);
everything else calls the specific function.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction

from tocsin.accounts.models import User
from tocsin.accounts.permissions import Action, can, require_for
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.core.errors import Invalid
from tocsin.incidents import hooks, sla
from tocsin.incidents.lifecycle import check_action, target_status, transition
from tocsin.incidents.models import EntryKind, Incident, ResolutionCode, Visibility
from tocsin.incidents.notifications import queue_resolution_mail
from tocsin.incidents.services._common import NOTE_MAX, _clean_text, _display, _lock
from tocsin.incidents.timeline import timeline_append

# Written by every action: any move ends the current acknowledgement's timer.
_ALWAYS_SAVED = ("status", "updated_at", "ack_expires_at", *sla.SLA_FIELDS)


@dataclass
class _Move:
    """One action under way: the locked incident, the cleaned note, the moment."""

    incident: Incident
    action: str
    note: str
    at: dt.datetime
    fields: list[str] = field(default_factory=lambda: list(_ALWAYS_SAVED))

    def first_acknowledgement(self) -> None:
        """acknowledged_at is the first acknowledgement, whichever action achieved it."""
        if self.incident.acknowledged_at is None:
            self.incident.acknowledged_at = self.at
            self.fields.append("acknowledged_at")


def _begin(*, incident: Incident, actor: Actor, action: Action, note: str) -> _Move:
    """Permission, note, lock, then the transition check (409 before anything else)."""
    name = action.value.removeprefix("incident.")
    require_for(actor, action, incident, what=f"{name} incidents")
    note = _clean_text("note", note, required=False, limit=NOTE_MAX)
    incident = _lock(incident)
    target_status(incident.status, name)
    incident.ack_expires_at = None
    return _Move(incident=incident, action=name, note=note, at=now())


def _finish(move: _Move, *, actor: Actor, text: str | None = None, public: bool = False) -> None:
    """Save the changed fields and move the status, appending the timeline entry."""
    move.incident.save(update_fields=list(dict.fromkeys(move.fields)))
    transition(
        move.incident,
        move.action,
        actor=actor,
        note=move.note if text is None else text,
        visibility=Visibility.PUBLIC if public else Visibility.INTERNAL,
    )


def _acknowledger(actor: Actor) -> User | None:
    """The person behind an acknowledgement (an API token acts for its owner), if any."""
    user = actor.user
    return user if isinstance(user, User) and user.pk is not None else None


@transaction.atomic
def incident_acknowledge(*, incident: Incident, actor: Actor, note: str = "") -> Incident:
    """Someone has seen it, and it is theirs: the response target is met; the service's
    ack timeout starts; an unassigned incident is assigned to the person who acknowledged
    (if they may be assigned), with its own timeline entry, in the same transaction."""
    move = _begin(incident=incident, actor=actor, action=Action.INCIDENT_ACKNOWLEDGE, note=note)
    incident = move.incident
    if incident.acknowledged_at is None:
        incident.acknowledged_at = move.at
    timeout = incident.service.ack_timeout_minutes if incident.service is not None else None
    if timeout:
        incident.ack_expires_at = move.at + dt.timedelta(minutes=timeout)
    sla.sla_meet_response(incident, move.at)
    person = _acknowledger(actor)
    incident.acknowledged_by = person
    move.fields += ["acknowledged_at", "acknowledged_by"]
    takes_it = (
        person is not None
        and incident.assignee_id is None
        and can(person, Action.INCIDENT_BE_ASSIGNED)
    )
    if takes_it:
        incident.assignee = person
        move.fields.append("assignee")
    _finish(move, actor=actor)
    if takes_it:
        timeline_append(
            incident=incident,
            kind=EntryKind.ASSIGNMENT,
            actor=actor,
            data={"assignee": {"old": None, "new": _display(person)}, "via": "acknowledge"},
        )
    return incident


@transaction.atomic
def incident_unacknowledge(*, incident: Incident, actor: Actor, note: str = "") -> Incident:
    """Hand an acknowledged incident back to new (a person, or the ack timeout). The
    assignee stays: taking the acknowledgement back is not taking the work away."""
    move = _begin(incident=incident, actor=actor, action=Action.INCIDENT_UNACKNOWLEDGE, note=note)
    move.incident.acknowledged_by = None
    move.fields.append("acknowledged_by")
    _finish(move, actor=actor)
    return move.incident


@transaction.atomic
def incident_start(*, incident: Incident, actor: Actor, note: str = "") -> Incident:
    move = _begin(incident=incident, actor=actor, action=Action.INCIDENT_START, note=note)
    sla.sla_meet_response(move.incident, move.at)
    move.first_acknowledgement()
    _finish(move, actor=actor)
    return move.incident


@transaction.atomic
def incident_hold(*, incident: Incident, actor: Actor, note: str = "") -> Incident:
    """Waiting on someone else: the SLA clock pauses."""
    move = _begin(incident=incident, actor=actor, action=Action.INCIDENT_HOLD, note=note)
    sla.sla_pause(move.incident, move.at)
    _finish(move, actor=actor)
    return move.incident


@transaction.atomic
def incident_resume(*, incident: Incident, actor: Actor, note: str = "") -> Incident:
    move = _begin(incident=incident, actor=actor, action=Action.INCIDENT_RESUME, note=note)
    sla.sla_resume(move.incident, move.at)
    sla.sla_meet_response(move.incident, move.at)
    move.first_acknowledgement()
    _finish(move, actor=actor)
    return move.incident


@transaction.atomic
def incident_resolve(
    *,
    incident: Incident,
    actor: Actor,
    resolution_code: str = "",
    resolution_notes: str = "",
    note: str = "",
) -> Incident:
    """Fixed: needs a resolution code and notes; queues the reporter's resolution mail and
    runs the `hooks.on_resolved` hooks (e.g. the alerts resolve), all in one transaction."""
    move = _begin(incident=incident, actor=actor, action=Action.INCIDENT_RESOLVE, note=note)
    incident = move.incident
    if resolution_code not in ResolutionCode.values:
        raise Invalid("resolution_code", f"is required: one of {', '.join(ResolutionCode.values)}")
    resolution_notes = _clean_text(
        "resolution_notes", resolution_notes, required=True, limit=NOTE_MAX
    )
    incident.resolution_code = resolution_code
    incident.resolution_notes = resolution_notes
    incident.resolved_at = move.at
    sla.sla_stop(incident, move.at)
    move.fields += ["resolution_code", "resolution_notes", "resolved_at"]
    move.first_acknowledgement()
    move.fields.append("acknowledged_at")
    text = f"{ResolutionCode(resolution_code).label}: {resolution_notes}"
    if move.note:
        text += f"\n\n{move.note}"
    _finish(move, actor=actor, text=text, public=True)
    # Committed with the resolve; the worker's outbox module sends it.
    queue_resolution_mail(incident)
    hooks.run_resolved(incident=incident, actor=actor)
    return incident


@transaction.atomic
def incident_close(
    *,
    incident: Incident,
    actor: Actor,
    resolution_code: str = "",
    resolution_notes: str = "",
    note: str = "",
) -> Incident:
    """Close a resolved incident, optionally correcting its resolution code and notes."""
    move = _begin(incident=incident, actor=actor, action=Action.INCIDENT_CLOSE, note=note)
    incident = move.incident
    if resolution_code:
        if resolution_code not in ResolutionCode.values:
            raise Invalid("resolution_code", f"must be one of {', '.join(ResolutionCode.values)}")
        incident.resolution_code = resolution_code
        move.fields.append("resolution_code")
    if resolution_notes:
        incident.resolution_notes = _clean_text(
            "resolution_notes", resolution_notes, required=False, limit=NOTE_MAX
        )
        move.fields.append("resolution_notes")
    incident.closed_at = move.at
    move.fields.append("closed_at")
    _finish(move, actor=actor, public=True)
    return incident


@transaction.atomic
def incident_reopen(*, incident: Incident, actor: Actor, note: str = "") -> Incident:
    """Not fixed after all: back to in progress, the resolution SLA runs again."""
    move = _begin(incident=incident, actor=actor, action=Action.INCIDENT_REOPEN, note=note)
    sla.sla_reopen(move.incident, move.at)
    _finish(move, actor=actor, public=True)
    return move.incident


def _without_resolution(
    fn: Callable[..., Incident],
) -> Callable[..., Incident]:
    """An action that takes no resolution: the request's resolution fields are ignored."""

    def act(
        *,
        incident: Incident,
        actor: Actor,
        note: str = "",
        resolution_code: str = "",
        resolution_notes: str = "",
    ) -> Incident:
        return fn(incident=incident, actor=actor, note=note)

    return act


ACTION_SERVICES: dict[str, Callable[..., Incident]] = {
    "acknowledge": _without_resolution(incident_acknowledge),
    "unacknowledge": _without_resolution(incident_unacknowledge),
    "start": _without_resolution(incident_start),
    "hold": _without_resolution(incident_hold),
    "resume": _without_resolution(incident_resume),
    "resolve": incident_resolve,
    "close": incident_close,
    "reopen": _without_resolution(incident_reopen),
}


def incident_act(
    *,
    incident: Incident,
    actor: Actor,
    action: str,
    note: str = "",
    resolution_code: str = "",
    resolution_notes: str = "",
) -> Incident:
    """Dispatch a lifecycle action named by a request (API path, web form) to its service."""
    service = ACTION_SERVICES[check_action(action)]
    return service(
        incident=incident,
        actor=actor,
        note=note,
        resolution_code=resolution_code,
        resolution_notes=resolution_notes,
    )
