"""Helpers shared by the adapters: strict JSON decoding and field checks naming the field."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC
from typing import Any

import orjson

from tocsin.alerts.adapters.base import AdapterError
from tocsin.core.clock import parse_iso

MAX_DEPTH = 64
_ORJSON_DEPTH = 1024  # orjson's own limit: deeper documents fail while parsing
_WRAP_LEVELS = _ORJSON_DEPTH - MAX_DEPTH
# Bodies up to this many characters are parsed as they are (at most about 32,000
# containers, a few milliseconds); larger ones are wrapped (see decode_json).
DIRECT_MAX = 64 * 1024
_WRAP_OPEN = "[" * _WRAP_LEVELS
_WRAP_CLOSE = "]" * _WRAP_LEVELS
MAX_DEDUP_KEY = 255
# The bytes are UTF-8; a `\u0000` escape or a lone surrogate escape is the only way left to
# smuggle a NUL or an unencodable character into a decoded string (strict mode rejects raw
# control characters), so the tree walk looks for them only when the text contains one.
_SUSPICIOUS_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
_ZERO_TIME_PREFIX = "0001-01-01"


def _check_string(value: str, where: str) -> None:
    if "\x00" in value:
        raise AdapterError([f"{where}: NUL characters are not allowed"])
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise AdapterError([f"{where}: lone surrogate escapes are not allowed"]) from None


def _check_strings(root: Any) -> None:
    """Every key and string value: no NUL, no lone surrogate (walked without recursion)."""
    stack: list[Any] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                _check_string(key, "body: a key")
                if isinstance(value, dict | list):
                    stack.append(value)
                elif isinstance(value, str):
                    _check_string(value, f"body: value of {key[:60]!r}")
        elif isinstance(node, list):
            for value in node:
                if isinstance(value, dict | list):
                    stack.append(value)
                elif isinstance(value, str):
                    _check_string(value, "body: a list item")


def decode_text(body: bytes) -> str:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AdapterError([f"body: not valid UTF-8 (byte {exc.start})"]) from None
    return text.removeprefix("\ufeff")


def _deeper_than(root: Any, limit: int) -> bool:
    """Whether containers nest more than `limit` levels (the root is level 1); iterative."""
    stack: list[tuple[Any, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def decode_json(text: str) -> dict[str, Any]:
    """Decode strictly: no NaN/Infinity, no NUL or lone surrogate, at most MAX_DEPTH levels,
    an object.

    orjson refuses NaN, Infinity, numbers beyond a double's range and lone surrogates, and
    stops at nesting deeper than 1024 levels while it parses, before it builds a single
    Python object. A small body (up to DIRECT_MAX characters: every PagerDuty event) is
    parsed as it is and its depth counted on the result: it cannot hold many containers.
    A larger one is wrapped in 1024 - MAX_DEPTH arrays, which makes orjson's native limit
    MAX_DEPTH levels of the body: a deeply nested large body costs a few milliseconds
    whatever its size, and never becomes millions of lists. Integers beyond 64 bits
    become floats. Duplicate keys are allowed (the last one wins, as in most parsers)."""
    if not text.strip():
        raise AdapterError(["body: empty; a JSON object is expected"])
    small = len(text) <= DIRECT_MAX
    try:
        data = orjson.loads(text if small else _WRAP_OPEN + text + _WRAP_CLOSE)
    except orjson.JSONDecodeError as exc:
        if str(exc).startswith("depth limit exceeded"):
            raise AdapterError([f"body: nested deeper than {MAX_DEPTH} levels"]) from None
        if not small:
            try:  # the same error again, its position counted in the body itself
                orjson.loads(text)
            except orjson.JSONDecodeError as plain:
                exc = plain
        raise AdapterError([f"body: not valid JSON ({str(exc)[:120]})"]) from None
    if small:
        if isinstance(data, dict | list) and _deeper_than(data, MAX_DEPTH):
            raise AdapterError([f"body: nested deeper than {MAX_DEPTH} levels"])
    else:
        for _ in range(_WRAP_LEVELS):
            if not isinstance(data, list) or len(data) != 1:  # "1] [2": not one JSON value
                raise AdapterError(["body: not valid JSON (more than one value)"])
            data = data[0]
    if not isinstance(data, dict):
        raise AdapterError(["body: a JSON object is expected"])
    if _SUSPICIOUS_ESCAPE.search(text) is not None:
        _check_strings(data)
    return data


# --- field helpers -------------------------------------------------------------------


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short_key(key: str, limit: int = MAX_DEDUP_KEY) -> str:
    """Keys longer than the column are replaced by their hex SHA-256 (64 characters)."""
    return key if len(key) <= limit else hashlib.sha256(key.encode()).hexdigest()


def get_str(
    data: Mapping[str, Any],
    name: str,
    where: str,
    errors: list[str],
    *,
    required: bool = False,
    max_len: int | None = None,
) -> str:
    """A string field: records an error naming `where` and answers "" when it is bad."""
    value = data.get(name)
    if value is None:
        if required:
            errors.append(f"{where} is missing")
        return ""
    if not isinstance(value, str):
        errors.append(f"{where} must be a string")
        return ""
    if required and not value.strip():
        errors.append(f"{where} must not be blank")
        return ""
    if max_len is not None and len(value) > max_len:
        errors.append(f"{where} must be at most {max_len} characters (got {len(value)})")
        return ""
    return value


def get_object(
    data: Mapping[str, Any], name: str, where: str, errors: list[str], *, required: bool = False
) -> dict[str, Any] | None:
    value = data.get(name)
    if value is None:
        if required:
            errors.append(f"{where} is missing")
        return None
    if not isinstance(value, dict):
        errors.append(f"{where} must be an object")
        return None
    return value


def str_map(value: Any, where: str, errors: list[str]) -> dict[str, str]:
    """A map of strings to strings (labels, annotations)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.append(f"{where} must be an object of strings")
        return {}
    for key, item in value.items():
        if not isinstance(item, str):
            errors.append(f"{where}.{key[:60]} must be a string")
            return {}
    return value


def parse_time(value: Any, where: str, errors: list[str]) -> str | None:
    """ISO-8601 / RFC 3339 (offsets with or without a colon) -> UTC ISO text; None if absent."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        errors.append(f"{where} must be an ISO-8601 string")
        return None
    if value.startswith(_ZERO_TIME_PREFIX):  # Go's zero time: "unknown"
        return None
    moment = parse_iso(value)
    if moment is None:
        errors.append(f"{where} is not an ISO-8601 time: {value[:40]!r}")
        return None
    try:
        return moment.astimezone(UTC).isoformat()
    except (ValueError, OverflowError):
        errors.append(f"{where} is out of range: {value[:40]!r}")
        return None


def is_http_url(value: Any) -> bool:
    return isinstance(value, str) and value.lower().startswith(("http://", "https://"))


def link(href: Any, text: str) -> dict[str, str] | None:
    """A link for the alert, only for http(s) targets (never javascript: or data:)."""
    if not is_http_url(href):
        return None
    return {"href": clip(href, 2048), "text": clip(text, 200)}


_SEVERITY_WORDS = {
    "critical": "critical",
    "crit": "critical",
    "fatal": "critical",
    "emergency": "critical",
    "emerg": "critical",
    "alert": "critical",
    "page": "critical",
    "disaster": "critical",
    "p1": "critical",
    "error": "error",
    "err": "error",
    "high": "error",
    "major": "error",
    "p2": "error",
    "warning": "warning",
    "warn": "warning",
    "medium": "warning",
    "minor": "warning",
    "average": "warning",
    "p3": "warning",
    "info": "info",
    "informational": "info",
    "information": "info",
    "notice": "info",
    "low": "info",
    "none": "info",
    "ok": "info",
    "debug": "info",
    "p4": "info",
    "p5": "info",
}


def severity_from_text(value: Any) -> str:
    """A monitoring tool's free-text severity -> one of the four values (unknown: error)."""
    if not isinstance(value, str):
        return "error"
    return _SEVERITY_WORDS.get(value.strip().lower(), "error")
