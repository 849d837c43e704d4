"""REST API for incident response (issue 11): the role catalogue
(`/api/v1/incident-roles`), who holds each role on an incident and the hand-over history
(`/api/v1/incidents/{ref}/roles`), its participants and its war-room links.

Staff read; assigning a role or adding a participant is for staff; the catalogue is the
administrators'. An incident one may not see is a 404, and so are these routes for a
reporter on their own incident (they may not see who responds)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field, StrictBool, StrictInt

from tocsin.accounts.api_auth import user_from_request
from tocsin.accounts.permissions import Action, require
from tocsin.accounts.selectors import user_by_username
from tocsin.core.api import (
    ERRORS,
    Id,
    IncidentRef,
    InSchema,
    Text,
    Username,
    actor_from_request,
    json_response,
    lookup,
)
from tocsin.core.errors import Invalid
from tocsin.incidents import response_selectors as selectors
from tocsin.incidents import services
from tocsin.incidents.models import Incident, IncidentRole, Participant, RoleAssignment

router = Router(tags=["response"])

RoleKey = Annotated[str, Field(max_length=40, description='e.g. "commander"')]
Note = Annotated[Text, Field(max_length=1000)]


# --- shapes ---------------------------------------------------------------------------------


class IncidentRoleOut(Schema):
    id: int
    key: str = Field(description="stable name in paths (commander, comms_lead, scribe, …)")
    name: str
    description: str
    position: int = Field(description="roles are listed by position, then name")
    builtin: bool
    archived: bool
    archived_at: datetime | None


class IncidentRoleList(Schema):
    items: list[IncidentRoleOut]
    count: int


class IncidentRoleIn(InSchema):
    name: Annotated[Text, Field(min_length=1, max_length=60)]
    description: Annotated[Text, Field(max_length=300)] = ""
    key: Annotated[Text, Field(min_length=1, max_length=40)] | None = Field(
        None, description="default: made from the name"
    )
    position: Annotated[StrictInt, Field(ge=0, le=32767)] | None = None


class IncidentRolePatchIn(InSchema):
    name: Annotated[Text, Field(min_length=1, max_length=60)] | None = None
    description: Annotated[Text, Field(max_length=300)] | None = None
    position: Annotated[StrictInt, Field(ge=0, le=32767)] | None = None
    archived: StrictBool | None = Field(None, description="built-in roles cannot be archived")


class HolderOut(Schema):
    username: str
    name: str
    assigned_at: datetime
    assigned_by: str | None = Field(description="username, or null when Tocsin assigned it")


class SeatOut(Schema):
    role: IncidentRoleOut
    holder: HolderOut | None


class AssignmentOut(Schema):
    id: int
    role: str = Field(description="the role's key")
    username: str
    assigned_at: datetime
    assigned_by: str | None
    ended_at: datetime | None = Field(description="null while held")


class SeatList(Schema):
    items: list[SeatOut]
    count: int
    history: list[AssignmentOut] = Field(description="every assignment, oldest first")


class AssignIn(InSchema):
    username: Username
    note: Note = ""


class ParticipantOut(Schema):
    username: str
    name: str
    via: str = Field(description="role, responder, manual or acknowledged")
    joined_at: datetime
    roles: list[str] = Field(description="keys of the roles the person holds now")


class ParticipantList(Schema):
    items: list[ParticipantOut]
    count: int


class ParticipantIn(InSchema):
    username: Username


class WarRoomOut(Schema):
    chat_url: str
    video_url: str


class WarRoomIn(InSchema):
    chat_url: Annotated[Text, Field(max_length=500)] | None = Field(
        None, description='http(s) address; "" removes it; absent leaves it'
    )
    video_url: Annotated[Text, Field(max_length=500)] | None = None


# --- replies ---------------------------------------------------------------------------------


def role_json(role: IncidentRole) -> dict[str, Any]:
    return {
        "id": role.pk,
        "key": role.key,
        "name": role.name,
        "description": role.description,
        "position": role.position,
        "builtin": role.builtin,
        "archived": role.archived_at is not None,
        "archived_at": role.archived_at,
    }


def _holder(a: RoleAssignment | None) -> dict[str, Any] | None:
    if a is None:
        return None
    return {
        "username": a.user.username,
        "name": a.user.display_name,
        "assigned_at": a.assigned_at,
        "assigned_by": a.assigned_by.username if a.assigned_by_id else None,  # type: ignore[union-attr]
    }


def _assignment(a: RoleAssignment) -> dict[str, Any]:
    return {
        "id": a.pk,
        "role": a.role.key,
        "username": a.user.username,
        "assigned_at": a.assigned_at,
        "assigned_by": a.assigned_by.username if a.assigned_by_id else None,  # type: ignore[union-attr]
        "ended_at": a.ended_at,
    }


def seats_json(incident: Incident) -> dict[str, Any]:
    seats = selectors.role_seats(incident)
    return {
        "items": [{"role": role_json(s.incident_role), "holder": _holder(s.holder)} for s in seats],
        "count": len(seats),
        "history": [_assignment(a) for a in selectors.role_history(incident)],
    }


def _seat(incident: Incident, role: IncidentRole) -> dict[str, Any]:
    found = next(
        (s for s in selectors.role_seats(incident) if s.incident_role.pk == role.pk),
        selectors.RoleSeat(incident_role=role, holder=None),
    )
    return {"role": role_json(found.incident_role), "holder": _holder(found.holder)}


def participant_json(p: Participant, held: dict[int, list[str]]) -> dict[str, Any]:
    return {
        "username": p.user.username,
        "name": p.user.display_name,
        "via": p.via,
        "joined_at": p.joined_at,
        "roles": held.get(p.user_id, []),
    }


def _held_roles(incident: Incident) -> dict[int, list[str]]:
    held: dict[int, list[str]] = {}
    for seat in selectors.role_seats(incident):
        if seat.holder is not None:
            held.setdefault(seat.holder.user_id, []).append(seat.incident_role.key)
    return held


def _person(username: str, field: str = "username") -> Any:
    return lookup(field, user_by_username, username)


# --- the role catalogue ---------------------------------------------------------------------


class RoleQuery(Schema):
    archived: bool = Field(False, description="include archived roles")


@router.get("/incident-roles", response={200: IncidentRoleList, **ERRORS})
def list_roles(request: HttpRequest, query: Query[RoleQuery]) -> dict[str, Any]:
    """The roles one can hold on an incident, in order (staff)."""
    require(user_from_request(request), Action.DESK_VIEW, what="see incident roles")
    roles = list(selectors.incident_role_list(archived=query.archived))
    return {"items": [role_json(r) for r in roles], "count": len(roles)}


@router.post("/incident-roles", response={201: IncidentRoleOut, **ERRORS})
def create_role(request: HttpRequest, payload: IncidentRoleIn) -> HttpResponse:
    """Add a role (administrators)."""
    role = services.incident_role_create(
        name=payload.name,
        description=payload.description,
        key=payload.key,
        position=payload.position,
        actor=actor_from_request(request),
    )
    return json_response(role_json(role), status=201)


@router.patch("/incident-roles/{role_id}", response={200: IncidentRoleOut, **ERRORS})
def patch_role(request: HttpRequest, role_id: Id, payload: IncidentRolePatchIn) -> dict[str, Any]:
    """Rename, describe, reorder or archive a role (administrators)."""
    require(user_from_request(request), Action.CONFIG_MANAGE, what="manage incident roles")
    sent = payload.model_dump(exclude_unset=True)
    for name in ("name", "description", "position", "archived"):
        if name in sent and sent[name] is None:
            raise Invalid(name, "must not be null")
    role = services.incident_role_update(
        role=selectors.incident_role_get(role_id), actor=actor_from_request(request), **sent
    )
    return role_json(role)


# --- roles on an incident ------------------------------------------------------------------


@router.get("/incidents/{ref}/roles", response={200: SeatList, **ERRORS})
def incident_roles(request: HttpRequest, ref: IncidentRef) -> dict[str, Any]:
    """Each role, who holds it now, and the hand-over history."""
    incident = selectors.access_response(user_from_request(request), ref)
    return seats_json(incident)


@router.put("/incidents/{ref}/roles/{role_key}", response={200: SeatOut, **ERRORS})
def assign_role(
    request: HttpRequest, ref: IncidentRef, role_key: RoleKey, payload: AssignIn
) -> dict[str, Any]:
    """Give the role to `username` (handing it over from its holder, if any). The new
    holder is notified through their contact methods, unless they assigned themselves."""
    user = user_from_request(request)
    incident = selectors.access_response(user, ref)
    require(user, Action.INCIDENT_ASSIGN, incident)
    role = selectors.incident_role_by_key(role_key)
    services.role_assign(
        incident=incident,
        role=role,
        user=_person(payload.username),
        actor=actor_from_request(request),
        note=payload.note.strip(),
    )
    return _seat(incident, role)


@router.delete("/incidents/{ref}/roles/{role_key}", response={200: SeatOut, **ERRORS})
def release_role(request: HttpRequest, ref: IncidentRef, role_key: RoleKey) -> dict[str, Any]:
    """Its holder steps down; the role is left unheld (the person stays a participant)."""
    user = user_from_request(request)
    incident = selectors.access_response(user, ref)
    require(user, Action.INCIDENT_ASSIGN, incident)
    role = selectors.incident_role_by_key(role_key)
    services.role_release(incident=incident, role=role, actor=actor_from_request(request))
    return _seat(incident, role)


# --- participants -----------------------------------------------------------------------------


@router.get("/incidents/{ref}/participants", response={200: ParticipantList, **ERRORS})
def list_participants(request: HttpRequest, ref: IncidentRef) -> dict[str, Any]:
    incident = selectors.access_response(user_from_request(request), ref)
    held = _held_roles(incident)
    rows = [participant_json(p, held) for p in selectors.participant_list(incident)]
    return {"items": rows, "count": len(rows)}


@router.post("/incidents/{ref}/participants", response={201: ParticipantOut, **ERRORS})
def add_participant(request: HttpRequest, ref: IncidentRef, payload: ParticipantIn) -> HttpResponse:
    """Add someone to the response (adding a participant again answers the same row)."""
    user = user_from_request(request)
    incident = selectors.access_response(user, ref)
    require(user, Action.INCIDENT_ASSIGN, incident)
    participant = services.participant_invite(
        incident=incident, user=_person(payload.username), actor=actor_from_request(request)
    )
    participant = selectors.participant_list(incident).get(pk=participant.pk)
    return json_response(participant_json(participant, _held_roles(incident)), status=201)


# --- the war room -------------------------------------------------------------------------------


@router.get("/incidents/{ref}/war-room", response={200: WarRoomOut, **ERRORS})
def get_war_room(request: HttpRequest, ref: IncidentRef) -> dict[str, Any]:
    incident = selectors.access_response(user_from_request(request), ref)
    return {"chat_url": incident.chat_url, "video_url": incident.video_url}


@router.put("/incidents/{ref}/war-room", response={200: WarRoomOut, **ERRORS})
def set_war_room(request: HttpRequest, ref: IncidentRef, payload: WarRoomIn) -> dict[str, Any]:
    """Set the chat and video links (http or https only; "" removes one)."""
    user = user_from_request(request)
    incident = selectors.access_response(user, ref)
    require(user, Action.INCIDENT_TRIAGE, incident)
    incident = services.incident_war_room_set(
        incident=incident,
        actor=actor_from_request(request),
        chat_url=payload.chat_url,
        video_url=payload.video_url,
    )
    return {"chat_url": incident.chat_url, "video_url": incident.video_url}
