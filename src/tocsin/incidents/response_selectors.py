"""Reads for the response of an incident (issue 11): the role catalogue, who holds each
role, the hand-over history and the participants. Staff see them; anyone else gets 404,
a reporter on their own incident too (what one may not see answers 404, DESIGN.md)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from tocsin.accounts.models import User
from tocsin.accounts.permissions import Action, can
from tocsin.core.errors import NotFound
from tocsin.incidents.models import Incident, IncidentRole, Participant, RoleAssignment
from tocsin.incidents.selectors import access_incident


@dataclass(frozen=True)
class RoleSeat:
    """One role on one incident and who holds it now (None: nobody)."""

    incident_role: IncidentRole
    holder: RoleAssignment | None


def access_response(user: User | None, ref: str | int) -> Incident:
    """The incident, if this person may see who responds to it (staff); 404 otherwise,
    also for the reporter of the incident (its roles, participants and war room are not
    theirs to see, so not theirs to learn exist)."""
    incident = access_incident(user, ref)
    if not can(user, Action.DESK_VIEW):
        raise NotFound(f"no incident {incident.ref}")
    return incident


def incident_role_list(*, archived: bool = False) -> QuerySet[IncidentRole]:
    roles = IncidentRole.objects.all()
    return roles if archived else roles.filter(archived_at__isnull=True)


def incident_role_get(role_id: int) -> IncidentRole:
    role = IncidentRole.objects.filter(pk=role_id).first()
    if role is None:
        raise NotFound(f"no incident role {role_id}")
    return role


def incident_role_by_key(key: str) -> IncidentRole:
    role = IncidentRole.objects.filter(key=key).first()
    if role is None:
        raise NotFound(f"no incident role {key!r}")
    return role


def role_seats(incident: Incident) -> list[RoleSeat]:
    """Every role that can be held, plus archived ones someone still holds, in order."""
    held = {
        a.role_id: a
        for a in RoleAssignment.objects.select_related("user", "assigned_by").filter(
            incident=incident, ended_at__isnull=True
        )
    }
    roles = IncidentRole.objects.all()
    return [
        RoleSeat(incident_role=role, holder=held.get(role.pk))
        for role in roles
        if role.archived_at is None or role.pk in held
    ]


def role_history(incident: Incident) -> QuerySet[RoleAssignment]:
    """Every assignment of the incident, oldest first (hand-overs end one, open the next)."""
    return (
        RoleAssignment.objects.select_related("role", "user", "assigned_by")
        .filter(incident=incident)
        .order_by("assigned_at", "id")
    )


def participant_list(incident: Incident) -> QuerySet[Participant]:
    return Participant.objects.select_related("user").filter(incident=incident)


def assignable_people() -> QuerySet[User]:
    """Who may hold a role or join a response (active staff)."""
    from tocsin.accounts.permissions import people_who_may

    return people_who_may(Action.INCIDENT_BE_ASSIGNED).order_by("name", "username")
