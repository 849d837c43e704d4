"""What the alert services share: constants, the rejection of a row, parsing an event,
grouping keys, the description of an alert, the outcome of an event and of a row."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import Counter as Tally
from collections.abc import Callable
from typing import Any

from tocsin.alerts import selectors
from tocsin.alerts.adapters.base import ACTIONS, Event, Unusable, normalise
from tocsin.alerts.display import key_labels, safe_href
from tocsin.alerts.models import (
    Alert,
    AlertStorm,
    Outcome,
)
from tocsin.alerts.services.new_alerts import NewAlert
from tocsin.catalog.models import Grouping, Integration, Service, default_severity_map
from tocsin.core.actors import Actor
from tocsin.core.clock import parse_iso
from tocsin.core.crypto import sha256_hex
from tocsin.incidents import services as incident_services
from tocsin.incidents.models import Incident, Source

log = logging.getLogger("tocsin.alerts")

# Outcomes of a row with several events: the first one present names the row.
OUTCOME_ORDER = (
    Outcome.CREATED,
    Outcome.SUPPRESSED,
    Outcome.MERGED,
    Outcome.UPDATED,
    Outcome.REFRESHED,
    Outcome.IGNORED,
    Outcome.REJECTED,
    Outcome.RECORDED,
)

DETAIL_MAX = 2000
INCIDENT_HOLD = 0.05  # seconds: see _process_batch
STORM_WINDOW = dt.timedelta(seconds=60)
STORM_REFRESH = dt.timedelta(seconds=10)
STORM_LABELS = ("alertname", "instance", "source")
STORM_TOP = 5
HEARTBEAT_KEY = "heartbeat"
CHANGE_EVENT_KEEP = dt.timedelta(days=90)
DEFAULT_INTERVAL = 300
DEFAULT_GRACE = 60


class RowRejected(Exception):
    """The row (or one of its events) cannot be used; the message says why."""


def integration_actor(integration: Integration) -> Actor:
    return Actor.for_integration(integration)


def _parse_time(value: Any, fallback: dt.datetime) -> dt.datetime:
    """An ISO-8601 time (offsets with or without a colon, or Z); naive means UTC.

    A missing or unreadable time, one before 2000 or in the future, becomes `fallback` (the
    time the event was received): an alert cannot have started after Tocsin saw it.
    """
    parsed = parse_iso(value) if isinstance(value, str) else None
    if parsed is None:
        return fallback
    if parsed.year < 2000 or parsed > fallback:  # incidents refuse moments before 2000
        return fallback
    return parsed


def _event_from(data: Any) -> Event:
    """A checked, normalised Event from a stored dict; RowRejected says what is wrong."""
    if not isinstance(data, dict):
        raise RowRejected("an event must be a JSON object")
    try:
        event = Event.from_json(data)
    except TypeError as exc:
        raise RowRejected(f"malformed event: {exc}") from None
    if event.normalised is True and event.action in ACTIONS and type(event.dedup_key) is str:
        return event  # normalised by the ingest endpoint that stored it
    try:
        return normalise(event)
    except Unusable as exc:
        raise RowRejected(str(exc)) from None


def grouping_for(service: Service, event: Event) -> tuple[str, bool]:
    """Which alerts share an incident: (grouping key, sha256 hex; True if by labels).

    By default the group key (Alertmanager/Grafana group) or else the dedup key. With
    grouping "labels", the values of the service's group labels, when the alert carries
    at least one of them (an alert with none of them groups by key). Labels group only
    within the service's window (group_window_minutes from the incident's start).
    """
    if service.grouping == Grouping.LABELS and service.group_labels:
        names = [str(name) for name in service.group_labels]
        if any(name in event.labels for name in names):
            values = [[name, event.labels.get(name, "")] for name in names]
            return sha256_hex("labels:" + json.dumps(values, ensure_ascii=False)), True
    return sha256_hex("key:" + (event.group_key or event.dedup_key)), False


def _impact_urgency(service: Service, severity: str) -> tuple[int, int]:
    mapping = service.severity_map if isinstance(service.severity_map, dict) else {}
    value = mapping.get(severity)
    if (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 4 for v in value)
    ):
        return int(value[0]), int(value[1])
    impact, urgency = default_severity_map().get(severity, [2, 2])
    return impact, urgency


def _format_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def alert_description(alert: Alert | NewAlert) -> str:
    """A short, readable incident description from an alert: what, how bad, where from,
    since when, its key labels, its description annotation and its http(s) links. The
    full payload (every label, annotation and detail) is on the alert's own page, which
    the incident page links to; it is not dumped here (issue 8, point 11)."""
    head = [f"Severity: {alert.severity}"]
    if alert.source:
        head.append(f"Source: {alert.source}")
    head.append(f"Started: {alert.started_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC")
    lines = [alert.summary, "", " · ".join(head)]
    labels = key_labels(alert)
    if labels:
        lines.append("Labels: " + ", ".join(f"{name}={value}" for name, value in labels))
    details = alert.details if isinstance(alert.details, dict) else {}
    annotations = details.get("annotations")
    about = annotations.get("description") if isinstance(annotations, dict) else None
    if not isinstance(about, str):
        about = details.get("description")
    if isinstance(about, str) and about.strip() and about.strip() != alert.summary:
        lines += ["", about.strip()]
    links = [
        (link.get("text") or link["href"], link["href"])
        for link in (alert.links if isinstance(alert.links, list) else [])
        if isinstance(link, dict) and safe_href(link.get("href"))
    ]
    if links:
        lines += ["", "Links:"] + [f"- {text}: {href}" for text, href in links]
    lines += ["", "Each alert's labels, annotations and details are on its own page."]
    text = "\n".join(lines).replace("\x00", "")
    return text[: incident_services.DESCRIPTION_MAX]


# --- applying events --------------------------------------------------------------------


class _Result:
    """An event's outcome; the detail may wait for the row's new alerts to have their ids."""

    __slots__ = ("_detail", "outcome")

    def __init__(self, outcome: str, detail: str | Callable[[], str]) -> None:
        self.outcome = outcome
        self._detail = detail

    @property
    def detail(self) -> str:
        if callable(self._detail):
            self._detail = self._detail()
        return self._detail


def _save_storm_counts(storm: AlertStorm) -> None:
    """The storm's counts, once per batch of the service's rows."""
    storm.save(update_fields=["alert_count", "label_counts"])


def _note_joined(incident: Incident, alerts: list[Alert | NewAlert], actor: Actor) -> None:
    """One internal note per row for the new alerts that joined an existing incident."""
    if len(alerts) == 1:
        text = f"Alert joined: {alerts[0].summary}"
    else:
        shown = "\n".join(f"- {alert.summary}" for alert in alerts[:20])
        more = f"\n- … and {len(alerts) - 20} more" if len(alerts) > 20 else ""
        text = f"{len(alerts)} alerts joined:\n{shown}{more}"
    incident_services.incident_add_note(
        incident=incident, actor=actor, text=text[: incident_services.NOTE_MAX]
    )


def _auto_resolve(incident_id: int, actor: Actor) -> bool:
    """Resolve a monitoring incident whose alerts are all resolved (if its service says so)."""
    incident = Incident.objects.select_related("service").get(pk=incident_id)
    if not incident.is_open or incident.source != Source.MONITORING:
        return False
    service = incident.service
    if service is None or not service.auto_resolve:
        return False
    if selectors.incident_has_open_alerts(incident_id):
        return False
    incident_services.incident_resolve(
        incident=incident,
        actor=actor,
        resolution_code="auto-resolved",
        resolution_notes="All alerts resolved",
    )
    return True


# A row's outcome detail, or what makes it once the row's new alerts have their ids.
Detail = str | Callable[[], str]


def _summarise(results: list[_Result]) -> tuple[str, Detail]:
    if len(results) == 1:
        result = results[0]
        if callable(result._detail):  # names a new alert: its id comes with the insert
            return result.outcome, lambda: result.detail[:DETAIL_MAX]
        return result.outcome, result.detail[:DETAIL_MAX]
    tally = Tally(result.outcome for result in results)
    main = next(outcome for outcome in OUTCOME_ORDER if tally[outcome])
    parts = [", ".join(f"{tally[o]} {o}" for o in OUTCOME_ORDER if tally[o])]
    for outcome in (Outcome.SUPPRESSED, Outcome.IGNORED, Outcome.REJECTED):
        reasons = list(dict.fromkeys(r.detail for r in results if r.outcome == outcome))
        if reasons:
            parts.append(f"{outcome}: " + "; ".join(reasons[:5]))
    return main, ". ".join(parts)[:DETAIL_MAX]
