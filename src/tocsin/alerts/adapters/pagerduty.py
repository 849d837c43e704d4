"""PagerDuty Events API v2: alert events (/v2/enqueue) and change events (/v2/change/enqueue).

Normalised event (specs/wire-formats.md §1):
- `dedup_key`: the sender's (at most 255 characters, required for acknowledge/resolve); a
  trigger without one gets a new uuid4 hex, returned in the 202.
- trigger: `summary` = payload.summary (≤1024), `source` = payload.source, `severity` =
  payload.severity, `occurred_at` = payload.timestamp (UTC); `details` holds `component`,
  `group`, `class`, `client`, `custom_details` when present; `links` holds links[] and
  images[] with http(s) targets (images: https only) and client_url.
- a change event is stored with action "trigger" (the inbox row's kind "change" says what
  it is) and a fresh dedup_key; it never pages.

Error messages are PagerDuty's own words (docs/integrations/pagerduty.md lists them):
"'payload.source' is missing or blank", "'payload.severity' is invalid (must be one of the
following: 'critical', 'warning', 'error' or 'info')", "Length of 'routing_key' is incorrect
(should be 32 characters)"; the rest follow the same patterns.
"""

from __future__ import annotations

import uuid
from typing import Any

from tocsin.alerts.adapters.base import ACTIONS, SEVERITIES, AdapterError, Event
from tocsin.alerts.adapters.common import MAX_DEDUP_KEY, clip, link, parse_time

MAX_SUMMARY = 1024
MAX_SOURCE = 255
ROUTING_KEY_LENGTH = 32
UNKNOWN_ROUTING_KEY = "Invalid routing key"
_SEVERITY_CHOICES = "'critical', 'warning', 'error' or 'info'"
_ACTION_CHOICES = "'trigger', 'acknowledge' or 'resolve'"


def missing(where: str) -> str:
    return f"'{where}' is missing or blank"


def invalid(where: str, must: str) -> str:
    return f"'{where}' is invalid (must be {must})"


def too_long(where: str, limit: int) -> str:
    return f"Length of '{where}' is incorrect (should be at most {limit} characters)"


def _str(
    data: dict[str, Any],
    name: str,
    where: str,
    errors: list[str],
    *,
    required: bool = False,
    max_len: int | None = None,
) -> str:
    """A string field in PagerDuty's words: "" (and an error) when it is bad."""
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.append(missing(where))
        return "" if value is None else value
    if not isinstance(value, str):
        errors.append(invalid(where, "a string"))
        return ""
    if max_len is not None and len(value) > max_len:
        errors.append(too_long(where, max_len))
        return ""
    return value


def _object(data: dict[str, Any], name: str, errors: list[str]) -> dict[str, Any] | None:
    value = data.get(name)
    if value is None:
        errors.append(missing(name))
        return None
    if not isinstance(value, dict):
        errors.append(invalid(name, "an object"))
        return None
    return value


def routing_key(data: dict[str, Any]) -> str:
    """The routing key, or AdapterError in PagerDuty's words."""
    key = data.get("routing_key")
    if key is None or (isinstance(key, str) and not key.strip()):
        raise AdapterError(["'routing_key' cannot be blank"])
    if not isinstance(key, str):
        raise AdapterError([invalid("routing_key", "a string")])
    if len(key) != ROUTING_KEY_LENGTH:
        raise AdapterError(
            [f"Length of 'routing_key' is incorrect (should be {ROUTING_KEY_LENGTH} characters)"]
        )
    return key


def _links(data: dict[str, Any], errors: list[str]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    raw_links = data.get("links")
    if raw_links is not None:
        if not isinstance(raw_links, list):
            errors.append(invalid("links", "an array"))
        else:
            for i, item in enumerate(raw_links):
                if not isinstance(item, dict):
                    errors.append(invalid(f"links[{i}]", "an object"))
                    continue
                href = item.get("href")
                if not isinstance(href, str) or not href:
                    errors.append(missing(f"links[{i}].href"))
                    continue
                text = item.get("text")
                found = link(href, text if isinstance(text, str) and text else href)
                if found:
                    out.append(found)
    raw_images = data.get("images")
    if raw_images is not None:
        if not isinstance(raw_images, list):
            errors.append(invalid("images", "an array"))
        else:
            for i, item in enumerate(raw_images):
                if not isinstance(item, dict):
                    errors.append(invalid(f"images[{i}]", "an object"))
                    continue
                src = item.get("src")
                if not isinstance(src, str) or not src:
                    errors.append(missing(f"images[{i}].src"))
                    continue
                if not src.lower().startswith("https://"):
                    continue  # PagerDuty shows only https images; drop the rest
                alt = item.get("alt")
                href = item.get("href")
                target = href if isinstance(href, str) and href else src
                found = link(target, alt if isinstance(alt, str) and alt else "image")
                if found:
                    found["image"] = clip(src, 2048)
                    out.append(found)
    client_url = data.get("client_url")
    if client_url is not None and not isinstance(client_url, str):
        errors.append(invalid("client_url", "a string"))
    client = data.get("client")
    if client is not None and not isinstance(client, str):
        errors.append(invalid("client", "a string"))
    found = link(client_url, client or "Sender")
    if found:
        out.append(found)
    return out


def _timestamp(payload: dict[str, Any], errors: list[str]) -> str | None:
    found: list[str] = []
    moment = parse_time(payload.get("timestamp"), "payload.timestamp", found)
    if found:
        errors.append(invalid("payload.timestamp", "an ISO 8601 timestamp"))
    return moment


def parse_event(data: dict[str, Any]) -> Event:
    errors: list[str] = []
    action = data.get("event_action")
    if action is None or action == "":
        errors.append(missing("event_action"))
    elif action not in ACTIONS:
        errors.append(invalid("event_action", f"one of the following: {_ACTION_CHOICES}"))
    before = len(errors)
    dedup_key = _str(data, "dedup_key", "dedup_key", errors, max_len=MAX_DEDUP_KEY)
    if action in ("acknowledge", "resolve") and not dedup_key.strip() and len(errors) == before:
        errors.append(missing("dedup_key"))
    links = _links(data, errors)
    if action != "trigger":
        if errors:
            raise AdapterError(errors)
        return Event(action=str(action), dedup_key=dedup_key, links=links)

    payload = _object(data, "payload", errors)
    if payload is None:
        raise AdapterError(errors)
    summary = _str(
        payload, "summary", "payload.summary", errors, required=True, max_len=MAX_SUMMARY
    )
    source = _str(payload, "source", "payload.source", errors, required=True)
    severity = payload.get("severity")
    if severity is None or severity == "":
        errors.append(missing("payload.severity"))
    elif severity not in SEVERITIES:
        errors.append(invalid("payload.severity", f"one of the following: {_SEVERITY_CHOICES}"))
    occurred_at = _timestamp(payload, errors)
    details: dict[str, Any] = {}
    for name in ("component", "group", "class"):
        value = _str(payload, name, f"payload.{name}", errors)
        if value:
            details[name] = value
    if isinstance(data.get("client"), str) and data["client"]:
        details["client"] = data["client"]
    if payload.get("custom_details") is not None:
        details["custom_details"] = payload["custom_details"]
    if errors:
        raise AdapterError(errors)
    return Event(
        action="trigger",
        dedup_key=dedup_key if dedup_key.strip() else uuid.uuid4().hex,
        summary=summary,
        severity=str(severity),
        source=clip(source, MAX_SOURCE),
        details=details,
        links=links,
        occurred_at=occurred_at,
    )


def parse_change(data: dict[str, Any]) -> Event:
    errors: list[str] = []
    payload = _object(data, "payload", errors)
    if payload is None:
        raise AdapterError(errors)
    summary = _str(
        payload, "summary", "payload.summary", errors, required=True, max_len=MAX_SUMMARY
    )
    source = _str(payload, "source", "payload.source", errors)
    occurred_at = _timestamp(payload, errors)
    links: list[dict[str, str]] = []
    raw_links = data.get("links")
    if raw_links is not None:
        links = _links({"links": raw_links}, errors)
    details: dict[str, Any] = {}
    if payload.get("custom_details") is not None:
        details["custom_details"] = payload["custom_details"]
    if errors:
        raise AdapterError(errors)
    return Event(
        action="trigger",
        dedup_key=uuid.uuid4().hex,
        summary=summary,
        severity="info",
        source=clip(source, MAX_SOURCE),
        details=details,
        links=links,
        occurred_at=occurred_at,
    )
