"""Several workers: the per-service ingest leases and the per-row compare-and-set."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
from typing import Any

import pytest
import time_machine
from django.db import OperationalError, connections, transaction

from tocsin.alerts import engine, services
from tocsin.alerts.engine import LEASE_FOR, IngestModule, ingest_lease
from tocsin.alerts.models import Alert, InboxEvent
from tocsin.catalog.models import Integration
from tocsin.core.clock import now
from tocsin.core.leases import lease_holder, lease_take
from tocsin.engine.engine import run_tick

from .helpers import ack, alert_of, drain, make_integration, make_service, push, trigger

pytestmark = pytest.mark.django_db


def test_a_service_held_by_another_worker_waits_until_its_lease_lapses(
    clock: time_machine.Coordinates, pd: Integration
) -> None:
    one, two = IngestModule("w1"), IngestModule("w2")
    for _ in range(6):
        push(pd, trigger("k"))
    lease = ingest_lease(pd.service_id)
    # w1 died in the middle of its batch: its lease on the service is still running.
    assert lease_take(name=lease, holder=one.holder, at=now(), until=now() + LEASE_FOR)
    assert two.tick(now()) == 0
    assert lease_holder(lease, at=now()) == one.holder
    clock.shift(LEASE_FOR + dt.timedelta(seconds=1))
    assert two.tick(now()) == 6  # w2 takes over where w1 stopped
    assert lease_holder(lease, at=now()) == ""  # and hands the service back after its tick
    assert alert_of(pd, "k").occurrences == 6


def test_a_clean_stop_hands_the_leases_over_at_once(pd: Integration) -> None:
    one, two = IngestModule("w1"), IngestModule("w2")
    push(pd, trigger("k"))
    assert lease_take(
        name=ingest_lease(pd.service_id), holder=one.holder, at=now(), until=now() + LEASE_FOR
    )
    assert two.tick(now()) == 0
    one.forget()
    assert two.tick(now()) == 1


def test_a_row_already_claimed_is_never_applied_again(pd: Integration) -> None:
    from tocsin.alerts.services import inbox_process_batch

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
    from tocsin.alerts.services import inbox_process_batch

    push(pd, trigger("a"))
    push(pd, trigger("b"))
    drain()  # open alerts: the rows below merge (no incident: one transaction for both)
    first, second = push(pd, trigger("a")), push(pd, trigger("b"))
    assert lease_take(name="ingest", holder="w1", at=now(), until=now() + LEASE_FOR)
    applied = services.drain._inbox_process

    def and_meanwhile(row: InboxEvent, shared: Any) -> tuple[str, Any]:
        result = applied(row, shared)
        if row.pk == second.pk:  # what the other worker's commit looks like from here
            InboxEvent.objects.filter(pk=first.pk).update(state="done", outcome="created")
        return result

    monkeypatch.setattr(services.drain, "_inbox_process", and_meanwhile)
    done = inbox_process_batch(
        pks=[first.pk, second.pk], lease_name="ingest", holder="w1", lease_for=LEASE_FOR
    )
    assert done == 0
    # both rows' effects rolled back
    assert sorted(Alert.objects.values_list("occurrences", flat=True)) == [1, 1]
    assert InboxEvent.objects.get(pk=second.pk).state == "pending"
    assert InboxEvent.objects.get(pk=first.pk).state == "pending"


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


BARRIER_WAIT = 60  # seconds; generous for a loaded machine (a broken barrier fails the test)


class _Applied:
    """Records, from inside each row's transaction, which worker applied which row when
    (once the row's transaction commits)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, barrier: threading.Barrier | None) -> None:
        self.lock = threading.Lock()
        self.log: list[tuple[str, int, int, float, float]] = []
        self.barrier = barrier
        self.broken: list[BaseException] = []
        applied = services.drain._inbox_process

        def spy(row: InboxEvent, shared: Any) -> tuple[str, Any]:
            started = time.monotonic()
            if self.barrier is not None:
                # Both workers must be inside a row at once: with one lease for the whole
                # inbox the other never arrives and the barrier breaks.
                try:
                    self.barrier.wait(timeout=BARRIER_WAIT)
                except threading.BrokenBarrierError as exc:
                    # This row is then recorded as rejected (the batch's guarded re-run);
                    # say why, and let the later rows through, rather than fail every
                    # row here and leave an empty log to puzzle over.
                    self.broken.append(exc)
                    self.barrier = None
                    raise
                self.barrier = None
            result = applied(row, shared)
            entry = (
                threading.current_thread().name,
                row.integration_id,
                row.pk,
                started,
                time.monotonic(),
            )

            def committed() -> None:  # a batch rolled back (and retried) is not counted
                with self.lock:
                    self.log.append(entry)

            transaction.on_commit(committed)
            return result

        monkeypatch.setattr(services.drain, "_inbox_process", spy)


def _work_in_threads(workers: int, errors: list[BaseException]) -> None:
    def work(worker_id: str) -> None:
        module = IngestModule(worker_id)
        module.batch = 10
        try:
            for _ in range(2000):
                try:
                    if not InboxEvent.objects.filter(state="pending").exists():
                        break
                    run_tick([module])
                except OperationalError:
                    time.sleep(0.005)  # SQLite's shared test database: "table is locked"
        except BaseException as exc:  # pragma: no cover - reported by the caller
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(f"t{i}",), name=f"t{i}") for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@pytest.mark.django_db(transaction=True)
def test_two_workers_drain_two_services_at_once_each_integration_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two ingest workers (threads, each its own connection) drain the rows of two
    services' integrations at the same time; the rows of each integration are applied
    one after the other, in arrival order, each once. SQLite has one writer at a time
    (the second worker waits for the first's commit), so there the overlap is not
    asked for, only the order."""
    integrations = [
        make_integration(make_service("Payments")),
        make_integration(make_service("Search")),
    ]
    for n in range(40):
        push(integrations[n % 2], trigger(f"k{n % 3}"))
    concurrent = connections["default"].vendor == "postgresql"
    # A lease must outlast the barrier's wait: one that lapsed while the first worker
    # waited inside its row would let the second worker in even with one lease for the
    # whole inbox (the wait would pass without proving anything).
    monkeypatch.setattr(engine, "LEASE_FOR", 2 * dt.timedelta(seconds=BARRIER_WAIT))
    applied = _Applied(monkeypatch, threading.Barrier(2) if concurrent else None)
    errors: list[BaseException] = []
    _work_in_threads(2, errors)
    assert errors == []
    assert applied.broken == [], "the two workers were never inside a row at once"
    assert not InboxEvent.objects.filter(state="pending").exists()
    rows = sorted(applied.log, key=lambda entry: entry[3])
    assert sorted(pk for *_, pk, _s, _e in rows) == sorted(
        InboxEvent.objects.values_list("pk", flat=True)
    )  # every row once
    for integration in integrations:
        mine = [entry for entry in rows if entry[1] == integration.pk]
        assert [entry[2] for entry in mine] == sorted(entry[2] for entry in mine)  # in order
        for before, after in itertools.pairwise(mine):
            assert before[4] <= after[3]  # never two rows of it at once
    if concurrent:
        assert {entry[0] for entry in rows} == {"t0", "t1"}
    for integration in integrations:
        assert sorted(
            Alert.objects.filter(integration=integration).values_list("occurrences", flat=True)
        ) == [6, 7, 7]
