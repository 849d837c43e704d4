"""Where the time of one ingest request, or of the drain, goes: cProfile in one process.

    .venv/bin/python bench/ingest/profile_ingest.py request-pd --n 500
    .venv/bin/python bench/ingest/profile_ingest.py request-am --n 50
    .venv/bin/python bench/ingest/profile_ingest.py drain-pd --n 500
    .venv/bin/python bench/ingest/profile_ingest.py drain-dup --n 500   # duplicates, (c)
    .venv/bin/python bench/ingest/profile_ingest.py drain-am --n 20
    .venv/bin/python bench/ingest/profile_ingest.py drain-am-resend --n 200  # re-sent groups

A fresh SQLite database in a temporary directory (or --database-url), the real
services to create keys, the bench's own bodies (run.py), Django's test client for the
requests (the whole middleware stack and view, without gunicorn) and the worker's own
`run_tick` for the drain. Prints the wall time per request or per event without the
profiler, then the top functions by cumulative and by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import pstats
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "what",
        choices=(
            "request-pd",
            "request-am",
            "drain-pd",
            "drain-dup",
            "drain-am",
            "drain-am-resend",
        ),
    )
    parser.add_argument("--n", type=int, default=300, help="requests (posted or drained)")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument(
        "--services", type=int, default=1, help="spread the integrations over this many"
    )
    parser.add_argument(
        "--plain", action="store_true", help="drain: time it without the profiler, print no profile"
    )
    parser.add_argument("--database-url", default="", help="an empty database to use instead")
    parser.add_argument("--save", default="", help="also write the profile to this file (pstats)")
    args = parser.parse_args()
    # Never write into whatever database the caller's environment points at.
    os.environ.pop("DATABASE_URL", None)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url

    own_dir = None
    if not os.environ.get("TOCSIN_DATA_DIR"):
        own_dir = tempfile.mkdtemp(prefix="tocsin-profile-")
        os.environ["TOCSIN_DATA_DIR"] = own_dir
    try:
        return profile(args)
    finally:
        if own_dir:
            shutil.rmtree(own_dir, ignore_errors=True)


def profile(args: argparse.Namespace) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tocsin.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from run import alertmanager_snapshot, compact, pagerduty_event

    from tocsin.alerts.models import InboxEvent
    from tocsin.catalog.services import integration_create, service_create
    from tocsin.core.actors import Actor
    from tocsin.engine.engine import default_modules, make_worker_id, run_tick

    call_command("migrate", verbosity=0)
    services = [
        service_create(name=f"profile-{n}-{time.monotonic_ns()}", actor=Actor.system("bench setup"))
        for n in range(args.services)
    ]
    kind = "alertmanager" if "-am" in args.what else "pagerduty"
    # drain-am-resend: what a real Alertmanager sends most: the same 20 groups (one a key)
    # again and again, every alert still firing (each group_interval / repeat_interval)
    resend = args.what == "drain-am-resend"
    # drain-dup: scenario (c), the same 50 dedup keys over and over (merges after the first)
    distinct = 50 if args.what == "drain-dup" else None
    keys = [
        integration_create(
            service=services[n % len(services)], kind=kind, actor=Actor.system("bench setup")
        )[1]
        for n in range(max(20, len(services)))
    ]

    def request(n: int) -> tuple[str, str]:
        key = keys[n % len(keys)]
        if kind == "pagerduty":
            dedup = f"p-{n % distinct}" if distinct else f"p-{n}"
            return "/v2/enqueue", compact(pagerduty_event(key, dedup, n))
        group = n % len(keys) if resend else n
        fingerprint = f"{group:010x}"
        return (
            f"/integrations/alertmanager/{key}",
            compact(alertmanager_snapshot(f"g{group}", fingerprint)),
        )

    client = Client()
    events_per_request = 1 if kind == "pagerduty" else 100

    def post(n: int) -> None:
        path, body = request(n)
        reply = client.post(path, data=body, content_type="application/json")
        if reply.status_code >= 300:
            raise SystemExit(f"{path}: {reply.status_code} {reply.content[:300]!r}")

    profiler = cProfile.Profile()
    if args.what.startswith("request"):
        for n in range(10):  # warm-up: imports, caches
            post(n)
        started = time.perf_counter()
        for n in range(10, 10 + args.n):
            post(n)
        plain = time.perf_counter() - started
        profiler.enable()
        for n in range(10 + args.n, 10 + 2 * args.n):
            post(n)
        profiler.disable()
        print(
            f"{args.what}: {plain / args.n * 1000:.2f} ms a request without the profiler "
            f"({args.n / plain:.0f} requests/s in one process)"
        )
    else:
        for n in range(args.n):
            post(n)
        modules = default_modules(make_worker_id())
        pending = InboxEvent.objects.filter(state="pending").count()
        statements: Counter[str] = Counter()
        shapes: Counter[str] = Counter()  # PROFILE_SQL=1: each statement's start, counted
        waited: Counter[str] = Counter()  # and the wall time each shape took, in seconds

        def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            statements[sql.split(None, 1)[0].upper()] += 1
            if not os.environ.get("PROFILE_SQL"):
                return execute(sql, params, many, context)
            shapes[sql[:150]] += 1
            began = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                waited[sql[:150]] += time.perf_counter() - began

        collecting = [0.0, 0, 0.0]  # the garbage collector: seconds, runs, start

        def on_gc(phase: str, info: dict[str, Any]) -> None:
            if phase == "start":
                collecting[2] = time.perf_counter()
            else:
                collecting[0] += time.perf_counter() - collecting[2]
                collecting[1] += 1

        gc.callbacks.append(on_gc)
        server_pid = backend_pid(connection)
        server_started = process_cpu(server_pid)
        started = time.perf_counter()
        cpu_started = time.process_time()
        if not args.plain:
            profiler.enable()
        ticks = 0
        with connection.execute_wrapper(count):
            while InboxEvent.objects.filter(state="pending").exists() and ticks < 10_000:
                run_tick(modules)
                ticks += 1
        profiler.disable()
        took = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        server = process_cpu(server_pid) - server_started
        gc.callbacks.remove(on_gc)
        events = pending * events_per_request
        print(
            f"{args.what}: {pending} rows, {events} events drained in {took:.2f} s "
            f"({cpu:.2f} s CPU) with the profiler {'off' if args.plain else 'on'} "
            f"({events / took:.0f} events/s, {events / cpu:.0f} events per CPU second, "
            f"{ticks} ticks)"
        )
        # Statements the drain sent (the loop's own pending check included), per row.
        total = sum(statements.values())
        print(
            f"statements: {total / pending:.2f} a row ("
            + ", ".join(f"{verb} {n / pending:.2f}" for verb, n in statements.most_common())
            + f"); CPU {cpu / pending * 1000:.3f} ms a row"
            + (f", server {server / pending * 1000:.3f} ms a row" if server_pid else "")
            + f"; garbage collector {collecting[1]} runs, {collecting[0] * 1000:.0f} ms"
        )
        for shape, n in shapes.most_common(25):
            print(f"  {n / pending:6.2f} {waited[shape] / pending * 1000:7.3f} ms  {shape[:110]}")
        if args.plain:
            return 0
    if args.save:
        profiler.dump_stats(args.save)
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.strip_dirs().sort_stats(order).print_stats(args.top)
        print(f"--- top {args.top} by {order} ---")
        print("\n".join(out.getvalue().splitlines()[6:]))
    return 0


def backend_pid(connection: Any) -> int | None:
    """The PostgreSQL backend serving this connection (on this machine), else None."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = int(cursor.fetchone()[0])
    return pid if Path(f"/proc/{pid}/stat").exists() else None


def process_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) another process of this machine has used; 0 if unknown."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    sys.exit(main())
