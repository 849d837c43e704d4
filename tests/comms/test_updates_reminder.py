"""The reminder to the communications lead when a promised next update is due, on a
clock the test controls: not before, exactly once at and after the due time (also with
two workers), to the assignee when nobody holds the role, never for an update that a
newer one replaced or on a resolved incident."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine

from tests.comms.updates_helpers import incident_with_secrets, person, reachable, seeded
from tocsin.accounts.models import Role
from tocsin.comms import updates
from tocsin.comms.models import StakeholderUpdate
from tocsin.comms.update_engine import UpdateReminderModule
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.engine.engine import default_modules
from tocsin.incidents.models import EntryKind, IncidentRole, TimelineEntry
from tocsin.incidents.services import incident_assign, incident_resolve, role_assign
from tocsin.notify.models import OutboxMessage

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def world(clock: Any) -> dict[str, Any]:
    seeded()
    found = {
        "ines": person("ines", name="Inês Duarte"),
        "carla": person("carla", name="Carla Comms"),
        "rita": person("rita", role=Role.REPORTER),
    }
    reachable(found["carla"], "email")
    reachable(found["ines"], "email")
    incident = incident_with_secrets(found["rita"])
    return {**found, "incident": incident}


def post(world: dict[str, Any], minutes: int | None = 30) -> StakeholderUpdate:
    return updates.update_post(
        incident=world["incident"],
        actor=Actor.for_user(world["ines"]),
        status="investigating",
        body="Looking into it.",
        next_update_minutes=minutes,
    )


def reminders() -> list[tuple[str, str]]:
    rows = OutboxMessage.objects.filter(purpose="update-remind").order_by("pk")
    return [(m.person.username, m.channel) for m in rows]  # type: ignore[union-attr]


def run_at(clock: Any, moment: dt.datetime, module: UpdateReminderModule | None = None) -> int:
    clock.move_to(moment)
    return (module or UpdateReminderModule()).tick(now())


def make_comms_lead(world: dict[str, Any]) -> None:
    role = IncidentRole.objects.get(key=IncidentRole.COMMS_LEAD)
    role_assign(
        incident=world["incident"],
        role=role,
        user=world["carla"],
        actor=Actor.for_user(world["ines"]),
    )


def test_the_communications_lead_is_reminded_once_when_the_update_is_due(world, clock) -> None:
    make_comms_lead(world)
    update = post(world, 30)
    assert run_at(clock, T0 + 29 * MIN) == 0
    assert reminders() == []
    assert run_at(clock, T0 + 30 * MIN) == 1
    assert reminders() == [("carla", "email")]
    update.refresh_from_db()
    assert update.reminded_at == T0 + 30 * MIN
    # later ticks, fresh modules, a restarted worker: never again
    for minutes in (31, 45, 120):
        assert run_at(clock, T0 + minutes * MIN) == 0
    assert reminders() == [("carla", "email")]
    entry = TimelineEntry.objects.get(incident=world["incident"], data__has_key="reminder")
    assert entry.kind == EntryKind.UPDATE
    assert entry.visibility == "internal"
    assert "reminded Carla Comms (communications lead)" in entry.text


def test_two_workers_remind_once(world, clock) -> None:
    make_comms_lead(world)
    update = post(world, 10)
    clock.move_to(T0 + 11 * MIN)
    first, second = UpdateReminderModule(), UpdateReminderModule()
    due = updates.reminder_due(now())
    assert due == [update.pk]
    # both saw it due; the compare-and-set lets one send it
    assert updates.update_remind(update_id=update.pk, at=now()) is True
    assert updates.update_remind(update_id=update.pk, at=now()) is False
    assert first.tick(now()) + second.tick(now()) == 0
    assert reminders() == [("carla", "email")]


def test_without_a_communications_lead_the_assignee_is_reminded(world, clock) -> None:
    incident_assign(
        incident=world["incident"], assignee=world["ines"], actor=Actor.for_user(world["ines"])
    )
    post(world, 15)
    assert run_at(clock, T0 + 16 * MIN) == 1
    assert reminders() == [("ines", "email")]


def test_with_nobody_to_remind_the_timeline_says_so(world, clock) -> None:
    post(world, 15)
    assert run_at(clock, T0 + 16 * MIN) == 1
    assert reminders() == []
    entry = TimelineEntry.objects.get(incident=world["incident"], data__has_key="reminder")
    assert "no communications lead or assignee" in entry.text


def test_a_newer_update_replaces_the_promise(world, clock) -> None:
    make_comms_lead(world)
    post(world, 30)
    clock.move_to(T0 + 20 * MIN)
    post(world, 30)  # due at T0 + 50
    assert run_at(clock, T0 + 40 * MIN) == 0
    assert run_at(clock, T0 + 50 * MIN) == 1
    assert len(reminders()) == 1


def test_no_promise_no_reminder_and_none_once_resolved(world, clock) -> None:
    make_comms_lead(world)
    post(world, None)
    assert run_at(clock, T0 + 600 * MIN) == 0
    post(world, 10)
    incident_resolve(
        incident=world["incident"],
        actor=Actor.for_user(world["ines"]),
        resolution_code="fixed",
        resolution_notes="ok",
    )
    assert run_at(clock, T0 + 700 * MIN) == 0
    assert reminders() == []


def test_the_worker_runs_the_module() -> None:
    assert "update_reminders" in [m.name for m in default_modules("test")]


@pytest.mark.django_db(transaction=True)
def test_two_worker_threads_racing_send_each_reminder_once() -> None:
    """Each worker a thread with its own connection, released together (on PostgreSQL
    they overlap; SQLite's in-memory test database takes them one after the other)."""
    seeded()
    from tests.escalation.test_engine_race import _race

    lead = person("carla", name="Carla Comms")
    reachable(lead, "email")
    poster = person("ines")
    role = IncidentRole.objects.get(key=IncidentRole.COMMS_LEAD)
    posted = []
    for n in range(6):
        incident = incident_with_secrets(person(f"rita{n}", role=Role.REPORTER))
        role_assign(incident=incident, role=role, user=lead, actor=Actor.for_user(poster))
        posted.append(
            updates.update_post(
                incident=incident,
                actor=Actor.for_user(poster),
                status="investigating",
                body="Looking.",
                next_update_minutes=5,
            )
        )
    later = now() + 6 * MIN
    done = _race(lambda: UpdateReminderModule().tick(later), workers=2)
    assert sum(done) == 6
    assert OutboxMessage.objects.filter(purpose="update-remind").count() == 6
    assert StakeholderUpdate.objects.filter(reminded_at__isnull=True).count() == 0
    assert TimelineEntry.objects.filter(data__has_key="reminder").count() == 6
