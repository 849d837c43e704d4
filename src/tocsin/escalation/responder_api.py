"""REST API for responders (issue 11; rules in escalation/responders.py).

- `POST /api/v1/incidents/{ref}/responders` `{"users": ["ana"], "teams": [3],
  "schedules": [5], "message": "..."}`: one request per target, each person it names
  now paged; answered 201 with the requests (Idempotency-Key honoured).
- `GET /api/v1/incidents/{ref}/responders`: every request and each person's answer
  (`waiting`, `accepted`, `declined`, `no_answer`).
- `POST /api/v1/incidents/{ref}/responders/{ask_id}/accept` and `.../decline`
  (`{"reason": "..."}` optional): only the person asked, or an administrator on their
  behalf (403 for other staff). The same answer again: 200, nothing changed; the other
  answer: 409.

Staff only: a reporter gets 404 for all of these, as for an incident they may not see.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema
from pydantic import Field

from tocsin.accounts.api_auth import user_from_request
from tocsin.accounts.models import Team, User
from tocsin.accounts.permissions import Action, can
from tocsin.core.api import (
    ERRORS,
    BodyId,
    Id,
    IncidentRef,
    InSchema,
    Text,
    Username,
    actor_from_request,
    idempotent_create,
)
from tocsin.core.errors import Invalid, NotFound
from tocsin.escalation import responders
from tocsin.escalation.models import ResponderRequest
from tocsin.incidents.models import Incident
from tocsin.incidents.selectors import access_incident
from tocsin.oncall.models import Schedule

router = Router(tags=["responders"])


def _incident(request: HttpRequest, ref: str) -> tuple[User, Incident]:
    """The incident if this person may see it and add responders; 404 otherwise."""
    user = user_from_request(request)
    incident = access_incident(user, ref)
    if not can(user, Action.RESPONDER_ADD, incident):
        raise NotFound(f"no incident {incident.ref}")
    return user, incident


def _people(names: list[str]) -> list[User]:
    found = {u.username: u for u in User.objects.filter(username__in=names)}
    people = []
    for name in dict.fromkeys(names):
        user = found.get(name)
        if user is None or (user.is_active and not can(user, Action.INCIDENT_BE_ASSIGNED)):
            raise Invalid("users", f"No staff member has the username {name!r}.")
        people.append(user)  # a deactivated person is refused by the service, saying so
    return people


def _by_id(model: Any, ids: list[int], field: str, what: str) -> list[Any]:
    found = model.objects.in_bulk(ids)
    missing = [i for i in ids if i not in found]
    if missing:
        raise Invalid(field, f"No {what} has the id {missing[0]}.")
    return [found[i] for i in dict.fromkeys(ids)]


# --- schemas ---------------------------------------------------------------------------


class AddIn(InSchema):
    users: list[Username] = Field(default_factory=list, description="usernames")
    teams: list[BodyId] = Field(default_factory=list, description="team ids: their on-call")
    schedules: list[BodyId] = Field(
        default_factory=list, description="schedule ids: whoever is on call now"
    )
    message: Annotated[Text, Field(max_length=responders.MESSAGE_MAX)] = ""


class AnswerIn(InSchema):
    reason: Annotated[Text, Field(max_length=responders.REASON_MAX)] = ""


class TargetOut(Schema):
    type: str = Field(description="user, team or schedule")
    id: int
    name: str


class AskOut(Schema):
    id: int
    person: str = Field(description="username")
    person_name: str
    via: str
    state: str = Field(description="waiting, accepted, declined or no_answer")
    asked_at: dt.datetime
    no_answer_at: dt.datetime = Field(description="when a pending ask counts as no answer")
    answered_at: dt.datetime | None
    answered_by: str | None = Field(description="username; an administrator on their behalf")
    reason: str
    page: int


class RequestOut(Schema):
    id: int
    target: TargetOut
    message: str
    requested_by: str | None
    created_at: dt.datetime
    missed: str = Field(description="why the target named nobody, e.g. nobody is on call")
    asks: list[AskOut]


class RequestList(Schema):
    items: list[RequestOut]
    count: int


def _list(incident: Incident, only: list[ResponderRequest] | None = None) -> dict[str, Any]:
    views = responders.incident_responders(incident)
    if only is not None:
        wanted = {r.pk for r in only}
        views = [v for v in views if v.request.pk in wanted]
    items = [responders.request_json(v) for v in views]
    return {"items": items, "count": len(items)}


# --- routes ------------------------------------------------------------------------------


@router.post("/incidents/{ref}/responders", response={201: RequestList, **ERRORS})
def add_responders(request: HttpRequest, ref: IncidentRef, payload: AddIn) -> HttpResponse:
    """Ask people, teams' on-call and schedules' on-call to join the response; each is
    paged now (high urgency) with the message. 409 once the incident is resolved."""
    _, incident = _incident(request, ref)

    def create() -> dict[str, Any]:
        made = responders.responders_add(
            incident=incident,
            actor=actor_from_request(request),
            users=_people(payload.users),
            teams=_by_id(Team, payload.teams, "teams", "team"),
            schedules=_by_id(Schedule, payload.schedules, "schedules", "schedule"),
            message=payload.message,
        )
        return _list(incident, made)

    return idempotent_create(request, create)


@router.get("/incidents/{ref}/responders", response={200: RequestList, **ERRORS})
def list_responders(request: HttpRequest, ref: IncidentRef) -> dict[str, Any]:
    """Every responder request of the incident and each person's answer."""
    _, incident = _incident(request, ref)
    return _list(incident)


def _answer(request: HttpRequest, ref: str, ask_id: int, answer: str, reason: str) -> Any:
    user, incident = _incident(request, ref)
    ask = responders.access_ask(user, incident, ask_id)
    done = responders.responder_answer(
        ask=ask, actor=actor_from_request(request), answer=answer, reason=reason
    )
    return responders.ask_json(done.ask)


@router.post("/incidents/{ref}/responders/{ask_id}/accept", response={200: AskOut, **ERRORS})
def accept(request: HttpRequest, ref: IncidentRef, ask_id: Id) -> Any:
    """Accept as the person asked (or as an administrator for them): they become a
    participant. Accepting again changes nothing; accepting a declined ask is a 409."""
    return _answer(request, ref, ask_id, "accept", "")


@router.post("/incidents/{ref}/responders/{ask_id}/decline", response={200: AskOut, **ERRORS})
def decline(
    request: HttpRequest, ref: IncidentRef, ask_id: Id, payload: AnswerIn | None = None
) -> Any:
    """Decline, with an optional reason. Declining again changes nothing; declining an
    accepted ask is a 409."""
    return _answer(request, ref, ask_id, "decline", payload.reason if payload else "")
