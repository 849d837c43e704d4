"""The normalised event every adapter produces and the engine's ingest module consumes.

An adapter validates a sender's body and turns it into a list of `Event`s, or raises
`AdapterError` with the reasons (answered as the imitated tool's 400). Events are stored
in the inbox row as JSON (`Event.to_json`), so the engine never re-parses the raw body.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")


class AdapterError(Exception):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass
class Event:
    action: str  # trigger | acknowledge | resolve
    dedup_key: str
    summary: str = ""
    severity: str = "error"
    source: str = ""
    # Alertmanager/Grafana: the group this alert belongs to; every body is a snapshot of
    # the whole group, so an identical re-send only refreshes last-seen.
    group_key: str = ""
    snapshot: bool = False
    details: dict[str, Any] = field(default_factory=dict)
    links: list[dict[str, str]] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    occurred_at: str | None = None  # ISO-8601, when the sender saw it start / happen

    def to_json(self) -> dict[str, Any]:
        """A plain dict for the inbox row's JSON (shallow: nested values are shared, not copied;
        dataclasses.asdict's deep copy was most of the cost of accepting a large snapshot)."""
        return {name: getattr(self, name) for name in _FIELD_NAMES}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        return cls(**data)


_FIELD_NAMES = tuple(f.name for f in fields(Event))
