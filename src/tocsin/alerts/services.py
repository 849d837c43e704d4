"""Every write to alerts: turning inbox rows into alerts and incidents, heartbeats,
maintenance windows, silences, and what a resolve or merge of an incident does to its alerts.

The contract with the ingest endpoints (alerts/ingest.py): an accepted request is one
`InboxEvent` row, state `pending`, with `kind` "event" (alert events), "change" (change
events: one Event whose action is "trigger") or "heartbeat" (a ping: no events), and
`events` = a list of `adapters.base.Event.to_json()` dicts. `inbox_process_batch` gives every
row exactly one recorded outcome (N2) in the same transaction as its effects:

- created    - at least one new alert (it opened an incident or joined one);
- merged     - a trigger for the key of an open alert: one more occurrence, no alert;
- refreshed  - a snapshot (Alertmanager/Grafana) re-sent a firing alert: last-seen only;
- updated    - an alert was acknowledged or resolved (also a ping that ended an outage);
- suppressed - alerts recorded, but a maintenance window or silence kept them from
               opening an incident (the reason is in outcome_detail and on the alert);
- ignored    - acknowledge/resolve for a key with no open alert on this integration
               (PagerDuty drops those), or an acknowledge of an acknowledged alert;
- rejected   - the row could not be used (the reason is in outcome_detail);
- recorded   - a change event, or a heartbeat ping.

A row with several events (a snapshot) gets the most telling outcome of its events, in
the order above, and counts of every outcome in outcome_detail.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections import Counter as Tally
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import (
    InterfaceError,
    OperationalError,
    connection,
    transaction,
)

from tocsin.alerts import opsgenie_actions, selectors, sql
from tocsin.alerts.adapters.base import ACTIONS, Event, Unusable, normalise
from tocsin.alerts.models import (
    Alert,
    AlertStatus,
    AlertStorm,
    ChangeEvent,
    Heartbeat,
    InboxEvent,
    InboxState,
    MaintenanceWindow,
    Outcome,
    Silence,
)
from tocsin.catalog.models import Grouping, Integration, Service, default_severity_map
from tocsin.core.actors import Actor
from tocsin.core.clock import now, parse_iso
from tocsin.core.crypto import sha256_hex
from tocsin.core.env import env_int
from tocsin.core.jsonfast import json_param
from tocsin.core.leases import lease_renew
from tocsin.core.wake import work_committed
from tocsin.incidents import services as incident_services
from tocsin.incidents.models import OPEN_STATUSES, EntryKind, Incident, Source, Status
from tocsin.incidents.timeline import timeline_append

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
    """A readable incident description from an alert's summary, labels, details and links."""
    lines = [alert.summary, ""]
    if alert.source:
        lines.append(f"Source: {alert.source}")
    lines.append(f"Severity: {alert.severity}")
    lines.append(f"Started: {alert.started_at.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC")
    if alert.labels:
        lines += ["", "Labels:"] + [f"  {k}: {v}" for k, v in sorted(alert.labels.items())]
    if alert.details:
        lines += ["", "Details:"] + [
            f"  {k}: {_format_value(v)}" for k, v in sorted(alert.details.items())
        ]
    links = [link for link in alert.links if link.get("href")]
    if links:
        lines += ["", "Links:"] + [
            f"  {link.get('text') or link['href']}: {link['href']}" for link in links
        ]
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


class _Shared:
    """What the rows of one service's batch share, in one transaction under the service's
    ingest lease (nobody else applies rows of the service meanwhile): the service's open
    storm (its counts written once, at the end of the batch: `finish`), the maintenance
    windows and silences of the batch's time span, the open incident of each grouping
    key, and the count of monitoring incidents of the storm window. A lone row (or a
    heartbeat miss) has one of its own.
    """

    def __init__(self, span: tuple[dt.datetime, dt.datetime] | None = None) -> None:
        self.span = span  # the rows' first and last received_at
        self.storm: AlertStorm | None = None
        self.storm_loaded = False
        self.storm_touched = False
        self.suppressions: tuple[list[MaintenanceWindow], list[Silence]] | None = None
        self.incident_of: dict[str, int | None] = {}
        self.incidents: dict[int, Incident] = {}
        self.monitoring_count: int | None = None
        self.incidents_opened = 0
        # Per integration, what the batch knows of each dedup key: its open alert (kept
        # up to date as rows change it) or None (no open alert). A key a row opened an
        # alert for is forgotten (read again when a later row needs it).
        self.alerts: dict[int, dict[str, Alert | None]] = {}
        # Open alerts a trigger merged into: one more occurrence, last seen now.
        self.merged: dict[int, Alert] = {}

    def open_alerts(self, integration_id: int, keys: list[str]) -> dict[str, Alert]:
        """What `selectors.open_alerts_by_key` says, asking only for keys not known yet."""
        known = self.alerts.setdefault(integration_id, {})
        missing = [key for key in dict.fromkeys(keys) if key not in known]
        if missing:
            found = selectors.open_alerts_by_key(integration_id, missing)
            for key in missing:
                known[key] = found.get(key)
        found_now: dict[str, Alert] = {}
        for key in keys:
            alert = known[key]
            if alert is not None:
                found_now[key] = alert
        return found_now

    def open_alerts_of(self, wanted: dict[int, list[str]]) -> None:
        """Learn the open alerts of these keys, one query for every integration."""
        missing: dict[int, list[str]] = {}
        for integration_id, keys in wanted.items():
            known = self.alerts.setdefault(integration_id, {})
            unknown = [key for key in dict.fromkeys(keys) if key not in known]
            if unknown:
                missing[integration_id] = unknown
        if not missing:
            return
        found = sql.open_alerts_of(missing)
        for integration_id, keys in missing.items():
            mine = found.get(integration_id, {})
            known = self.alerts[integration_id]
            for key in keys:
                known[key] = mine.get(key)

    def remember(self, integration_id: int, keys: list[str], row: _Row) -> None:
        """After a row: its keys' open alerts as the row left them."""
        known = self.alerts.setdefault(integration_id, {})
        for key in keys:
            if key in row.new_keys:
                known.pop(key, None)
            else:
                known[key] = row.open.get(key)

    def forget(self, integration_id: int) -> None:
        self.alerts.pop(integration_id, None)

    def suppressions_at(
        self, service: Service, at: dt.datetime
    ) -> tuple[list[MaintenanceWindow], list[Silence]]:
        """The windows and silences running at `at` (loaded once for the span)."""
        first, last = self.span or (at, at)
        if self.suppressions is None:
            if selectors.suppressions_possible(service, first, until=last):
                self.suppressions = (
                    selectors.maintenance_windows_active(service, first, until=last),
                    selectors.silences_active(service, first, until=last),
                )
            else:
                self.suppressions = ([], [])
        windows, silences = self.suppressions
        if self.span is None or not (windows or silences):
            return windows, silences
        return (
            [w for w in windows if w.starts_at <= at < w.ends_at],
            [x for x in silences if x.starts_at <= at < x.ends_at],
        )

    def monitoring_incidents(self, service: Service, since: dt.datetime) -> int:
        if self.monitoring_count is None:
            self.monitoring_count = selectors.monitoring_incidents_since(service, since)
        return self.monitoring_count

    def opened_incident(self) -> None:
        self.incidents_opened += 1
        if self.monitoring_count is not None:
            self.monitoring_count += 1

    def ended(self, incident_id: int) -> None:
        """The drain resolved this incident: nothing joins it any more."""
        self.incidents.pop(incident_id, None)
        for known in self.alerts.values():  # its alerts are read again if needed
            for key, alert in list(known.items()):
                if alert is not None and alert.incident_id == incident_id:
                    del known[key]
        for key, found in list(self.incident_of.items()):
            if found == incident_id:
                del self.incident_of[key]
        if self.storm is not None and self.storm.incident_id == incident_id:
            self.finish()
            self.storm, self.storm_loaded = None, False

    def finish(self) -> None:
        """Write what the rows changed in memory: the storm's counts, the occurrences of
        merged alerts (one statement, instead of one a duplicate)."""
        if self.storm is not None and self.storm_touched:
            _save_storm_counts(self.storm)
            self.storm_touched = False
        if self.merged:
            merged = sorted(self.merged.values(), key=lambda alert: alert.pk)
            self.merged = {}
            Alert.objects.bulk_update(merged, ["occurrences", "last_seen_at"])


@dataclass
class _Row:
    """One inbox row (or a heartbeat miss) being applied, in one transaction.

    Set-based where it counts (a snapshot brings 100 alerts at once): the open alerts of
    every key of the row come in one query (the caller fills `open`), the incident of a
    grouping key is looked up once per row (`incident_of`, then kept up to date as the
    row opens alerts), and new alerts wait in `pending` to be inserted together
    (`flush`), before anything needs their ids or reads them back: an event for a key
    whose alert is still pending, and `finish`. The outcomes are those of applying the
    events one by one.
    """

    integration: Integration
    received_at: dt.datetime
    at: dt.datetime
    open: dict[str, Alert] = field(default_factory=dict)
    # Keys this row opened an alert for (inserted by `flush`): a later event of the row
    # for one of them reads the stored alert back into `open` first.
    opened: dict[str, NewAlert] = field(default_factory=dict)
    new_keys: set[str] = field(default_factory=set)  # every key this row opened an alert for
    refreshed: list[int] = field(default_factory=list)
    joined: dict[int, list[Alert | NewAlert]] = field(default_factory=lambda: defaultdict(list))
    # Incidents this row opened: the alerts that join them with it are no news (no note).
    created: set[int] = field(default_factory=set)
    resolved_incidents: set[int] = field(default_factory=set)
    # Snapshot rows: when the alert last resolved on each key started (HA re-sends of an
    # old snapshot must not reopen what is over).
    resolved_started: dict[str, dt.datetime] = field(default_factory=dict)
    pending: list[NewAlert] = field(default_factory=list)
    # The alerts of a snapshot share their group and, mostly, their start time.
    groupings: dict[str, tuple[str, bool]] = field(default_factory=dict)
    times: dict[str, dt.datetime] = field(default_factory=dict)
    # What the rows of one service's batch share (its storm, suppressions, incidents).
    shared: _Shared = field(default_factory=lambda: _Shared())

    def __post_init__(self) -> None:
        self.service: Service = self.integration.service  # asked for every event

    @property
    def actor(self) -> Actor:
        return integration_actor(self.integration)

    # -- the three actions -----------------------------------------------------------

    def apply(self, event: Event) -> _Result:
        if event.dedup_key in self.opened:
            # This row opened that key's alert: the event needs it stored (its id, an update).
            del self.opened[event.dedup_key]
            self.flush()
            self.open.update(selectors.open_alerts_by_key(self.integration.pk, [event.dedup_key]))
        if opsgenie_actions.handles(event):  # unacknowledge, note; Opsgenie's by-id calls
            return opsgenie_actions.apply(self, event, _Result)
        if event.action == "trigger":
            return self.trigger(event)
        if event.action == "acknowledge":
            return self.acknowledge(event)
        return self.resolve(event)

    def trigger(self, event: Event) -> _Result:
        alert = self.open.get(event.dedup_key)
        incident = alert.incident if alert is not None else None
        if alert is not None and incident is not None and not incident.is_open:
            # Its incident was resolved or closed without it (should not happen: the
            # incident's resolve resolves its alerts); a new trigger starts afresh.
            self._close(alert)
            alert = None
        if alert is None:
            if event.snapshot and self._is_stale(event, self.resolved_started.get(event.dedup_key)):
                return _Result(
                    Outcome.IGNORED,
                    "late re-send of a snapshot: this firing alert has already resolved",
                )
            return self._open_alert(event)
        if alert.incident_id is None and alert.suppressed_reason and not self._suppressed_by(alert):
            # The window ended or the silence expired while it kept firing: page now.
            return self._release(alert, event)
        if event.snapshot:
            self.refreshed.append(alert.pk)
            return _Result(Outcome.REFRESHED, f"alert #{alert.pk} still firing")
        alert.occurrences += 1
        alert.last_seen_at = self.received_at
        self.shared.merged[alert.pk] = alert  # written at the end of the batch (or row)
        detail = f"alert #{alert.pk}: occurrence {alert.occurrences}"
        if alert.suppressed_reason:
            detail += f" (suppressed: {alert.suppressed_reason})"
        return _Result(Outcome.MERGED, detail)

    def acknowledge(self, event: Event) -> _Result:
        """The alert is acknowledged; so is its incident if nobody has touched it yet.

        PagerDuty acknowledges the incident when an acknowledge event arrives for its
        alert; Tocsin does the same, through the incident's own service (so the SLA
        response clock and the timeline record it), but only while the incident is
        `new`: an incident people are already working on keeps its status.
        """
        alert = self.open.get(event.dedup_key)
        if alert is None:
            return _Result(Outcome.IGNORED, "acknowledge for unknown or resolved key")
        if alert.status == AlertStatus.ACKNOWLEDGED:
            return _Result(Outcome.IGNORED, f"alert #{alert.pk} is already acknowledged")
        alert.status = AlertStatus.ACKNOWLEDGED
        alert.acknowledged_at = self.received_at
        alert.last_seen_at = max(alert.last_seen_at, self.received_at)
        alert.save(update_fields=["status", "acknowledged_at", "last_seen_at"])
        incident = alert.incident
        if incident is not None:
            incident.refresh_from_db(fields=["status"])
            if incident.status == Status.NEW:
                incident_services.incident_acknowledge(
                    incident=incident,
                    actor=self.actor,
                    note=f"Alert acknowledged by {self.integration.name}",
                )
        return _Result(Outcome.UPDATED, f"alert #{alert.pk} acknowledged")

    def resolve(self, event: Event) -> _Result:
        alert = self.open.get(event.dedup_key)
        if alert is None:
            return _Result(Outcome.IGNORED, "resolve for unknown or resolved key")
        if event.snapshot and event.occurred_at:
            started = _parse_time(event.occurred_at, self.received_at)
            if started < alert.started_at:
                return _Result(
                    Outcome.IGNORED,
                    f"late re-send of a snapshot: it resolves an earlier firing, "
                    f"not alert #{alert.pk}",
                )
        self._close(alert)
        return _Result(Outcome.UPDATED, f"alert #{alert.pk} resolved")

    def _is_stale(self, event: Event, resolved_started: dt.datetime | None) -> bool:
        if resolved_started is None or not event.occurred_at:
            return False
        return _parse_time(event.occurred_at, self.received_at) == resolved_started

    def _release(self, alert: Alert, event: Event) -> _Result:
        """A suppressed alert that still fires after its suppression ended opens or joins
        an incident like a new one."""
        was = alert.suppressed_reason
        _, by_labels = grouping_for(self.service, event)
        incident, joined = self._incident_for(alert, by_labels=by_labels)
        alert.suppressed_reason = ""
        alert.incident_id = incident.pk
        _ALERT_INCIDENT.set_cached_value(alert, incident)
        alert.last_seen_at = max(alert.last_seen_at, self.received_at)
        fields = ["suppressed_reason", "incident", "last_seen_at"]
        if not event.snapshot:
            alert.occurrences += 1
            fields.append("occurrences")
        alert.save(update_fields=fields)
        self.shared.incident_of[alert.grouping_key] = incident.pk
        self.shared.incidents.setdefault(incident.pk, incident)
        storm = self._storm()
        if storm is not None and storm.incident_id == incident.pk:
            self._count_in_storm(storm, alert)
        elif joined:
            self.joined[incident.pk].append(alert)
        verb = "joined" if joined else "opened"
        return _Result(
            Outcome.CREATED,
            f"alert #{alert.pk} no longer suppressed ({was[:80]}); {verb} {incident.ref}",
        )

    def _close(self, alert: Alert) -> None:
        alert.status = AlertStatus.RESOLVED
        alert.resolved_at = self.received_at
        alert.last_seen_at = max(alert.last_seen_at, self.received_at)
        alert.save(update_fields=["status", "resolved_at", "last_seen_at"])
        self.open.pop(alert.dedup_key, None)
        if alert.incident_id:
            self.resolved_incidents.add(alert.incident_id)

    # -- a new alert -------------------------------------------------------------------

    def _grouping(self, event: Event) -> tuple[str, bool]:
        if self.service.grouping == Grouping.LABELS:
            return grouping_for(self.service, event)
        key = event.group_key or event.dedup_key
        found = self.groupings.get(key)
        if found is None:
            found = self.groupings[key] = grouping_for(self.service, event)
        return found

    def _started(self, event: Event) -> dt.datetime:
        if not isinstance(event.occurred_at, str):
            return self.received_at
        found = self.times.get(event.occurred_at)
        if found is None:
            found = self.times[event.occurred_at] = _parse_time(event.occurred_at, self.received_at)
        return found

    def _open_alert(self, event: Event) -> _Result:
        grouping_key, by_labels = self._grouping(event)
        alert = NewAlert(
            dedup_key=event.dedup_key,
            group_key=event.group_key,
            grouping_key=grouping_key,
            severity=event.severity,
            summary=event.summary,
            source=event.source,
            details=event.details,
            links=event.links,
            labels=event.labels,
            started_at=self._started(event),
        )
        self.new_keys.add(alert.dedup_key)
        reason = self._suppressed_by(alert)
        if reason:
            alert.suppressed_reason = reason[:300]
            self.pending.append(alert)
            self.opened[alert.dedup_key] = alert
            return _Result(Outcome.SUPPRESSED, reason)
        incident, joined = self._incident_for(alert, by_labels=by_labels)
        incident_id = alert.incident_id = incident.id
        self.pending.append(alert)
        self.opened[alert.dedup_key] = alert
        # The newest open incident holding alerts of this grouping key is now this one.
        self.shared.incident_of[grouping_key] = incident_id
        if incident_id not in self.shared.incidents:
            self.shared.incidents[incident_id] = incident
        storm = self.shared.storm if self.shared.storm_loaded else self._storm()
        if storm is not None and storm.incident_id == incident_id:
            self._count_in_storm(storm, alert)
        elif joined:
            self.joined[incident_id].append(alert)
        verb = "joined" if joined else "opened"
        return _Result(Outcome.CREATED, lambda: f"alert #{alert.pk} {verb} {incident.ref}")

    def flush(self) -> None:
        """Insert the row's new alerts, in event order (their ids follow it)."""
        pending, self.pending = self.pending, []
        if pending:
            _insert_alerts(self.integration, self.received_at, pending)

    def _suppressed_by(self, alert: Alert | NewAlert) -> str:
        windows, silences = self.shared.suppressions_at(self.service, self.received_at)
        if windows:
            window = windows[0]
            return f"maintenance window #{window.pk}: {window.reason or 'no reason given'}"
        for silence in silences:
            if selectors.silence_matches(silence, alert.labels):
                return f"silence #{silence.pk}: {silence.comment or 'no comment'}"
        return ""

    def _incident_for(self, alert: Alert | NewAlert, *, by_labels: bool) -> tuple[Incident, bool]:
        """The open incident this alert joins, or a new one (or the storm's): (it, joined)."""
        service = self.service
        started_after = None
        if by_labels:
            started_after = self.at - dt.timedelta(minutes=service.group_window_minutes)
        if alert.grouping_key in self.shared.incident_of:
            incident_id = self.shared.incident_of[alert.grouping_key]
        else:
            found = selectors.open_incident_for_grouping(
                service=service, grouping_key=alert.grouping_key, started_after=started_after
            )
            incident_id = None if found is None else found.pk
            self.shared.incident_of[alert.grouping_key] = incident_id
            if found is not None:
                self.shared.incidents.setdefault(found.pk, found)
        if incident_id is not None:
            return self._incident(incident_id), True
        threshold = service.storm_threshold
        if threshold and (
            self.shared.monitoring_incidents(service, self.at - STORM_WINDOW) >= threshold
        ):
            storm = self._storm()
            if storm is not None:
                return storm.incident, True
            return self._start_storm(alert), False
        impact, urgency = _impact_urgency(service, alert.severity)
        incident = incident_services.incident_create(
            actor=self.actor,
            source=Source.MONITORING,
            title=alert.summary[: incident_services.TITLE_MAX],
            description=alert_description(alert),
            service=service,
            impact=impact,
            urgency=urgency,
            detected_at=alert.started_at,
        )
        self.shared.opened_incident()
        self.created.add(incident.pk)
        return incident, False

    def _incident(self, incident_id: int) -> Incident:
        incident = self.shared.incidents.get(incident_id)
        if incident is None:
            incident = self.shared.incidents[incident_id] = Incident.objects.get(pk=incident_id)
        return incident

    # -- storms ------------------------------------------------------------------------

    def _storm(self) -> AlertStorm | None:
        if not self.shared.storm_loaded:
            self.shared.storm = selectors.open_storm_of(self.service)
            self.shared.storm_loaded = True
        return self.shared.storm

    def _start_storm(self, alert: Alert | NewAlert) -> Incident:
        service = self.service
        impact, urgency = _impact_urgency(service, alert.severity)
        incident = incident_services.incident_create(
            actor=self.actor,
            source=Source.MONITORING,
            title=f"Alert storm on {service.name}: 1 alerts"[: incident_services.TITLE_MAX],
            description="New alerts of this service join this incident.",
            service=service,
            impact=impact,
            urgency=urgency,
            detected_at=alert.started_at,
        )
        self.shared.opened_incident()
        self.shared.storm = AlertStorm.objects.create(
            service=service, incident=incident, started_at=self.at, shown_at=self.at
        )
        self.shared.storm_loaded = True
        return incident

    def _count_in_storm(self, storm: AlertStorm, alert: Alert | NewAlert) -> None:
        storm.alert_count += 1
        counts = storm.label_counts if isinstance(storm.label_counts, dict) else {}
        for name in STORM_LABELS:
            value = alert.source if name == "source" else alert.labels.get(name)
            if value:
                per_label = counts.setdefault(name, {})
                per_label[value] = per_label.get(value, 0) + 1
        storm.label_counts = counts
        self.shared.storm_touched = True

    # -- the end of the row ------------------------------------------------------------

    def finish(self) -> None:
        self.flush()
        if self.refreshed:
            Alert.objects.filter(pk__in=self.refreshed, last_seen_at__lt=self.received_at).update(
                last_seen_at=self.received_at
            )
            for alert in self.open.values():  # as stored
                if alert.pk in self.refreshed and alert.last_seen_at < self.received_at:
                    alert.last_seen_at = self.received_at
        for incident_id, alerts in self.joined.items():
            if incident_id not in self.created:
                _note_joined(self._incident(incident_id), alerts, self.actor)
        storm, touched = self.shared.storm, self.shared.storm_touched
        if self.shared.span is None:  # a lone row: now; a batch: at its end
            self.shared.finish()
        if (
            storm is not None
            and touched
            and (storm.shown_count == 0 or storm.shown_at <= self.at - STORM_REFRESH)
        ):
            storm_refresh(storm=storm, at=self.at)
        for incident_id in sorted(self.resolved_incidents):
            _auto_resolve(incident_id, self.actor)
            self.shared.ended(incident_id)  # resolved, or to be looked up again


_ALERT_INCIDENT = Alert._meta.get_field("incident")


@dataclass(slots=True)
class NewAlert:
    """An alert a row opens, until `flush` inserts it (and sets `pk`).

    Not a model instance: a snapshot opens a hundred at once, and all they need before
    the INSERT is these values. The columns it leaves out are the same for every new
    alert (see `_AlertInsert`).
    """

    dedup_key: str
    group_key: str
    grouping_key: str
    severity: str
    summary: str
    source: str
    details: dict[str, Any]
    links: list[dict[str, Any]]
    labels: dict[str, str]
    started_at: dt.datetime
    incident_id: int | None = None
    suppressed_reason: str = ""
    pk: int | None = None


_NEW_ALERT_VALUES = tuple(name for name in NewAlert.__slots__ if name != "pk")


def _insert_alerts(
    integration: Integration, received_at: dt.datetime, alerts: list[NewAlert]
) -> None:
    """Insert a row's new alerts in one statement (per batch), in order; sets their pk."""
    if not connection.features.can_return_rows_from_bulk_insert:  # SQLite before 3.35
        for alert in alerts:
            alert.pk = Alert.objects.create(
                integration=integration,
                service_id=integration.service_id,
                first_seen_at=received_at,
                last_seen_at=received_at,
                **{name: getattr(alert, name) for name in _NEW_ALERT_VALUES},
            ).pk
        return
    sql.insert_alerts(integration, received_at, alerts)


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


def _summarise(results: list[_Result]) -> tuple[str, str]:
    if len(results) == 1:
        return results[0].outcome, results[0].detail[:DETAIL_MAX]
    tally = Tally(result.outcome for result in results)
    main = next(outcome for outcome in OUTCOME_ORDER if tally[outcome])
    parts = [", ".join(f"{tally[o]} {o}" for o in OUTCOME_ORDER if tally[o])]
    for outcome in (Outcome.SUPPRESSED, Outcome.IGNORED, Outcome.REJECTED):
        reasons = list(dict.fromkeys(r.detail for r in results if r.outcome == outcome))
        if reasons:
            parts.append(f"{outcome}: " + "; ".join(reasons[:5]))
    return main, ". ".join(parts)[:DETAIL_MAX]


# --- inbox rows -------------------------------------------------------------------------


def inbox_add(
    *,
    integration: Integration,
    kind: str,
    received_at: dt.datetime,
    events: list[dict[str, Any]],
    payload: str = "",
    payload_truncated: bool = False,
    request_id: str = "",
) -> None:
    """A pending inbox row: what an accepted request leaves (N1).

    `InboxEvent.objects.create(...)` as one prepared INSERT (tocsin.alerts.sql). Outside
    a transaction it is its own, committed when this returns.
    """
    ops = connection.ops
    values = {
        "integration": integration.pk,
        "kind": kind,
        "received_at": ops.adapt_datetimefield_value(received_at),
        "events": json_param(connection, _INBOX_EVENTS)(events),
        "payload": payload,
        "payload_truncated": bool(payload_truncated),
        "request_id": request_id,
        "state": str(InboxState.PENDING),
        "outcome": "",
        "outcome_detail": "",
    }
    sql.insert_inbox_row([values[name] for name in sql.INBOX_COLUMNS])
    work_committed()  # wakes a waiting worker (PostgreSQL NOTIFY; SQLite polls)


_INBOX_EVENTS = InboxEvent._meta.get_field("events")


def _apply_events(row: InboxEvent, shared: _Shared | None) -> tuple[str, str]:
    raw = row.events
    if not isinstance(raw, list) or not raw:
        raise RowRejected("the row holds no events")
    work = _Row(
        integration=row.integration,
        received_at=row.received_at,
        at=now(),
        shared=shared if shared is not None else _Shared(),
    )
    parsed: list[Event | RowRejected] = []
    for data in raw:
        try:
            parsed.append(_event_from(data))
        except RowRejected as exc:
            parsed.append(exc)
    keys = [event.dedup_key for event in parsed if isinstance(event, Event)]
    work.open = work.shared.open_alerts(row.integration_id, keys)
    snapshot_keys = [
        event.dedup_key
        for event in parsed
        if isinstance(event, Event) and event.snapshot and event.dedup_key not in work.open
    ]
    if snapshot_keys:
        work.resolved_started = selectors.last_resolved_start_by_key(
            row.integration_id, snapshot_keys, since=row.received_at - dt.timedelta(days=1)
        )
    results = [
        _Result(Outcome.REJECTED, str(item)) if isinstance(item, RowRejected) else work.apply(item)
        for item in parsed
    ]
    work.finish()
    work.shared.remember(row.integration_id, keys, work)
    return _summarise(results)


def _record_change(row: InboxEvent) -> tuple[str, str]:
    raw = row.events
    if not isinstance(raw, list) or len(raw) != 1:
        raise RowRejected("a change row holds exactly one event")
    event = _event_from(raw[0])
    links = [link for link in event.links if link.get("href")]
    change = ChangeEvent.objects.create(
        integration=row.integration,
        service=row.integration.service,
        summary=event.summary,
        source=event.source,
        timestamp=_parse_time(event.occurred_at, row.received_at),
        details=event.details,
        links=links,
        received_at=row.received_at,
    )
    return Outcome.RECORDED, f"change event #{change.pk}"


def _heartbeat_of(integration: Integration) -> Heartbeat:
    heartbeat = Heartbeat.objects.filter(integration=integration).first()
    if heartbeat is not None:
        return heartbeat
    # Normally made with the integration (catalog.services); a ping never goes unrecorded.
    options = integration.options if isinstance(integration.options, dict) else {}
    return Heartbeat.objects.create(
        integration=integration,
        interval_seconds=_option_seconds(options, "interval", DEFAULT_INTERVAL),
        grace_seconds=_option_seconds(options, "grace", DEFAULT_GRACE),
    )


def _option_seconds(options: dict[str, Any], name: str, default: int) -> int:
    for key in (f"{name}_seconds", name):
        value = options.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return default


def _record_ping(row: InboxEvent) -> tuple[str, str]:
    """A ping: the heartbeat is up until ping + interval + grace; an outage it ends resolves."""
    heartbeat = _heartbeat_of(row.integration)
    ping_at = row.received_at
    if heartbeat.last_ping_at is not None and heartbeat.last_ping_at > ping_at:
        ping_at = heartbeat.last_ping_at
    due = ping_at + dt.timedelta(seconds=heartbeat.interval_seconds + heartbeat.grace_seconds)
    # The heartbeat row first: on PostgreSQL this waits for a concurrent "missed" claim,
    # so the alert it may have opened is seen (and resolved) below.
    Heartbeat.objects.filter(pk=heartbeat.pk).update(last_ping_at=ping_at, due_at=due, state="up")
    work = _Row(integration=row.integration, received_at=row.received_at, at=now())
    work.open = selectors.open_alerts_by_key(row.integration_id, [HEARTBEAT_KEY])
    if HEARTBEAT_KEY not in work.open:
        return Outcome.RECORDED, f"ping; next due by {due.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC"
    result = work.resolve(Event(action="resolve", dedup_key=HEARTBEAT_KEY))
    work.finish()
    return Outcome.UPDATED, f"ping; {result.detail}"


def inbox_process(*, row: InboxEvent, shared: _Shared | None = None) -> tuple[str, str]:
    """Apply one inbox row (inside the caller's transaction); (outcome, detail).
    `shared`: what the rows of the caller's batch (of one service) share.

    RowRejected and Invalid (bad data the adapters let through) become `rejected`.
    """
    try:
        if row.kind == "event":
            return _apply_events(row, shared)
        if row.kind == "change":
            return _record_change(row)
        if row.kind == "heartbeat":
            return _record_ping(row)
        raise RowRejected(f"unknown inbox kind {row.kind!r}")
    except RowRejected as exc:
        return Outcome.REJECTED, str(exc)[:DETAIL_MAX]


class _RowsTaken(Exception):
    """Another worker finished some of the batch's rows meanwhile: roll the batch back."""


class _RowFailed(Exception):
    """A row failed in a batch run without savepoints: run the batch again with them."""


def inbox_process_batch(
    *,
    pks: list[int],
    lease_name: str,
    holder: str,
    lease_for: dt.timedelta,
    service_id: int | None = None,
) -> int | None:
    """Process several pending rows, in id order, in one transaction with their outcomes.

    One lease renewal, one read of the rows, the rows applied one after the other
    sharing what rows of one service share (`_Shared`: its storm, its suppressions, its
    incidents by grouping key), one write of the outcomes that is also the claim: a
    compare-and-set pending -> done on every row. If another worker got to any of them
    first, the whole batch rolls back (its rows were applied there), so no row is ever
    applied twice; the lease makes that a last resort. The claim comes last so that each
    row is written once: on SQLite an UPDATE rewrites the whole record, up to 64 KB of
    raw body and 100 events.

    The rows run without savepoints (two statements a row saved); if one fails, the
    batch rolls back and runs again with each row in a savepoint of its own and nothing
    shared, so that a row that fails is recorded as rejected without touching the others.

    `service_id`: only rows of that service (the one whose lease the caller holds).
    None: the lease is lost (nothing was done); else the number of rows processed. A
    transient database error (locked, gone) rolls back the whole batch, which stays
    pending and is retried.
    """
    if not pks:
        return 0
    done = 0
    left: list[int] = list(pks)
    while left:
        try:
            try:
                result = _process_batch(
                    left, lease_name, holder, lease_for, service_id, guarded=False
                )
            except _RowFailed:
                result = _process_batch(
                    left, lease_name, holder, lease_for, service_id, guarded=True
                )
        except _RowsTaken:
            log.warning("inbox rows %s were processed by another worker meanwhile", left)
            return done
        if result is None:
            return None
        processed, left = result
        done += processed
    return done


def _process_batch(
    pks: list[int],
    lease_name: str,
    holder: str,
    lease_for: dt.timedelta,
    service_id: int | None,
    *,
    guarded: bool,
) -> tuple[int, list[int]] | None:
    """One transaction: (rows processed, the ids left for the next one). On PostgreSQL
    it ends early after a row that opened an incident once it has run INCIDENT_HOLD:
    every new incident takes the one counter row for its number and holds it until the
    commit, so another worker opening an incident waits for this transaction."""
    with transaction.atomic():
        at = now()
        if not lease_renew(name=lease_name, holder=holder, until=at + lease_for):
            return None
        found = (
            InboxEvent.objects.select_related("integration__service")
            .defer("payload")  # the raw body (up to 64 KB a row) is for people
            .filter(pk__in=pks, state=InboxState.PENDING)
        )
        if service_id is not None:  # the leased service's rows only
            found = found.filter(integration__service_id=service_id)
        rows = list(found.order_by("id"))
        if not rows:
            return 0, []
        left: list[int] = []
        if guarded:
            for row in rows:
                row.outcome, row.outcome_detail = _process_guarded(row)
        else:
            shared = _Shared(
                span=(min(r.received_at for r in rows), max(r.received_at for r in rows))
            )
            prefetched = 0  # rows whose keys were looked up ahead
            began = time.perf_counter()
            for index, row in enumerate(rows):
                if index >= prefetched:
                    prefetched = _prefetch_open_alerts(shared, rows, index)
                opened = shared.incidents_opened
                try:
                    row.outcome, row.outcome_detail = inbox_process(row=row, shared=shared)
                except (OperationalError, InterfaceError):
                    raise
                except Exception as exc:
                    raise _RowFailed from exc
                if row.kind != "event":  # a ping may resolve the heartbeat's alert
                    shared.forget(row.integration_id)
                if (
                    shared.incidents_opened > opened
                    and connection.vendor != "sqlite"
                    and time.perf_counter() - began >= INCIDENT_HOLD
                ):
                    left = [later.pk for later in rows[index + 1 :]]
                    rows = rows[: index + 1]
                    break
            shared.finish()
        if sql.record_outcomes(rows, at) != len(rows):
            raise _RowsTaken
        return len(rows), left


PREFETCH_KEYS = 500  # dedup keys looked up ahead at a time


def _prefetch_open_alerts(shared: _Shared, rows: list[InboxEvent], first: int) -> int:
    """The open alerts of every dedup key of the next event rows from `first` (up to
    about PREFETCH_KEYS keys: a batch may end early, and the rows it leaves are looked
    up again in the next one), and the open incidents of their grouping keys: one query
    each for all those rows, instead of one a row. The index of the first row left."""
    keys: dict[int, list[str]] = {}
    count = 0
    end = first
    while end < len(rows) and (end == first or count < PREFETCH_KEYS):
        row = rows[end]
        end += 1
        if row.kind == "event" and isinstance(row.events, list):
            mine = keys.setdefault(row.integration_id, [])
            for data in row.events:
                key = data.get("dedup_key") if isinstance(data, dict) else None
                if isinstance(key, str) and key:
                    mine.append(key)
                    count += 1
    shared.open_alerts_of(keys)
    _prefetch_groupings(shared, rows[first:end])
    return end


def _prefetch_groupings(shared: _Shared, rows: list[InboxEvent]) -> None:
    """The open incident of every grouping key the batch's triggers without an open alert
    may open an alert for: two queries a batch instead of one a new key (not for services
    that group by labels: those look within a time window, key by key)."""
    service = rows[0].integration.service
    if service.grouping == Grouping.LABELS and service.group_labels:
        return
    wanted: set[str] = set()
    for row in rows:
        known = shared.alerts.get(row.integration_id, {})
        if row.kind != "event" or not isinstance(row.events, list):
            continue
        for data in row.events:
            if not isinstance(data, dict) or data.get("action") != "trigger":
                continue
            key = data.get("dedup_key")
            if not isinstance(key, str) or known.get(key) is not None:
                continue
            group = data.get("group_key")
            wanted.add(sha256_hex("key:" + (group if isinstance(group, str) and group else key)))
    wanted -= shared.incident_of.keys()
    if not wanted:
        return
    newest: dict[str, int] = {}
    for grouping_key, incident_id in (
        Alert.objects.filter(
            service=service,
            grouping_key__in=wanted,
            incident__status__in=OPEN_STATUSES,
        )
        .order_by("grouping_key", "-incident_id")
        .values_list("grouping_key", "incident_id")
    ):
        if incident_id is not None:  # always, by the filter; for the type checker
            newest.setdefault(grouping_key, incident_id)
    incidents = Incident.objects.in_bulk(set(newest.values()))
    for grouping_key in wanted:
        found = newest.get(grouping_key)
        shared.incident_of[grouping_key] = found
        if found is not None:
            shared.incidents.setdefault(found, incidents[found])


def _process_guarded(row: InboxEvent) -> tuple[str, str]:
    """inbox_process in a savepoint: a failure rolls back the row's effects only and
    makes it `rejected`; a transient database error propagates (the caller rolls back)."""
    try:
        with transaction.atomic():
            return inbox_process(row=row)
    except (OperationalError, InterfaceError):
        raise
    except Exception as exc:
        log.exception("inbox row %s could not be processed", row.pk)
        detail = f"could not be processed: {exc.__class__.__name__}: {exc}"[:DETAIL_MAX]
        return Outcome.REJECTED, detail


def inbox_purge(*, at: dt.datetime, limit: int = 1000) -> int:
    """Delete done inbox rows older than TOCSIN_INBOX_RETENTION_DAYS (default 7), a batch."""
    days = env_int("TOCSIN_INBOX_RETENTION_DAYS", 7)
    cutoff = at - dt.timedelta(days=days)
    ids = list(
        InboxEvent.objects.filter(state=InboxState.DONE, received_at__lt=cutoff)
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
    if not ids:
        return 0
    deleted, _ = InboxEvent.objects.filter(pk__in=ids, state=InboxState.DONE).delete()
    return deleted


def change_events_purge(*, at: dt.datetime, limit: int = 1000) -> int:
    """Change events are kept 90 days (as PagerDuty does)."""
    ids = list(
        ChangeEvent.objects.filter(received_at__lt=at - CHANGE_EVENT_KEEP)
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
    if not ids:
        return 0
    deleted, _ = ChangeEvent.objects.filter(pk__in=ids).delete()
    return deleted


# --- storms -------------------------------------------------------------------------


def _top(counts: dict[str, int]) -> str:
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:STORM_TOP]
    return ", ".join(f"{value} ({n})" for value, n in ranked)


@transaction.atomic
def storm_refresh(*, storm: AlertStorm, at: dt.datetime) -> bool:
    """Show the storm's alert count and top label values on its incident."""
    incident = Incident.objects.get(pk=storm.incident_id)
    if not incident.is_open:
        return False
    # The claim: a compare-and-set on what this storm showed, so that of two workers
    # refreshing it at once (the drain and the storm_titles module) one updates the title.
    claimed = AlertStorm.objects.filter(
        pk=storm.pk, shown_count=storm.shown_count, shown_at=storm.shown_at
    ).update(shown_count=storm.alert_count, shown_at=at)
    if claimed != 1:
        return False
    service_name = storm.service.name
    count = storm.alert_count
    title = f"Alert storm on {service_name}: {count} alerts"[: incident_services.TITLE_MAX]
    lines = [
        f"More than {storm.service.storm_threshold} incidents a minute were opening for "
        f"{service_name}; since {storm.started_at.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC "
        "its new alerts join this incident instead.",
        "",
        f"Alerts: {count}",
    ]
    counts = storm.label_counts if isinstance(storm.label_counts, dict) else {}
    for name in STORM_LABELS:
        if counts.get(name):
            lines.append(f"Top {name}: {_top(counts[name])}")
    incident_services.incident_update(
        incident=incident,
        actor=Actor.system("alert storm"),
        changes={"title": title, "description": "\n".join(lines)},
    )
    storm.shown_count, storm.shown_at = count, at
    return True


def storms_refresh_due(*, at: dt.datetime) -> int:
    """Every open storm whose incident shows an out-of-date count (the storm_titles
    engine module, every tick: one cheap query when there is none)."""
    refreshed = 0
    for pk in selectors.storms_to_refresh(shown_before=at - STORM_REFRESH):
        storm = AlertStorm.objects.select_related("service").get(pk=pk)
        if storm_refresh(storm=storm, at=at):
            refreshed += 1
    return refreshed


# --- heartbeats ---------------------------------------------------------------------


@transaction.atomic
def heartbeat_missed(
    *, heartbeat_id: int, state: str, due_at: dt.datetime, at: dt.datetime
) -> bool:
    """A heartbeat past due (up, or new and never pinged since it was set up) goes down
    and triggers its alert, which opens an incident.

    Claimed with a compare-and-set on (state, due_at), so two workers never both fire and
    a ping processed meanwhile wins. A ping still waiting in the inbox postpones it.
    """
    heartbeat = Heartbeat.objects.select_related("integration__service").get(pk=heartbeat_id)
    if selectors.inbox_has_pending_ping(heartbeat.integration_id):
        return False
    claimed = Heartbeat.objects.filter(pk=heartbeat_id, state=state, due_at=due_at).update(
        state="down"
    )
    if claimed != 1:
        return False
    integration = heartbeat.integration
    since = heartbeat.last_ping_at
    if since is not None:
        since_text = f"{since.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC"
    else:
        created = integration.created_at.astimezone(dt.UTC)
        since_text = f"it was set up ({created:%Y-%m-%d %H:%M:%S} UTC)"
    work = _Row(integration=integration, received_at=at, at=at)
    work.open = selectors.open_alerts_by_key(integration.pk, [HEARTBEAT_KEY])
    work.apply(
        Event(
            action="trigger",
            dedup_key=HEARTBEAT_KEY,
            summary=f"Heartbeat {integration.name} missed: no ping since {since_text}",
            severity="critical",
            source=integration.name,
            group_key=f"heartbeat:{integration.pk}",
            details={
                "last_ping_at": since.isoformat() if since else None,
                "due_at": due_at.isoformat(),
                "interval_seconds": heartbeat.interval_seconds,
                "grace_seconds": heartbeat.grace_seconds,
            },
            occurred_at=due_at.isoformat(),
        )
    )
    work.finish()
    return True


# --- what an incident's resolve or merge does to its alerts --------------------------


def alerts_resolve_for_incident(*, incident: Incident, actor: Actor) -> int:
    """A resolve of the incident resolves its open alerts (inside the caller's transaction).

    It never touches the incident itself, so it cannot recurse with auto-resolve (which
    resolves the incident only once its alerts are all resolved).
    """
    at = now()
    resolved = (
        Alert.objects.filter(incident_id=incident.pk)
        .exclude(status=AlertStatus.RESOLVED)
        .update(status=AlertStatus.RESOLVED, resolved_at=at)
    )
    if resolved:
        timeline_append(
            incident=incident,
            kind=EntryKind.NOTE,
            actor=actor,
            text=f"{resolved} open alert{'s' if resolved != 1 else ''} resolved with the incident",
        )
    return resolved


def alerts_follow_merge(*, incident: Incident, into: Incident, actor: Actor) -> int:
    """A merged duplicate's open alerts move to the incident it was merged into, so that
    their next re-send from monitoring lands there instead of opening a new incident (and
    the original resolves with them if it came from monitoring). If the original is not
    open, they are resolved with the duplicate instead."""
    if not into.is_open:
        return alerts_resolve_for_incident(incident=incident, actor=actor)
    moved = (
        Alert.objects.filter(incident_id=incident.pk)
        .exclude(status=AlertStatus.RESOLVED)
        .update(incident=into)
    )
    if moved:
        timeline_append(
            incident=into,
            kind=EntryKind.NOTE,
            actor=actor,
            text=f"{moved} open alert{'s' if moved != 1 else ''} moved here from {incident.ref}",
        )
    return moved
