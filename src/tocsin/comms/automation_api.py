"""REST API for automation webhooks (docs/automation-webhooks.md).

`/api/v1/automation-webhooks`: administrators manage every webhook (global ones too), the
manager of a service's team that service's webhooks. A webhook one may not manage
answers 404; a reporter gets 404 on every route, other staff 403 on the list and create.
The signing secret is in the reply of the create and of `rotate-secret` only.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router
from ninja import Schema as NinjaSchema
from pydantic import Field, StrictBool

from tocsin.accounts.api_auth import user_from_request
from tocsin.accounts.permissions import Action, can
from tocsin.comms import automation
from tocsin.comms.models import AutomationWebhook
from tocsin.core.api import (
    ERRORS,
    BodyId,
    Id,
    InSchema,
    Paging,
    Ref,
    Text,
    actor_from_request,
    idempotent_create,
    json_response,
    page,
    to_json,
)
from tocsin.core.errors import Forbidden, Invalid, NotFound

router = Router(tags=["automation"])

Name = Annotated[Text, Field(min_length=1, max_length=automation.NAME_MAX)]
Url = Annotated[Text, Field(min_length=1, max_length=automation.URL_MAX)]
EventName = Annotated[
    Text, Field(description="one of: " + ", ".join(automation.EVENTS), max_length=40)
]


class WebhookIn(InSchema):
    name: Name
    service: BodyId | None = Field(
        None, description="the service's id; null: every service (administrators only)"
    )
    url: Url = Field(description="http(s) URL the events are POSTed to")
    events: list[EventName] = Field(max_length=20, description="the events to send")
    active: StrictBool = True


class WebhookPatchIn(InSchema):
    name: Name | None = None
    service: BodyId | None = Field(None, description="null makes it global (administrators)")
    url: Url | None = None
    events: list[EventName] | None = Field(None, max_length=20)
    active: StrictBool | None = None


class WebhookOut(NinjaSchema):
    id: int
    name: str
    service: Ref | None
    url: str
    events: list[str]
    active: bool
    created_by: str | None = Field(description="username")
    created_at: dt.datetime
    updated_at: dt.datetime
    secret_rotated_at: dt.datetime | None
    secret: str | None = Field(
        None, description="the signing secret: only in the reply that creates or rotates it"
    )


class WebhookList(NinjaSchema):
    items: list[WebhookOut]
    count: int


class DeliveryOut(NinjaSchema):
    message_id: str = Field(description="the Idempotency-Key the receiver saw")
    event: str
    incident: str | None
    state: Literal["queued", "sending", "sent", "failed", "cancelled"] | str
    attempts: int
    last_error: str
    created_at: dt.datetime
    sent_at: dt.datetime | None
    next_attempt_at: dt.datetime | None


class DeliveryList(NinjaSchema):
    items: list[DeliveryOut]
    count: int


class WebhookQuery(NinjaSchema):
    service: Id | None = None


def webhook_json(webhook: AutomationWebhook, secret: str | None = None) -> dict[str, Any]:
    service = webhook.service
    return {
        "id": webhook.pk,
        "name": webhook.name,
        "service": {"id": service.pk, "name": service.name} if service is not None else None,
        "url": webhook.url,
        "events": list(webhook.events or []),
        "active": webhook.active,
        "created_by": webhook.created_by.username if webhook.created_by else None,
        "created_at": webhook.created_at,
        "updated_at": webhook.updated_at,
        "secret_rotated_at": webhook.secret_rotated_at,
        "secret": secret,
    }


def delivery_json(delivery: Any) -> dict[str, Any]:
    message = delivery.message
    queued = message.state == "queued"
    return {
        "message_id": str(message.message_id),
        "event": delivery.event,
        "incident": message.incident.ref if message.incident_id is not None else None,
        "state": message.state,
        "attempts": message.attempts,
        "last_error": message.last_error,
        "created_at": message.created_at,
        "sent_at": message.sent_at,
        "next_attempt_at": message.not_before if queued else None,
    }


def _caller(request: HttpRequest) -> Any:
    """Staff only; for anyone else these routes do not exist."""
    user = user_from_request(request)
    if not can(user, Action.DESK_VIEW):
        raise NotFound("not found")
    return user


def _manager(request: HttpRequest) -> Any:
    user = _caller(request)
    if not automation.may_use(user):
        raise Forbidden("your role may not manage automation webhooks")
    return user


def _events(values: list[str] | None) -> list[str]:
    return automation.events_check(list(values) if values is not None else None)


def _shown_once(request: HttpRequest, make: Any, status: int = 201) -> HttpResponse:
    """Create with the secret shown once: an Idempotency-Key replay answers the same
    webhook without its secret (the stored reply never holds it)."""
    shown: dict[str, Any] = {}

    def create() -> dict[str, Any]:
        webhook, secret = make()
        shown["body"] = webhook_json(webhook, secret)
        return webhook_json(webhook)

    response = idempotent_create(request, create, status)
    if "body" in shown:
        response = json_response(to_json(shown["body"]), status)
    response["Cache-Control"] = "no-store"
    return response


@router.get("/automation-webhooks", response={200: WebhookList, **ERRORS})
def list_webhooks(
    request: HttpRequest, filters: Query[WebhookQuery], paging: Query[Paging]
) -> dict[str, Any]:
    """The webhooks you manage, by name (`service` filters by service id)."""
    user = _manager(request)
    service = None
    if filters.service is not None:
        service = automation.manageable_services(user).filter(pk=filters.service).first()
        if service is None:
            raise Invalid("service", f"no service with id {filters.service} that you manage")
    return page(automation.webhook_list_for(user, service=service), paging, webhook_json)


@router.post("/automation-webhooks", response={201: WebhookOut, **ERRORS})
def create_webhook(request: HttpRequest, payload: WebhookIn) -> HttpResponse:
    """A new webhook; the reply holds its signing `secret`, shown this once."""
    user = _manager(request)

    def make() -> tuple[AutomationWebhook, str]:
        return automation.automation_webhook_create(
            actor=actor_from_request(request),
            name=payload.name,
            service=automation.service_for_field(user, payload.service),
            url=payload.url,
            events=_events(payload.events),
            active=payload.active,
        )

    return _shown_once(request, make)


@router.get("/automation-webhooks/{webhook_id}", response={200: WebhookOut, **ERRORS})
def get_webhook(request: HttpRequest, webhook_id: Id) -> dict[str, Any]:
    return webhook_json(automation.webhook_get(webhook_id, user=_caller(request)))


@router.patch("/automation-webhooks/{webhook_id}", response={200: WebhookOut, **ERRORS})
def patch_webhook(request: HttpRequest, webhook_id: Id, payload: WebhookPatchIn) -> dict[str, Any]:
    """Change the fields sent; `active: false` disables it (queued events then fail)."""
    user = _caller(request)
    webhook = automation.webhook_get(webhook_id, user=user)
    sent = payload.model_dump(exclude_unset=True)
    for name in ("name", "url", "events", "active"):
        if name in sent and sent[name] is None:
            raise Invalid(name, "must not be null")
    if "events" in sent:
        sent["events"] = _events(sent["events"])
    if "service" in sent:
        sent["service"] = automation.service_for_field(user, sent["service"])
    webhook = automation.automation_webhook_update(
        webhook=webhook, actor=actor_from_request(request), changes=sent
    )
    return webhook_json(webhook)


@router.delete("/automation-webhooks/{webhook_id}", response={204: None, **ERRORS})
def delete_webhook(request: HttpRequest, webhook_id: Id) -> HttpResponse:
    webhook = automation.webhook_get(webhook_id, user=_caller(request))
    automation.automation_webhook_delete(webhook=webhook, actor=actor_from_request(request))
    return HttpResponse(status=204)


@router.post("/automation-webhooks/{webhook_id}/test", response={202: DeliveryOut, **ERRORS})
def test_webhook(request: HttpRequest, webhook_id: Id) -> HttpResponse:
    """Queue a `test` event to this webhook (sent within seconds by the worker)."""
    webhook = automation.webhook_get(webhook_id, user=_caller(request))
    automation.automation_webhook_test(webhook=webhook, actor=actor_from_request(request))
    [delivery] = automation.deliveries_of(webhook, limit=1)
    return json_response(to_json(delivery_json(delivery)), 202)


@router.post(
    "/automation-webhooks/{webhook_id}/rotate-secret", response={200: WebhookOut, **ERRORS}
)
def rotate_secret(request: HttpRequest, webhook_id: Id) -> HttpResponse:
    """A new signing secret, in this reply only; the old one stops at once."""
    webhook = automation.webhook_get(webhook_id, user=_caller(request))
    secret = automation.automation_webhook_rotate_secret(
        webhook=webhook, actor=actor_from_request(request)
    )
    webhook.refresh_from_db()
    response = json_response(to_json(webhook_json(webhook, secret)), 200)
    response["Cache-Control"] = "no-store"
    return response


@router.get("/automation-webhooks/{webhook_id}/deliveries", response={200: DeliveryList, **ERRORS})
def list_deliveries(request: HttpRequest, webhook_id: Id, paging: Query[Paging]) -> dict[str, Any]:
    """Recent deliveries, newest first: event, state, attempts, last error."""
    webhook = automation.webhook_get(webhook_id, user=_caller(request))
    rows = automation.delivery_rows(webhook)
    return page(rows, paging, delivery_json)
