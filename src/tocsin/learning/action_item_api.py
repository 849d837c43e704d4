"""REST API for action items (issue 12, point 2; docs/action-items.md).

- `GET /api/v1/action-items?owner=&team=&status=&overdue=&postmortem=&incident=`: the
  items, soonest due first (staff; 404 for anyone else).
- `POST /api/v1/action-items` `{"incident": "INC-42"}` or `{"postmortem": 7}` with
  `title`, `owner`, `due_at`, `priority`, `description`, `tracker_url`: 201 (honours
  `Idempotency-Key`).
- `GET|PATCH /api/v1/action-items/{id}`: PATCH changes the fields given (`status` open,
  in_progress or done).
- `POST /api/v1/action-items/{id}/accept-risk` `{"reason": "..."}`: managers and
  administrators (403 for other staff).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from tocsin.accounts.api_auth import user_from_request
from tocsin.accounts.models import Team, User
from tocsin.core.api import (
    ERRORS,
    BodyId,
    Id,
    InSchema,
    Paging,
    Text,
    Username,
    actor_from_request,
    idempotent_create,
    one_of,
    page,
)
from tocsin.core.clock import now
from tocsin.core.errors import Invalid, NotFound
from tocsin.incidents.models import Incident
from tocsin.incidents.selectors import access_incident
from tocsin.learning import action_item_selectors as selectors
from tocsin.learning import action_items
from tocsin.learning.models import ActionItem, ActionItemStatus, Postmortem

router = Router(tags=["action items"])


class ActionItemOut(Schema):
    id: int
    title: str
    description: str
    status: str = Field(description="open, in_progress, done or accepted_risk")
    priority: int = Field(description="1 (highest) to 4")
    owner: str | None = Field(description="username")
    owner_name: str | None
    due_at: dt.datetime | None
    overdue: bool = Field(description="still open or in progress and past its due date")
    tracker_url: str = Field(description="an http(s) link to the item in another tracker")
    risk_reason: str = Field(description="why the risk was accepted (accepted_risk only)")
    incident: str = Field(description='"INC-42"')
    postmortem: int | None
    created_at: dt.datetime
    created_by: str | None
    updated_at: dt.datetime
    closed_at: dt.datetime | None
    reminded_before_at: dt.datetime | None = Field(description="when the early reminder went")
    reminded_due_at: dt.datetime | None = Field(description="when the at-due-date reminder went")


class ActionItemList(Schema):
    items: list[ActionItemOut]
    count: int


class ActionItemIn(InSchema):
    title: Annotated[Text, Field(max_length=action_items.TITLE_MAX)]
    incident: Annotated[Text, Field(max_length=30)] | None = Field(
        None, description='the incident it comes from, "INC-42"'
    )
    postmortem: BodyId | None = Field(None, description="the postmortem it comes from")
    description: Annotated[Text, Field(max_length=action_items.DESCRIPTION_MAX)] = ""
    owner: Username | None = None
    due_at: dt.datetime | None = Field(None, description="ISO 8601 with a time zone; not past")
    priority: Annotated[int, Field(ge=1, le=4, strict=True)] = 3
    tracker_url: Annotated[Text, Field(max_length=action_items.URL_MAX)] = Field(
        "", description="http:// or https:// only"
    )


class ActionItemPatch(InSchema):
    title: Annotated[Text, Field(max_length=action_items.TITLE_MAX)] | None = None
    description: Annotated[Text, Field(max_length=action_items.DESCRIPTION_MAX)] | None = None
    owner: Username | None = Field(None, description="null: nobody")
    due_at: dt.datetime | None = Field(None, description="null: no due date")
    priority: Annotated[int, Field(ge=1, le=4, strict=True)] | None = None
    status: Annotated[Text, one_of(action_items.EDITABLE_STATUSES)] | None = None
    tracker_url: Annotated[Text, Field(max_length=action_items.URL_MAX)] | None = None


class AcceptRiskIn(InSchema):
    reason: Annotated[Text, Field(max_length=action_items.REASON_MAX)]


class ListFilters(Schema):
    owner: Username | None = Field(None, description="the owner's username")
    team: Id | None = Field(None, description="items owned by the team's members")
    status: Annotated[str, one_of(ActionItemStatus.values)] | None = None
    overdue: bool | None = None
    postmortem: Id | None = None
    incident: str | None = Field(None, description='"INC-42"')


def action_item_json(item: ActionItem, at: dt.datetime | None = None) -> dict[str, Any]:
    owner = item.owner
    return {
        "id": item.pk,
        "title": item.title,
        "description": item.description,
        "status": item.status,
        "priority": item.priority,
        "owner": owner.username if owner else None,
        "owner_name": owner.display_name if owner else None,
        "due_at": item.due_at,
        "overdue": item.overdue_at(at or now()),
        "tracker_url": item.tracker_url,
        "risk_reason": item.risk_reason,
        "incident": item.incident.ref if item.incident else "",
        "postmortem": item.postmortem_id,
        "created_at": item.created_at,
        "created_by": item.created_by.username if item.created_by else None,
        "updated_at": item.updated_at,
        "closed_at": item.closed_at,
        "reminded_before_at": item.reminded_before_at,
        "reminded_due_at": item.reminded_due_at,
    }


def _user(field: str, username: str | None) -> User | None:
    if username is None:
        return None
    found = User.objects.filter(username=username).first()
    if found is None:
        raise Invalid(field, "No one has this username.")
    return found


def _incident(user: User, field: str, ref: str | None) -> Incident | None:
    if ref is None:
        return None
    try:
        return access_incident(user, ref)
    except NotFound:
        raise Invalid(field, "No incident has this number.") from None


def _postmortem(field: str, pk: int | None) -> Postmortem | None:
    if pk is None:
        return None
    found = Postmortem.objects.select_related("incident").filter(pk=pk).first()
    if found is None:
        raise Invalid(field, "No postmortem has this id.")
    return found


@router.get("/action-items", response={200: ActionItemList, **ERRORS})
def list_action_items(
    request: HttpRequest, filters: Query[ListFilters], paging: Query[Paging]
) -> dict[str, Any]:
    """Action items matching every filter given, soonest due first."""
    user = user_from_request(request)
    selectors.access_action_items(user)
    if filters.status is not None and filters.status not in ActionItemStatus.values:
        raise Invalid("status", "Must be open, in_progress, done or accepted_risk.")
    team = None
    if filters.team is not None:
        team = Team.objects.filter(pk=filters.team).first()
        if team is None:
            raise Invalid("team", "No team has this id.")
    chosen = selectors.Filters(
        owner=_user("owner", filters.owner),
        team=team,
        status=filters.status,
        overdue=filters.overdue,
        postmortem=_postmortem("postmortem", filters.postmortem),
        incident=_incident(user, "incident", filters.incident),
    )
    at = now()
    return page(
        selectors.action_item_list(chosen, at=at), paging, lambda i: action_item_json(i, at)
    )


@router.post("/action-items", response={201: ActionItemOut, **ERRORS})
def create_action_item(request: HttpRequest, payload: ActionItemIn) -> HttpResponse:
    """A new open action item on an incident or a postmortem (staff)."""
    user = user_from_request(request)
    selectors.access_action_items(user)
    incident = _incident(user, "incident", payload.incident)
    postmortem = _postmortem("postmortem", payload.postmortem)
    owner = _user("owner", payload.owner)

    def create() -> dict[str, Any]:
        item = action_items.action_item_create(
            actor=actor_from_request(request),
            title=payload.title,
            incident=incident,
            postmortem=postmortem,
            description=payload.description,
            owner=owner,
            due_at=payload.due_at,
            priority=payload.priority,
            tracker_url=payload.tracker_url,
        )
        return action_item_json(item)

    return idempotent_create(request, create)


@router.get("/action-items/{item_id}", response={200: ActionItemOut, **ERRORS})
def get_action_item(request: HttpRequest, item_id: Id) -> dict[str, Any]:
    return action_item_json(selectors.access_action_item(user_from_request(request), item_id))


@router.patch("/action-items/{item_id}", response={200: ActionItemOut, **ERRORS})
def edit_action_item(request: HttpRequest, item_id: Id, payload: ActionItemPatch) -> dict[str, Any]:
    """Change the fields given (null clears the owner or the due date)."""
    item = selectors.access_action_item(user_from_request(request), item_id)
    given = payload.model_fields_set
    changes: dict[str, Any] = {}
    for name in ("title", "description", "priority", "status", "tracker_url"):
        value = getattr(payload, name)
        if name in given:
            if value is None:
                raise Invalid(name, "Must not be null.")
            changes[name] = value
    if "owner" in given:
        changes["owner"] = _user("owner", payload.owner)
    if "due_at" in given:
        changes["due_at"] = payload.due_at
    updated = action_items.action_item_update(
        item=item, actor=actor_from_request(request), **changes
    )
    return action_item_json(selectors.access_action_item(user_from_request(request), updated.pk))


@router.post("/action-items/{item_id}/accept-risk", response={200: ActionItemOut, **ERRORS})
def accept_risk(request: HttpRequest, item_id: Id, payload: AcceptRiskIn) -> dict[str, Any]:
    """Accept the item as a risk instead of doing it (managers and administrators)."""
    item = selectors.access_action_item(user_from_request(request), item_id)
    updated = action_items.action_item_accept_risk(
        item=item, actor=actor_from_request(request), reason=payload.reason
    )
    return action_item_json(selectors.access_action_item(user_from_request(request), updated.pk))
