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
"""

from __future__ import annotations

import uuid
from typing import Any

from tocsin.alerts.adapters.base import ACTIONS, SEVERITIES, AdapterError, Event
from tocsin.alerts.adapters.common import (
    MAX_DEDUP_KEY,
    clip,
    get_object,
    get_str,
    link,
    parse_time,
)

MAX_SUMMARY = 1024
MAX_SOURCE = 255


def routing_key(data: dict[str, Any]) -> str:
    """The routing key, or AdapterError naming it."""
    errors: list[str] = []
    key = get_str(data, "routing_key", "routing_key", errors, required=True)
    if errors:
        raise AdapterError(errors)
    return key


def _links(data: dict[str, Any], errors: list[str]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    raw_links = data.get("links")
    if raw_links is not None:
        if not isinstance(raw_links, list):
            errors.append("links must be an array")
        else:
            for i, item in enumerate(raw_links):
                if not isinstance(item, dict):
                    errors.append(f"links[{i}] must be an object")
                    continue
                href = item.get("href")
                if not isinstance(href, str) or not href:
                    errors.append(f"links[{i}].href is missing")
                    continue
                text = item.get("text")
                found = link(href, text if isinstance(text, str) and text else href)
                if found:
                    out.append(found)
    raw_images = data.get("images")
    if raw_images is not None:
        if not isinstance(raw_images, list):
            errors.append("images must be an array")
        else:
            for i, item in enumerate(raw_images):
                if not isinstance(item, dict):
                    errors.append(f"images[{i}] must be an object")
                    continue
                src = item.get("src")
                if not isinstance(src, str) or not src:
                    errors.append(f"images[{i}].src is missing")
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
        errors.append("client_url must be a string")
    client = data.get("client")
    if client is not None and not isinstance(client, str):
        errors.append("client must be a string")
    found = link(client_url, client or "Sender")
    if found:
        out.append(found)
    return out


def parse_event(data: dict[str, Any]) -> Event:
    errors: list[str] = []
    action = data.get("event_action")
    if action is None:
        errors.append("event_action is missing")
    elif action not in ACTIONS:
        errors.append(f"event_action must be one of {', '.join(ACTIONS)}")
    before = len(errors)
    dedup_key = get_str(data, "dedup_key", "dedup_key", errors, max_len=MAX_DEDUP_KEY)
    if action in ("acknowledge", "resolve") and not dedup_key.strip() and len(errors) == before:
        errors.append(f"dedup_key is required for {action}")
    links = _links(data, errors)
    if action != "trigger":
        if errors:
            raise AdapterError(errors)
        return Event(action=str(action), dedup_key=dedup_key, links=links)

    payload = get_object(data, "payload", "payload", errors, required=True)
    if payload is None:
        raise AdapterError(errors)
    summary = get_str(
        payload, "summary", "payload.summary", errors, required=True, max_len=MAX_SUMMARY
    )
    source = get_str(payload, "source", "payload.source", errors, required=True)
    severity = payload.get("severity")
    if severity is None:
        errors.append("payload.severity is missing")
    elif severity not in SEVERITIES:
        errors.append(f"payload.severity must be one of {', '.join(SEVERITIES)}")
    occurred_at = parse_time(payload.get("timestamp"), "payload.timestamp", errors)
    details: dict[str, Any] = {}
    for name in ("component", "group", "class"):
        value = get_str(payload, name, f"payload.{name}", errors)
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
    payload = get_object(data, "payload", "payload", errors, required=True)
    if payload is None:
        raise AdapterError(errors)
    summary = get_str(
        payload, "summary", "payload.summary", errors, required=True, max_len=MAX_SUMMARY
    )
    source = get_str(payload, "source", "payload.source", errors)
    occurred_at = parse_time(payload.get("timestamp"), "payload.timestamp", errors)
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
