"""The normalised event every adapter produces and the engine's ingest module consumes.

An adapter validates a sender's body and turns it into a list of `Event`s, or raises
`AdapterError` with the reasons (answered as the imitated tool's 400). Events are stored
in the inbox row as JSON (`Event.to_json`), so the engine never re-parses the raw body.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

ACTIONS = ("trigger", "acknowledge", "resolve")
# Opsgenie's calls beyond PagerDuty's three (applied by alerts/opsgenie_actions.py).
EXTRA_ACTIONS = ("unacknowledge", "note")
SEVERITIES = ("critical", "error", "warning", "info")


class AdapterError(Exception):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass
class Event:
    action: str  # trigger | acknowledge | resolve (| unacknowledge | note: Opsgenie)
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
    # Set by `normalise`: the drain then uses the stored event as it is.
    normalised: bool = False

    def to_json(self) -> dict[str, Any]:
        """A plain dict for the inbox row's JSON (shallow: nested values are shared, not copied;
        dataclasses.asdict's deep copy was most of the cost of accepting a large snapshot)."""
        return {name: getattr(self, name) for name in _FIELD_NAMES}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        return cls(**data)


_FIELD_NAMES = tuple(f.name for f in fields(Event))


class Unusable(ValueError):
    """The event cannot become an alert; the message says why."""


def clean(value: Any, limit: int) -> str:
    """Text without NUL characters, trimmed, at most `limit` characters."""
    if value.__class__ is not str:
        value = "" if value is None else str(value)
    if "\x00" in value:
        value = value.replace("\x00", "")
    return value.strip()[:limit]


def normalise(event: Event) -> Event:
    """The event as alerts are made of it, in place: a known action, a dedup key of at
    most 255 characters, one of the four severities (else `error`), summary, source,
    group key and labels as trimmed strings within their columns' limits, no NUL
    characters, details an object and links a list of objects. Unusable says what
    makes it unusable.

    The ingest endpoints normalise every event before it is stored (so the work is
    done by the web workers, in parallel), and mark it; the drain normalises what is
    not marked (rows stored some other way or by an older version).
    """
    if event.action not in ACTIONS and event.action not in EXTRA_ACTIONS:
        # (Opsgenie's unacknowledge and note are stored by its endpoints alone.)
        raise Unusable(f"unknown action {event.action!r}; one of {', '.join(ACTIONS)}")
    if not isinstance(event.dedup_key, str) or not event.dedup_key.strip():
        raise Unusable("dedup_key is missing")
    event.dedup_key = event.dedup_key.replace("\x00", "")
    if len(event.dedup_key) > 255:
        raise Unusable("dedup_key is longer than 255 characters")
    severity = str(event.severity or "").lower()
    event.severity = severity if severity in SEVERITIES else "error"
    event.summary = clean(event.summary, 1024) or f"Alert {event.dedup_key}"[:1024]
    event.source = clean(event.source, 255)
    event.group_key = clean(event.group_key, 10_000)
    event.snapshot = bool(event.snapshot)
    if not isinstance(event.details, dict):
        event.details = {"details": event.details}
    if not isinstance(event.links, list):
        event.links = []
    event.links = [link for link in event.links if isinstance(link, dict)]
    if not isinstance(event.labels, dict):
        event.labels = {}
    event.labels = {clean(k, 200): clean(v, 1000) for k, v in event.labels.items()}
    event.normalised = True
    return event
