"""Drain Tocsin's inbox with the worker's own engine ticks; print what it took as JSON.

Run with Tocsin's environment (TOCSIN_DATA_DIR, DATABASE_URL), after a load phase:

    python bench/ingest/tocsin_drain.py --timeout 120 [--workers 2]

It counts the pending inbox rows and the events they carry, then runs
`tocsin.engine.engine.run_tick` over the worker's modules (exactly what `tocsin worker`
does, minus the idle sleep and the start-up) until no row is pending, and reports the
time, the rows and events drained per second, and the outcomes recorded.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any


def _modules() -> list[Any]:
    """The worker's modules; the ingest module added if the worker does not list it yet."""
    from tocsin.engine.engine import default_modules, make_worker_id

    modules = list(default_modules(make_worker_id()))
    if any("ingest" in str(getattr(m, "name", "")).lower() for m in modules):
        return modules
    try:
        from tocsin.alerts import engine as alerts_engine
    except ImportError:
        return modules
    for value in vars(alerts_engine).values():
        if (
            isinstance(value, type)
            and value.__module__ == alerts_engine.__name__
            and "ingest" in value.__name__.lower()
            and callable(getattr(value, "tick", None))
        ):
            try:
                modules.insert(1, value())
            except TypeError:
                continue
            break
    return modules


def _pending() -> tuple[int, int]:
    """Pending inbox rows and the normalised events they hold."""
    from django.db import connection

    from tocsin.alerts.models import InboxEvent

    table = InboxEvent._meta.db_table
    length = "jsonb_array_length" if connection.vendor == "postgresql" else "json_array_length"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*), COALESCE(SUM({length}(events)), 0) FROM {table} WHERE state = %s",
            ["pending"],
        )
        rows, events = cursor.fetchone()
    return int(rows), int(events)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument(
        "--workers", type=int, default=1, help="drain in this many processes at once"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tocsin.settings")
    import django

    django.setup()
    from django.db.models import Count

    from tocsin.alerts.models import Alert, InboxEvent
    from tocsin.engine.engine import run_tick
    from tocsin.incidents.models import Incident

    modules = _modules()
    has_ingest = any("ingest" in str(getattr(m, "name", "")).lower() for m in modules)
    rows, events = _pending()
    alerts_before = Alert.objects.count()
    incidents_before = Incident.objects.count()
    ticks = 0
    failed_ticks = 0
    # BENCH_DRAIN_PROFILE=prefix: the drain under cProfile, written to prefix-<pid>.prof
    # (the drain's figure is then the profiler's, not the drain's).
    profile_to = os.environ.get("BENCH_DRAIN_PROFILE", "")
    # CPU time, not wall: with several workers, waits for each other are not work.
    profiler = cProfile.Profile(time.process_time) if profile_to else None
    if profiler is not None:
        profiler.enable()
    started = time.perf_counter()
    cpu_started = time.process_time()
    left_rows, left_events = rows, events
    children: list[subprocess.Popen[bytes]] = []
    if args.workers > 1 and not args.child:
        # The others drain in processes of their own (each its own connection); this one
        # drains too. Each service's rows go to one of them at a time (its lease).
        command = [sys.executable, __file__, "--child", "--timeout", str(args.timeout)]
        children = [subprocess.Popen(command) for _ in range(args.workers - 1)]
    while has_ingest and left_rows and time.perf_counter() - started < args.timeout:
        result = run_tick(modules)
        ticks += 1
        failed_ticks += sum(1 for value in result.values() if value < 0)
        # Only whether rows are left: counting their events means SQLite parsing every
        # pending row's JSON, seconds of the measured time when thousands are left.
        left_rows = InboxEvent.objects.filter(state="pending").count()
        if left_rows and not any(value > 0 for value in result.values()):
            # Every service with rows left is another worker's now: wait as an idle
            # `tocsin worker` does, instead of spinning on the 2 cores the others need.
            time.sleep(0.01)
    for child in children:
        child.wait()
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu += usage.ru_utime + usage.ru_stime
    if args.child:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(f"{profile_to}-{os.getpid()}.prof")
        for module in modules:
            forget = getattr(module, "forget", None)
            if forget is not None:
                forget()
        return 0
    # As `tocsin worker` does when it stops: hand the ingest lease over at once. Without
    # this the next scenario's drain (another process) waited out the lease (15 s).
    for module in modules:
        forget = getattr(module, "forget", None)
        if forget is not None:
            forget()
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(f"{profile_to}-{os.getpid()}.prof")
    if left_rows:
        left_rows, left_events = _pending()
    else:
        left_events = 0
    drained_events = events - left_events
    outcomes = dict(
        InboxEvent.objects.exclude(outcome="")
        .values_list("outcome")
        .annotate(n=Count("id"))
        .values_list("outcome", "n")
    )
    json.dump(
        {
            "modules": [str(getattr(m, "name", type(m).__name__)) for m in modules],
            "rows": rows,
            "events": events,
            "rows_left": left_rows,
            "events_left": left_events,
            "seconds": round(seconds, 3),
            "workers": args.workers,
            # The drain's own CPU time (every worker process; not the database server's).
            "cpu_seconds": round(cpu, 3),
            "cpu_ms_per_row": round(cpu / (rows - left_rows) * 1000, 3)
            if rows > left_rows
            else None,
            "ticks": ticks,
            "failed_module_ticks": failed_ticks,
            "rows_per_s": round((rows - left_rows) / seconds, 1) if seconds > 0 else None,
            "events_per_s": round(drained_events / seconds, 1) if seconds > 0 else None,
            "alerts_created": Alert.objects.count() - alerts_before,
            "incidents_created": Incident.objects.count() - incidents_before,
            "outcomes_total": outcomes,
            "timed_out": has_ingest and bool(left_rows),
            "error": "" if has_ingest else "the worker has no ingest module yet",
        },
        sys.stdout,
    )
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
