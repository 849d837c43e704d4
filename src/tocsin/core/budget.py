"""The time budget of an engine module's turn.

The engine (tocsin.engine) runs each module inside `turn(budget)`; a module that loops
over work (the outbox, ingest) checks `budget_spent()` between items and stops when it
says so. It lives in `core` so that modules of any app can check it without importing
the engine, which sits above them all.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator
from contextlib import contextmanager

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "tocsin_engine_deadline", default=None
)


@contextmanager
def turn(budget: float | None) -> Iterator[None]:
    """A module's turn: `budget` seconds of wall time (None: no limit)."""
    token = _deadline.set(None if budget is None else time.monotonic() + budget)
    try:
        yield
    finally:
        _deadline.reset(token)


def time_left() -> float | None:
    """Seconds left in the current module's turn (None outside a turn or without a limit)."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


def budget_spent() -> bool:
    left = time_left()
    return left is not None and left <= 0
