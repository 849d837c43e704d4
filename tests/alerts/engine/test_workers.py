"""Several workers: the ingest lease and the per-row compare-and-set."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
import time_machine
from django.db import OperationalError, connections

from tocsin.alerts.engine import LEASE_FOR, IngestModule
from tocsin.alerts.models import Alert, EngineLease, InboxEvent
from tocsin.catalog.models import Integration
from tocsin.core.clock import now
from tocsin.engine.engine import run_tick

from .helpers import ack, alert_of, drain, make_integration, make_service, push, trigger

pytestmark = pytest.mark.django_db


def test_only_the_lease_holder_ingests_until_its_lease_expires(
    clock: time_machine.Coordinates, pd: Integration
) -> None:
    one, two = IngestModule("w1"), IngestModule("w2")
    one.batch = two.batch = 2
    for _ in range(6):
        push(pd, trigger("k"))
    assert one.tick(now()) == 2
    assert two.tick(now()) == 0  # w1 holds the lease
    assert one.tick(now()) == 2
    # w1 dies; its lease runs out; w2 takes over where it stopped.
    clock.shift(LEASE_FOR + dt.timedelta(seconds=1))
    assert two.tick(now()) == 2
    assert one.tick(now()) == 0  # w1 is back but w2 holds the lease now
    assert EngineLease.objects.get(name="ingest").holder == "w2"
    assert alert_of(pd, "k").occurrences == 6


def test_a_clean_stop_hands_the_lease_over_at_once(pd: Integration) -> None:
    one, two = IngestModule("w1"), IngestModule("w2")
    push(pd, trigger("k"))
    one.tick(now())
    one.forget()
    push(pd, trigger("k"))
    assert two.tick(now()) == 1


def test_a_row_already_claimed_is_never_applied_again(pd: Integration) -> None:
    from tocsin.alerts.services import inbox_process_batch, lease_take

    def process(pk: int, holder: str) -> int | None:
        return inbox_process_batch(
            pks=[pk], lease_name="ingest", holder=holder, lease_for=LEASE_FOR
        )

    row = push(pd, trigger("k"))
    assert lease_take(name="ingest", holder="w1", at=now(), until=now() + LEASE_FOR)
    assert process(row.pk, "w1") == 1
    assert process(row.pk, "w1") == 0
    # A worker without the lease stops before touching anything.
    other = push(pd, trigger("k"))
    assert process(other.pk, "w2") is None
    other.refresh_from_db()
    assert other.state == "pending"
    assert alert_of(pd, "k").occurrences == 1


def test_a_batch_whose_row_another_worker_finished_meanwhile_rolls_back(
    pd: Integration, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outcome write is the claim: if a row is no longer pending by then (another
    worker applied it), nothing of this worker's batch is kept."""
    from tocsin.alerts import services
    from tocsin.alerts.services import inbox_process_batch, lease_take

    first, second = push(pd, trigger("a")), push(pd, trigger("b"))
    assert lease_take(name="ingest", holder="w1", at=now(), until=now() + LEASE_FOR)
    applied = services._process_guarded

    def and_meanwhile(row: InboxEvent) -> tuple[str, str]:
        result = applied(row)
        if row.pk == second.pk:  # what the other worker's commit looks like from here
            InboxEvent.objects.filter(pk=first.pk).update(state="done", outcome="created")
        return result

    monkeypatch.setattr(services, "_process_guarded", and_meanwhile)
    done = inbox_process_batch(
        pks=[first.pk, second.pk], lease_name="ingest", holder="w1", lease_for=LEASE_FOR
    )
    assert done == 0
    assert not Alert.objects.exists()  # both rows' effects rolled back
    assert set(InboxEvent.objects.values_list("state", flat=True)) == {"pending"}


def test_two_workers_ticking_alternately_apply_every_row_once(
    clock: time_machine.Coordinates, pd: Integration, pd2: Integration
) -> None:
    workers = [IngestModule("w1"), IngestModule("w2")]
    for worker in workers:
        worker.batch = 3
    for n in range(20):
        push(pd, trigger("k"))
        push(pd2, trigger("k") if n % 5 else ack("k"))
    turn = 0
    while InboxEvent.objects.filter(state="pending").exists():
        workers[turn % 2].tick(now())
        turn += 1
        if turn % 3 == 0:  # now and then the holder's lease runs out
            clock.shift(LEASE_FOR + dt.timedelta(seconds=1))
    assert alert_of(pd, "k").occurrences == 20
    # pd2: the first row is an ack with nothing open (ignored), then 16 triggers.
    assert alert_of(pd2, "k").occurrences == 16
    assert alert_of(pd2, "k").status == "acknowledged"
    assert InboxEvent.objects.filter(outcome="").count() == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_apply_every_row_exactly_once() -> None:
    service = make_service("Concurrent")
    integrations = [make_integration(service) for _ in range(3)]
    for n in range(60):
        push(integrations[n % 3], trigger(f"k{n % 2}"))
    errors: list[BaseException] = []

    def work(worker_id: str) -> None:
        module = IngestModule(worker_id)
        module.batch = 5
        try:
            for _ in range(2000):
                try:
                    if not InboxEvent.objects.filter(state="pending").exists():
                        break
                    # As the worker loop does: a failing tick is logged and retried.
                    run_tick([module])
                    module.forget()  # hand over: the workers compete every tick
                except OperationalError:
                    # SQLite's shared in-memory test database answers "table is locked"
                    # where a file database waits; the next tick retries, as in the worker.
                    time.sleep(0.005)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(f"t{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert drain() == 0
    assert sorted(Alert.objects.values_list("occurrences", flat=True)) == [10] * 6
