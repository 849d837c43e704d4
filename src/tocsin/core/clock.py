"""The one source of 'now'.

Tests move it with time-machine; the demo loader writes history with `travel()`.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

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
