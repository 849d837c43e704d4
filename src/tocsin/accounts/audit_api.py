"""GET /api/v1/audit: the audit log, for administrators (read-only; nothing writes here)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import AwareDatetime, Field

from tocsin.accounts.api_auth import user_from_request
from tocsin.accounts.permissions import Action, can
from tocsin.core.api import ERRORS, Paging, Text, page
from tocsin.core.audit import ACTION_PATTERN, ObjectType, audit_json, audit_search
from tocsin.core.errors import Forbidden, Invalid

router = Router(tags=["audit"])


class AuditActorOut(Schema):
    kind: str = Field(description="user, token, integration, system or anonymous")
    label: str
    username: str | None
    token_id: int | None
    integration_id: int | None


class AuditEntryOut(Schema):
    id: int
    at: dt.datetime
    action: str = Field(description='e.g. "user.update", "signin.failed"')
    object_type: str
    object_id: str
    object_label: str
    actor: AuditActorOut
    ip: str | None
    request_id: str
    before: dict[str, Any] | None = Field(
        description="the changed fields before (secrets redacted)"
    )
    after: dict[str, Any] | None = Field(description="changed fields after (secrets redacted)")


class AuditList(Schema):
    items: list[AuditEntryOut]
    count: int


class AuditQuery(Schema):
    actor: Annotated[Text, Field(min_length=1, max_length=150)] | None = Field(
        None, description="username, or part of the actor's label"
    )
    action: Annotated[str, Field(pattern=ACTION_PATTERN)] | None = Field(
        None, description='an action ("user.update") or its first part ("user", "signin")'
    )
    object_type: ObjectType | None = None
    since: AwareDatetime | None = Field(None, description="from this time (with offset)")
    until: AwareDatetime | None = Field(None, description="before this time (with offset)")
    q: Annotated[Text, Field(max_length=200)] = Field(
        "",
        description="part of the object's label, the actor or the action; an id, address "
        "or request id",
    )


@router.get("/audit", response={200: AuditList, **ERRORS})
def list_audit(request: HttpRequest, filters: Query[AuditQuery], paging: Query[Paging]) -> Any:
    """The audit log, newest first: every configuration change, sign-in and failed sign-in.
    Administrators only."""
    user = user_from_request(request)
    if not can(user, Action.AUDIT_VIEW):
        raise Forbidden("your role may not read the audit log")
    if filters.since and filters.until and filters.until <= filters.since:
        raise Invalid("until", "must be after since")
    entries = audit_search(
        actor=filters.actor,
        action=filters.action,
        object_type=filters.object_type,
        since=filters.since,
        until=filters.until,
        text=filters.q.strip(),
    )
    return page(entries, paging, audit_json)
