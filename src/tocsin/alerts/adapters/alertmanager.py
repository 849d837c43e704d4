"""Prometheus Alertmanager webhook (payload version 4): one event per alert of the snapshot.

Normalised event (specs/wire-formats.md §2):
- `dedup_key` = groupKey + ":" + fingerprint (its hex SHA-256 when longer than 255),
  `group_key` = groupKey, `snapshot` = True (the body is the whole group).
- action from the alert's `status` (firing -> trigger, resolved -> resolve), never from endsAt.
- `summary` = annotations.summary, else commonAnnotations.summary, else alertname (+ " on "
  instance); `severity` from labels.severity mapped to the four values (unknown: error).
- `labels` = the alert's labels; `details` = annotations (+ receiver, externalURL and
  truncatedAlerts when non-zero); `links` = generatorURL and runbook_url (http(s) only);
  `occurred_at` = startsAt.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from tocsin.alerts.adapters.base import AdapterError, Event
from tocsin.alerts.adapters.common import (
    clip,
    get_str,
    link,
    parse_time,
    severity_from_text,
    short_key,
    str_map,
)

STATUSES = {"firing": "trigger", "resolved": "resolve"}
MAX_SUMMARY = 1024


def _fingerprint(labels: dict[str, str]) -> str:
    """Alertmanager always sends one; for other senders hash the sorted labels the same way."""
    text = json.dumps(labels, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def parse_alert(
    alert: Any, i: int, group: dict[str, Any], errors: list[str]
) -> tuple[Event, dict[str, Any]] | None:
    """One alert of the snapshot; returns the event and the raw alert (for Grafana's extras)."""
    where = f"alerts[{i}]"
    if not isinstance(alert, dict):
        errors.append(f"{where} must be an object")
        return None
    before = len(errors)
    status = alert.get("status")
    if not isinstance(status, str) or status not in STATUSES:
        errors.append(f"{where}.status must be firing or resolved")
    labels = str_map(alert.get("labels"), f"{where}.labels", errors)
    annotations = str_map(alert.get("annotations"), f"{where}.annotations", errors)
    fingerprint = get_str(alert, "fingerprint", f"{where}.fingerprint", errors)
    generator_url = get_str(alert, "generatorURL", f"{where}.generatorURL", errors)
    occurred_at = parse_time(alert.get("startsAt"), f"{where}.startsAt", errors)
    if len(errors) > before:
        return None

    summary = annotations.get("summary") or group["common_summary"]
    if not summary.strip():
        name = labels.get("alertname", "") or "alert"
        instance = labels.get("instance", "")
        summary = f"{name} on {instance}" if instance else name
    links = [
        found
        for found in (
            link(generator_url, "Source"),
            link(annotations.get("runbook_url"), "Runbook"),
        )
        if found
    ]
    details: dict[str, Any] = {"annotations": annotations} if annotations else {}
    details.update(group["details"])
    group_key = group["group_key"]
    event = Event(
        action=STATUSES[str(status)],
        dedup_key=short_key(f"{group_key}:{fingerprint or _fingerprint(labels)}"),
        summary=clip(summary.strip(), MAX_SUMMARY),
        severity=severity_from_text(labels.get("severity")),
        source=clip(labels.get("instance", "") or group["source"], 255),
        group_key=group_key,
        snapshot=True,
        details=details,
        links=links,
        labels=labels,
        occurred_at=occurred_at,
    )
    return event, alert


def parse_group(
    data: dict[str, Any], *, source: str = "Alertmanager"
) -> list[tuple[Event, dict[str, Any]]]:
    errors: list[str] = []
    group_key = get_str(data, "groupKey", "groupKey", errors, required=True)
    status = data.get("status")
    if not isinstance(status, str) or status not in STATUSES:
        errors.append("status must be firing or resolved")
    common = str_map(data.get("commonAnnotations"), "commonAnnotations", errors)
    receiver = get_str(data, "receiver", "receiver", errors)
    external_url = get_str(data, "externalURL", "externalURL", errors)
    truncated = data.get("truncatedAlerts", 0)
    if not isinstance(truncated, int) or isinstance(truncated, bool) or truncated < 0:
        errors.append("truncatedAlerts must be a non-negative integer")
        truncated = 0
    alerts = data.get("alerts")
    if alerts is None:
        errors.append("alerts is missing")
    elif not isinstance(alerts, list):
        errors.append("alerts must be an array")
    elif not alerts:
        errors.append("alerts must not be empty")
    if errors:
        raise AdapterError(errors)
    group_details: dict[str, Any] = {}
    if receiver:
        group_details["receiver"] = receiver
    if truncated:
        group_details["truncatedAlerts"] = truncated
    if external_url and link(external_url, "x"):
        group_details["externalURL"] = external_url
    group = {
        "group_key": group_key,
        "common_summary": common.get("summary", ""),
        "details": group_details,
        "source": source,
    }
    parsed: list[tuple[Event, dict[str, Any]]] = []
    for i, alert in enumerate(alerts or []):
        found = parse_alert(alert, i, group, errors)
        if found:
            parsed.append(found)
        if len(errors) >= 20:
            errors.append("… (more errors not listed)")
            break
    if errors:
        raise AdapterError(errors)
    return parsed


def parse(data: dict[str, Any]) -> list[Event]:
    return [event for event, _ in parse_group(data)]
