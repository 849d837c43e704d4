"""Alert storms, maintenance windows and silences."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from tocsin.accounts.models import User
from tocsin.alerts.engine import StormRefreshModule
from tocsin.alerts.models import Alert, AlertStorm
from tocsin.alerts.services import maintenance_window_create, silence_create
from tocsin.catalog.models import Integration, Service
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.core.errors import Invalid
from tocsin.incidents.models import Incident, Status

from .helpers import (
    alert_of,
    drain,
    make_integration,
    make_service,
    outcome,
    push,
    resolve,
    trigger,
)

pytestmark = pytest.mark.django_db


def test_beyond_the_threshold_new_alerts_join_one_storm_incident(
    clock: time_machine.Coordinates, pd: Integration, service: Service
) -> None:
    service.storm_threshold = 3
    service.save()
    for n in range(3):
        push(pd, trigger(f"k{n}"))
    drain()
    assert Incident.objects.count() == 3
    for n in range(3, 8):
        push(pd, trigger(f"k{n}", labels={"alertname": "Down", "instance": f"web{n % 2}"}))
    drain()
    assert Incident.objects.count() == 4
    storm = AlertStorm.objects.get()
    incident = storm.incident
    assert incident.source == "monitoring"
    assert {a.dedup_key for a in Alert.objects.filter(incident=incident)} == {
        f"k{n}" for n in range(3, 8)
    }
    assert incident.title == "Alert storm on Checkout: 1 alerts"  # shown at once, then throttled
    assert storm.alert_count == 5
    # Ten seconds on, the count and the top label values are on the incident.
    clock.shift(dt.timedelta(seconds=11))
    StormRefreshModule().tick(now())
    incident.refresh_from_db()
    assert incident.title == "Alert storm on Checkout: 5 alerts"
    assert "Alerts: 5" in incident.description
    assert "Top alertname: Down (5)" in incident.description
    assert "Top instance: web1 (3), web0 (2)" in incident.description
    # A minute later the storm is over: new alerts open their own incidents again,
    # and the storm resolves itself when its alerts do.
    clock.shift(dt.timedelta(minutes=2))
    push(pd, trigger("calm"))
    drain()
    assert alert_of(pd, "calm").incident_id not in (incident.pk,)
    for n in range(3, 8):
        push(pd, resolve(f"k{n}"))
    drain()
    incident.refresh_from_db()
    assert incident.status == Status.RESOLVED


def test_an_alert_in_a_maintenance_window_is_recorded_without_an_incident(
    clock: time_machine.Coordinates, pd: Integration, service: Service, agent: User
) -> None:
    window = maintenance_window_create(
        actor=Actor.for_user(agent),
        services=[service],
        starts_at=now() - dt.timedelta(minutes=5),
        ends_at=now() + dt.timedelta(hours=1),
        reason="database upgrade",
    )
    row = push(pd, trigger("k"))
    again = push(pd, trigger("k"))
    drain()
    alert = alert_of(pd, "k")
    reason = f"maintenance window #{window.pk}: database upgrade"
    assert outcome(row) == ("suppressed", reason)
    assert alert.suppressed_reason == reason
    assert alert.incident is None
    assert alert.occurrences == 2
    assert outcome(again)[0] == "merged"
    assert Incident.objects.count() == 0
    # Another service is not in the window; after the window, alerts open incidents.
    other = make_integration(make_service("Search"))
    push(other, trigger("k"))
    clock.shift(dt.timedelta(hours=2))
    push(pd, trigger("later"))
    drain()
    assert Incident.objects.count() == 2


def test_a_silence_suppresses_alerts_whose_labels_match_every_matcher(
    pd: Integration, service: Service, agent: User
) -> None:
    silence = silence_create(
        actor=Actor.for_user(agent),
        matchers=[{"label": "env", "value": "staging"}, {"label": "team", "value": "db"}],
        starts_at=now() - dt.timedelta(minutes=1),
        ends_at=now() + dt.timedelta(hours=1),
        comment="noisy staging",
    )
    silenced = push(pd, trigger("a", labels={"env": "staging", "team": "db", "x": "1"}))
    push(pd, trigger("b", labels={"env": "staging", "team": "web"}))
    push(pd, trigger("c"))
    drain()
    assert outcome(silenced) == ("suppressed", f"silence #{silence.pk}: noisy staging")
    assert alert_of(pd, "a").incident is None
    assert alert_of(pd, "a").suppressed_reason == f"silence #{silence.pk}: noisy staging"
    assert alert_of(pd, "b").incident is not None
    assert alert_of(pd, "c").incident is not None


def test_a_silence_scoped_to_a_service_and_its_time_span(
    clock: time_machine.Coordinates, pd: Integration, service: Service, agent: User
) -> None:
    other = make_integration(make_service("Search"))
    silence_create(
        actor=Actor.for_user(agent),
        matchers=[{"label": "env", "value": "dev"}],
        service=service,
        starts_at=now() + dt.timedelta(minutes=10),
        ends_at=now() + dt.timedelta(minutes=20),
    )
    push(pd, trigger("early", labels={"env": "dev"}))
    drain()
    clock.shift(dt.timedelta(minutes=15))
    push(pd, trigger("during", labels={"env": "dev"}))
    push(other, trigger("elsewhere", labels={"env": "dev"}))
    drain()
    assert alert_of(pd, "early").incident is not None
    assert alert_of(pd, "during").incident is None
    assert alert_of(other, "elsewhere").incident is not None


def test_a_suppressed_alert_can_be_resolved_and_leaves_no_trace_on_incidents(
    pd: Integration, service: Service, agent: User
) -> None:
    maintenance_window_create(
        actor=Actor.for_user(agent),
        services=[service],
        starts_at=now() - dt.timedelta(minutes=1),
        ends_at=now() + dt.timedelta(minutes=30),
    )
    push(pd, trigger("k"), resolve("k"))
    drain()
    assert alert_of(pd, "k").status == "resolved"
    assert Incident.objects.count() == 0


def test_windows_and_silences_check_their_input(service: Service, agent: User) -> None:
    at = now()
    with pytest.raises(Invalid, match="ends_at"):
        maintenance_window_create(
            actor=Actor.for_user(agent), services=[service], starts_at=at, ends_at=at
        )
    with pytest.raises(Invalid, match="services"):
        maintenance_window_create(
            actor=Actor.for_user(agent),
            services=[],
            starts_at=at,
            ends_at=at + dt.timedelta(hours=1),
        )
    with pytest.raises(Invalid, match="matchers"):
        silence_create(
            actor=Actor.for_user(agent),
            matchers=[],
            starts_at=at,
            ends_at=at + dt.timedelta(hours=1),
        )
    with pytest.raises(Invalid, match="matchers"):
        silence_create(
            actor=Actor.for_user(agent),
            matchers=[{"value": "x"}],
            starts_at=at,
            ends_at=at + dt.timedelta(hours=1),
        )
