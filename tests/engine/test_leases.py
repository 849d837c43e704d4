"""Engine leases: one holder at a time, renewed while held, lapsing when not renewed."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection, connections, transaction

from tocsin.core.leases import (
    lease_due,
    lease_holder,
    lease_release,
    lease_renew,
    lease_take,
    leases_release_all,
)

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
FOR = dt.timedelta(seconds=15)


def test_a_lease_is_taken_by_one_holder_and_refused_to_another() -> None:
    assert lease_take(name="x", holder="a", at=T0, until=T0 + FOR)
    assert not lease_take(name="x", holder="b", at=T0 + dt.timedelta(seconds=5), until=T0 + FOR)
    assert lease_holder("x", at=T0 + dt.timedelta(seconds=5)) == "a"
    # The holder may take it again (extending it); other names are independent.
    assert lease_take(name="x", holder="a", at=T0, until=T0 + 2 * FOR)
    assert lease_take(name="y", holder="b", at=T0, until=T0 + FOR)


def test_a_lease_not_renewed_lapses_and_another_holder_takes_it() -> None:
    assert lease_take(name="x", holder="a", at=T0, until=T0 + FOR)
    later = T0 + FOR + dt.timedelta(seconds=1)
    assert lease_take(name="x", holder="b", at=later, until=later + FOR)
    assert lease_holder("x", at=later) == "b"
    # The old holder can neither renew it nor release it any more.
    assert not lease_renew(name="x", holder="a", until=later + 2 * FOR)
    assert not lease_release(name="x", holder="a")
    assert lease_holder("x", at=later) == "b"


def test_renewing_keeps_the_lease_past_its_first_end() -> None:
    assert lease_take(name="x", holder="a", at=T0, until=T0 + FOR)
    assert lease_renew(name="x", holder="a", until=T0 + 3 * FOR)
    later = T0 + 2 * FOR
    assert not lease_take(name="x", holder="b", at=later, until=later + FOR)
    assert lease_holder("x", at=later) == "a"


def test_a_released_lease_is_free_at_once() -> None:
    assert lease_take(name="x", holder="a", at=T0, until=T0 + FOR)
    assert lease_take(name="z", holder="a", at=T0, until=T0 + FOR)
    assert lease_release(name="x", holder="a")
    assert lease_holder("x", at=T0) == ""
    assert lease_take(name="x", holder="b", at=T0, until=T0 + FOR)
    assert leases_release_all(holder="a") == 1  # z
    assert lease_take(name="z", holder="b", at=T0, until=T0 + FOR)


def test_a_due_lease_comes_due_once_per_period_whoever_asks() -> None:
    every = dt.timedelta(seconds=60)
    assert lease_due(name="job", holder="a", at=T0, every=every)
    assert not lease_due(name="job", holder="a", at=T0 + dt.timedelta(seconds=30), every=every)
    assert not lease_due(name="job", holder="b", at=T0 + dt.timedelta(seconds=30), every=every)
    assert lease_due(name="job", holder="b", at=T0 + dt.timedelta(seconds=61), every=every)
    lease_release(name="job", holder="b")  # more to do: due again at once
    assert lease_due(name="job", holder="a", at=T0 + dt.timedelta(seconds=62), every=every)


@pytest.mark.django_db(transaction=True)
def test_of_many_workers_asking_at_once_exactly_one_gets_a_new_lease() -> None:
    winners: list[str] = []
    start = threading.Barrier(4)
    lock = threading.Lock()

    def ask(holder: str) -> None:
        try:
            start.wait(timeout=10)
            for _ in range(20):
                try:
                    taken = lease_take(name="fresh", holder=holder, at=T0, until=T0 + FOR)
                    break
                except Exception:  # SQLite's shared test database: "table is locked"
                    taken = False
            if taken:
                with lock:
                    winners.append(holder)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=ask, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1
    assert lease_holder("fresh", at=T0) == winners[0]


class _Batch:
    """Worker `holder` renews lease `name` inside a batch's transaction, in a thread of its
    own, kept open (`hold`) until the with-block ends (at most 30 s)."""

    def __init__(self, name: str, holder: str, until: dt.datetime, *, hold: bool) -> None:
        self.errors: list[BaseException] = []
        self.open_to_the_end: list[bool] = []  # the transaction lasted until the block's end
        self._renewed, self._done = threading.Event(), threading.Event()
        self._args, self._hold = (name, holder, until), hold
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        name, holder, until = self._args
        try:
            with transaction.atomic():
                assert lease_renew(name=name, holder=holder, until=until)
                self._renewed.set()
                if self._hold:
                    self.open_to_the_end.append(self._done.wait(timeout=30))
        except BaseException as exc:  # reported by the test
            self.errors.append(exc)
        finally:
            connections.close_all()

    def __enter__(self) -> _Batch:
        self._thread.start()
        assert self._renewed.wait(timeout=10)
        if not self._hold:
            self._thread.join()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()


@pytest.mark.django_db(transaction=True)
def test_a_lease_renewed_in_an_open_batch_is_refused_without_waiting_for_the_batch() -> None:
    """Worker a renews its lapsed lease inside a batch's transaction that is still open;
    worker b, whose read saw the lease lapsed, is refused at once on PostgreSQL (it used
    to wait for a's whole transaction, so two workers took turns). SQLite has one writer
    at a time: there b asks once a's transaction has ended, and is refused too."""
    concurrent = connection.vendor == "postgresql"
    assert lease_take(name="svc", holder="a", at=T0, until=T0 + FOR)
    later = T0 + FOR + dt.timedelta(seconds=1)  # a's lease has lapsed by then
    with _Batch("svc", "a", later + FOR, hold=concurrent) as batch:
        started = time.monotonic()
        taken = lease_take(name="svc", holder="b", at=later, until=later + FOR)
        waited = time.monotonic() - started
    assert batch.errors == []
    assert not taken
    if concurrent:
        assert waited < 5, f"b waited {waited:.1f} s for a's transaction"
    assert lease_holder("svc", at=later) == "a"


@pytest.mark.postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_first_take_racing_a_new_lease_in_an_open_batch_is_refused_without_waiting() -> None:
    """Worker a has just made the lease's row (its first take) and renews it inside a
    batch that is still open; worker b looked before that row was committed, saw no
    lease, and makes the row itself. PostgreSQL's unique check on b's INSERT waits for
    a's transaction: b used to wait for a's whole batch (in CI, a minute), so the two
    workers took turns instead of draining side by side. b is refused while a's batch
    is still open. (SQLite has one writer: b cannot write while a's batch is open.)"""
    from tocsin.core import leases

    assert lease_take(name="new", holder="a", at=T0, until=T0 + FOR)
    with _Batch("new", "a", T0 + 2 * FOR, hold=True) as batch:
        # b's read and SKIP LOCKED came before a's row was committed: straight to the
        # INSERT.
        taken = leases._create(name="new", holder="b", until=T0 + FOR)
    assert batch.errors == []
    assert batch.open_to_the_end == [True], "b waited for a's batch to end"
    assert not taken
    assert lease_holder("new", at=T0) == "a"
    # The wait's bound was for that INSERT only: this connection's setting is as before.
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "0"


def test_the_prepared_statements_write_what_the_orm_queries_write() -> None:
    """Each step on lease "p" through tocsin.core.leases, the same on lease "o" through the
    ORM queries the statements replace: the rows stay alike, the answers too."""
    from django.db.models import Q

    from tocsin.core import leases
    from tocsin.core.models import Lease

    def orm_take(holder: str, at: dt.datetime, until: dt.datetime) -> int:
        return (
            Lease.objects.filter(name="o")
            .filter(Q(lease_until__lt=at) | Q(holder=holder) | Q(holder=""))
            .update(holder=holder, lease_until=until)
        )

    def rows() -> tuple[tuple[str, dt.datetime], tuple[str, dt.datetime]]:
        mine = Lease.objects.values_list("holder", "lease_until").get(name="p")
        theirs = Lease.objects.values_list("holder", "lease_until").get(name="o")
        return mine, theirs

    Lease.objects.create(name="p", holder="a", lease_until=T0 + FOR)
    Lease.objects.create(name="o", holder="a", lease_until=T0 + FOR)
    assert leases._read("p") == ("a", T0 + FOR)
    assert leases._read("missing") is None
    db, statements = leases._db()
    stamp = db.ops.adapt_datetimefield_value
    steps = [
        ("b", T0 + dt.timedelta(seconds=5), 0),  # held by a: refused
        ("a", T0 + dt.timedelta(seconds=5), 1),  # a again: renewed by taking
        ("b", T0 + dt.timedelta(seconds=60), 1),  # lapsed: b takes it
    ]
    for holder, at, expected in steps:
        until = at + FOR
        taken = leases._run(statements.take, [holder, stamp(until), "p", stamp(at), holder, ""])
        assert taken == orm_take(holder, at, until) == expected
        mine, theirs = rows()
        assert mine == theirs
    later = T0 + dt.timedelta(minutes=5)
    assert lease_renew(name="p", holder="a", until=later) is False  # b holds it
    assert lease_renew(name="p", holder="b", until=later) is True
    Lease.objects.filter(name="o", holder="b").update(lease_until=later)
    assert rows()[0] == rows()[1] == ("b", later)
    assert lease_release(name="p", holder="b") is True
    Lease.objects.filter(name="o", holder="b").update(holder="", lease_until=leases.RELEASED)
    assert rows()[0] == rows()[1] == ("", leases.RELEASED)
    assert lease_release(name="p", holder="b") is False  # nobody holds it now
