"""The interface every engine module implements, and the time budget of its turn.

The engine calls `module.tick(now)` with a `now()` taken when the module's turn comes
(not when the tick started), inside `turn(budget)`. A module that loops over work (the
outbox, ingest) checks `budget_spent()` between items and stops when it says so,
returning how much it did: a positive count makes the worker come back at once, after
the other modules had their turn, so no module starves the others.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

# The budget lives in core so that any app's module can check it without importing the
# engine (which sits above every app); re-exported here for the engine.
from tocsin.core.budget import budget_spent, time_left, turn

__all__ = ["EngineModule", "budget_spent", "time_left", "turn"]


class EngineModule(Protocol):
    name: str

    def tick(self, now: dt.datetime) -> int:
        """Advance durable state in its own transaction(s); return how much work was done.

        Stop early when `budget_spent()` says so; more work left is picked up at once.
        """
        ...
