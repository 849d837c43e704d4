"""The worker: an ordered list of modules, each advancing durable state every tick.

Nothing lives in memory between ticks: a crashed worker loses nothing, and several
workers are safe because every module claims its work with a compare-and-set.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import F

from tocsin.core import instruments, wake
from tocsin.core.clock import now
from tocsin.engine.models import WorkerHeartbeat
from tocsin.engine.modules import EngineModule, turn

log = logging.getLogger("tocsin.engine")

# Whether a module earlier in the current pass (run_tick) did work: read by the modules
# that give way to the alert path during a storm (Every(..., defer_while_busy=...)).
_busy_pass: contextvars.ContextVar[bool] = contextvars.ContextVar("busy_pass", default=False)

HEARTBEAT_KEEP = dt.timedelta(days=1)
# How long work nobody waits for (the reports' facts, retention) may give way to a busy
# alert path (Every's defer_while_busy).
REPORTS_MAX_DEFER = 60.0
# How long the timers that only watch (SLA warnings and breaches, the status page's
# derived components) may give way to it: a storm's pages go first, and these still run
# every few seconds during it. Between them they took a seventh of the engine thread's
# time in a storm (docs/benchmarks.md), each turn reading every open incident.
TIMERS_MAX_DEFER = 10.0
# A storm's passes do not all find work on the alert path (the outbox's threads are
# sending, the next alerts are not committed yet): deferred work still waits for BUSY_LINGER
# seconds after the last pass that found some, so it does not run in those gaps. (In a
# profiled storm of 500 alerts the reports' facts, the status page's derivation and the SLA
# warnings ran in the gaps: a sixth of the engine's time, docs/benchmarks.md.)
BUSY_LINGER = dt.timedelta(seconds=3)


class HeartbeatModule:
    """Proves this worker is alive (read by /readyz)."""

    name = "heartbeat"

    def __init__(self, worker_id: str) -> None:
        self.worker_id = worker_id
        self.started_at = now()

    def tick(self, now: dt.datetime) -> int:
        with transaction.atomic():
            updated = WorkerHeartbeat.objects.filter(worker_id=self.worker_id).update(
                last_seen_at=now, ticks=F("ticks") + 1
            )
            if not updated:
                WorkerHeartbeat.objects.create(
                    worker_id=self.worker_id, started_at=self.started_at, last_seen_at=now, ticks=1
                )
                # Rows of workers gone for a day (killed, never stopped cleanly) are pruned.
                WorkerHeartbeat.objects.filter(last_seen_at__lt=now - HEARTBEAT_KEEP).delete()
        return 0

    def forget(self) -> None:
        """A clean stop: this worker no longer counts for /readyz."""
        WorkerHeartbeat.objects.filter(worker_id=self.worker_id).delete()


class Every:
    """A module whose work only time makes due (heartbeats, timers, purges) runs at most
    once every `seconds` of engine time while it finds nothing to do, rather than on every
    wake-up: a worker woken by each committed alert then spends its turn on the modules
    that move that alert (ingest, escalation, outbox). A turn that did work is followed
    by another at once, as for every module."""

    def __init__(
        self, module: EngineModule, seconds: float, *, defer_while_busy: float = 0.0
    ) -> None:
        self.module = module
        self.name = module.name
        self.every = dt.timedelta(seconds=seconds)
        # Work nobody waits for (the reports' facts, purges): while the alert path
        # (ingest, escalation, outbox) found work earlier in the same pass, or in one
        # less than BUSY_LINGER ago — a storm — its turn waits, up to `defer_while_busy`
        # seconds after its last turn, so the pages go first.
        self.defer = dt.timedelta(seconds=defer_while_busy)
        self.last: dt.datetime | None = None
        self.ran: dt.datetime | None = None  # its last turn, for the deferral's bound
        self.busy_at: dt.datetime | None = None  # the last pass it saw busy (BUSY_LINGER)

    def tick(self, now: dt.datetime) -> int:
        if self.defer and _busy_pass.get():
            self.busy_at = now
        if self.last is not None and self.last <= now < self.last + self.every:
            return 0
        if (
            self.defer
            and self.busy_at is not None
            and self.busy_at <= now < self.busy_at + BUSY_LINGER
            and self.ran is not None
            and self.ran <= now < self.ran + self.defer
        ):
            return 0
        done = self.module.tick(now)
        self.ran = now
        self.last = None if done else now
        return done

    def __getattr__(self, name: str) -> Any:  # forget(), in_flight(), ... of the module
        return getattr(self.module, name)


def default_modules(worker_id: str) -> list[EngineModule]:
    from tocsin.alerts.engine import (
        AlertHeartbeatModule,
        IngestModule,
        RetentionModule,
        StormRefreshModule,
        WalCheckpointModule,
    )
    from tocsin.comms.derive import StatusDeriveModule
    from tocsin.comms.engine import MajorModule
    from tocsin.comms.update_engine import UpdateReminderModule
    from tocsin.escalation.engine import EscalationModule
    from tocsin.escalation.handoff import HandoffModule
    from tocsin.escalation.sla import SlaWarningModule
    from tocsin.incidents.engine import AckTimeoutModule, AutoCloseModule, SlaBreachModule
    from tocsin.learning.engine import ActionItemReminderModule
    from tocsin.notify.engine import OutboxModule, worker_threads
    from tocsin.reports.engine import ReportFactsModule

    timers = settings.TOCSIN_ENGINE_TIMER_SECONDS
    # An alert's path comes first (ingest, its escalation step, the outbox), then the
    # modules that only the clock makes due. The outbox sends what later modules queue
    # (SLA warnings, hand-off notices) on the next turn, which follows at once.
    ingest = IngestModule(worker_id)
    return [
        ingest,
        Every(AckTimeoutModule(), timers),
        EscalationModule(),
        OutboxModule(threads=worker_threads()),  # sends in threads of its own
        Every(HeartbeatModule(worker_id), timers),
        Every(StormRefreshModule(), timers),
        Every(RetentionModule(worker_id), 5 * timers, defer_while_busy=REPORTS_MAX_DEFER),
        Every(AlertHeartbeatModule(worker_id), timers),
        # (it looks every 5 s by itself; Every only adds the deferral)
        Every(SlaWarningModule(), 0, defer_while_busy=TIMERS_MAX_DEFER),
        HandoffModule(),
        Every(MajorModule(), timers),  # commander deadlines (the rota's climb: escalation)
        Every(SlaBreachModule(), timers, defer_while_busy=TIMERS_MAX_DEFER),
        Every(AutoCloseModule(), 5 * timers),
        Every(StatusDeriveModule(), timers, defer_while_busy=TIMERS_MAX_DEFER),
        UpdateReminderModule(),  # looks every 5 s by itself, like the SLA warnings
        Every(ActionItemReminderModule(), 5 * timers),
        # the reports may lag a storm by up to a minute: its pages go first
        Every(ReportFactsModule(), 5 * timers, defer_while_busy=REPORTS_MAX_DEFER),
        WalCheckpointModule(ingest),
    ]


# Always kept by `select_modules(only=...)`: it is what proves the process alive.
ALWAYS = ("heartbeat",)


def select_modules(
    modules: Sequence[EngineModule], *, only: Sequence[str] = (), skip: Sequence[str] = ()
) -> list[EngineModule]:
    """The modules a `tocsin worker --only/--skip` runs, in the engine's order. Several
    workers never do the same work twice (leases, compare-and-set claims), so workers
    that split the modules between them (`tocsin up`: the outbox's sends in a process of
    their own) still do all of it once. ValueError names a module there is not."""
    names = [module.name for module in modules]
    unknown = [name for name in [*only, *skip] if name not in names]
    if unknown:
        raise ValueError(f"no engine module {unknown[0]!r} (there are: {', '.join(names)})")
    if only and skip:
        raise ValueError("give --only or --skip, not both")
    if only:
        return [m for m in modules if m.name in only or m.name in ALWAYS]
    return [m for m in modules if m.name not in skip]


def make_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def run_tick(
    modules: Sequence[EngineModule],
    at: dt.datetime | None = None,
    *,
    budget: float | None = None,
) -> dict[str, int]:
    """One pass over every module; a failing module is logged and the others still run.

    Each module gets `now()` as its turn comes (or `at`, for tests that set the time)
    and `budget` seconds (default TOCSIN_ENGINE_MODULE_BUDGET_SECONDS): modules that loop
    stop when it is spent and return a positive count, so the worker comes back at once
    after the others had their turn.
    """
    if budget is None:
        budget = settings.TOCSIN_ENGINE_MODULE_BUDGET_SECONDS
    done: dict[str, int] = {}
    busy = _busy_pass.set(False)
    try:
        for module in modules:
            _run_module(module, at, budget, done)
            if done[module.name] > 0:
                _busy_pass.set(True)
    finally:
        _busy_pass.reset(busy)
    return done


def _run_module(
    module: EngineModule, at: dt.datetime | None, budget: float, done: dict[str, int]
) -> None:
    started = time.monotonic()
    try:
        with turn(budget):
            done[module.name] = module.tick(at or now())
    except Exception:
        log.exception("engine module %s failed; it will be retried next tick", module.name)
        done[module.name] = -1
    took = time.monotonic() - started
    # /metrics (issue 13): tocsin_engine_module_duration_seconds{module}
    instruments.engine_module_turn(module.name, took, failed=done[module.name] == -1)
    if took > 2 * budget + 1:
        log.warning("engine module %s took %.1fs (budget %.1fs)", module.name, took, budget)


class Waiter:
    """How an idle worker waits: until new work is committed, the tick, or a stop.

    `mark()` is called before each tick, `wait(seconds)` after an idle one. Subclasses
    return early when another connection committed something since `mark()`.
    """

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop

    def mark(self) -> None:
        return None

    def wait(self, seconds: float) -> bool:
        """True when woken by new work, False on timeout or stop."""
        self.stop.wait(seconds)
        return False

    def close(self) -> None:
        return None


class SqliteWaiter(Waiter):
    """SQLite: `PRAGMA data_version` changes when another connection commits; polled on
    the worker's own connection every TOCSIN_ENGINE_SQLITE_POLL_SECONDS while idle."""

    def __init__(self, stop: threading.Event) -> None:
        super().__init__(stop)
        self.version: int | None = None

    def _read(self) -> int | None:
        try:
            connection.ensure_connection()
            # The raw sqlite3 connection: 40 reads a second through Django's cursor
            # wrapper cost more than the read itself.
            row = connection.connection.execute("PRAGMA data_version").fetchone()
        except Exception:
            log.exception("could not read PRAGMA data_version; waiting for the tick")
            return None
        return int(row[0]) if row else None

    def mark(self) -> None:
        self.version = self._read()

    def wait(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        poll = settings.TOCSIN_ENGINE_SQLITE_POLL_SECONDS
        while not self.stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if self.version is not None and self._read() != self.version:
                return True
            self.stop.wait(min(poll, left))
        return False


class PostgresWaiter(Waiter):
    """PostgreSQL: `LISTEN tocsin_work` on a connection of its own (autocommit); the
    services that commit work `NOTIFY tocsin_work` (tocsin.core.wake)."""

    SLICE = 0.25  # seconds: how soon a stop is noticed while waiting

    def __init__(self, stop: threading.Event) -> None:
        super().__init__(stop)
        self.conn: Any = None

    def _listen(self) -> Any:
        if self.conn is None or self.conn.closed:
            conn = connection.get_new_connection(connection.get_connection_params())
            conn.autocommit = True
            conn.execute(f"LISTEN {wake.CHANNEL}")
            self.conn = conn
        return self.conn

    def _drop(self) -> None:
        log.exception("the LISTEN connection failed; waiting for the tick and reconnecting")
        with contextlib.suppress(Exception):
            if self.conn is not None:
                self.conn.close()
        self.conn = None

    def mark(self) -> None:
        """Forget notifications for work this tick is about to see anyway."""
        try:
            conn = self._listen()
            for _ in conn.notifies(timeout=0):
                pass
        except Exception:
            self._drop()

    def wait(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while not self.stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                conn = self._listen()
                for _ in conn.notifies(timeout=min(self.SLICE, left), stop_after=1):
                    return True
            except Exception:
                self._drop()
                self.stop.wait(max(0.0, deadline - time.monotonic()))
                return False
        return False

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if self.conn is not None:
                self.conn.close()
        self.conn = None


def make_waiter(stop: threading.Event) -> Waiter:
    if connection.vendor == "postgresql":
        return PostgresWaiter(stop)
    if connection.vendor == "sqlite":
        return SqliteWaiter(stop)
    return Waiter(stop)


def run_forever(
    modules: Sequence[EngineModule] | None = None,
    *,
    stop: threading.Event | None = None,
    max_ticks: int | None = None,
    only: Sequence[str] = (),
    skip: Sequence[str] = (),
) -> int:
    """Tick until SIGTERM/SIGINT (or `stop`, or `max_ticks`); the tick in progress finishes.

    After a tick that did work the next starts at once; after an idle one the worker
    waits until new work is committed (PostgreSQL NOTIFY, SQLite data_version) or
    TOCSIN_ENGINE_TICK_SECONDS pass, whichever comes first.

    All state lives in the database, each module commits its own transactions, so a
    stop (clean or not) loses nothing: the next worker picks up where this one was.
    """
    worker_id = make_worker_id()
    modules = list(modules) if modules is not None else default_modules(worker_id)
    modules = select_modules(modules, only=only, skip=skip)
    stop = stop or threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        log.info("worker %s stopping on signal %s", worker_id, signum)
        stop.set()

    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, _stop)
    log.info("worker %s started with modules: %s", worker_id, ", ".join(m.name for m in modules))
    waiter = make_waiter(stop)
    ticks = 0
    try:
        while not stop.is_set():
            try:
                close_old_connections()
            except Exception:
                log.exception("could not reset the database connection; retrying")
            waiter.mark()
            result = run_tick(modules)
            ticks += 1
            if max_ticks is not None and ticks >= max_ticks:
                break
            if not any(count > 0 for count in result.values()):
                waiter.wait(settings.TOCSIN_ENGINE_TICK_SECONDS)
        for module in modules:
            forget = getattr(module, "forget", None)
            if forget is not None:
                try:
                    forget()
                except Exception:
                    log.exception("engine module %s failed to clean up", module.name)
    finally:
        waiter.close()
        for number, handler in previous.items():
            signal.signal(number, handler)
    log.info("worker %s stopped after %d ticks", worker_id, ticks)
    return 0
