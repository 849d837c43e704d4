"""Where the worker's time goes during a paging storm: one process, per module, per alert.

    .venv/bin/python bench/paging/profile_storm.py --n 200 --services 10
    .venv/bin/python bench/paging/profile_storm.py --n 200 --profile   # + cProfile top
    .venv/bin/python bench/paging/profile_storm.py --database-url postgresql://.../db

A fresh database (SQLite in a temporary directory, or an EMPTY PostgreSQL database given
with --database-url), the organisation of bench/paging (tocsin_side.setup: one person
with a webhook contact method per service, a one-level policy, a PagerDuty key), the
benchmark's receiver (run.Receiver, HTTP on loopback). The storm's `--n` PagerDuty events
are posted through Django's test client (the whole web stack) first, then the worker's
own modules (`default_modules`) are ticked with `run_tick` until every page arrived.
Prints, per engine module: CPU-free wall time and statements, per alert; the storm's
CPU time and statements per alert; and each page's time from the start of the drain.
The machine may be busy: the per-alert statements and CPU time are the figures to
compare, not the wall time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="storm alerts")
    parser.add_argument("--services", type=int, default=10)
    parser.add_argument("--profile", action="store_true", help="cProfile the drain")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--dump", default="", help="with --profile: save the stats to this file")
    parser.add_argument("--sql", action="store_true", help="print statement shapes per alert")
    parser.add_argument(
        "--sync", action="store_true", help="the outbox sends in the engine thread (profiled)"
    )
    parser.add_argument("--database-url", default="", help="an EMPTY database to use")
    args = parser.parse_args()
    os.environ.pop("DATABASE_URL", None)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    os.environ["TOCSIN_OUTBOUND_ALLOW"] = "127.0.0.1/32"
    own_dir = tempfile.mkdtemp(prefix="tocsin-storm-")
    os.environ["TOCSIN_DATA_DIR"] = own_dir
    try:
        return run(args)
    finally:
        shutil.rmtree(own_dir, ignore_errors=True)


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tocsin.settings")
    import django

    django.setup()
    import run as paging_run
    import tocsin_side
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from tocsin.engine.engine import default_modules, make_worker_id, run_tick

    call_command("migrate", verbosity=0)
    receiver = paging_run.Receiver()
    setup = tocsin_side.setup(
        argparse.Namespace(
            receiver=receiver.url,
            channel="auto",
            storm_services=args.services,
            accuracy=0,
            accuracy_services=0,
        )
    )
    keys = setup["keys"]["storm"]
    client = Client()
    markers = []
    accept_statements = [0]

    def count_accept(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        accept_statements[0] += 1
        return execute(sql, params, many, context)

    accept_cpu = time.thread_time()
    with connection.execute_wrapper(count_accept):
        for n in range(args.n):
            marker = f"bench-b-{n}"
            markers.append(marker)
            reply = client.post(
                "/v2/enqueue",
                data=paging_run.pd_event(keys[n % len(keys)], marker),
                content_type="application/json",
            )
            assert reply.status_code < 300, reply.content
    accept_cpu = time.thread_time() - accept_cpu
    print(
        f"the web's accept (Django's test client, no gunicorn): {accept_cpu / args.n * 1000:.2f} "
        f"ms CPU and {accept_statements[0] / args.n:.1f} statements a request"
    )
    modules = default_modules(make_worker_id())
    if args.sync:
        from tocsin.notify.engine import OutboxModule

        modules = [OutboxModule() if m.name == "outbox" else m for m in modules]
    spent: dict[str, float] = defaultdict(float)
    queries: Counter[str] = Counter()
    shapes: Counter[str] = Counter()
    shape_s: Counter[str] = Counter()  # seconds in the database's execute, per shape
    current = ["?"]

    def timed_shape(shape: str, run: Callable[[], Any]) -> Any:
        shapes[shape] += 1
        began = time.perf_counter()
        try:
            return run()
        finally:
            shape_s[shape] += time.perf_counter() - began

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries[current[0]] += 1
        if not args.sql:
            return execute(sql, params, many, context)
        return timed_shape(
            f"{current[0]}: {sql[:140]}", lambda: execute(sql, params, many, context)
        )

    # the sending threads' own connections count under "send threads"
    import threading

    from django.db.backends.signals import connection_created

    def count_thread(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if threading.current_thread().name.startswith("outbox-send"):
            queries["send threads"] += 1
            if args.sql:
                return timed_shape(
                    f"send threads: {sql[:140]}", lambda: execute(sql, params, many, context)
                )
        return execute(sql, params, many, context)

    def on_connect(sender: Any, connection: Any, **kwargs: Any) -> None:
        if threading.current_thread().name.startswith("outbox-send"):
            connection.execute_wrappers.append(count_thread)

    connection_created.connect(on_connect)

    # each module timed by wrapping its tick
    for module in modules:
        original = module.tick

        def timed(now: Any, _orig: Any = original, _name: str = module.name) -> int:
            current[0] = _name
            began = time.perf_counter()
            try:
                return int(_orig(now))
            finally:
                spent[_name] += time.perf_counter() - began
                current[0] = "?"

        module.tick = timed  # type: ignore[method-assign]

    profiler = cProfile.Profile()
    started = time.perf_counter()
    cpu = time.process_time()
    ticks = 0
    if args.profile:
        profiler.enable()
    with connection.execute_wrapper(count):
        while len(receiver.first) < len(markers) and ticks < 20_000:
            result = run_tick(modules)
            ticks += 1
            if not any(v > 0 for v in result.values()):
                time.sleep(0.005)
            if time.perf_counter() - started > 600:
                break
    profiler.disable()
    took = time.perf_counter() - started
    cpu_s = time.process_time() - cpu
    arrivals = sorted(receiver.first.values())
    t0 = time.time() - (time.perf_counter() - started)  # wall time of the drain's start
    n = len(markers)
    print(
        f"{connection.vendor}: {n} alerts over {args.services} services, "
        f"{len(receiver.first)} pages arrived, duplicates {receiver.duplicates('bench-b-')}; "
        f"{took:.2f} s wall, {cpu_s:.2f} s CPU in this process ({cpu_s / n * 1000:.1f} ms "
        f"CPU an alert), {ticks} ticks, {sum(queries.values()) / n:.1f} statements an alert "
        "(send threads included)"
    )
    if arrivals:
        print(
            f"pages: first {arrivals[0] - t0:.2f} s, median {arrivals[len(arrivals) // 2] - t0:.2f}"
            f" s, last {arrivals[-1] - t0:.2f} s after the drain began"
        )
        tenths = [
            arrivals[min(len(arrivals) - 1, len(arrivals) * k // 10)] - t0 for k in range(1, 10)
        ]
        print("pages by tenths: " + " ".join(f"{v:.1f}" for v in tenths))
    print(f"{'module':<20} {'ms/alert':>9} {'stmts/alert':>12}")
    for name in sorted(spent, key=lambda k: -spent[k]):
        print(f"{name:<20} {spent[name] / n * 1000:9.2f} {queries[name] / n:12.2f}")
    print(f"{'send threads':<20} {'':>9} {queries['send threads'] / n:12.2f}")
    if args.sql:
        print(f"{'n/alert':>7} {'µs/alert':>9}  statement (wall in execute, GIL waits included)")
        for shape, c in shapes.most_common(60):
            print(f"{c / n:7.2f} {shape_s[shape] / n * 1e6:9.0f}  {shape}")
    if args.profile:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        if args.dump:
            stats.dump_stats(args.dump)
        stats.sort_stats("cumulative").print_stats(args.top)
        stats.sort_stats("tottime").print_stats(args.top)
        print(out.getvalue())
    receiver.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
