"""How an alert's payload is shown: its labels, annotations, details and links, with the
links made clickable only when they are plain http(s) URLs (a `javascript:` or `data:`
link from a monitoring tool stays text). Templates escape every value; this module only
decides what is a link and what is a block of JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

# The labels that say which alert it is at a glance, in this order (Prometheus and
# Grafana conventions; severity has its own badge); an alert with none of them shows its
# first labels by name.
KEY_LABELS = (
    "alertname",
    "env",
    "environment",
    "cluster",
    "namespace",
    "job",
    "instance",
    "host",
    "pod",
    "service",
    "region",
)
KEY_LABELS_SHOWN = 4
URL_MAX = 2000


def safe_href(value: Any) -> str:
    """`value` if it is an absolute http(s) URL fit to be a link, else ""."""
    if not isinstance(value, str):
        return ""
    url = value.strip()
    if not url or len(url) > URL_MAX or any(c.isspace() or ord(c) < 32 for c in url):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    return url


@dataclass(frozen=True)
class Item:
    """One name and value of the payload; `href` when the value is a safe link, `block`
    when it is structured data shown as indented JSON."""

    name: str
    value: str
    href: str = ""
    block: bool = False


def _item(name: Any, value: Any) -> Item:
    if isinstance(value, str):
        return Item(str(name), value, href=safe_href(value))
    if value is None or isinstance(value, bool | int | float):
        return Item(str(name), json.dumps(value))
    text = json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str)
    return Item(str(name), text, block=True)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def labels_of(alert: Any) -> list[Item]:
    return [_item(k, v) for k, v in sorted(_mapping(alert.labels).items())]


def annotations_of(alert: Any) -> list[Item]:
    """Alertmanager's and Grafana's annotations (the adapters keep them in
    details["annotations"])."""
    found = _mapping(alert.details).get("annotations")
    return [_item(k, v) for k, v in sorted(_mapping(found).items())]


def details_of(alert: Any) -> list[Item]:
    """The rest of the details (custom details, receiver, external URL...)."""
    details = alert.details
    if not isinstance(details, dict):
        return [] if details in (None, "", [], {}) else [_item("value", details)]
    return [_item(k, v) for k, v in sorted(details.items()) if k != "annotations"]


def links_of(alert: Any) -> list[Item]:
    """The alert's links that are safe to follow; each named by its text or its URL."""
    found: list[Item] = []
    for link in alert.links if isinstance(alert.links, list) else []:
        if not isinstance(link, dict):
            continue
        href = safe_href(link.get("href"))
        if href:
            text = link.get("text")
            found.append(Item(text if isinstance(text, str) and text else href, href, href))
    return found


def key_labels(alert: Any, limit: int = KEY_LABELS_SHOWN) -> list[tuple[str, str]]:
    """The few labels that tell this alert apart: (name, value)."""
    labels = {str(k): v for k, v in _mapping(alert.labels).items()}
    names = [name for name in KEY_LABELS if name in labels]
    names += [name for name in sorted(labels) if name not in names and name != "severity"]
    shown: list[tuple[str, str]] = []
    for name in names[:limit]:
        value = labels[name]
        shown.append((name, value if isinstance(value, str) else json.dumps(value)))
    return shown
