"""Lifecycle: acknowledged -> new "also the system, when an acknowledgement times out"."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from tocsin.catalog.services import service_create, service_update_alert_settings
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.incidents.engine import AckTimeoutModule
from tocsin.incidents.models import EntryKind, Status
from tocsin.incidents.services import incident_acknowledge, incident_start

pytestmark = pytest.mark.django_db


@pytest.fixture
def timed_service():
    service = service_create(name="Checkout", actor=Actor.system("test setup"))
    return service_update_alert_settings(
        service=service, changes={"ack_timeout_minutes": 30}, actor=Actor.system("test setup")
    )


def test_an_acknowledgement_times_out_back_to_new(reporter, agent, make_incident, timed_service):
    start = now()
    with time_machine.travel(start, tick=False):
        incident = make_incident(reporter, service=timed_service)
        incident = incident_acknowledge(incident=incident, actor=Actor.for_user(agent))
        assert incident.ack_expires_at == start + dt.timedelta(minutes=30)
    module = AckTimeoutModule()
    assert module.tick(start + dt.timedelta(minutes=29)) == 0
    with time_machine.travel(start + dt.timedelta(minutes=31), tick=False):
        assert module.tick(now()) == 1
        assert module.tick(now()) == 0  # once
    incident.refresh_from_db()
    assert incident.status == Status.NEW
    assert incident.acknowledged_at == start  # the first acknowledgement stays on record
    entry = incident.timeline.filter(kind=EntryKind.TRANSITION).last()
    assert entry.data == {"action": "unacknowledge", "from": "acknowledged", "to": "new"}
    assert entry.actor_kind == "system"
    assert "timed out" in entry.text


def test_progress_stops_the_timer(reporter, agent, make_incident, timed_service):
    incident = make_incident(reporter, service=timed_service)
    incident_acknowledge(incident=incident, actor=Actor.for_user(agent))
    incident = incident_start(incident=incident, actor=Actor.for_user(agent))
    assert incident.ack_expires_at is None
    assert AckTimeoutModule().tick(now() + dt.timedelta(hours=2)) == 0
    incident.refresh_from_db()
    assert incident.status == Status.IN_PROGRESS


def test_without_a_timeout_acknowledgements_last(reporter, agent, make_incident):
    incident = make_incident(
        reporter, service=service_create(name="Intranet", actor=Actor.system("test setup"))
    )
    incident = incident_acknowledge(incident=incident, actor=Actor.for_user(agent))
    assert incident.ack_expires_at is None
    assert AckTimeoutModule().tick(now() + dt.timedelta(days=30)) == 0


def test_the_timeout_is_validated_over_the_api(api, admin, timed_service):
    client = api(admin)
    bad = client.patch(f"/api/v1/services/{timed_service.pk}", {"ack_timeout_minutes": 0})
    assert bad.status_code == 422
    good = client.patch(f"/api/v1/services/{timed_service.pk}", {"ack_timeout_minutes": None})
    assert good.status_code == 200
    assert good.json()["ack_timeout_minutes"] is None
