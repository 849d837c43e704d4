"""The worker: an ordered list of modules, each advancing durable state every tick.

Nothing lives in memory between ticks: a crashed worker loses nothing, and several
workers are safe because every module claims its work with a compare-and-set.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import socket
import threading
import uuid
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import F

from tocsin.core.clock import now
from tocsin.engine.models import WorkerHeartbeat
from tocsin.engine.modules import EngineModule

log = logging.getLogger("tocsin.engine")

HEARTBEAT_KEEP = dt.timedelta(days=1)


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


def default_modules(worker_id: str) -> list[EngineModule]:
    from tocsin.alerts.engine import (
        AlertHeartbeatModule,
        IngestModule,
        RetentionModule,
        StormRefreshModule,
    )
    from tocsin.incidents.engine import AckTimeoutModule, AutoCloseModule, SlaBreachModule
    from tocsin.notify.engine import OutboxModule

    return [
        HeartbeatModule(worker_id),
        IngestModule(worker_id),
        StormRefreshModule(),
        RetentionModule(worker_id),
        AlertHeartbeatModule(worker_id),
        AckTimeoutModule(),
        SlaBreachModule(),
        AutoCloseModule(),
        OutboxModule(),
    ]


def make_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def run_tick(modules: Sequence[EngineModule], at: dt.datetime | None = None) -> dict[str, int]:
    """One pass over every module; a failing module is logged and the others still run."""
    at = at or now()
    done: dict[str, int] = {}
    for module in modules:
        try:
            done[module.name] = module.tick(at)
        except Exception:
            log.exception("engine module %s failed; it will be retried next tick", module.name)
            done[module.name] = -1
    return done


def run_forever(
    modules: Sequence[EngineModule] | None = None,
    *,
    stop: threading.Event | None = None,
    max_ticks: int | None = None,
) -> int:
    """Tick until SIGTERM/SIGINT (or `stop`, or `max_ticks`); the tick in progress finishes.

    All state lives in the database, each module commits its own transactions, so a
    stop (clean or not) loses nothing: the next worker picks up where this one was.
    """
    worker_id = make_worker_id()
    modules = list(modules) if modules is not None else default_modules(worker_id)
    stop = stop or threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        log.info("worker %s stopping on signal %s", worker_id, signum)
        stop.set()

    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, _stop)
    log.info("worker %s started with modules: %s", worker_id, ", ".join(m.name for m in modules))
    ticks = 0
    try:
        while not stop.is_set():
            try:
                close_old_connections()
            except Exception:
                log.exception("could not reset the database connection; retrying")
            result = run_tick(modules)
            ticks += 1
            if max_ticks is not None and ticks >= max_ticks:
                break
            busy = any(count > 0 for count in result.values())
            stop.wait(0 if busy else settings.TOCSIN_ENGINE_TICK_SECONDS)
        for module in modules:
            forget = getattr(module, "forget", None)
            if forget is not None:
                try:
                    forget()
                except Exception:
                    log.exception("engine module %s failed to clean up", module.name)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    log.info("worker %s stopped after %d ticks", worker_id, ticks)
    return 0
