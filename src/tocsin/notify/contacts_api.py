"""REST API for a person's paging set-up: contact methods, notification rules and paging
preferences, under `/api/v1/users/{username}/…` (docs/paging-people.md).

Who may: the person themself if staff, and administrators for anyone
(`Action.CONTACT_MANAGE`). Everyone else — another staff member, a reporter (even about
themself) — gets 404, so whether someone has contact methods does not leak. A token acts
as its owner.

It lives in `notify`, not `accounts`, because sending a test message is a notify service
and apps import downwards only (accounts < notify).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from tocsin.accounts import selectors, services
from tocsin.accounts.api_auth import user_from_request
from tocsin.accounts.models import ContactKind, ContactMethod, Urgency, User
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
from tocsin.notify.services import contact_method_test

router = Router(tags=["paging"])


def _owner(request: HttpRequest, username: str) -> User:
    return selectors.contact_owner(user_from_request(request), username)


# --- contact methods ---------------------------------------------------------------------


class ContactMethodIn(InSchema):
    kind: Annotated[Text, one_of(ContactKind.values)]
    address: Annotated[
        Text,
        Field(
            min_length=1,
            max_length=2000,
            description="email address; +E.164 phone number (sms, voice); https URL "
            "(slack, teams, ntfy topic, webhook); Apprise URL (apprise)",
        ),
    ]
    label: Annotated[Text, Field(max_length=100)] = ""


class ContactMethodOut(Schema):
    id: int
    kind: Annotated[str, one_of(ContactKind.values)]
    address: str = Field(description="masked for webhook and Apprise (they may hold secrets)")
    label: str
    created_at: dt.datetime
    last_delivery_at: dt.datetime | None
    last_delivery_ok: bool | None = Field(description="null: nothing delivered yet")
    last_error: str
    disabled: bool


class ContactMethodList(Schema):
    items: list[ContactMethodOut]
    count: int


class ContactQuery(Schema):
    include_disabled: bool = Field(False, description="also list removed (disabled) methods")


class TestOut(Schema):
    id: int = Field(description="the outbox message's id")
    state: str = Field(description="the outbox message's state: queued, sending, sent, …")
    contact_method: int


def contact_method_json(method: ContactMethod) -> dict[str, Any]:
    return {
        "id": method.pk,
        "kind": method.kind,
        "address": services.contact_address_masked(method),
        "label": method.label,
        "created_at": method.created_at,
        "last_delivery_at": method.last_delivery_at,
        "last_delivery_ok": method.last_delivery_ok,
        "last_error": method.last_error,
        "disabled": method.disabled_at is not None,
    }


@router.get("/users/{username}/contact-methods", response={200: ContactMethodList, **ERRORS})
def list_contact_methods(
    request: HttpRequest, username: Username, filters: Query[ContactQuery], paging: Query[Paging]
) -> dict[str, Any]:
    """The person's contact methods, oldest first (removed ones only when asked)."""
    owner = _owner(request, username)
    methods = selectors.contact_methods(owner, include_disabled=filters.include_disabled)
    return page(methods, paging, contact_method_json)


@router.post("/users/{username}/contact-methods", response={201: ContactMethodOut, **ERRORS})
def add_contact_method(
    request: HttpRequest, username: Username, payload: ContactMethodIn
) -> HttpResponse:
    """Add a way to reach the person; the address is checked for its kind (422 naming
    `address`). Accepts an Idempotency-Key."""
    owner = _owner(request, username)
    return idempotent_create(
        request,
        lambda: contact_method_json(
            services.contact_method_add(
                user=owner,
                kind=payload.kind,
                address=payload.address,
                label=payload.label,
                actor=actor_from_request(request),
            )
        ),
    )


@router.get(
    "/users/{username}/contact-methods/{method_id}", response={200: ContactMethodOut, **ERRORS}
)
def get_contact_method(request: HttpRequest, username: Username, method_id: Id) -> dict[str, Any]:
    owner = _owner(request, username)
    return contact_method_json(selectors.contact_method_get(owner, method_id))


@router.delete("/users/{username}/contact-methods/{method_id}", response={204: None, **ERRORS})
def remove_contact_method(request: HttpRequest, username: Username, method_id: Id) -> HttpResponse:
    """Remove (disable: deliveries already made keep pointing at it). Rules using it are
    skipped from now on. Removing a removed method changes nothing (204 again)."""
    owner = _owner(request, username)
    method = selectors.contact_method_get(owner, method_id)
    services.contact_method_remove(method=method, actor=actor_from_request(request))
    return HttpResponse(status=204)


@router.post(
    "/users/{username}/contact-methods/{method_id}/test", response={202: TestOut, **ERRORS}
)
def test_contact_method(request: HttpRequest, username: Username, method_id: Id) -> HttpResponse:
    """Queue a test message to this method (202: queued; the worker sends it). Its outcome
    shows on the method (`last_delivery_ok`, `last_error`). 409 for a removed method.
    Accepts an Idempotency-Key."""
    owner = _owner(request, username)
    method = selectors.contact_method_get(owner, method_id)

    def queue() -> dict[str, Any]:
        message = contact_method_test(method=method, actor=actor_from_request(request))
        return {"id": message.pk, "state": message.state, "contact_method": method.pk}

    return idempotent_create(request, queue, status=202)


# --- notification rules ----------------------------------------------------------------------

Delay = Annotated[int, Field(ge=0, le=services.RULE_MAX_DELAY, strict=True)]


class RuleIn(InSchema):
    contact_method: BodyId
    delay_minutes: Delay = 0


class RulesIn(InSchema):
    high: list[RuleIn] | None = Field(
        None,
        max_length=services.RULES_MAX,
        description="replaces the high-urgency rules; [] returns to the defaults; "
        "omitted: unchanged",
    )
    low: list[RuleIn] | None = Field(
        None,
        max_length=services.RULES_MAX,
        description="replaces the low-urgency rules; [] returns to the defaults; "
        "omitted: unchanged",
    )


class RuleOut(Schema):
    contact_method: int
    kind: str
    label: str
    delay_minutes: int


class RulesDefaults(Schema):
    high: bool = Field(description="true: no rule stored, the defaults apply")
    low: bool


class RulesOut(Schema):
    high: list[RuleOut]
    low: list[RuleOut]
    defaults: RulesDefaults


def rules_json(owner: User) -> dict[str, Any]:
    body: dict[str, Any] = {"defaults": {}}
    for urgency in (Urgency.HIGH, Urgency.LOW):
        cycle = selectors.effective_rules(owner, urgency)
        body[str(urgency)] = [
            {
                "contact_method": rule.method.pk,
                "kind": rule.method.kind,
                "label": rule.method.label,
                "delay_minutes": rule.delay_minutes,
            }
            for rule in cycle
        ]
        stored = selectors.stored_rules(owner).filter(urgency=urgency).exists()
        body["defaults"][str(urgency)] = not stored
    return body


@router.get("/users/{username}/notification-rules", response={200: RulesOut, **ERRORS})
def get_rules(request: HttpRequest, username: Username) -> dict[str, Any]:
    """The rules that page the person now, per urgency: the stored ones, else the
    defaults (`defaults.high` / `defaults.low` say which). Only enabled methods count."""
    return rules_json(_owner(request, username))


@router.put("/users/{username}/notification-rules", response={200: RulesOut, **ERRORS})
def put_rules(request: HttpRequest, username: Username, payload: RulesIn) -> dict[str, Any]:
    """Replace the rules of each urgency sent. Every `contact_method` must be one of the
    person's enabled methods (422 naming e.g. `high[0].contact_method`)."""
    owner = _owner(request, username)
    sent = payload.model_dump(exclude_none=True)
    services.notification_rules_set(user=owner, rules=sent, actor=actor_from_request(request))
    return rules_json(owner)


# --- paging preferences ----------------------------------------------------------------------


class PagingOut(Schema):
    handoff_notice_minutes: int = Field(
        description="how long before a shift the 'you are on call' notice goes (0: none)"
    )
    low_urgency_working_hours: bool = Field(
        description="low-urgency pages wait for Monday-Friday 09:00-17:00 in the person's zone"
    )
    time_zone: str


class PagingPatchIn(InSchema):
    handoff_notice_minutes: (
        Annotated[int, Field(ge=0, le=services.HANDOFF_NOTICE_MAX, strict=True)] | None
    ) = None
    low_urgency_working_hours: Annotated[bool, Field(strict=True)] | None = None


def paging_json(owner: User) -> dict[str, Any]:
    return {
        "handoff_notice_minutes": owner.handoff_notice_minutes,
        "low_urgency_working_hours": owner.low_urgency_working_hours,
        "time_zone": owner.time_zone,
    }


@router.get("/users/{username}/paging", response={200: PagingOut, **ERRORS})
def get_paging(request: HttpRequest, username: Username) -> dict[str, Any]:
    return paging_json(_owner(request, username))


@router.patch("/users/{username}/paging", response={200: PagingOut, **ERRORS})
def patch_paging(
    request: HttpRequest, username: Username, payload: PagingPatchIn
) -> dict[str, Any]:
    """Change the paging preferences sent; the others stay."""
    owner = _owner(request, username)
    sent = payload.model_dump(exclude_unset=True)
    owner = services.paging_preferences_set(
        user=owner,
        handoff_notice_minutes=sent.get("handoff_notice_minutes"),
        low_urgency_working_hours=sent.get("low_urgency_working_hours"),
        actor=actor_from_request(request),
    )
    return paging_json(owner)
