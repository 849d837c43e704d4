"""Engine modules of the alerts app. None keeps state in memory that matters: a
restarted worker, or another one, carries on exactly where this one was.

ingest (`IngestModule`): turns pending inbox rows into alerts and incidents, in arrival
order, a service at a time: a worker takes the service's lease
(`ingest:service:<id>`, tocsin.core.leases), drains that service's pending rows, and
hands the lease back. Several workers drain different services at once; the rows of one
service (hence of each of its integrations) are never applied out of order or by two
workers at once: what rows of one service share (its incidents' grouping, its storm,
its storm threshold) is only ever changed by the lease holder. Rows are committed
several to a transaction when there is a backlog (about 50 ms of work on SQLite, 200 ms
on PostgreSQL, see `_pace`);
the lease is renewed inside every transaction, and a worker that lost it stops. Each
row is also claimed with a compare-and-set (pending -> done), so no row is ever applied
twice.

storm_titles (`StormRefreshModule`): an open alert storm whose incident shows an
out-of-date count gets its title and description refreshed (at most every
STORM_REFRESH); each refresh is a compare-and-set on the storm's shown time.

retention (`RetentionModule`): deletes done inbox rows and change events past their
retention, a batch at a time; when it next runs is kept in its lease (`lease_due`),
shared by every worker.

alert_heartbeats (`AlertHeartbeatModule`): a heartbeat that is up and past its due
time goes down and opens an incident, under its service's ingest lease; all its state
is in the Heartbeat table.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import time
import uuid
from collections.abc import Iterator

from django.db import connection

from tocsin.alerts import selectors, services
from tocsin.core.budget import budget_spent
from tocsin.core.clock import now as clock_now
from tocsin.core.db import sqlite_checkpoint, sqlite_checkpoint_every
from tocsin.core.leases import (
    lease_due,
    lease_release,
    lease_take,
    leases_release_all,
)
from tocsin.core.memo import batch_memo, prime_services

INGEST_LEASE = "ingest:service:{}"
LEASE_FOR = dt.timedelta(seconds=15)
PURGE_EVERY = dt.timedelta(seconds=60)
RETENTION_LEASE = "alerts:retention"
# Seconds of work per transaction when there is a backlog, and rows at most: on SQLite
# short (the web's inserts wait for the one write lock); on PostgreSQL longer (nobody
# waits for the drain's transaction, and each commit is a WAL flush).
TRANSACTION_TARGET = {"sqlite": 0.05}
TRANSACTION_TARGET_OTHER = 0.2
MAX_ROWS = {"sqlite": 50}
MAX_ROWS_OTHER = 200
CHECKPOINT_PAGES = 16_384  # 64 MB of WAL between checkpoints while draining (SQLite)


def ingest_lease(service_id: int) -> str:
    return INGEST_LEASE.format(service_id)


class IngestModule:
    name = "ingest"
    batch = 2000  # pending rows looked at per tick (all services)

    def __init__(self, worker_id: str | None = None) -> None:
        self.holder = f"{worker_id or uuid.uuid4().hex}:ingest"
        # Only a pace (how many rows fit in TRANSACTION_TARGET): a new worker relearns it.
        self.rows_per_transaction = 4
        self.checkpoint_wanted = False

    def tick(self, now: dt.datetime) -> int:
        pending = selectors.inbox_pending_by_service(limit=self.batch)
        if not pending:
            return 0
        sqlite_checkpoint_every(CHECKPOINT_PAGES)
        # Settings read once for the whole turn, not once per batch (core.memo): every row
        # of this turn was received before it began (`pending` above), so the settings it
        # is applied with are still read after its arrival, as before; a storm's batches
        # are a few rows of one service each, and their dozen settings reads were a third
        # of the drain's time (issue 10).
        with batch_memo():
            prime_services(pending)  # per-service settings of the turn's services, at once
            return self._tick(pending)

    def _tick(self, pending: dict[int, list[int]]) -> int:
        done = 0
        for service_id, pks in pending.items():
            if budget_spent():
                return max(done, 1)  # the rest next turn; a positive count comes back at once
            lease = ingest_lease(service_id)
            at = clock_now()
            if not lease_take(name=lease, holder=self.holder, at=at, until=at + LEASE_FOR):
                continue  # another worker drains this service now
            try:
                done += self._drain(service_id, lease, pks)
            finally:
                lease_release(name=lease, holder=self.holder)
        if sum(len(pks) for pks in pending.values()) < self.batch:  # the backlog is done
            # Checkpointed by WalCheckpointModule at the end of the turn: the checkpoint
            # syncs the database file (about 10 ms on a plain disk), which must not stand
            # between an alert and its page.
            self.checkpoint_wanted = True
        return done

    def _drain(self, service_id: int, lease: str, pks: list[int]) -> int:
        done = start = 0
        while start < len(pks):
            chunk = pks[start : start + self.rows_per_transaction]
            started = self._clock()
            with collector_paused():
                processed = services.inbox_process_batch(
                    pks=chunk,
                    lease_name=lease,
                    holder=self.holder,
                    lease_for=LEASE_FOR,
                    service_id=service_id,
                )
            if processed is None:
                return done  # our lease lapsed and another worker took the service
            done += processed
            start += len(chunk)
            self._pace(len(chunk), self._clock() - started)
            if budget_spent():
                break  # this turn's time is used up: the rest of the service next turn
        return done

    @staticmethod
    def _clock() -> float:
        """What a transaction's time is measured with. SQLite: this thread's CPU time. On
        a machine short of CPU (a storm: the web's processes and the worker share the
        cores) wall time shrank the batches to a row or two, each paying the batch's dozen
        fixed reads (the row look-ups, the settings of core.memo), so the drain slowed
        down just when it had most to do. PostgreSQL: wall time (its transactions also
        end at INCIDENT_HOLD, in wall time, and a CPU pace made them hold the incident
        counter for seconds under load)."""
        return time.thread_time() if connection.vendor == "sqlite" else time.perf_counter()

    def _pace(self, rows: int, seconds: float) -> None:
        """Rows per transaction for the next one: as many as fit in the target time
        (fewer commits under a backlog; on SQLite the write lock is never held long, so
        the web's inserts do not wait), at most doubling, between 1 and the maximum."""
        vendor = connection.vendor
        target = TRANSACTION_TARGET.get(vendor, TRANSACTION_TARGET_OTHER)
        fit = int(rows * target / max(seconds, 1e-6))
        limit = MAX_ROWS.get(vendor, MAX_ROWS_OTHER)
        self.rows_per_transaction = max(1, min(limit, 2 * rows, fit))

    def forget(self) -> None:
        """A clean stop hands every lease over at once."""
        leases_release_all(holder=self.holder)


class WalCheckpointModule:
    """SQLite: after the ingest module finished a backlog, copy the WAL into the database
    (core.db.sqlite_checkpoint), last in the turn, once the alerts' pages are on their
    way. Nothing on PostgreSQL."""

    name = "wal_checkpoint"

    def __init__(self, ingest: IngestModule) -> None:
        self.ingest = ingest

    def tick(self, now: dt.datetime) -> int:
        if self.ingest.checkpoint_wanted:
            self.ingest.checkpoint_wanted = False
            sqlite_checkpoint()
        return 0


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off for one batch (at most MAX_ROWS rows, a fraction of a
    second), on again after it. A batch keeps every event it decoded alive until its end:
    the collector ran hundreds of times over them and found almost nothing (13 % of the
    drain's CPU; docs/benchmarks.md). What a batch leaves in cycles is collected after."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class StormRefreshModule:
    name = "storm_titles"

    def tick(self, now: dt.datetime) -> int:
        return services.storms_refresh_due(at=now)


class RetentionModule:
    name = "retention"
    batch = 1000

    def __init__(self, worker_id: str | None = None) -> None:
        self.holder = f"{worker_id or uuid.uuid4().hex}:retention"

    def tick(self, now: dt.datetime) -> int:
        """Once every PURGE_EVERY (whichever worker comes first), and again at once while
        a batch came back full (there is more to delete)."""
        if not lease_due(name=RETENTION_LEASE, holder=self.holder, at=now, every=PURGE_EVERY):
            return 0
        rows = services.inbox_purge(at=now, limit=self.batch)
        changes = services.change_events_purge(at=now, limit=self.batch)
        if rows >= self.batch or changes >= self.batch:
            lease_release(name=RETENTION_LEASE, holder=self.holder)
        return rows + changes


class AlertHeartbeatModule:
    """A missed heartbeat opens (or joins) an incident of its service like an inbox row
    does, so it takes the service's ingest lease for it: the drain of that service keeps
    its storm and grouping in memory for a batch. A service being drained is tried again
    next tick."""

    name = "alert_heartbeats"
    batch = 100

    def __init__(self, worker_id: str | None = None) -> None:
        self.holder = f"{worker_id or uuid.uuid4().hex}:heartbeats"

    def tick(self, now: dt.datetime) -> int:
        missed = 0
        for pk, state, due_at, service_id in selectors.heartbeats_due(at=now, limit=self.batch):
            lease = ingest_lease(service_id)
            at = clock_now()
            if not lease_take(name=lease, holder=self.holder, at=at, until=at + LEASE_FOR):
                continue
            try:
                if services.heartbeat_missed(heartbeat_id=pk, state=state, due_at=due_at, at=now):
                    missed += 1
            finally:
                lease_release(name=lease, holder=self.holder)
        return missed
