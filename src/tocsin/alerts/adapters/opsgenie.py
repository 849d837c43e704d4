"""Opsgenie alert API: create (POST v2/alerts) and the calls on one alert (close,
acknowledge, unacknowledge, notes: POST v2/alerts/{identifier}/<action>).

Normalised event (specs/wire-formats.md §4):
- `dedup_key` is the alias (at most 512 characters; longer than 255 is replaced by its hex
  SHA-256, the same on create and close so they meet); a create without an alias gets a
  new uuid4 hex (a new alert every time, as Opsgenie does).
- `summary` = message, cut to 130 characters as Opsgenie does (the full text is kept in
  details["message"] when cut); `description` (cut to 15000), `tags`, `entity`,
  `responders`, `note`, `details` and `priority` go into details.
- priority P1–P5 (default P3) -> severity: P1 critical, P2 error, P3 warning, P4 and P5
  info. The original stays in details["priority"] so the engine can map P1–P4 directly
  (P5 -> P4) instead of going through the service's severity map.
- close: action "resolve" for the alias; `source`, `user` and `note` go into details.
- acknowledge / unacknowledge / notes: actions "acknowledge", "unacknowledge", "note"
  (a note needs `note`, at most 25000 characters), the same details. An alert addressed by
  id carries it in details["opsgenie_alert_id"] (alerts/opsgenie_actions.py).
"""

from __future__ import annotations

import uuid
from typing import Any

from tocsin.alerts.adapters.base import AdapterError, Event
from tocsin.alerts.adapters.common import clip, get_str, short_key

MAX_MESSAGE = 130
MAX_ALIAS = 512
MAX_DESCRIPTION = 15000
MAX_NOTE = 25000
ACTION_EVENTS = {
    "close": "resolve",
    "acknowledge": "acknowledge",
    "unacknowledge": "unacknowledge",
    "notes": "note",
}
PRIORITY_SEVERITY = {"P1": "critical", "P2": "error", "P3": "warning", "P4": "info", "P5": "info"}


def alias_key(alias: str, where: str = "alias") -> str:
    if len(alias) > MAX_ALIAS:
        raise AdapterError([f"{where} must be at most {MAX_ALIAS} characters"])
    if any(ord(ch) < 32 for ch in alias):
        raise AdapterError([f"{where} must not contain control characters"])
    return short_key(alias)


def parse_create(data: dict[str, Any]) -> Event:
    errors: list[str] = []
    message = get_str(data, "message", "message", errors, required=True)
    alias = get_str(data, "alias", "alias", errors, max_len=MAX_ALIAS)
    description = get_str(data, "description", "description", errors)
    source = get_str(data, "source", "source", errors)
    entity = get_str(data, "entity", "entity", errors)
    note = get_str(data, "note", "note", errors)
    priority = data.get("priority", "P3")
    if not isinstance(priority, str) or priority not in PRIORITY_SEVERITY:
        errors.append("priority must be one of P1, P2, P3, P4, P5")
    extra = data.get("details")
    if extra is not None and not isinstance(extra, dict):
        errors.append("details must be an object")
    tags = data.get("tags")
    if tags is not None and (
        not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)
    ):
        errors.append("tags must be an array of strings")
    responders = data.get("responders")
    if responders is not None and not isinstance(responders, list):
        errors.append("responders must be an array")
    if alias and any(ord(ch) < 32 for ch in alias):
        errors.append("alias must not contain control characters")
    if errors:
        raise AdapterError(errors)

    details: dict[str, Any] = {"priority": priority}
    if len(message) > MAX_MESSAGE:
        details["message"] = message
    for name, value in (
        ("description", clip(description, MAX_DESCRIPTION) if description else ""),
        ("entity", entity),
        ("note", note),
    ):
        if value:
            details[name] = value
    if extra:
        details["details"] = extra
    if tags:
        details["tags"] = tags
    if responders:
        details["responders"] = responders
    return Event(
        action="trigger",
        dedup_key=short_key(alias) if alias.strip() else uuid.uuid4().hex,
        summary=clip(message.strip(), MAX_MESSAGE),
        severity=PRIORITY_SEVERITY[str(priority)],
        source=clip(source, 255),
        details=details,
    )


def parse_close(alias: str, data: dict[str, Any]) -> Event:
    errors: list[str] = []
    details: dict[str, str] = {}
    for name in ("source", "user", "note"):
        value = get_str(data, name, name, errors)
        if value:
            details[name] = value
    if errors:
        raise AdapterError(errors)
    return Event(
        action="resolve",
        dedup_key=alias_key(alias, "alias (in the path)"),
        source=clip(details.get("source", ""), 255),
        details=details,
    )


def parse_action(
    action: str, dedup_key: str, data: dict[str, Any], alert_id: int | None = None
) -> Event:
    """An Opsgenie call on one alert (a key of ACTION_EVENTS), for the alert's dedup key."""
    errors: list[str] = []
    details: dict[str, Any] = {}
    for name in ("source", "user", "note"):
        value = get_str(data, name, name, errors, required=action == "notes" and name == "note")
        if value:
            details[name] = value
    if len(details.get("note", "")) > MAX_NOTE:
        errors.append(f"note must be at most {MAX_NOTE} characters")
    if errors:
        raise AdapterError(errors)
    if alert_id is not None:
        details["opsgenie_alert_id"] = alert_id
    return Event(
        action=ACTION_EVENTS[action],
        dedup_key=dedup_key,
        source=clip(details.get("source", ""), 255),
        details=details,
    )
