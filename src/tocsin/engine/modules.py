"""The interface every engine module implements."""

from __future__ import annotations

import datetime as dt
from typing import Protocol


class EngineModule(Protocol):
    name: str

    def tick(self, now: dt.datetime) -> int:
        """Advance durable state in its own transaction(s); return how much work was done."""
        ...
