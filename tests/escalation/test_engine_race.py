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
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from tocsin.accounts.models import User
from tocsin.escalation import services as escalation
from tocsin.escalation.engine import EscalationModule
from tocsin.escalation.models import Escalation, Page
from tocsin.incidents.models import Incident

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
