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

from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import F

from tocsin.core.clock import now
from tocsin.engine.models import WorkerHeartbeat
from tocsin.engine.modules import EngineModule

log = logging.getLogger("tocsin.engine")


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
        return 0


def default_modules(worker_id: str) -> list[EngineModule]:
    from tocsin.incidents.engine import AutoCloseModule, SlaBreachModule

    return [HeartbeatModule(worker_id), SlaBreachModule(), AutoCloseModule()]


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
    worker_id = make_worker_id()
    modules = list(modules) if modules is not None else default_modules(worker_id)
    stop = stop or threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        log.info("worker %s stopping on signal %s", worker_id, signum)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    log.info("worker %s started with modules: %s", worker_id, ", ".join(m.name for m in modules))
    ticks = 0
    while not stop.is_set():
        close_old_connections()
        result = run_tick(modules)
        ticks += 1
        if max_ticks is not None and ticks >= max_ticks:
            break
        busy = any(count > 0 for count in result.values())
        stop.wait(0 if busy else settings.TOCSIN_ENGINE_TICK_SECONDS)
    log.info("worker %s stopped after %d ticks", worker_id, ticks)
    return 0
