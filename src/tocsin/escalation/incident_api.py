"""REST API for paging an incident by hand and reading its paging; the delivery log.

- `POST /api/v1/incidents/{ref}/page` with exactly one of `policy`, `schedule`, `team`
  (ids) or `user` (a username), and an optional `note`: a new climb, answered 201.
- `POST /api/v1/incidents/{ref}/paging/escalate-now`: the climb's next level at once.
- `POST /api/v1/incidents/{ref}/paging/reassign` `{"policy": id, "level": 1}`.
- `GET /api/v1/incidents/{ref}/pages`: the climbs, the pages and every delivery attempt.
- `GET /api/v1/deliveries`: the outbox, newest first, for administrators.

The incident is found as the incidents API finds it (INC-42 or 42); a person who may
not page (a reporter) gets 404 for all of these, as for an incident they may not see.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
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
    Paging,
    Text,
    Username,
    actor_from_request,
    idempotent_create,
    one_of,
    page,
)
from tocsin.core.errors import Invalid, NotFound
from tocsin.escalation import services
from tocsin.escalation.incident_selectors import (
    climb_json,
    climb_single_json,
    delivery_filters,
    delivery_json,
    delivery_log,
    incident_paging,
    page_json,
)
from tocsin.escalation.models import EscalationPolicy
from tocsin.incidents.models import Incident
from tocsin.incidents.selectors import access_incident
from tocsin.notify.models import OutboxState
from tocsin.oncall.models import Schedule

router = Router(tags=["paging"])

NOTE_MAX = 1000


def _incident_for_paging(request: HttpRequest, ref: str) -> tuple[User, Incident]:
    """The incident if this person may see it and page for it; 404 otherwise."""
    user = user_from_request(request)
    incident = access_incident(user, ref)
    if not can(user, Action.PAGE_SEND, incident):
        raise NotFound(f"no incident {incident.ref}")
    return user, incident


def _policy(value: int | None, field: str = "policy") -> EscalationPolicy | None:
    if value is None:
        return None
    found = EscalationPolicy.objects.filter(pk=value).first()
    if found is None:
        raise Invalid(field, "No escalation policy has this id.")
    return found


def _schedule(value: int | None) -> Schedule | None:
    if value is None:
        return None
    found = Schedule.objects.filter(pk=value).first()
    if found is None:
        raise Invalid("schedule", "No schedule has this id.")
    return found


def _team(value: int | None) -> Team | None:
    if value is None:
        return None
    found = Team.objects.filter(pk=value).first()
    if found is None:
        raise Invalid("team", "No team has this id.")
    return found


def _person(value: str | None) -> User | None:
    if value is None:
        return None
    found = User.objects.filter(username=value).first()
    if found is None or (found.is_active and not can(found, Action.INCIDENT_BE_ASSIGNED)):
        raise Invalid("user", "No staff member has this username.")
    return found  # a deactivated person is refused by the service, saying so


# --- schemas ---------------------------------------------------------------------------


class ClimbTargetOut(Schema):
    type: str = Field(description="schedule, team or user")
    id: int | str = Field(description="the schedule's or team's id, or the username")
    name: str


class ClimbPolicyOut(Schema):
    id: int
    name: str


class ClimbOut(Schema):
    id: int
    policy: ClimbPolicyOut | None
    target: ClimbTargetOut | None = Field(description='the one target of a "page now"')
    state: str = Field(
        description="active, acknowledged, resolved, exhausted, replaced, or responders "
        "(the pages of a responder request: see /incidents/{ref}/responders)"
    )
    urgency: str
    level: int = Field(description="the next level to fire, 1-based")
    levels: int | None = Field(description="how many levels the policy has")
    cycle: int = Field(description="which repeat of the policy (0: the first pass)")
    next_at: dt.datetime | None = Field(description="when the next level fires; null: none")
    started_at: dt.datetime
    ended_at: dt.datetime | None
    reason: str


class MethodOut(Schema):
    id: int
    label: str
    address: str = Field(description="masked: webhook and chat URLs as scheme://host/…")


class DeliveryAttemptOut(Schema):
    id: int
    channel: str
    contact_method: MethodOut | None
    state: str = Field(description="queued, sending, sent, failed or cancelled")
    outcome: str = Field(description="waiting, retrying, sending, sent, failed or cancelled")
    attempts: int
    created_at: dt.datetime
    not_before: dt.datetime = Field(description="not sent before (the rule's delay, a retry)")
    sent_at: dt.datetime | None
    last_error: str


class PageOut(Schema):
    id: int
    climb: int
    person: str = Field(description="username")
    person_name: str
    via: str
    level: int = Field(description="1-based")
    cycle: int
    urgency: str
    state: str = Field(description="open, acknowledged or cancelled")
    created_at: dt.datetime
    deliveries: list[DeliveryAttemptOut]


class PagingOut(Schema):
    climbs: list[ClimbOut]
    pages: list[PageOut]


class PageNowIn(InSchema):
    policy: BodyId | None = Field(None, description="an escalation policy's id")
    schedule: BodyId | None = Field(None, description="a schedule's id")
    team: BodyId | None = Field(None, description="a team's id: its schedules' on-call")
    user: Username | None = Field(None, description="a person's username")
    note: Annotated[Text, Field(max_length=NOTE_MAX)] = ""


class ReassignIn(InSchema):
    policy: BodyId
    level: Annotated[int, Field(ge=1, le=100, strict=True)] = Field(
        1, description="the level to start at, 1-based"
    )


# --- routes ------------------------------------------------------------------------------


@router.post("/incidents/{ref}/page", response={201: ClimbOut, **ERRORS})
def page_incident(request: HttpRequest, ref: IncidentRef, payload: PageNowIn) -> HttpResponse:
    """Page a policy, a schedule, a team's on-call or a person now, beside any climb under
    way. Exactly one of policy, schedule, team, user. 409 once the incident is resolved."""
    _, incident = _incident_for_paging(request, ref)
    given = [
        name
        for name in ("policy", "schedule", "team", "user")
        if getattr(payload, name) is not None
    ]
    if len(given) != 1:
        raise Invalid(
            given[1] if len(given) > 1 else "policy",
            "Give exactly one of policy, schedule, team or user.",
        )

    def create() -> dict[str, Any]:
        climb = services.page_now(
            incident=incident,
            actor=actor_from_request(request),
            policy=_policy(payload.policy),
            schedule=_schedule(payload.schedule),
            team=_team(payload.team),
            user=_person(payload.user),
            note=payload.note.strip(),
        )
        return climb_single_json(climb)

    return idempotent_create(request, create)


@router.post("/incidents/{ref}/paging/escalate-now", response={200: ClimbOut, **ERRORS})
def escalate_now(request: HttpRequest, ref: IncidentRef) -> dict[str, Any]:
    """Fire the next level of the incident's climb at once (409 when there is none)."""
    _, incident = _incident_for_paging(request, ref)
    climb = services.escalate_now(incident=incident, actor=actor_from_request(request))
    return climb_single_json(climb)


@router.post("/incidents/{ref}/paging/reassign", response={200: ClimbOut, **ERRORS})
def reassign(request: HttpRequest, ref: IncidentRef, payload: ReassignIn) -> dict[str, Any]:
    """Hand the paging to another policy, starting at `level`; the climb under way ends."""
    _, incident = _incident_for_paging(request, ref)
    policy = _policy(payload.policy)
    assert policy is not None
    climb = services.climb_reassign(
        incident=incident,
        actor=actor_from_request(request),
        policy=policy,
        level=payload.level - 1,
    )
    return climb_single_json(climb)


@router.get("/incidents/{ref}/pages", response={200: PagingOut, **ERRORS})
def list_pages(request: HttpRequest, ref: IncidentRef) -> dict[str, Any]:
    """Who was paged when, through which method, and how every attempt went."""
    _, incident = _incident_for_paging(request, ref)
    paging = incident_paging(incident)
    return {
        "climbs": [climb_json(c) for c in paging.climbs],
        "pages": [page_json(p) for p in paging.pages],
    }


# --- the delivery log ---------------------------------------------------------------------


class DeliveryMethodOut(Schema):
    id: int
    label: str


class DeliveryOut(Schema):
    id: int
    message_id: str
    created_at: dt.datetime
    purpose: str = Field(description="page, mail, test, sla-warning, sla-breach, …")
    channel: str
    person: str | None = Field(description="the recipient's username, if a person")
    person_name: str | None
    contact_method: DeliveryMethodOut | None
    address: str = Field(description="masked: URLs as scheme://host/…")
    subject: str
    state: str
    outcome: str
    attempts: int
    not_before: dt.datetime
    sent_at: dt.datetime | None
    last_error: str
    incident: str | None = Field(description='"INC-42"')


class DeliveryList(Schema):
    items: list[DeliveryOut]
    count: int


class DeliveryQuery(Schema):
    state: Annotated[Text, one_of(OutboxState.values)] | None = None
    channel: Annotated[Text, Field(max_length=20)] | None = None
    purpose: Annotated[Text, Field(max_length=20)] | None = None
    person: Username | None = Field(None, description="the recipient's username")
    incident: Annotated[Text, Field(max_length=30)] | None = Field(None, description="INC-42")
    before: Id | None = Field(None, description="only messages with a smaller id (keyset)")


@router.get("/deliveries", response={200: DeliveryList, **ERRORS})
def list_deliveries(
    request: HttpRequest, filters: Query[DeliveryQuery], paging: Query[Paging]
) -> dict[str, Any]:
    """Every outbound message, newest first: pages, mail, tests, SLA warnings. Addresses
    are masked. Administrators only (404 for anyone else)."""
    user = user_from_request(request)
    if not can(user, Action.DELIVERY_LOG_VIEW):
        raise NotFound("no such API endpoint; see /api/v1/docs")
    wanted = delivery_filters(
        state=filters.state,
        channel=filters.channel,
        purpose=filters.purpose,
        person=filters.person,
        incident=filters.incident,
        viewer=user,
    )
    messages = delivery_log(wanted)
    if filters.before is not None:
        messages = messages.filter(pk__lt=filters.before)
    return page(messages, paging, delivery_json)
