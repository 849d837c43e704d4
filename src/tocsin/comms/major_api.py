"""REST API for major incidents.

- `GET /api/v1/major-incident-settings`, `PUT` the same shape (administrators): the
  policy paged on declaration, the commander rota, the commander deadline in minutes,
  the checklist template and the services where a P2 is major.
- `GET /api/v1/major-incidents`: the open major incidents with their commanders (staff).
- `GET /api/v1/incidents/{ref}/major`: the incident's major state and checklist.
- `POST /api/v1/incidents/{ref}/major` `{"major": true|false, "reason": "..."}`: declare
  or stand down.
- `POST /api/v1/incidents/{ref}/major/checklist/{n}` `{"done": true|false}`: tick item n
  (1-based).

A person who may not run an incident's major-incident response (a reporter) gets 404
for the incident routes, as for an incident they may not see.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from tocsin.accounts.api_auth import user_from_request
from tocsin.accounts.models import User
from tocsin.accounts.permissions import Action, can, require
from tocsin.catalog.models import Service
from tocsin.comms import major
from tocsin.comms.models import MajorChecklistItem
from tocsin.core.api import ERRORS, BodyId, IncidentRef, InSchema, Ref, Text, actor_from_request
from tocsin.core.errors import Invalid, NotFound
from tocsin.escalation.models import EscalationPolicy
from tocsin.incidents.models import Incident
from tocsin.incidents.selectors import access_incident
from tocsin.incidents.services import major_declare, major_stand_down
from tocsin.oncall.models import Schedule

router = Router(tags=["major incidents"])
REASON_MAX = major.REASON_MAX  # (inside MajorIn, `major` is the field)


# --- schemas -----------------------------------------------------------------------------


class MajorSettingsOut(Schema):
    policy: Ref | None = Field(description="paged when an incident is declared major")
    commander_schedule: Ref | None = Field(
        description="paged when nobody holds the commander role in time"
    )
    commander_minutes: int
    checklist: list[str]
    p2_services: list[Ref] = Field(description="services where a P2 is a major incident")
    updated_at: dt.datetime


ChecklistText = Annotated[Text, Field(min_length=1, max_length=major.CHECKLIST_ITEM_MAX)]


class MajorSettingsIn(InSchema):
    policy: BodyId | None = Field(description="an escalation policy's id, or null")
    commander_schedule: BodyId | None = Field(description="a schedule's id, or null")
    commander_minutes: Annotated[int, Field(ge=1, le=major.MINUTES_MAX, strict=True)] = 10
    checklist: Annotated[
        list[ChecklistText], Field(min_length=1, max_length=major.CHECKLIST_MAX_ITEMS)
    ]
    p2_services: Annotated[list[BodyId], Field(max_length=1000)] = []


class ChecklistItemOut(Schema):
    position: int = Field(description="1-based")
    text: str
    done: bool
    done_at: dt.datetime | None
    done_by: str | None = Field(description="username")


class MajorOut(Schema):
    incident: str = Field(description='"INC-42"')
    major: bool
    declared_at: dt.datetime | None
    commander: str | None = Field(description="the commander's username")
    commander_due_at: dt.datetime | None = Field(
        description="when the commander rota is paged if nobody holds the role"
    )
    commander_deadline: str | None = Field(description="pending, met, paged, missed or dropped")
    checklist: list[ChecklistItemOut]


class MajorIn(InSchema):
    major: bool = Field(strict=True)
    reason: Annotated[Text, Field(max_length=REASON_MAX)] = ""


class TickIn(InSchema):
    done: bool = Field(strict=True)


class OpenMajorOut(Schema):
    incident: str
    title: str
    declared_at: dt.datetime
    commander: str | None = Field(description="the commander's name")


class OpenMajorsOut(Schema):
    items: list[OpenMajorOut]
    count: int


# --- helpers -------------------------------------------------------------------------------


def _settings_out() -> MajorSettingsOut:
    current = major.major_settings()
    return MajorSettingsOut(
        policy=Ref(id=current.policy.pk, name=current.policy.name) if current.policy else None,
        commander_schedule=Ref(
            id=current.commander_schedule.pk, name=current.commander_schedule.name
        )
        if current.commander_schedule
        else None,
        commander_minutes=current.commander_minutes,
        checklist=list(current.checklist),
        p2_services=[Ref(id=s.pk, name=s.name) for s in major.p2_rule_services()],
        updated_at=current.updated_at,
    )


def _item_out(item: MajorChecklistItem) -> ChecklistItemOut:
    return ChecklistItemOut(
        position=item.position + 1,
        text=item.text,
        done=item.done_at is not None,
        done_at=item.done_at,
        done_by=item.done_by.username if item.done_by is not None else None,
    )


def _major_out(incident: Incident) -> MajorOut:
    state = major.major_state(incident)
    return MajorOut(
        incident=incident.ref,
        major=incident.major_declared_at is not None,
        declared_at=incident.major_declared_at,
        commander=state.commander.user.username if state.commander is not None else None,
        commander_due_at=state.deadline.due_at if state.deadline is not None else None,
        commander_deadline=state.deadline.state if state.deadline is not None else None,
        checklist=[_item_out(item) for item in state.checklist],
    )


def _incident(request: HttpRequest, ref: str) -> tuple[User, Incident]:
    user = user_from_request(request)
    incident = access_incident(user, ref)
    if not can(user, Action.MAJOR_RESPOND, incident):
        raise NotFound(f"no incident {incident.ref}")
    return user, incident


# --- routes ----------------------------------------------------------------------------------


@router.get("/major-incident-settings", response={200: MajorSettingsOut, **ERRORS})
def settings_get(request: HttpRequest) -> MajorSettingsOut:
    """The major-incident settings (administrators)."""
    require(
        user_from_request(request), Action.CONFIG_MANAGE, what="see the major-incident settings"
    )
    return _settings_out()


@router.put("/major-incident-settings", response={200: MajorSettingsOut, **ERRORS})
def settings_put(request: HttpRequest, payload: MajorSettingsIn) -> MajorSettingsOut:
    """Replace the major-incident settings (administrators). Incidents already declared
    keep their checklist and commander deadline."""
    require(
        user_from_request(request), Action.CONFIG_MANAGE, what="change the major-incident settings"
    )
    policy = None
    if payload.policy is not None:
        policy = EscalationPolicy.objects.filter(pk=payload.policy).first()
        if policy is None:
            raise Invalid("policy", "No escalation policy has this id.")
    schedule = None
    if payload.commander_schedule is not None:
        schedule = Schedule.objects.filter(pk=payload.commander_schedule).first()
        if schedule is None:
            raise Invalid("commander_schedule", "No schedule has this id.")
    wanted = set(payload.p2_services)
    services = list(Service.objects.filter(pk__in=wanted))
    missing = wanted - {s.pk for s in services}
    if missing:
        raise Invalid("p2_services", f"No service has the id {min(missing)}.")
    major.major_settings_set(
        actor=actor_from_request(request),
        policy=policy,
        commander_schedule=schedule,
        commander_minutes=payload.commander_minutes,
        checklist=list(payload.checklist),
        p2_services=services,
    )
    return _settings_out()


@router.get("/major-incidents", response={200: OpenMajorsOut, **ERRORS})
def open_majors(request: HttpRequest) -> OpenMajorsOut:
    """The open major incidents, oldest declaration first (staff)."""
    require(user_from_request(request), Action.MAJOR_RESPOND, what="see major incidents")
    items = [
        OpenMajorOut(
            incident=m.ref, title=m.title, declared_at=m.declared_at, commander=m.commander
        )
        for m in major.open_majors()
    ]
    return OpenMajorsOut(items=items, count=len(items))


@router.get("/incidents/{ref}/major", response={200: MajorOut, **ERRORS})
def major_get(request: HttpRequest, ref: IncidentRef) -> MajorOut:
    """Whether the incident is major, its commander, deadline and checklist."""
    _, incident = _incident(request, ref)
    return _major_out(incident)


@router.post("/incidents/{ref}/major", response={200: MajorOut, **ERRORS})
def major_set(request: HttpRequest, ref: IncidentRef, payload: MajorIn) -> MajorOut:
    """Declare (`"major": true`) or stand down (`false`); doing what is already so changes
    nothing. 409 when declaring a resolved or closed incident."""
    _, incident = _incident(request, ref)
    actor = actor_from_request(request)
    reason = payload.reason.strip()
    if payload.major:
        incident = major_declare(incident=incident, actor=actor, reason=reason)
    else:
        incident = major_stand_down(incident=incident, actor=actor, reason=reason)
    return _major_out(incident)


@router.post(
    "/incidents/{ref}/major/checklist/{position}", response={200: ChecklistItemOut, **ERRORS}
)
def checklist_tick(
    request: HttpRequest,
    ref: IncidentRef,
    position: Annotated[int, Field(ge=1, le=major.CHECKLIST_MAX_ITEMS)],
    payload: TickIn,
) -> ChecklistItemOut:
    """Tick (`"done": true`) or untick checklist item `position` (1-based)."""
    _, incident = _incident(request, ref)
    item = major.checklist_tick(
        incident=incident,
        position=position - 1,
        done=payload.done,
        actor=actor_from_request(request),
    )
    return _item_out(item)
