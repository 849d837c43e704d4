"""Who responds to an incident: its participants, the roles they hold (commander,
communications lead, scribe and the roles administrators add) and whether it is a major
incident (issue 11). Each write takes the incident's lock and writes its timeline entry
in the same transaction; other apps react through `tocsin.incidents.hooks`."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from tocsin.accounts.models import User
from tocsin.accounts.permissions import Action, can, require_for
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.core.errors import Conflict, Invalid
from tocsin.incidents import hooks
from tocsin.incidents.models import (
    EntryKind,
    Incident,
    IncidentRole,
    Participant,
    ParticipantVia,
    RoleAssignment,
    Status,
)
from tocsin.incidents.services._common import _lock
from tocsin.incidents.timeline import timeline_append


def participant_add(
    *, incident: Incident, user: User, via: str, actor: Actor, quiet: bool = False
) -> Participant:
    """Make `user` a participant (once; adding again returns the existing row). Call it
    inside the caller's transaction; `quiet` leaves the timeline to the caller, which
    says why (a role taken, a responder request accepted)."""
    existing = Participant.objects.filter(incident=incident, user=user).first()
    if existing is not None:
        return existing
    if not user.is_active or not can(user, Action.INCIDENT_BE_ASSIGNED):
        raise Invalid("user", f"{user.display_name} cannot work on incidents")
    try:
        with transaction.atomic():
            participant = Participant.objects.create(
                incident=incident, user=user, via=via, joined_at=now()
            )
    except IntegrityError:  # added at the same moment by someone else
        return Participant.objects.get(incident=incident, user=user)
    if not quiet:
        timeline_append(
            incident=incident,
            kind=EntryKind.ASSIGNMENT,
            actor=actor,
            text=f"{user.display_name} joined the response.",
            data={"participant": user.username, "via": via},
        )
    return participant


def role_holder(incident: Incident, key: str) -> RoleAssignment | None:
    return (
        RoleAssignment.objects.select_related("user", "role")
        .filter(incident=incident, role__key=key, ended_at__isnull=True)
        .first()
    )


@transaction.atomic
def role_assign(
    *, incident: Incident, role: IncidentRole, user: User, actor: Actor, note: str = ""
) -> RoleAssignment:
    """Give `role` to `user`, handing it over from its current holder if any. The new
    holder becomes a participant and is notified (through `hooks.on_role_assigned`)."""
    require_for(actor, Action.INCIDENT_ASSIGN, incident, what="assign incident roles")
    incident = _lock(incident)
    if incident.status == Status.CLOSED:
        raise Conflict(f"{incident.ref} is closed; reopen it to change its roles.")
    if role.archived_at is not None:
        raise Invalid("role", f"the role {role.name} is archived")
    if not user.is_active or not can(user, Action.INCIDENT_BE_ASSIGNED):
        raise Invalid("user", f"{user.display_name} cannot hold an incident role")
    at = now()
    current = (
        RoleAssignment.objects.select_for_update()
        .select_related("user")
        .filter(incident=incident, role=role, ended_at__isnull=True)
        .first()
    )
    if current is not None and current.user_id == user.pk:
        return current
    if current is not None:
        RoleAssignment.objects.filter(pk=current.pk).update(ended_at=at)
    assignment = RoleAssignment.objects.create(
        incident=incident,
        role=role,
        user=user,
        assigned_at=at,
        assigned_by=actor.user,
    )
    participant_add(incident=incident, user=user, via=ParticipantVia.ROLE, actor=actor, quiet=True)
    text = (
        f"{role.name}: handed over from {current.user.display_name} to {user.display_name}."
        if current is not None
        else f"{role.name}: {user.display_name}."
    )
    timeline_append(
        incident=incident,
        kind=EntryKind.ROLE,
        actor=actor,
        text=text + (f" {note}" if note else ""),
        data={
            "role": role.key,
            "user": user.username,
            "previous": current.user.username if current is not None else None,
        },
    )
    Incident.objects.filter(pk=incident.pk).update(updated_at=at)
    hooks.run_role_assigned(assignment=assignment, actor=actor)
    return assignment


@transaction.atomic
def role_release(*, incident: Incident, role: IncidentRole, actor: Actor, note: str = "") -> None:
    """Leave `role` unheld (its holder stays a participant)."""
    require_for(actor, Action.INCIDENT_ASSIGN, incident, what="assign incident roles")
    incident = _lock(incident)
    current = (
        RoleAssignment.objects.select_related("user")
        .filter(incident=incident, role=role, ended_at__isnull=True)
        .first()
    )
    if current is None:
        return
    at = now()
    RoleAssignment.objects.filter(pk=current.pk).update(ended_at=at)
    timeline_append(
        incident=incident,
        kind=EntryKind.ROLE,
        actor=actor,
        text=f"{role.name}: {current.user.display_name} stepped down."
        + (f" {note}" if note else ""),
        data={"role": role.key, "user": None, "previous": current.user.username},
    )
    Incident.objects.filter(pk=incident.pk).update(updated_at=at)


@transaction.atomic
def major_declare(*, incident: Incident, actor: Actor, reason: str = "") -> Incident:
    """Declare a major incident (once; declaring again changes nothing). The comms app
    reacts through `hooks.on_major_declared` (pages, checklist)."""
    require_for(actor, Action.INCIDENT_ESCALATE, incident, what="declare a major incident")
    incident = _lock(incident)
    if incident.major_declared_at is not None:
        return incident
    if not incident.is_open:
        raise Conflict(f"{incident.ref} is {incident.status}; only an open incident can be major.")
    at = now()
    incident.major_declared_at = at
    incident.updated_at = at
    incident.save(update_fields=["major_declared_at", "updated_at"])
    timeline_append(
        incident=incident,
        kind=EntryKind.MAJOR,
        actor=actor,
        text="Declared a major incident." + (f" {reason}" if reason else ""),
        data={"major": True, "reason": reason},
    )
    hooks.run_major_declared(incident=incident, actor=actor, reason=reason)
    return incident


@transaction.atomic
def major_stand_down(*, incident: Incident, actor: Actor, reason: str = "") -> Incident:
    """No longer a major incident (declared by mistake, or downgraded)."""
    require_for(actor, Action.INCIDENT_ESCALATE, incident, what="stand down a major incident")
    incident = _lock(incident)
    if incident.major_declared_at is None:
        return incident
    at = now()
    incident.major_declared_at = None
    incident.updated_at = at
    incident.save(update_fields=["major_declared_at", "updated_at"])
    timeline_append(
        incident=incident,
        kind=EntryKind.MAJOR,
        actor=actor,
        text="No longer a major incident." + (f" {reason}" if reason else ""),
        data={"major": False, "reason": reason},
    )
    return incident
