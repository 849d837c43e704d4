"""Generic JSON webhook: the user maps fields of their body with JSON paths.

integration.options (all optional):
- `summary_path` (default "summary"), `severity_path` ("severity"),
  `dedup_key_path` ("dedup_key"), `status_path` ("status"), `source_path` (none);
- `resolved_value` (default "resolved"): the status value that resolves the alert;
  `acknowledged_value` (none): the status value that acknowledges it.

A path is dotted, with optional "$." in front and list indexes as `[0]` or `.0`:
`$.alert.title`, `data.items[0].name`. The summary is required; a body without a dedup key
opens a new alert each time (and cannot resolve one); the severity is mapped from free text
(unknown: error). The body itself goes into details when it is small.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from tocsin.alerts.adapters.base import AdapterError, Event
from tocsin.alerts.adapters.common import clip, severity_from_text, short_key

MAX_DETAILS_CHARS = 64 * 1024
_MISSING = object()
_INDEX = re.compile(r"\[(\d+)\]")

DEFAULTS = {
    "summary_path": "summary",
    "severity_path": "severity",
    "dedup_key_path": "dedup_key",
    "status_path": "status",
    "source_path": "",
    "resolved_value": "resolved",
    "acknowledged_value": "",
}


def split_path(path: str) -> list[str]:
    path = path.strip()
    if path.startswith("$"):
        path = path[1:].lstrip(".")
    path = _INDEX.sub(r".\1", path)
    return [part for part in path.split(".") if part]


def lookup(data: Any, path: str) -> Any:
    node = data
    for part in split_path(path):
        if isinstance(node, dict):
            node = node.get(part, _MISSING)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
        if node is _MISSING:
            return _MISSING
    return node


def _text(data: dict[str, Any], path: str, name: str, errors: list[str]) -> str | None:
    """The value at path as text; None when the path is unset or absent."""
    if not path:
        return None
    value = lookup(data, path)
    if value is _MISSING or value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    errors.append(f"{name} (path {path!r}) must point to a string or a number")
    return None


def parse(data: dict[str, Any], options: dict[str, Any] | None = None, raw_size: int = 0) -> Event:
    opts = {**DEFAULTS, **{k: v for k, v in (options or {}).items() if isinstance(v, str)}}
    errors: list[str] = []
    summary = _text(data, opts["summary_path"], "summary", errors)
    severity = _text(data, opts["severity_path"], "severity", errors)
    dedup_key = _text(data, opts["dedup_key_path"], "dedup_key", errors)
    status = _text(data, opts["status_path"], "status", errors)
    source = _text(data, opts["source_path"], "source", errors)
    if (summary is None or not summary.strip()) and not any(
        e.startswith("summary") for e in errors
    ):
        errors.append(f"summary (path {opts['summary_path']!r}) is missing or blank")
    action = "trigger"
    if status is not None:
        if status == opts["resolved_value"]:
            action = "resolve"
        elif opts["acknowledged_value"] and status == opts["acknowledged_value"]:
            action = "acknowledge"
    if action != "trigger":
        summary_ok = [e for e in errors if not e.startswith("summary")]
        errors = summary_ok
        if not dedup_key:
            errors.append(
                f"dedup_key (path {opts['dedup_key_path']!r}) is required to {action} an alert"
            )
    if errors:
        raise AdapterError(errors)
    return Event(
        action=action,
        dedup_key=short_key(dedup_key) if dedup_key else uuid.uuid4().hex,
        summary=clip((summary or "").strip(), 1024),
        severity=severity_from_text(severity),
        source=clip(source or "", 255),
        details={"body": data} if raw_size <= MAX_DETAILS_CHARS else {},
    )
