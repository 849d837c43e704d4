"""Writes for maintenance windows and silences (the people-facing side of suppression).

The engine reads these rows when it decides whether an alert opens an incident; here
staff create them, end windows early and expire silences. One function per use case,
one transaction each, each written to the audit log. This is the only write path for
windows and silences (the API, the UI and the tests all call it).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any, TypeVar

from django.db import transaction

from tocsin.accounts.models import User
from tocsin.accounts.permissions import Action, can
from tocsin.alerts.models import MaintenanceWindow, Silence
from tocsin.catalog.models import Service
from tocsin.core.actors import Actor
from tocsin.core.audit import audit_record, snapshot
from tocsin.core.clock import now
from tocsin.core.errors import Conflict, Forbidden, Invalid

SPAN_MAX = dt.timedelta(days=366)
MATCHERS_MAX = 20
TEXT_MAX = 300
_LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,99}$")


WINDOW_AUDIT_FIELDS = ("services", "starts_at", "ends_at", "reason")
SILENCE_AUDIT_FIELDS = ("service", "matchers", "starts_at", "ends_at", "comment")


def _require_staff(actor: Actor, action: Action = Action.WINDOW_MANAGE) -> User:
    """The person managing windows and silences (403 for anyone who may not)."""
    user = actor.user
    if user is None or not can(user, action):
        raise Forbidden("your role may not manage maintenance windows and silences")
    return user


def _clean_text(field: str, value: str) -> str:
    value = (value or "").strip()
    if len(value) > TEXT_MAX:
        raise Invalid(field, f"at most {TEXT_MAX} characters")
    if "\x00" in value:
        raise Invalid(field, "must not contain NUL characters")
    return value


def _clean_span(
    starts_at: dt.datetime | None, ends_at: dt.datetime
) -> tuple[dt.datetime, dt.datetime]:
    at = now()
    starts = starts_at or at
    for field, value in (("starts_at", starts), ("ends_at", ends_at)):
        if value.tzinfo is None:
            raise Invalid(field, "must include a time zone offset, e.g. 2026-05-01T22:00:00Z")
    if ends_at <= starts:
        raise Invalid("ends_at", "must be after starts_at")
    if ends_at <= at:
        raise Invalid("ends_at", "must be in the future")
    if ends_at - starts > SPAN_MAX:
        raise Invalid("ends_at", "a window or silence lasts at most 366 days")
    return starts, ends_at


def clean_matchers(value: Any) -> list[dict[str, str]]:
    """[{"label": "env", "value": "staging"}, ...]: at least one, exact matches."""
    if not isinstance(value, list) or not value:
        raise Invalid("matchers", 'must be a non-empty list of {"label", "value"}')
    if len(value) > MATCHERS_MAX:
        raise Invalid("matchers", f"at most {MATCHERS_MAX} matchers")
    cleaned: list[dict[str, str]] = []
    for item in value:
        if not isinstance(item, dict) or set(item) != {"label", "value"}:
            raise Invalid("matchers", 'each matcher is {"label": ..., "value": ...}')
        label, val = item["label"], item["value"]
        if not isinstance(label, str) or not _LABEL_NAME.match(label.strip()):
            raise Invalid("matchers", f"{label!r} is not a label name")
        if not isinstance(val, str) or len(val) > 200 or "\x00" in val:
            raise Invalid(
                "matchers", f"the value of {label} must be text of at most 200 characters"
            )
        cleaned.append({"label": label.strip(), "value": val})
    return cleaned


@transaction.atomic
def maintenance_window_create(
    *,
    actor: Actor,
    services: Iterable[Service],
    ends_at: dt.datetime,
    starts_at: dt.datetime | None = None,
    reason: str = "",
) -> MaintenanceWindow:
    """While the window is open, the services' alerts are recorded but open no incident."""
    user = _require_staff(actor)
    chosen = list({s.pk: s for s in services}.values())
    if not chosen:
        raise Invalid("services", "choose at least one service")
    starts, ends = _clean_span(starts_at, ends_at)
    window = MaintenanceWindow.objects.create(
        starts_at=starts,
        ends_at=ends,
        reason=_clean_text("reason", reason),
        created_by=user,
        created_at=now(),
    )
    window.services.set(chosen)
    audit_record(
        actor=actor,
        action="maintenance_window.create",
        obj=window,
        after=snapshot(window, WINDOW_AUDIT_FIELDS),
    )
    return window


_Span = TypeVar("_Span", MaintenanceWindow, Silence)


def _end_now(*, actor: Actor, span: _Span, action: str, ended: str) -> _Span:
    """End a window or silence now (one that has not started yet is cancelled): 409 if
    it is over already. Runs in the caller's transaction."""
    at = now()
    span = type(span).objects.select_for_update().get(pk=span.pk)
    if span.ends_at <= at:
        raise Conflict(ended)
    before = snapshot(span, ("starts_at", "ends_at"))
    span.starts_at = min(span.starts_at, at)
    span.ends_at = at
    span.save(update_fields=["starts_at", "ends_at"])
    audit_record(
        actor=actor,
        action=action,
        obj=span,
        before=before,
        after=snapshot(span, ("starts_at", "ends_at")),
    )
    return span


@transaction.atomic
def maintenance_window_end(*, actor: Actor, window: MaintenanceWindow) -> MaintenanceWindow:
    """End the window now (a window that has not started yet is cancelled)."""
    _require_staff(actor)
    return _end_now(
        actor=actor,
        span=window,
        action="maintenance_window.end",
        ended="this maintenance window has already ended",
    )


@transaction.atomic
def silence_create(
    *,
    actor: Actor,
    matchers: Any,
    ends_at: dt.datetime,
    starts_at: dt.datetime | None = None,
    service: Service | None = None,
    comment: str = "",
) -> Silence:
    """Alerts (of the service, or of any service) whose labels match every matcher open no
    incident during the span."""
    user = _require_staff(actor, Action.SILENCE_MANAGE)
    cleaned = clean_matchers(matchers)
    starts, ends = _clean_span(starts_at, ends_at)
    silence = Silence.objects.create(
        service=service,
        matchers=cleaned,
        starts_at=starts,
        ends_at=ends,
        comment=_clean_text("comment", comment),
        created_by=user,
        created_at=now(),
    )
    audit_record(
        actor=actor,
        action="silence.create",
        obj=silence,
        after=snapshot(silence, SILENCE_AUDIT_FIELDS),
    )
    return silence


@transaction.atomic
def silence_expire(*, actor: Actor, silence: Silence) -> Silence:
    """Stop the silence now."""
    _require_staff(actor, Action.SILENCE_MANAGE)
    return _end_now(
        actor=actor, span=silence, action="silence.expire", ended="this silence has already expired"
    )
