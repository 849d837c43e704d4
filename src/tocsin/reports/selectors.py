"""Reads and access gates of the reports app."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tocsin.accounts.models import Team, User
from tocsin.accounts.permissions import Action, can
from tocsin.catalog.models import Category, Service
from tocsin.core.clock import now
from tocsin.core.errors import Invalid, NotFound
from tocsin.incidents.models import Source
from tocsin.reports.metrics import DEFAULT_DAYS, Filters

# The longest period one request may ask for (the figures stay fast; a longer look is a
# series of periods).
MAX_PERIOD = dt.timedelta(days=3660)


def access_reports(user: User | Any) -> None:
    """Staff see the reports; anyone else gets 404 (as for a page that is not there)."""
    if not can(user, Action.REPORT_VIEW):
        raise NotFound("not found")


def _when(name: str, value: str | None) -> dt.datetime | None:
    if value is None or value == "":
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            return dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC)
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(name, "must be a date (2026-12-01) or a date and time with a zone") from None
    if when.tzinfo is None:
        raise Invalid(name, "needs a time zone (e.g. 2026-12-01T00:00:00Z)")
    return when


def _id(name: str, value: str | int | None, model: Any) -> int | None:
    if value is None or value == "":
        return None
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        raise Invalid(name, "must be an id (a whole number)")
    pk = int(text)
    if not model.objects.filter(pk=pk).exists():
        raise Invalid(name, f"no {model._meta.verbose_name} has id {pk}")
    return pk


def parse_filters(
    *,
    since: str | None = None,
    until: str | None = None,
    service: str | int | None = None,
    team: str | int | None = None,
    priority: str | int | None = None,
    category: str | int | None = None,
    source: str | None = None,
    at: dt.datetime | None = None,
) -> Filters:
    """Filters from request values (all optional: the last 30 days of everything).
    Raises Invalid naming the bad value."""
    until_at = _when("until", until) or (at or now())
    since_at = _when("since", since) or (until_at - dt.timedelta(days=DEFAULT_DAYS))
    if since_at >= until_at:
        raise Invalid("since", "must be before until")
    if until_at - since_at > MAX_PERIOD:
        raise Invalid("since", "the period may be at most ten years")
    level: int | None = None
    if priority not in (None, ""):
        text = str(priority).strip().upper().removeprefix("P")
        if text not in ("1", "2", "3", "4"):
            raise Invalid("priority", "must be 1-4 (or P1-P4)")
        level = int(text)
    if source in ("", None):
        source = None
    elif source not in Source.values:
        raise Invalid("source", f"must be one of {', '.join(Source.values)}")
    return Filters(
        since=since_at,
        until=until_at,
        service=_id("service", service, Service),
        team=_id("team", team, Team),
        priority=level,
        category=_id("category", category, Category),
        source=source,
    )
