"""The interface every engine module implements, and the time budget of its turn.

The engine calls `module.tick(now)` with a `now()` taken when the module's turn comes
(not when the tick started), inside `turn(budget)`. A module that loops over work (the
outbox, ingest) checks `budget_spent()` between items and stops when it says so,
returning how much it did: a positive count makes the worker come back at once, after
the other modules had their turn, so no module starves the others.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "tocsin_engine_deadline", default=None
)


class EngineModule(Protocol):
    name: str

    def tick(self, now: dt.datetime) -> int:
        """Advance durable state in its own transaction(s); return how much work was done.

        Stop early when `budget_spent()` says so; more work left is picked up at once.
        """
        ...


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
