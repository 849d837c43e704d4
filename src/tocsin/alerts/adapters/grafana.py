"""Grafana Alerting webhook contact point: Alertmanager's shape plus Grafana's extras.

Everything of alertmanager.py applies (one event per alert, groupKey + fingerprint); in
addition each alert's dashboardURL, panelURL, silenceURL and imageURL become links and its
values / valueString go into details (specs/wire-formats.md §3).
"""

from __future__ import annotations

from typing import Any

from tocsin.alerts.adapters.alertmanager import parse_group
from tocsin.alerts.adapters.base import AdapterError, Event
from tocsin.alerts.adapters.common import clip, link

_LINKS = (
    ("dashboardURL", "Dashboard"),
    ("panelURL", "Panel"),
    ("silenceURL", "Silence"),
    ("imageURL", "Image"),
)


TEST_LABELS = {"alertname": "TestAlert", "instance": "Grafana"}


def is_test_notification(data: dict[str, Any]) -> bool:
    """Grafana's contact-point "Test" button: a simulated firing alert labelled
    alertname=TestAlert, instance=Grafana (title "[FIRING:1]  (TestAlert Grafana)",
    annotation summary "Notification test", a groupKey made unique by a timestamp), and
    never a resolve. Every alert of the body must carry both labels: a real rule that
    happens to be called TestAlert still pages."""
    alerts = data.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        return False
    for alert in alerts:
        labels = alert.get("labels") if isinstance(alert, dict) else None
        if not isinstance(labels, dict):
            return False
        if any(labels.get(name) != value for name, value in TEST_LABELS.items()):
            return False
    return True


def parse(data: dict[str, Any]) -> list[Event]:
    errors: list[str] = []
    events: list[Event] = []
    for i, (event, alert) in enumerate(parse_group(data, source="Grafana")):
        for name, text in _LINKS:
            value = alert.get(name)
            if value is None or value == "":
                continue
            if not isinstance(value, str):
                errors.append(f"alerts[{i}].{name} must be a string")
                continue
            found = link(value, text)
            if found:
                event.links.append(found)
        values = alert.get("values")
        if values is not None:
            if not isinstance(values, dict):
                errors.append(f"alerts[{i}].values must be an object")
            else:
                event.details["values"] = values
        value_string = alert.get("valueString")
        if isinstance(value_string, str) and value_string:
            event.details["valueString"] = clip(value_string, 4000)
        events.append(event)
    if errors:
        raise AdapterError(errors)
    return events
