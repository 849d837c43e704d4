"""REST API for stakeholder updates, their templates and subscribers (issue 11, point 6).

- `GET /api/v1/incidents/{ref}/updates`: the incident's updates, newest first (whoever
  may see the incident: they are public on its timeline);
  `POST` `{"status", "body", "next_update_minutes", "template"}` posts one (staff), 201.
- `GET|POST /api/v1/update-templates`, `GET|PATCH /api/v1/update-templates/{id}`
  (administrators write; staff read).
- `GET|POST /api/v1/incidents/{ref}/subscribers`,
  `DELETE /api/v1/incidents/{ref}/subscribers/{id}`; the same under
  `/api/v1/services/{id}/subscribers` (staff; 404 for anyone else).
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
from tocsin.catalog.models import Service
from tocsin.comms import updates
from tocsin.comms.models import (
    StakeholderUpdate,
    Subscription,
    SubscriptionChannel,
    UpdateStatus,
    UpdateTemplate,
)
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
from tocsin.incidents.models import Incident

router = Router(tags=["stakeholder updates"])


# --- schemas ---------------------------------------------------------------------------------


class UpdateOut(Schema):
    id: int
    incident: str = Field(description='"INC-42"')
    status: str = Field(description="investigating, identified, monitoring or resolved")
    body: str
    next_update_at: dt.datetime | None
    posted_by: str | None = Field(description="username (null for reporters)")
    posted_at: dt.datetime
    template: int | None
    recipients: int | None = Field(
        description="how many people and addresses it was sent to (null for reporters)"
    )


class UpdateList(Schema):
    items: list[UpdateOut]
    count: int


class UpdateIn(InSchema):
    status: Annotated[Text, one_of(UpdateStatus.values)]
    body: Annotated[Text, Field(max_length=updates.BODY_MAX)] = Field(
        description="the text; {variables} left in it are filled in"
    )
    next_update_minutes: Annotated[int, Field(strict=True)] | None = Field(
        None, description=f"the next update is promised in 1–{updates.NEXT_UPDATE_MAX} minutes"
    )
    template: BodyId | None = Field(None, description="the template it was written from")


class TemplateOut(Schema):
    id: int
    name: str
    status: str
    body: str
    position: int
    archived: bool
    updated_at: dt.datetime


class TemplateList(Schema):
    items: list[TemplateOut]
    count: int
    variables: list[str]


class TemplateIn(InSchema):
    name: Annotated[Text, Field(max_length=updates.NAME_MAX)]
    status: Annotated[Text, one_of(UpdateStatus.values)]
    body: Annotated[Text, Field(max_length=updates.BODY_MAX)]
    position: Annotated[int, Field(ge=0, le=10000, strict=True)] = 100


class TemplatePatch(InSchema):
    name: Annotated[Text, Field(max_length=updates.NAME_MAX)] | None = None
    status: Annotated[Text, one_of(UpdateStatus.values)] | None = None
    body: Annotated[Text, Field(max_length=updates.BODY_MAX)] | None = None
    archived: bool | None = None


class SubscriberOut(Schema):
    id: int
    type: str = Field(description="user, team or email")
    user: str | None = Field(description="username")
    team: int | None
    email: str | None
    name: str
    channel: str = Field(
        description='"email" or "contact" (the person\'s, or each team member\'s, contact '
        "methods at low urgency); always email for an outside address"
    )
    created_at: dt.datetime


class SubscriberList(Schema):
    items: list[SubscriberOut]
    count: int


class SubscriberIn(InSchema):
    user: Username | None = Field(None, description="a person's username")
    team: BodyId | None = Field(None, description="a team's id: each member receives updates")
    email: Annotated[Text, Field(max_length=254)] | None = Field(
        None, description="an outside address"
    )
    channel: Annotated[Text, one_of(SubscriptionChannel.values)] = Field(
        SubscriptionChannel.EMAIL,
        description='"contact": a person, or each member of a team, through the first step '
        "of their low-urgency notification rules",
    )


# --- serialisers -------------------------------------------------------------------------------


def update_json(update: StakeholderUpdate) -> dict[str, Any]:
    return {
        "id": update.pk,
        "incident": update.incident.ref,
        "status": update.status,
        "body": update.body,
        "next_update_at": update.next_update_at,
        "posted_by": update.posted_by.username if update.posted_by_id else None,  # type: ignore[union-attr]
        "posted_at": update.posted_at,
        "template": update.template_id,
        "recipients": update.recipients,
    }


def template_json(template: UpdateTemplate) -> dict[str, Any]:
    return {
        "id": template.pk,
        "name": template.name,
        "status": template.status,
        "body": template.body,
        "position": template.position,
        "archived": template.archived_at is not None,
        "updated_at": template.updated_at,
    }


def subscriber_json(s: Subscription) -> dict[str, Any]:
    if s.user_id:
        kind, name = "user", s.user.display_name  # type: ignore[union-attr]
    elif s.team_id:
        kind, name = "team", s.team.name  # type: ignore[union-attr]
    else:
        kind, name = "email", s.email
    return {
        "id": s.pk,
        "type": kind,
        "user": s.user.username if s.user_id else None,  # type: ignore[union-attr]
        "team": s.team_id,
        "email": s.email or None,
        "name": name,
        "channel": s.channel,
        "created_at": s.created_at,
    }


# --- updates ------------------------------------------------------------------------------------


@router.get("/incidents/{ref}/updates", response={200: UpdateList, **ERRORS})
def list_updates(request: HttpRequest, ref: IncidentRef, paging: Query[Paging]) -> dict[str, Any]:
    """The incident's stakeholder updates, newest first."""
    user = user_from_request(request)
    incident = updates.access_incident_updates(user, ref)
    if can(user, Action.TIMELINE_INTERNAL_VIEW):
        return page(updates.updates_of(incident), paging, update_json)
    # a reporter reads the updates, not who on the staff wrote them or how many got them
    # (as the incident's JSON leaves out who acknowledged it)
    return page(updates.updates_of(incident), paging, _update_json_for_reporter)


def _update_json_for_reporter(update: StakeholderUpdate) -> dict[str, Any]:
    return {**update_json(update), "posted_by": None, "recipients": None}


def _template(value: int | None) -> UpdateTemplate | None:
    if value is None:
        return None
    found = UpdateTemplate.objects.filter(pk=value).first()
    if found is None:
        raise Invalid("template", "No update template has this id.")
    return found


@router.post("/incidents/{ref}/updates", response={201: UpdateOut, **ERRORS})
def post_update(request: HttpRequest, ref: IncidentRef, payload: UpdateIn) -> HttpResponse:
    """Post a stakeholder update: on the timeline as public and sent to every subscriber,
    participant and role holder once. 403 for a reporter; 409 once the incident is closed."""
    incident = updates.access_incident_updates(user_from_request(request), ref)

    def create() -> dict[str, Any]:
        update = updates.update_post(
            incident=incident,
            actor=actor_from_request(request),
            status=payload.status,
            body=payload.body,
            next_update_minutes=payload.next_update_minutes,
            template=_template(payload.template),
        )
        return update_json(update)

    return idempotent_create(request, create)


# --- templates ----------------------------------------------------------------------------------


def _staff(request: HttpRequest) -> User:
    user = user_from_request(request)
    if not can(user, Action.UPDATE_POST):
        raise NotFound("no such API endpoint; see /api/v1/docs")
    return user


@router.get("/update-templates", response={200: TemplateList, **ERRORS})
def list_templates(
    request: HttpRequest, paging: Query[Paging], archived: bool = False
) -> dict[str, Any]:
    """The update templates (staff), in their order; `archived=true` for the archived."""
    _staff(request)
    return {
        **page(updates.update_templates(archived=archived), paging, template_json),
        "variables": list(updates.VARIABLES),
    }


@router.post("/update-templates", response={201: TemplateOut, **ERRORS})
def create_template(request: HttpRequest, payload: TemplateIn) -> HttpResponse:
    """A new template (administrators). Unknown {variables} are a 422 naming them."""
    _staff(request)

    def create() -> dict[str, Any]:
        template = updates.update_template_create(
            actor=actor_from_request(request),
            name=payload.name,
            status=payload.status,
            body=payload.body,
            position=payload.position,
        )
        return template_json(template)

    return idempotent_create(request, create)


def _template_or_404(template_id: int) -> UpdateTemplate:
    found = UpdateTemplate.objects.filter(pk=template_id).first()
    if found is None:
        raise NotFound(f"no update template {template_id}")
    return found


@router.get("/update-templates/{template_id}", response={200: TemplateOut, **ERRORS})
def get_template(request: HttpRequest, template_id: Id) -> dict[str, Any]:
    _staff(request)
    return template_json(_template_or_404(template_id))


@router.patch("/update-templates/{template_id}", response={200: TemplateOut, **ERRORS})
def edit_template(request: HttpRequest, template_id: Id, payload: TemplatePatch) -> dict[str, Any]:
    """Change a template's name, status or body, or archive it (administrators)."""
    _staff(request)
    template = _template_or_404(template_id)
    updated = updates.update_template_edit(
        actor=actor_from_request(request),
        template=template,
        name=payload.name if payload.name is not None else template.name,
        status=payload.status if payload.status is not None else template.status,
        body=payload.body if payload.body is not None else template.body,
        archived=(
            payload.archived if payload.archived is not None else template.archived_at is not None
        ),
    )
    return template_json(updated)


# --- subscribers ----------------------------------------------------------------------------------


def _add(
    request: HttpRequest,
    payload: SubscriberIn,
    *,
    incident: Incident | None = None,
    service: Service | None = None,
) -> HttpResponse:
    user = None
    if payload.user is not None:
        user = User.objects.filter(username=payload.user).first()
        if user is None:
            raise Invalid("user", "No one has this username.")
    team = None
    if payload.team is not None:
        team = Team.objects.filter(pk=payload.team).first()
        if team is None:
            raise Invalid("team", "No team has this id.")

    def create() -> dict[str, Any]:
        subscription = updates.subscription_add(
            actor=actor_from_request(request),
            incident=incident,
            service=service,
            user=user,
            team=team,
            email=payload.email or "",
            channel=payload.channel,
        )
        return subscriber_json(subscription)

    return idempotent_create(request, create)


def _remove(request: HttpRequest, found: Subscription | None, what: str) -> HttpResponse:
    if found is None:
        raise NotFound(f"no subscriber {what}")
    updates.subscription_remove(actor=actor_from_request(request), subscription=found)
    return HttpResponse(status=204)


@router.get("/incidents/{ref}/subscribers", response={200: SubscriberList, **ERRORS})
def incident_subscribers(
    request: HttpRequest, ref: IncidentRef, paging: Query[Paging]
) -> dict[str, Any]:
    """Who is subscribed to this incident's updates (its services' subscribers, its
    participants and role holders receive them too)."""
    incident = updates.access_incident_subscribers(user_from_request(request), ref)
    return page(updates.subscriptions_of(incident=incident), paging, subscriber_json)


@router.post("/incidents/{ref}/subscribers", response={201: SubscriberOut, **ERRORS})
def incident_subscribe(
    request: HttpRequest, ref: IncidentRef, payload: SubscriberIn
) -> HttpResponse:
    """Subscribe exactly one of a person, a team or an outside email address."""
    incident = updates.access_incident_subscribers(user_from_request(request), ref)
    return _add(request, payload, incident=incident)


@router.delete("/incidents/{ref}/subscribers/{subscription_id}", response={204: None, **ERRORS})
def incident_unsubscribe(
    request: HttpRequest, ref: IncidentRef, subscription_id: Id
) -> HttpResponse:
    incident = updates.access_incident_subscribers(user_from_request(request), ref)
    found = Subscription.objects.filter(pk=subscription_id, incident=incident).first()
    return _remove(request, found, str(subscription_id))


@router.get("/services/{service_id}/subscribers", response={200: SubscriberList, **ERRORS})
def service_subscribers(
    request: HttpRequest, service_id: Id, paging: Query[Paging]
) -> dict[str, Any]:
    """Who receives the updates of every incident of this service."""
    service = updates.access_service_subscribers(user_from_request(request), service_id)
    return page(updates.subscriptions_of(service=service), paging, subscriber_json)


@router.post("/services/{service_id}/subscribers", response={201: SubscriberOut, **ERRORS})
def service_subscribe(request: HttpRequest, service_id: Id, payload: SubscriberIn) -> HttpResponse:
    service = updates.access_service_subscribers(user_from_request(request), service_id)
    return _add(request, payload, service=service)


@router.delete(
    "/services/{service_id}/subscribers/{subscription_id}", response={204: None, **ERRORS}
)
def service_unsubscribe(request: HttpRequest, service_id: Id, subscription_id: Id) -> HttpResponse:
    service = updates.access_service_subscribers(user_from_request(request), service_id)
    found = Subscription.objects.filter(pk=subscription_id, service=service).first()
    return _remove(request, found, str(subscription_id))
