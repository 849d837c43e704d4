"""The commander deadline (comms/engine.py MajorModule) on a clock the test controls:
the engine's `now` is passed to each tick, as the worker does. The rota is paged once,
not when a commander took the role in time, not twice with two workers, not for an
incident stood down or resolved; with no rota, the miss is on the timeline."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from tests.comms.major_helpers import World, make_world
from tocsin.comms.engine import MajorModule
from tocsin.comms.models import CommanderDeadline
from tocsin.core.actors import Actor
from tocsin.escalation.engine import EscalationModule
from tocsin.escalation.models import Escalation, Page
from tocsin.incidents.models import EntryKind, Incident, TimelineEntry
from tocsin.incidents.services import incident_resolve, major_declare, major_stand_down
from tocsin.notify.models import OutboxMessage


@pytest.fixture
def world(make_user: Any, make_incident: Any) -> World:
    made = make_world(make_user, make_incident)
    made.configure()
    return made


def rota_climbs(world: World, incident: Incident) -> list[Escalation]:
    return list(Escalation.objects.filter(incident=incident, target_schedule=world.rota))


def last_major_entry(incident: Incident) -> str:
    entry = TimelineEntry.objects.filter(incident=incident, kind=EntryKind.MAJOR).last()
    assert entry is not None
    return entry.text


def declared(incident: Incident) -> dt.datetime:
    incident.refresh_from_db()
    assert incident.major_declared_at is not None
    return incident.major_declared_at


MINUTE = dt.timedelta(minutes=1)


@pytest.mark.django_db
def test_no_commander_in_time_pages_the_rota_once(world: World) -> None:
    incident = world.incident(1)
    at = declared(incident)
    module = MajorModule()
    # nine minutes: nothing yet
    assert module.tick(at + 9 * MINUTE) == 0
    assert rota_climbs(world, incident) == []
    # ten minutes: the rota is paged, at high urgency, on the timeline
    assert module.tick(at + 10 * MINUTE) == 1
    [climb] = rota_climbs(world, incident)
    assert climb.urgency == "high" and climb.reason == "no incident commander"
    assert last_major_entry(incident) == (
        "No incident commander 10 minutes after the declaration: "
        "paging the commander rota Incident commanders."
    )
    assert CommanderDeadline.objects.get(incident=incident).state == "paged"
    # the escalation engine pages whoever is on call: Cid
    EscalationModule().tick(at + 10 * MINUTE)
    assert list(
        Page.objects.filter(escalation=climb).values_list("person__username", flat=True)
    ) == ["cid"]
    assert (
        OutboxMessage.objects.filter(incident=incident, payload__escalation=climb.pk).count() == 1
    )
    # later ticks never page again
    assert module.tick(at + 30 * MINUTE) == 0
    assert len(rota_climbs(world, incident)) == 1


@pytest.mark.django_db
def test_a_commander_in_time_means_no_page(world: World) -> None:
    incident = world.incident(1)
    at = declared(incident)
    world.make_commander(incident, world.ann)
    assert MajorModule().tick(at + 11 * MINUTE) == 1
    assert rota_climbs(world, incident) == []
    assert CommanderDeadline.objects.get(incident=incident).state == "met"


@pytest.mark.django_db
def test_the_deadline_follows_the_settings(world: World) -> None:
    world.configure(commander_minutes=3)
    incident = world.incident(1)
    at = declared(incident)
    assert MajorModule().tick(at + 3 * MINUTE) == 1
    assert len(rota_climbs(world, incident)) == 1
    assert "3 minutes after the declaration" in last_major_entry(incident)


@pytest.mark.django_db
def test_stood_down_or_resolved_incidents_are_not_chased(world: World) -> None:
    agent = Actor.for_user(world.agent)
    down = world.incident(1, title="Stood down")
    major_stand_down(incident=down, actor=agent, reason="false alarm")
    ended = world.incident(1, title="Resolved")
    incident_resolve(incident=ended, actor=agent, resolution_code="fixed", resolution_notes="ok")
    at = declared(ended)
    assert MajorModule().tick(at + 60 * MINUTE) == 2
    assert set(CommanderDeadline.objects.values_list("state", flat=True)) == {"dropped"}
    assert not Escalation.objects.filter(target_schedule=world.rota).exists()


@pytest.mark.django_db
def test_without_a_rota_the_miss_is_on_the_timeline(world: World) -> None:
    world.configure(commander_schedule=None)
    incident = world.incident(1)
    at = declared(incident)
    assert MajorModule().tick(at + 10 * MINUTE) == 1
    assert CommanderDeadline.objects.get(incident=incident).state == "missed"
    assert last_major_entry(incident) == (
        "No incident commander 10 minutes after the declaration, and no commander rota is "
        "set in the major-incident settings."
    )


@pytest.mark.django_db
def test_a_redeclared_incident_gets_a_new_deadline(world: World) -> None:
    incident = world.incident(1)
    agent = Actor.for_user(world.agent)
    major_stand_down(incident=incident, actor=agent)
    major_declare(incident=incident, actor=agent, reason="back")
    at = declared(incident)
    assert MajorModule().tick(at + 10 * MINUTE) == 2  # the old one dropped, the new paged
    assert sorted(CommanderDeadline.objects.values_list("state", flat=True)) == [
        "dropped",
        "paged",
    ]
    assert len(rota_climbs(world, incident)) == 1


@pytest.mark.django_db
def test_two_module_instances_page_once(world: World) -> None:
    incidents = [world.incident(1, title=f"Outage {n}") for n in range(5)]
    at = max(declared(i) for i in incidents) + 10 * MINUTE
    first, second = MajorModule(), MajorModule()
    assert first.tick(at) + second.tick(at) == 5
    for incident in incidents:
        assert len(rota_climbs(world, incident)) == 1


def _race(work: Callable[[], int], workers: int = 2) -> list[int]:
    barrier = threading.Barrier(workers)
    results: list[int] = [0] * workers
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = work()
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


@pytest.mark.postgresql_only
@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_page_each_rota_once(world: World) -> None:
    """Two workers (threads with their own connections) tick at the same instant: the
    incident lock and the compare-and-set on the deadline's state decide."""
    incidents = [world.incident(1, title=f"Outage {n}") for n in range(12)]
    at = max(declared(i) for i in incidents) + 10 * MINUTE
    done = _race(lambda: MajorModule().tick(at))
    assert sum(done) == 12
    for incident in incidents:
        assert len(rota_climbs(world, incident)) == 1
    assert set(CommanderDeadline.objects.values_list("state", flat=True)) == {"paged"}
