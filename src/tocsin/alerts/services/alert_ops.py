"""Applying one event to alerts: opening, merging, acknowledging, resolving alerts, and
joining or opening their incidents (`_Row`)."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from tocsin.alerts import opsgenie_actions, selectors
from tocsin.alerts.adapters.base import Event
from tocsin.alerts.models import (
    Alert,
    AlertStatus,
    AlertStorm,
    MaintenanceWindow,
    Outcome,
    Silence,
)
from tocsin.alerts.services._common import (
    STORM_LABELS,
    STORM_REFRESH,
    STORM_WINDOW,
    RowRejected,
    _auto_resolve,
    _impact_urgency,
    _note_joined,
    _parse_time,
    _Result,
    alert_description,
    grouping_for,
    integration_actor,
)
from tocsin.alerts.services.batch_state import _Shared
from tocsin.alerts.services.new_alerts import NewAlert
from tocsin.alerts.services.storms import storm_refresh
from tocsin.catalog.models import Grouping, Integration, Service
from tocsin.core.actors import Actor
from tocsin.incidents import services as incident_services
from tocsin.incidents.models import Incident, Source, Status


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
    # The maintenance windows and silences running when the row was received.
    suppressions: tuple[list[MaintenanceWindow], list[Silence]] | None = None

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
            self.shared.flush_alerts()
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

    def _new_alert(self, event: Event, grouping_key: str) -> NewAlert:
        return NewAlert(
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

    def _open_alert(self, event: Event) -> _Result:
        grouping_key, by_labels = self._grouping(event)
        alert = self._new_alert(event, grouping_key)
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

    # -- a snapshot's new alerts, together ----------------------------------------------

    def openable_together(self, items: list[Event | RowRejected], start: int) -> int:
        """How many events from `start` open a new alert each exactly alike, so that
        `open_many` may open them together: triggers of one group (its grouping key and
        incident shared) for keys with no open alert and not opened earlier in the row,
        no late re-send of a resolved alert, on a service that groups by key with no
        maintenance window or silence running (what `_open_alert` decides for the first
        of them, it then decides for each of the others the same way). 0 or 1: one at a
        time."""
        if self.service.grouping == Grouping.LABELS and self.service.group_labels:
            return 0
        if self.suppressions is not None and (self.suppressions[0] or self.suppressions[1]):
            return 0  # (known already: the scan below would be done for every event)
        first = items[start]
        if not isinstance(first, Event) or not first.group_key:
            return 0
        group = first.group_key
        keys: set[str] = set()
        end = start
        while end < len(items):
            event = items[end]
            if (
                not isinstance(event, Event)
                or event.action != "trigger"
                or event.group_key != group
                or event.dedup_key in keys
                or event.dedup_key in self.open
                or event.dedup_key in self.opened
                or opsgenie_actions.handles(event)
                or (
                    event.snapshot
                    and self._is_stale(event, self.resolved_started.get(event.dedup_key))
                )
            ):
                break
            keys.add(event.dedup_key)
            end += 1
        if end - start < 2:  # (a re-sent snapshot: its first alert is open)
            return 0
        if self.suppressions is None:  # asked only now: a re-sent snapshot never asks
            self.suppressions = self.shared.suppressions_at(self.service, self.received_at)
        windows, silences = self.suppressions
        if windows or silences:
            return 0
        return end - start

    def open_many(self, events: list[Event]) -> list[_Result]:
        """`_open_alert` for each of these events (see `openable_together`), deciding
        once what is the same for all: their grouping key, the incident the first one
        opens or joins (the others join it), the storm that counts them."""
        first = events[0]
        grouping_key, by_labels = self._grouping(first)
        alerts = [self._new_alert(event, grouping_key) for event in events]
        incident, joined = self._incident_for(alerts[0], by_labels=by_labels)
        incident_id = incident.id
        for alert in alerts:
            alert.incident_id = incident_id
            self.new_keys.add(alert.dedup_key)
            self.opened[alert.dedup_key] = alert
        self.pending += alerts
        self.shared.incident_of[grouping_key] = incident_id
        if incident_id not in self.shared.incidents:
            self.shared.incidents[incident_id] = incident
        storm = self.shared.storm if self.shared.storm_loaded else self._storm()
        if storm is not None and storm.incident_id == incident_id:
            self._count_many_in_storm(storm, alerts)
        else:
            self.joined[incident_id] += alerts if joined else alerts[1:]
        ref = incident.ref

        def detail(alert: NewAlert, verb: str) -> Callable[[], str]:
            return lambda: f"alert #{alert.pk} {verb} {ref}"  # its id comes with the insert

        results = [_Result(Outcome.CREATED, detail(alerts[0], "joined" if joined else "opened"))]
        results += [_Result(Outcome.CREATED, detail(alert, "joined")) for alert in alerts[1:]]
        return results

    def flush(self) -> None:
        """Hand the row's new alerts, in event order (their ids follow it), to the batch
        (`_Shared.add_new_alerts`: inserted with the batch's others, or now for a lone
        row)."""
        pending, self.pending = self.pending, []
        if pending:
            self.shared.add_new_alerts(self.integration, self.received_at, pending)

    def _suppressed_by(self, alert: Alert | NewAlert) -> str:
        if self.suppressions is None:  # the same for every event of the row
            self.suppressions = self.shared.suppressions_at(self.service, self.received_at)
        windows, silences = self.suppressions
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
            self.shared.flush_alerts()  # the lookup reads alerts
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

    def _count_many_in_storm(self, storm: AlertStorm, alerts: list[NewAlert]) -> None:
        """`_count_in_storm` for each of these alerts."""
        storm.alert_count += len(alerts)
        counts = storm.label_counts if isinstance(storm.label_counts, dict) else {}
        for name in STORM_LABELS:
            values: list[str | None]
            if name == "source":
                values = [alert.source for alert in alerts]
            else:
                values = [alert.labels.get(name) for alert in alerts]
            tally = Counter(value for value in values if value)
            if tally:
                per_label = counts.setdefault(name, {})
                for value, n in tally.items():
                    per_label[value] = per_label.get(value, 0) + n
        storm.label_counts = counts
        self.shared.storm_touched = True

    # -- the end of the row ------------------------------------------------------------

    def finish(self) -> None:
        self.flush()
        if self.refreshed:
            Alert.objects.filter(pk__in=self.refreshed, last_seen_at__lt=self.received_at).update(
                last_seen_at=self.received_at
            )
            refreshed = set(self.refreshed)
            for alert in self.open.values():  # as stored
                if alert.pk in refreshed and alert.last_seen_at < self.received_at:
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
            self.shared.flush_alerts()
            storm_refresh(storm=storm, at=self.at)
        if self.resolved_incidents:
            self.shared.flush_alerts()  # whether an incident has open alerts left
        for incident_id in sorted(self.resolved_incidents):
            _auto_resolve(incident_id, self.actor)
            self.shared.ended(incident_id)  # resolved, or to be looked up again


_ALERT_INCIDENT = Alert._meta.get_field("incident")
