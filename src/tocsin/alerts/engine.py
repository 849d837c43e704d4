"""Engine modules of the alerts app.

ingest_manager (`IngestModule`): turns pending inbox rows into alerts and incidents, in
arrival order, a batch per tick; each row's effects and its outcome are committed
together, several rows to a transaction when there is a backlog (about 50 ms of work,
see `_pace`), each row in a savepoint of its own.
One worker at a time holds the ingest lease (a row in EngineLease taken with a
compare-and-set), so rows of an integration are never applied out of order by two
workers; the lease is renewed inside every transaction, and a worker that lost it
stops its batch. Each row is also claimed with a compare-and-set (pending -> done), so
no row is ever applied twice.

heartbeat_manager (`AlertHeartbeatModule`): a heartbeat that is up and past its due
time goes down and opens an incident; all its state is in the Heartbeat table, so a
restarted worker carries on exactly where the last one was.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid

from tocsin.alerts import selectors, services
from tocsin.core.db import sqlite_checkpoint, sqlite_checkpoint_every

INGEST_LEASE = "ingest"
LEASE_FOR = dt.timedelta(seconds=15)
PURGE_EVERY = dt.timedelta(seconds=60)
TRANSACTION_TARGET = 0.05  # seconds of work per transaction when there is a backlog
MAX_ROWS = 50
CHECKPOINT_PAGES = 16_384  # 64 MB of WAL between checkpoints while draining (SQLite)


class IngestModule:
    name = "ingest"
    batch = 200
    purge_batch = 1000

    def __init__(self, worker_id: str | None = None) -> None:
        self.holder = worker_id or f"ingest-{uuid.uuid4().hex}"
        self.rows_per_transaction = 4
        self._next_purge: dt.datetime | None = None

    def tick(self, now: dt.datetime) -> int:
        if not services.lease_take(
            name=INGEST_LEASE, holder=self.holder, at=now, until=now + LEASE_FOR
        ):
            return 0
        done = 0
        pending = selectors.inbox_pending_ids(limit=self.batch)
        if pending:
            sqlite_checkpoint_every(CHECKPOINT_PAGES)
        start = 0
        while start < len(pending):
            chunk = pending[start : start + self.rows_per_transaction]
            started = time.perf_counter()
            processed = services.inbox_process_batch(
                pks=chunk, lease_name=INGEST_LEASE, holder=self.holder, lease_for=LEASE_FOR
            )
            if processed is None:
                return done  # another worker holds the lease now
            done += processed
            start += len(chunk)
            self._pace(len(chunk), time.perf_counter() - started)
        if pending and len(pending) < self.batch:  # the backlog is done
            sqlite_checkpoint()
        services.storms_refresh_due(at=now)
        return done + self._purge(now)

    def _pace(self, rows: int, seconds: float) -> None:
        """Rows per transaction for the next one: as many as fit in TRANSACTION_TARGET
        (fewer commits under a backlog; on SQLite the write lock is never held long, so
        the web's inserts do not wait), at most doubling, between 1 and MAX_ROWS."""
        fit = int(rows * TRANSACTION_TARGET / max(seconds, 1e-6))
        self.rows_per_transaction = max(1, min(MAX_ROWS, 2 * rows, fit))

    def _purge(self, now: dt.datetime) -> int:
        """Retention, a batch at a time: again next tick while there is more to delete."""
        if self._next_purge is not None and now < self._next_purge:
            return 0
        purged = services.inbox_purge(at=now, limit=self.purge_batch)
        purged += services.change_events_purge(at=now, limit=self.purge_batch)
        if purged < self.purge_batch:
            self._next_purge = now + PURGE_EVERY
        return purged

    def forget(self) -> None:
        """A clean stop hands the lease over at once."""
        services.lease_release(name=INGEST_LEASE, holder=self.holder)


class AlertHeartbeatModule:
    name = "alert_heartbeats"
    batch = 100

    def tick(self, now: dt.datetime) -> int:
        missed = 0
        for pk, state, due_at in selectors.heartbeats_due(at=now, limit=self.batch):
            if services.heartbeat_missed(heartbeat_id=pk, state=state, due_at=due_at, at=now):
                missed += 1
        return missed
