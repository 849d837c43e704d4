"""Checks and small helpers shared by the incident services (no writes of their own)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email

from tocsin.accounts.models import Team, User
from tocsin.accounts.permissions import Action, can
from tocsin.catalog.models import Category, Service
from tocsin.core.clock import now
from tocsin.core.errors import Invalid
from tocsin.incidents.models import Incident, Level

TITLE_MAX = 200
DESCRIPTION_MAX = 50_000
NOTE_MAX = 20_000


def _clean_text(field: str, value: str, *, required: bool, limit: int) -> str:
    if not isinstance(value, str):
        raise Invalid(field, "must be text")
    if "\x00" in value:
        raise Invalid(field, "must not contain NUL characters")
    value = value.strip()
    if required and not value:
        raise Invalid(field, "must not be empty")
    if len(value) > limit:
        raise Invalid(field, f"must be at most {limit} characters")
    return value


def _one_line(field: str, value: str) -> str:
    """Titles travel into mail subjects and lists: no control characters, one line."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())


EARLIEST_MOMENT = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def _check_moment(field: str, value: dt.datetime | None) -> dt.datetime | None:
    """A past moment an incident refers to: aware, not before 2000, not in the future."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise Invalid(field, "must be a date and time with a time zone")
    if value < EARLIEST_MOMENT or value > now() + dt.timedelta(hours=1):
        raise Invalid(field, "must lie between 2000-01-01 and now")
    return value


def _check_email(field: str, value: str) -> str:
    value = value.strip()
    if not value:
        return ""
    try:
        validate_email(value)
    except DjangoValidationError:
        raise Invalid(field, "must be an email address") from None
    return value


def _check_level(field: str, value: Any) -> int:
    if isinstance(value, bool) or value not in Level.values:
        raise Invalid(field, "must be an integer from 1 (highest) to 4 (lowest)")
    return int(value)


def _check_categories(category: Category | None, subcategory: Category | None) -> None:
    if category is not None and category.parent_id is not None:
        raise Invalid("category", f"{category.name!r} is a subcategory, not a category")
    if subcategory is not None:
        if subcategory.parent_id is None:
            raise Invalid("subcategory", f"{subcategory.name!r} is a category, not a subcategory")
        if category is None or subcategory.parent_id != category.pk:
            raise Invalid("subcategory", f"{subcategory.name!r} does not belong to the category")


def _check_assignee(assignee: User | None) -> None:
    if assignee is not None and not can(assignee, Action.INCIDENT_BE_ASSIGNED):
        raise Invalid("assignee", f"{assignee.username!r} is not an active staff member")


def _display(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, User):
        return value.username
    if isinstance(value, (Team, Service, Category)):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def _lock(incident: Incident) -> Incident:
    """Re-read the incident inside the transaction (row-locked on PostgreSQL)."""
    return Incident.objects.select_for_update().get(pk=incident.pk)
