"""What the rows of one service's batch share (`_Shared`)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from tocsin.alerts import selectors, sql
from tocsin.alerts.models import (
    Alert,
    AlertStorm,
    MaintenanceWindow,
    Silence,
)
from tocsin.alerts.services._common import _save_storm_counts
from tocsin.alerts.services.new_alerts import NewAlert, _insert_alert_groups
from tocsin.catalog.models import Integration, Service
from tocsin.incidents.models import Incident

if TYPE_CHECKING:
    from tocsin.alerts.services.alert_ops import _Row


class _Shared:
    """What the rows of one service's batch share, in one transaction under the service's
    ingest lease (nobody else applies rows of the service meanwhile): the service's open
    storm (its counts written once, at the end of the batch: `finish`), the maintenance
    windows and silences of the batch's time span, the open incident of each grouping
    key, and the count of monitoring incidents of the storm window. A lone row (or a
    heartbeat miss) has one of its own.

    In a batch, the rows' new alerts wait in `new_alerts` and go into the database
    together (`flush_alerts`: one INSERT for a batch of PagerDuty rows instead of one a
    row) before anything reads alerts from the database: a key not known yet, a
    grouping key's incident, an auto-resolve, a storm refresh, a row that is not all
    triggers, and the batch's end (the rows' outcomes name the new alerts' ids).
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
        # New alerts of the batch's rows not inserted yet, row by row, in order.
        self.new_alerts: list[tuple[Integration, dt.datetime, list[NewAlert]]] = []

    def add_new_alerts(
        self, integration: Integration, received_at: dt.datetime, alerts: list[NewAlert]
    ) -> None:
        """A row's new alerts: inserted now for a lone row, with the batch's others else."""
        self.new_alerts.append((integration, received_at, alerts))
        if self.span is None:
            self.flush_alerts()

    def flush_alerts(self) -> None:
        """Insert the new alerts waiting (and set their ids)."""
        if self.new_alerts:
            groups, self.new_alerts = self.new_alerts, []
            _insert_alert_groups(groups)

    def open_alerts(self, integration_id: int, keys: list[str]) -> dict[str, Alert]:
        """What `selectors.open_alerts_by_key` says, asking only for keys not known yet."""
        known = self.alerts.setdefault(integration_id, {})
        missing = [key for key in dict.fromkeys(keys) if key not in known]
        if missing:
            self.flush_alerts()
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
        self.flush_alerts()
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
        merged alerts (one statement, instead of one a duplicate), the new alerts."""
        self.flush_alerts()
        if self.storm is not None and self.storm_touched:
            _save_storm_counts(self.storm)
            self.storm_touched = False
        if self.merged:
            merged = sorted(self.merged.values(), key=lambda alert: alert.pk)
            self.merged = {}
            sql.update_occurrences(merged)
