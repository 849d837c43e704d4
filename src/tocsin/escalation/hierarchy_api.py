"""REST API of functional and hierarchical escalation (issue 11, point 4).

- `POST /api/v1/incidents/{ref}/notify-management` `{"reason": "...", "to":
  "team_manager" | "executives"}`: a management notice, answered 201. Staff may tell the
  team's manager; managers and administrators may tell the executives (403 otherwise).
  422 for an empty reason or an unknown `to`; 409 when there is nobody to tell (no team,
  a team without a manager, an empty executive list) or the incident is closed.
- `GET /api/v1/incidents/{ref}/management-notices`: the notices, newest first.
- `GET|PUT /api/v1/escalation/executives` `{"people": ["username", ...]}` (PUT:
  administrators).
- `GET|PUT /api/v1/teams/{id}/handoff-template` `{"text": "..."}` (PUT: administrators and
  the team's manager).

A person who may not see the incident (a reporter, for another's incident or for any
notice) gets 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema
from pydantic import Field

from tocsin.accounts.api_auth import user_from_request
from tocsin.accounts.models import HANDOFF_TEMPLATE_MAX, Team, User
from tocsin.accounts.permissions import Action, can
from tocsin.core.api import (
    ERRORS,
    Id,
    IncidentRef,
    InSchema,
    Text,
    Username,
    actor_from_request,
    idempotent_create,
    one_of,
)
from tocsin.core.errors import Forbidden, Invalid, NotFound
from tocsin.escalation import functional, hierarchy
from tocsin.escalation.models import ManagementTo
from tocsin.incidents.models import Incident
from tocsin.incidents.selectors import access_incident

router = Router(tags=["escalation"])


class NotifyManagementIn(InSchema):
    reason: Annotated[Text, Field(max_length=hierarchy.REASON_MAX)]
    to: Annotated[Text, one_of(ManagementTo.values)] = ManagementTo.TEAM_MANAGER


class ManagementNoticeOut(Schema):
    id: int
    incident: str
    to: str = Field(description="team_manager or executives")
    trigger: str = Field(description="manual, sla_response or sla_resolution")
    reason: str
    recipients: list[str] = Field(description="usernames the notice was sent to")
    by: str | None = Field(description="username; null for the system (an SLA breach)")
    by_label: str
    at: dt.datetime


class ManagementNoticeList(Schema):
    items: list[ManagementNoticeOut]
    count: int


class ExecutivesIn(InSchema):
    people: list[Username] = Field(max_length=hierarchy.EXECUTIVES_MAX)


class ExecutivesOut(Schema):
    people: list[str] = Field(description="usernames")


class HandoffTemplateIn(InSchema):
    text: Annotated[Text, Field(max_length=HANDOFF_TEMPLATE_MAX)]


class HandoffTemplateOut(Schema):
    team: int
    text: str


def _incident_for_management(request: HttpRequest, ref: str) -> Incident:
    user = user_from_request(request)
    incident = access_incident(user, ref)
    if not can(user, Action.MANAGEMENT_NOTIFY, incident):
        raise NotFound(f"no incident {incident.ref}")
    return incident


@router.post("/incidents/{ref}/notify-management", response={201: ManagementNoticeOut, **ERRORS})
def notify_management(
    request: HttpRequest, ref: IncidentRef, payload: NotifyManagementIn
) -> HttpResponse:
    """Send a reason to the incident team's manager or to the executive list."""
    incident = _incident_for_management(request, ref)

    def create() -> dict[str, Any]:
        notice = hierarchy.management_notify(
            incident=incident,
            to=payload.to,
            reason=payload.reason,
            actor=actor_from_request(request),
        )
        return hierarchy.notice_json(notice)

    return idempotent_create(request, create)


@router.get("/incidents/{ref}/management-notices", response={200: ManagementNoticeList, **ERRORS})
def list_management_notices(request: HttpRequest, ref: IncidentRef) -> dict[str, Any]:
    incident = _incident_for_management(request, ref)
    items = [hierarchy.notice_json(n) for n in hierarchy.notices_for(incident)]
    return {"items": items, "count": len(items)}


@router.get("/escalation/executives", response={200: ExecutivesOut, **ERRORS})
def get_executives(request: HttpRequest) -> dict[str, Any]:
    if not can(user_from_request(request), Action.DESK_VIEW):
        raise NotFound("no such resource")
    return {"people": [u.username for u in hierarchy.executives()]}


@router.put("/escalation/executives", response={200: ExecutivesOut, **ERRORS})
def put_executives(request: HttpRequest, payload: ExecutivesIn) -> dict[str, Any]:
    user = user_from_request(request)
    if not can(user, Action.EXECUTIVES_MANAGE):
        raise Forbidden("your role may not edit the executive list")
    found = {u.username: u for u in User.objects.filter(username__in=payload.people)}
    for index, name in enumerate(payload.people):
        if name not in found:
            raise Invalid(f"people.{index}", f"no one has the username {name!r}")
    people = [found[name] for name in dict.fromkeys(payload.people)]
    after = hierarchy.executives_set(people=people, actor=actor_from_request(request))
    return {"people": [u.username for u in after]}


def _team(team_id: int) -> Team:
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise NotFound(f"no team {team_id}")
    return team


@router.get("/teams/{team_id}/handoff-template", response={200: HandoffTemplateOut, **ERRORS})
def get_handoff_template(request: HttpRequest, team_id: Id) -> dict[str, Any]:
    if not can(user_from_request(request), Action.TEAM_VIEW):
        raise NotFound(f"no team {team_id}")
    team = _team(team_id)
    return {"team": team.pk, "text": team.handoff_template}


@router.put("/teams/{team_id}/handoff-template", response={200: HandoffTemplateOut, **ERRORS})
def put_handoff_template(
    request: HttpRequest, team_id: Id, payload: HandoffTemplateIn
) -> dict[str, Any]:
    if not can(user_from_request(request), Action.TEAM_VIEW):
        raise NotFound(f"no team {team_id}")
    team = functional.handoff_template_set(
        team=_team(team_id), text=payload.text, actor=actor_from_request(request)
    )
    return {"team": team.pk, "text": team.handoff_template}
