"""Heartbeats: a missed ping opens an incident within seconds; the next ping resolves it."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from tocsin.alerts.engine import AlertHeartbeatModule
from tocsin.alerts.models import Alert, Heartbeat
from tocsin.catalog.models import Integration, Service
from tocsin.core.clock import now
from tocsin.engine.engine import run_tick
from tocsin.incidents.models import Incident, Status

from .conftest import START
from .helpers import drain, make_integration, outcome, ping

pytestmark = pytest.mark.django_db


@pytest.fixture
def beat(service: Service) -> Integration:
    integration = make_integration(service, "heartbeat", "nightly backup")
    Heartbeat.objects.create(integration=integration, interval_seconds=300, grace_seconds=60)
    return integration


def test_a_ping_sets_the_next_due_time(clock: time_machine.Coordinates, beat: Integration) -> None:
    row = ping(beat)
    drain()
    heartbeat = Heartbeat.objects.get(integration=beat)
    assert heartbeat.state == "up"
    assert heartbeat.last_ping_at == START
    assert heartbeat.due_at == START + dt.timedelta(seconds=360)
    assert outcome(row) == ("recorded", "ping; next due by 2026-03-02 09:06:00 UTC")


def test_a_missed_ping_opens_an_incident_within_seconds_and_the_next_ping_resolves_it(
    clock: time_machine.Coordinates, beat: Integration
) -> None:
    module = AlertHeartbeatModule()
    ping(beat)
    drain()
    clock.move_to(START + dt.timedelta(seconds=359))
    assert module.tick(now()) == 0
    assert Incident.objects.count() == 0
    clock.move_to(START + dt.timedelta(seconds=361))
    assert module.tick(now()) == 1
    assert module.tick(now()) == 0  # once
    alert = Alert.objects.get(integration=beat)
    incident = alert.incident
    assert alert.dedup_key == "heartbeat"
    assert alert.summary == (
        "Heartbeat nightly backup missed: no ping since 2026-03-02 09:00:00 UTC"
    )
    assert incident.status == Status.NEW
    assert incident.detected_at == START + dt.timedelta(seconds=360)
    assert Heartbeat.objects.get(integration=beat).state == "down"
    clock.shift(dt.timedelta(minutes=10))
    assert module.tick(now()) == 0  # down: no second incident
    row = ping(beat)
    drain()
    alert.refresh_from_db()
    incident.refresh_from_db()
    assert alert.status == "resolved"
    assert (incident.status, incident.resolution_code) == ("resolved", "auto-resolved")
    assert outcome(row)[0] == "updated"
    assert Heartbeat.objects.get(integration=beat).state == "up"


def test_the_heartbeat_survives_a_worker_restart(
    clock: time_machine.Coordinates, beat: Integration
) -> None:
    ping(beat)
    drain()
    AlertHeartbeatModule().tick(now())
    # The worker is gone for a while; a new one (fresh modules) notices at its first tick.
    clock.shift(dt.timedelta(seconds=362))
    assert AlertHeartbeatModule().tick(now()) == 1
    assert Incident.objects.filter(status=Status.NEW).count() == 1


def test_a_ping_waiting_in_the_inbox_is_not_a_missed_one(
    clock: time_machine.Coordinates, beat: Integration
) -> None:
    ping(beat)
    drain()
    clock.shift(dt.timedelta(seconds=355))
    ping(beat)  # arrived in time, not processed yet
    clock.shift(dt.timedelta(seconds=10))
    assert AlertHeartbeatModule().tick(now()) == 0
    # In the worker the ingest module runs first: the ping moves the due time on.
    from tocsin.engine.engine import default_modules

    run_tick(default_modules("w"))
    assert Incident.objects.count() == 0
    assert Heartbeat.objects.get(integration=beat).due_at == now() - dt.timedelta(
        seconds=10
    ) + dt.timedelta(seconds=360)


def test_a_heartbeat_that_never_pings_is_missed_from_its_set_up(
    clock: time_machine.Coordinates, service: Service
) -> None:
    integration = make_integration(service, "heartbeat", "cron")
    Heartbeat.objects.create(
        integration=integration,
        interval_seconds=60,
        grace_seconds=0,
        state="new",
        due_at=START + dt.timedelta(seconds=60),
    )
    clock.shift(dt.timedelta(seconds=61))
    assert AlertHeartbeatModule().tick(now()) == 1
    assert Alert.objects.get().summary.startswith(
        "Heartbeat cron missed: no ping since it was set up"
    )


def test_a_first_ping_without_a_heartbeat_row_uses_the_integration_options(
    service: Service,
) -> None:
    integration = make_integration(service, "heartbeat", interval_seconds=120, grace_seconds=5)
    ping(integration)
    drain()
    heartbeat = Heartbeat.objects.get(integration=integration)
    assert (heartbeat.interval_seconds, heartbeat.grace_seconds, heartbeat.state) == (
        120,
        5,
        "up",
    )


def test_a_missed_ping_waits_while_another_worker_drains_its_service(
    clock: time_machine.Coordinates, beat: Integration
) -> None:
    """The drain keeps a service's storm and grouping in memory for a batch: a missed
    heartbeat of that service is not turned into an incident meanwhile (next tick)."""
    from tocsin.alerts.engine import LEASE_FOR, ingest_lease
    from tocsin.core.leases import lease_release, lease_take

    ping(beat)
    drain()
    clock.move_to(START + dt.timedelta(seconds=361))
    lease = ingest_lease(beat.service_id)
    assert lease_take(name=lease, holder="other:ingest", at=now(), until=now() + LEASE_FOR)
    assert AlertHeartbeatModule("w1").tick(now()) == 0
    assert Incident.objects.count() == 0
    lease_release(name=lease, holder="other:ingest")
    assert AlertHeartbeatModule("w1").tick(now()) == 1
    assert Incident.objects.count() == 1
