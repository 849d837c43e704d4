"""Who responds to an incident: its participants, the roles they hold (commander,
communications lead, scribe and the roles administrators add) and whether it is a major
incident (issue 11). Each write takes the incident's lock and writes its timeline entry
in the same transaction; other apps react through `tocsin.incidents.hooks`."""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from tocsin.accounts.models import User
from tocsin.accounts.permissions import Action, can, require_for
from tocsin.catalog.models import Service
from tocsin.catalog.war_room import clean_url, fill
from tocsin.core import fastinsert
from tocsin.core.actors import Actor
from tocsin.core.audit import audit_record, snapshot
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
    if incident.status == Status.CLOSED:
        raise Conflict(f"{incident.ref} is closed; reopen it to change its roles.")
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
    if not hooks.being_created(incident):  # else inserted a moment ago in this transaction
        incident = _lock(incident)
    if incident.major_declared_at is not None:
        return incident
    if not incident.is_open:
        raise Conflict(f"{incident.ref} is {incident.status}; only an open incident can be major.")
    at = now()
    incident.major_declared_at = at
    incident.updated_at = at
    # (every P1 of a storm is declared as it is created: the UPDATE built once)
    fastinsert.update(incident, ["major_declared_at", "updated_at"])
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


# --- participants added by hand -----------------------------------------------------------


@transaction.atomic
def participant_invite(*, incident: Incident, user: User, actor: Actor) -> Participant:
    """ "Add participant" on the incident page and the API: someone joins the response."""
    require_for(actor, Action.INCIDENT_ASSIGN, incident, what="add participants")
    incident = _lock(incident)
    if incident.status == Status.CLOSED:
        raise Conflict(f"{incident.ref} is closed; reopen it to change who responds.")
    return participant_add(incident=incident, user=user, via=ParticipantVia.MANUAL, actor=actor)


# --- the roles administrators define ------------------------------------------------------

ROLE_NAME_MAX = 60
ROLE_DESCRIPTION_MAX = 300
POSITION_MAX = 32767
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def _role_name(name: object, role: IncidentRole | None = None) -> str:
    if not isinstance(name, str) or not " ".join(name.split()):
        raise Invalid("name", "must not be empty")
    name = " ".join(name.split())
    if len(name) > ROLE_NAME_MAX:
        raise Invalid("name", f"must be at most {ROLE_NAME_MAX} characters")
    clash = IncidentRole.objects.filter(name__iexact=name)
    if role is not None:
        clash = clash.exclude(pk=role.pk)
    if clash.exists():
        raise Invalid("name", f"a role named {name!r} already exists")
    return name


def _role_description(description: object) -> str:
    if not isinstance(description, str):
        raise Invalid("description", "must be text")
    description = " ".join(description.split())
    if len(description) > ROLE_DESCRIPTION_MAX:
        raise Invalid("description", f"must be at most {ROLE_DESCRIPTION_MAX} characters")
    return description


def _position(position: object) -> int:
    if isinstance(position, bool) or not isinstance(position, int):
        raise Invalid("position", "must be a whole number")
    if not 0 <= position <= POSITION_MAX:
        raise Invalid("position", f"must be between 0 and {POSITION_MAX}")
    return position


def _new_key(name: str, key: str | None) -> str:
    if key is not None:
        if not _KEY.match(key):
            raise Invalid(
                "key", "must be 1-40 lowercase letters, digits or _, starting with a letter"
            )
        if IncidentRole.objects.filter(key=key).exists():
            raise Invalid("key", f"a role with the key {key!r} already exists")
        return key
    base = slugify(name).replace("-", "_")[:36].strip("_") or "role"
    if not base[0].isalpha():
        base = f"r_{base}"[:36]
    candidate, n = base, 2
    while IncidentRole.objects.filter(key=candidate).exists():
        candidate, n = f"{base}_{n}", n + 1
    return candidate


ROLE_AUDIT_FIELDS = ("key", "name", "description", "position", "archived_at")


@transaction.atomic
def incident_role_create(
    *,
    name: str,
    description: str = "",
    key: str | None = None,
    position: int | None = None,
    actor: Actor,
) -> IncidentRole:
    """A role administrators add (after the others unless a position is given)."""
    require_for(actor, Action.CONFIG_MANAGE, what="manage incident roles")
    name = _role_name(name)
    description = _role_description(description)
    if position is None:
        last = IncidentRole.objects.order_by("-position").values_list("position", flat=True)
        position = min((last.first() or 0) + 10, POSITION_MAX)
    role = IncidentRole.objects.create(
        key=_new_key(name, key),
        name=name,
        description=description,
        position=_position(position),
    )
    audit_record(
        actor=actor,
        action="incident_role.create",
        obj=role,
        after=snapshot(role, ROLE_AUDIT_FIELDS),
    )
    return role


@transaction.atomic
def incident_role_update(
    *,
    role: IncidentRole,
    name: str | None = None,
    description: str | None = None,
    position: int | None = None,
    archived: bool | None = None,
    actor: Actor,
) -> IncidentRole:
    """Rename, describe, reorder or archive a role (None leaves a field as is). The
    built-in roles keep their key and cannot be archived; an archived role keeps its
    history and current holders but cannot be given to anyone."""
    require_for(actor, Action.CONFIG_MANAGE, what="manage incident roles")
    role = IncidentRole.objects.select_for_update().get(pk=role.pk)
    before = snapshot(role, ROLE_AUDIT_FIELDS)
    if name is not None:
        role.name = _role_name(name, role)
    if description is not None:
        role.description = _role_description(description)
    if position is not None:
        role.position = _position(position)
    if archived is not None:
        if not isinstance(archived, bool):
            raise Invalid("archived", "must be true or false")
        if archived and role.builtin:
            raise Invalid("archived", f"{role.name} is built in and cannot be archived")
        if archived and role.archived_at is None:
            role.archived_at = now()
        elif not archived:
            role.archived_at = None
    after = snapshot(role, ROLE_AUDIT_FIELDS)
    if after != before:
        role.save()
        audit_record(
            actor=actor, action="incident_role.update", obj=role, before=before, after=after
        )
    return role


# --- the war room ----------------------------------------------------------------------------


def war_room_links(service: Service | None, number: int) -> dict[str, str]:
    """The chat and video links a new incident gets from its service's templates."""
    if service is None:
        return {}
    return {
        "chat_url": fill(service.chat_url_template, number=number, service_name=service.name),
        "video_url": fill(service.video_url_template, number=number, service_name=service.name),
    }


@transaction.atomic
def incident_war_room_set(
    *,
    incident: Incident,
    actor: Actor,
    chat_url: str | None = None,
    video_url: str | None = None,
) -> Incident:
    """Change the war-room links (None leaves one as is; "" clears it): http(s) only,
    checked before anything is written; one WAR_ROOM timeline entry for the change."""
    require_for(actor, Action.INCIDENT_TRIAGE, incident, what="change the war room")
    cleaned: dict[str, str] = {}
    if chat_url is not None:
        cleaned["chat_url"] = clean_url("chat_url", chat_url)
    if video_url is not None:
        cleaned["video_url"] = clean_url("video_url", video_url)
    incident = _lock(incident)
    if incident.status == Status.CLOSED:
        raise Conflict(f"{incident.ref} is closed; reopen it to change its war room.")
    changed = {k: v for k, v in cleaned.items() if getattr(incident, k) != v}
    if not changed:
        return incident
    at = now()
    labels = {"chat_url": "Chat", "video_url": "Video bridge"}
    parts = [f"{labels[k]}: {v}" if v else f"{labels[k]} link removed" for k, v in changed.items()]
    data = {k: {"old": getattr(incident, k), "new": v} for k, v in changed.items()}
    for name, value in changed.items():
        setattr(incident, name, value)
    incident.updated_at = at
    incident.save(update_fields=[*changed, "updated_at"])
    timeline_append(
        incident=incident,
        kind=EntryKind.WAR_ROOM,
        actor=actor,
        text="War room: " + "; ".join(parts) + ".",
        data=data,
    )
    return incident
