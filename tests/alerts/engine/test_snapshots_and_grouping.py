"""Alertmanager/Grafana snapshots, and how alerts are grouped into incidents."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection

from tocsin.alerts.models import Alert
from tocsin.catalog.models import Integration, Service
from tocsin.incidents.models import EntryKind, Incident, Status

from .helpers import alert_of, cleared, drain, firing, make_integration, outcome, push, trigger

pytestmark = pytest.mark.django_db

GROUP = '{}:{alertname="HighLatency"}'


def test_a_snapshot_opens_one_alert_per_entry_in_one_incident(am: Integration) -> None:
    row = push(am, firing(GROUP, "aa"), firing(GROUP, "bb"), firing(GROUP, "cc"))
    assert drain() == 1
    alerts = list(Alert.objects.order_by("id"))
    assert len(alerts) == 3
    assert len({a.incident_id for a in alerts}) == 1
    assert Incident.objects.count() == 1
    assert outcome(row) == ("created", "3 created")
    # Alerts that came with the one that opened the incident are part of its opening, not
    # news: no "joined" note (alerts that join it later leave one, see test_dedup.py).
    assert not alerts[0].incident.timeline.filter(kind=EntryKind.NOTE).exists()


def test_without_insert_returning_new_alerts_are_stored_one_by_one_alike(
    am: Integration, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite before 3.35 has no INSERT … RETURNING: the same alerts, in order."""
    monkeypatch.setattr(type(connection.features), "can_return_rows_from_bulk_insert", False)
    row = push(am, firing(GROUP, "aa"), firing(GROUP, "bb"), trigger(f"{GROUP}:aa"))
    assert drain() == 1
    first, second = Alert.objects.order_by("id")
    assert (first.dedup_key, second.dedup_key) == (f"{GROUP}:aa", f"{GROUP}:bb")
    assert first.incident_id == second.incident_id is not None
    assert first.occurrences == 2  # the third event found the first alert stored
    assert outcome(row)[1] == "2 created, 1 merged"


def test_a_re_sent_snapshot_only_refreshes_last_seen(
    clock: time_machine.Coordinates, am: Integration
) -> None:
    push(am, firing(GROUP, "aa"), firing(GROUP, "bb"))
    drain()
    clock.shift(dt.timedelta(minutes=5))
    again = push(am, firing(GROUP, "aa"), firing(GROUP, "bb"))
    drain()
    assert outcome(again) == ("refreshed", "2 refreshed")
    for alert in Alert.objects.all():
        assert alert.occurrences == 1
        assert alert.last_seen_at == again.received_at
        assert alert.first_seen_at < again.received_at
    assert Incident.objects.count() == 1


def test_a_resolved_entry_resolves_its_alert_and_the_last_one_the_incident(
    am: Integration,
) -> None:
    push(am, firing(GROUP, "aa"), firing(GROUP, "bb"))
    drain()
    partial = push(am, cleared(GROUP, "aa"), firing(GROUP, "bb"))
    drain()
    assert outcome(partial) == ("updated", "1 updated, 1 refreshed")
    incident = Incident.objects.get()
    assert incident.status == Status.NEW
    assert alert_of(am, f"{GROUP}:aa").status == "resolved"
    push(am, cleared(GROUP, "bb"))
    drain()
    incident.refresh_from_db()
    assert (incident.status, incident.resolution_code) == ("resolved", "auto-resolved")
    # A new firing entry of the group later is a new alert and a new incident.
    push(am, firing(GROUP, "aa"))
    drain()
    assert Incident.objects.count() == 2


def test_a_new_entry_in_a_firing_group_joins_its_incident(am: Integration) -> None:
    push(am, firing(GROUP, "aa"))
    drain()
    push(am, firing(GROUP, "aa"), firing(GROUP, "bb"))
    drain()
    assert Incident.objects.count() == 1
    assert alert_of(am, f"{GROUP}:bb").incident_id == alert_of(am, f"{GROUP}:aa").incident_id


def test_different_groups_open_different_incidents(am: Integration) -> None:
    push(am, firing("g1", "aa"))
    push(am, firing("g2", "aa"))
    drain()
    assert Incident.objects.count() == 2


def test_grouping_by_labels_joins_within_the_window_only(
    clock: time_machine.Coordinates, service: Service
) -> None:
    service.grouping = "labels"
    service.group_labels = ["cluster"]
    service.group_window_minutes = 30
    service.save()
    pd = make_integration(service, "pagerduty")
    push(pd, trigger("a", labels={"cluster": "eu-1", "host": "x"}))
    push(pd, trigger("b", labels={"cluster": "eu-1", "host": "y"}))
    push(pd, trigger("c", labels={"cluster": "us-1"}))
    drain()
    first = alert_of(pd, "a").incident
    assert alert_of(pd, "b").incident_id == first.pk
    assert alert_of(pd, "c").incident_id != first.pk
    clock.shift(dt.timedelta(minutes=31))
    push(pd, trigger("d", labels={"cluster": "eu-1"}))
    drain()
    assert alert_of(pd, "d").incident_id not in (first.pk, alert_of(pd, "c").incident_id)
    # Without any of the labels, an alert groups by its key.
    push(pd, trigger("e"), trigger("e2", group_key="e"))
    push(pd, trigger("e3"))
    drain()
    assert alert_of(pd, "e").incident_id != alert_of(pd, "e3").incident_id


def test_grouping_is_per_service(am: Integration) -> None:
    from .helpers import make_service

    other = make_integration(make_service("Search"), "alertmanager")
    push(am, firing(GROUP, "aa"))
    push(other, firing(GROUP, "aa"))
    drain()
    assert Incident.objects.count() == 2
