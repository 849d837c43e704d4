"""Two workers racing the escalation engine: each step fires once, whoever gets there.

Each worker is a thread with its own database connection (two `tocsin worker`
processes, as far as the database can tell), released together by a barrier. On
PostgreSQL they really overlap (the climb's row lock and the compare-and-set on its
`step` decide). On SQLite the test database is in memory with a shared cache, where two
connections writing at once get "database table is locked" at once instead of waiting
(a file database, as `tocsin worker` uses, waits: its writers are serialised by the
busy timeout), so there the workers take their turns one after the other on the same
instant: the second must find nothing left to fire. Either way the oracle's set of
pages and messages must come out exactly: nothing fired twice, nothing lost.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction

from tocsin.accounts.models import User
from tocsin.core.actors import Actor
from tocsin.escalation import services as escalation
from tocsin.escalation.engine import EscalationModule
from tocsin.escalation.models import Escalation, Page
from tocsin.incidents.models import Incident, Status
from tocsin.incidents.services import incident_acknowledge
from tocsin.notify.models import OutboxMessage, OutboxState

from .oracle import Level, World, check

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
INCIDENTS = 24


def _race(work: Callable[[], Any], workers: int = 2) -> list[Any]:
    """Run `work` in `workers` threads at once (on SQLite one after the other); their
    results (an exception fails the test)."""
    if connection.vendor == "sqlite":
        return [work() for _ in range(workers)]
    barrier = threading.Barrier(workers)
    results: list[Any] = [None] * workers
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


@pytest.fixture
def world(make_user: Callable[..., User], make_incident: Callable[..., Incident]) -> World:
    return World(make_user, make_incident)


@pytest.mark.django_db(transaction=True)
def test_two_workers_ticking_together_fire_every_step_once(world: World) -> None:
    for name in ("ann", "bob", "cid", "dan"):
        world.person(name)
    world.policy(
        "Payments",
        [Level((("user", "ann"), ("user", "bob")), 5), Level((("user", "dan"),), 5)],
        repeat=1,
    )
    world.service("Payments API", "Payments")
    refs = [world.incident("Payments API", T0, title=f"Outage {n}") for n in range(INCIDENTS)]
    for minutes in (0, 5, 10, 15, 20):
        at = T0 + dt.timedelta(minutes=minutes)
        fired = _race(lambda at=at: EscalationModule().tick(at))
        world.oracle.tick(at)
        check(world.oracle, f"two workers at +{minutes} min")
        # every climb fired by exactly one of them; nothing left after the fourth step
        assert sum(fired) == (INCIDENTS if minutes < 20 else 0), fired
    # 2 levels x 2 passes; ann and bob on level 1, dan on level 2
    assert Page.objects.count() == INCIDENTS * (2 + 1) * 2
    assert len(refs) == INCIDENTS


@pytest.mark.django_db(transaction=True)
def test_two_workers_on_one_climb_step_only_one_fires(world: World) -> None:
    world.person("ann")
    world.person("bob")
    world.policy("Payments", [Level((("user", "ann"),), 5), Level((("user", "bob"),), 5)])
    world.service("Payments API", "Payments")
    world.incident("Payments API", T0)
    climb = Escalation.objects.get()
    for minutes in (0, 5):
        at = T0 + dt.timedelta(minutes=minutes)
        results = _race(lambda at=at: escalation.climb_step(climb.pk, at=at), workers=3)
        assert sorted(results) == [0, 0, 1], results
        if connection.vendor == "sqlite":
            assert results[0] == 1  # the first in line fires it
        world.oracle.tick(at)
        check(world.oracle, f"three workers on one step at +{minutes} min")


@pytest.mark.django_db(transaction=True)
def test_round_robin_turns_are_never_taken_twice(world: World) -> None:
    names = ["ann", "bob", "cid"]
    for name in names:
        world.person(name)
    world.policy("Rota", [Level(tuple(("user", n) for n in names), 10, mode="round_robin")])
    world.service("Payments API", "Rota")
    for n in range(INCIDENTS):
        world.incident("Payments API", T0, title=f"Outage {n}")
    fired = _race(lambda: EscalationModule().tick(T0))
    assert sum(fired) == INCIDENTS
    # which incident got whom depends on who won each race; each turn went once
    turns = Counter(Page.objects.values_list("person__username", flat=True))
    assert turns == dict.fromkeys(names, INCIDENTS // 3)
    assert Page.objects.values("incident").distinct().count() == INCIDENTS


def _step_held_open_while(climb_id: int, at: dt.datetime, act: Callable[[], Any]) -> None:
    """A worker fires a climb's step and holds its transaction open (not yet committed)
    while another connection runs `act` (a person acknowledging, escalating, ...); the
    step commits half a second after `act` has started, so `act` meets the step's locks."""
    _held_open_while(lambda: escalation.climb_step(climb_id, at=at), act)


def _held_open_while(work: Callable[[], Any], act: Callable[[], Any]) -> None:
    """`work` in a transaction held open until half a second after `act` started."""
    fired = threading.Event()
    started = threading.Event()
    errors: list[BaseException] = []

    def engine() -> None:
        try:
            with transaction.atomic():
                assert work()
                fired.set()
                started.wait(timeout=10)
                time.sleep(0.5)  # `act` is now waiting on a lock the step holds
        except BaseException as exc:
            errors.append(exc)
        finally:
            fired.set()
            connection.close()

    def person() -> None:
        try:
            fired.wait(timeout=10)
            started.set()
            act()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=engine), threading.Thread(target=person)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors


def _three_levels(world: World) -> str:
    for name in ("ann", "bob", "cid"):
        world.person(name)
    world.policy("Payments", [Level((("user", n),), 10) for n in ("ann", "bob", "cid")])
    world.service("Payments API", "Payments")
    ref = world.incident("Payments API", T0)
    assert escalation.climb_step(Escalation.objects.get().pk, at=T0)  # ann
    world.oracle.tick(T0)
    return ref


# On PostgreSQL, Django's foreign keys are checked when a transaction commits, and the
# check takes a KEY SHARE lock on the incident row. A service that locks the incident
# (FOR UPDATE) and then writes the climb, while the engine's step holds the climb and
# has written rows pointing at the incident, deadlocked: the service waited for the
# climb, the step's commit for the incident. PostgreSQL then aborts one of the two,
# often the person's acknowledgement. SQLite's IMMEDIATE transactions cannot interleave
# like this, so these run on PostgreSQL only.


@pytest.mark.postgresql_only
@pytest.mark.django_db(transaction=True)
def test_acknowledge_while_the_engine_fires_a_step_neither_deadlocks_nor_leaves_a_page(
    world: World,
) -> None:
    ref = _three_levels(world)
    level_two = T0 + dt.timedelta(minutes=10)

    def acknowledge() -> None:
        incident_acknowledge(
            incident=Incident.objects.get(pk=world.incidents[ref].pk),
            actor=Actor.for_user(world.users["ann"]),
        )

    _step_held_open_while(Escalation.objects.get().pk, level_two, acknowledge)
    world.oracle.tick(level_two)  # bob's page was written first, then the acknowledgement
    world.oracle.acknowledge(ref)
    check(world.oracle, "acknowledged while level 2 fired")
    assert Incident.objects.get(pk=world.incidents[ref].pk).status == Status.ACKNOWLEDGED


@pytest.mark.postgresql_only
@pytest.mark.django_db(transaction=True)
def test_escalate_now_while_the_engine_fires_a_step_does_not_deadlock(world: World) -> None:
    ref = _three_levels(world)
    level_two = T0 + dt.timedelta(minutes=10)

    def press() -> None:
        escalation.escalate_now(
            incident=world.incidents[ref], actor=Actor.for_user(world.users["ann"])
        )

    _step_held_open_while(Escalation.objects.get().pk, level_two, press)
    world.oracle.tick(level_two)  # bob
    check(world.oracle, "escalate now while level 2 fired")
    # the press came after level 2 had fired: level 3 is what it escalates, once
    climb = Escalation.objects.get()
    assert climb.level == 2 and climb.next_at is not None
    # due at the press (the real clock here), not 10 minutes after level 2
    assert climb.next_at != level_two + dt.timedelta(minutes=10)
    assert climb.next_at <= dt.datetime.now(dt.UTC)
    fired = escalation.climb_step(climb.pk, at=climb.next_at)
    assert fired == 1 and escalation.climb_step(climb.pk, at=climb.next_at) == 0


@pytest.mark.postgresql_only
@pytest.mark.django_db(transaction=True)
def test_acknowledge_while_a_failed_page_brings_the_next_method_forward_does_not_deadlock(
    world: World,
) -> None:
    """The outbox records a permanent failure (in its transaction the escalation hook
    brings the person's next method forward and writes the timeline) while the person's
    acknowledgement cancels the queued messages."""
    world.person("ann")
    world.policy("Payments", [Level((("user", "ann"),), 10)])
    world.service("Payments API", "Payments")
    ref = world.incident("Payments API", T0)
    assert escalation.climb_step(Escalation.objects.get().pk, at=T0)
    world.oracle.tick(T0)
    first = OutboxMessage.objects.get(contact_method__label="ann:mail")

    def fail() -> bool:
        # what the outbox does when a send fails for good: the row, then the hooks
        OutboxMessage.objects.filter(pk=first.pk).update(
            state=OutboxState.FAILED, last_error="550 no such mailbox"
        )
        escalation.page_delivery_outcome(
            message=OutboxMessage.objects.get(pk=first.pk),
            outcome="failed",
            reason="550 no such mailbox",
        )
        return True

    def acknowledge() -> None:
        incident_acknowledge(
            incident=Incident.objects.get(pk=world.incidents[ref].pk),
            actor=Actor.for_user(world.users["ann"]),
        )

    _held_open_while(fail, acknowledge)
    later = OutboxMessage.objects.get(contact_method__label="ann:later")
    assert later.state == OutboxState.CANCELLED
    assert Incident.objects.get(pk=world.incidents[ref].pk).status == Status.ACKNOWLEDGED
