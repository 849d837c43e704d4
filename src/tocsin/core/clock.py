"""The one source of 'now'.

Tests move it with time-machine; the demo loader writes history with `travel()`.
"""

from __future__ import annotations

import contextvars
import functools
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TypeGuard

from dateutil.parser import isoparse  # type: ignore[import-untyped]  # no stubs pinned
from django.utils import timezone

_fixed: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("tocsin_now", default=None)


def now() -> datetime:
    fixed = _fixed.get()
    return fixed if fixed is not None else timezone.now()


@contextmanager
def travel(at: datetime) -> Iterator[None]:
    """Within the block, now() answers `at` (used to write past history, e.g. demo data)."""
    if timezone.is_naive(at):
        raise ValueError("travel() needs an aware datetime")
    token = _fixed.set(at)
    try:
        yield
    finally:
        _fixed.reset(token)


def parse_iso(value: str) -> datetime | None:
    """An ISO-8601 / RFC 3339 time as an aware datetime, or None if it is not one.

    Accepts `Z`, offsets with or without a colon, a space or `T` between date and time, and
    fractions finer than microseconds; a time without an offset is taken as UTC. The one
    parser for times that come from outside (alert payloads) or from stored text.
    """
    text = value.strip()
    if not text:
        return None
    try:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            moment = isoparse(text)
    except (ValueError, OverflowError):
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@functools.cache
def zone_names() -> frozenset[str]:
    """The IANA time-zone names this installation knows. `zoneinfo.available_timezones()`
    walks the time-zone database's folders on every call (about 15 ms); the set only
    changes when the package is upgraded, which restarts the processes."""
    return frozenset(zoneinfo.available_timezones())


def is_zone(name: object) -> TypeGuard[str]:
    return isinstance(name, str) and name in zone_names()
