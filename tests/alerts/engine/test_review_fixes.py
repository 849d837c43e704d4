"""Suppression that ends while an alert keeps firing, and late HA re-sends of snapshots."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from tocsin.accounts.models import User
from tocsin.alerts.models import Alert, AlertStatus
from tocsin.alerts.services import maintenance_window_create, silence_create
from tocsin.catalog.models import Integration, Service
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.incidents.models import Incident, Status

from .helpers import alert_of, cleared, drain, firing, outcome, push, trigger

pytestmark = pytest.mark.django_db

T_OLD = "2026-03-02T08:00:00+00:00"
T_NEW = "2026-03-02T08:40:00+00:00"


def test_an_alert_still_firing_after_its_maintenance_window_pages(
    clock: time_machine.Coordinates, pd: Integration, service: Service, agent: User
) -> None:
    maintenance_window_create(
        actor=Actor.for_user(agent),
        services=[service],
        starts_at=now() - dt.timedelta(minutes=5),
        ends_at=now() + dt.timedelta(minutes=30),
        reason="database upgrade",
    )
    push(pd, trigger("db"))
    drain()
    assert alert_of(pd, "db").incident is None
    clock.shift(dt.timedelta(hours=1))  # the window is over; the problem is not
    row = push(pd, trigger("db"))
    drain()
    alert = alert_of(pd, "db")
    assert alert.suppressed_reason == ""
    assert alert.incident is not None and alert.incident.is_open
    assert outcome(row)[0] == "created"
    assert "no longer suppressed" in outcome(row)[1]
    assert Alert.objects.filter(integration=pd).count() == 1  # the same alert, not a new one


def test_a_snapshot_alert_pages_once_its_silence_expires(
    clock: time_machine.Coordinates, am: Integration, service: Service, agent: User
) -> None:
    silence = silence_create(
        actor=Actor.for_user(agent),
        service=service,
        matchers=[{"label": "alertname", "value": "Disk"}],
        starts_at=now() - dt.timedelta(minutes=1),
        ends_at=now() + dt.timedelta(minutes=10),
        comment="known",
    )
    entry = firing("g", "f1", labels={"alertname": "Disk"}, occurred_at=T_OLD)
    push(am, entry)
    drain()
    assert alert_of(am, "g:f1").incident is None
    clock.shift(dt.timedelta(minutes=20))
    push(am, entry)
    drain()
    alert = alert_of(am, "g:f1")
    assert alert.incident is not None
    assert alert.occurrences == 1  # a snapshot re-send is still not an occurrence
    assert silence.pk


def test_a_late_resolved_snapshot_does_not_resolve_a_newer_firing(
    clock: time_machine.Coordinates, am: Integration
) -> None:
    push(am, firing("g", "f1", occurred_at=T_OLD))
    push(am, {**cleared("g", "f1"), "occurred_at": T_OLD})
    push(am, firing("g", "f1", occurred_at=T_NEW))
    drain()
    current = alert_of(am, "g:f1")
    assert current.status == AlertStatus.TRIGGERED
    # An HA peer's copy of the old "resolved" snapshot arrives late.
    late = push(am, {**cleared("g", "f1"), "occurred_at": T_OLD})
    drain()
    current.refresh_from_db()
    assert current.status == AlertStatus.TRIGGERED
    assert current.incident.status != Status.RESOLVED
    assert outcome(late)[0] == "ignored"


def test_a_late_firing_snapshot_does_not_reopen_what_is_over(
    clock: time_machine.Coordinates, am: Integration
) -> None:
    push(am, firing("g", "f1", occurred_at=T_OLD))
    push(am, {**cleared("g", "f1"), "occurred_at": T_OLD})
    drain()
    assert Incident.objects.get().status == Status.RESOLVED
    late = push(am, firing("g", "f1", occurred_at=T_OLD))
    drain()
    assert outcome(late)[0] == "ignored"
    assert Incident.objects.count() == 1
    assert Alert.objects.filter(status=AlertStatus.TRIGGERED).count() == 0
    # A genuinely new firing (a new start time) opens a new alert and incident.
    push(am, firing("g", "f1", occurred_at=T_NEW))
    drain()
    assert Incident.objects.count() == 2
