"""bench/sqlite_fairness.py: can a web process write while the worker writes flat out?

    .venv/bin/python bench/sqlite_fairness.py            # both backends, ~15 s

A "worker" process holds SQLite's write lock in 8 ms transactions with 0.3 ms between
them (an alert storm's drain); four "web" processes each insert 100 rows, one at a time,
through Django's connection, with the stock backend (`django.db.backends.sqlite3`,
SQLite's busy handler) and with Tocsin's (`tocsin.core.sqlite`, short random sleeps).
Prints the insert latency (p50, p99, max) and how many inserts failed with "database is
locked" after the 5 s timeout. Everything runs in a temporary directory; bounded.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
INSERTS = 100
WEBS = 4


def worker(db: str, stop: mp.synchronize.Event) -> None:
    conn = sqlite3.connect(db, isolation_level=None, timeout=5)
    conn.execute("PRAGMA synchronous=NORMAL")
    while not stop.is_set():
        conn.execute("BEGIN IMMEDIATE")
        began = time.perf_counter()
        for i in range(200):
            conn.execute("INSERT INTO w VALUES (?)", (i,))
        while time.perf_counter() - began < 0.008:
            pass
        conn.execute("COMMIT")
        gap = time.perf_counter()
        while time.perf_counter() - gap < 0.0003:
            pass


def web(db: str, engine: str, out: mp.Queue) -> None:
    import django
    from django.conf import settings

    settings.configure(
        DATABASES={
            "default": {
                "ENGINE": engine,
                "NAME": db,
                "OPTIONS": {"timeout": 5, "transaction_mode": "IMMEDIATE"},
            }
        },
        USE_TZ=True,
    )
    django.setup()
    from django.db import OperationalError, connection

    latencies, failed = [], 0
    for _ in range(INSERTS):
        began = time.perf_counter()
        try:
            with connection.cursor() as cursor:
                cursor.execute("INSERT INTO t VALUES (1)")
        except OperationalError:
            failed += 1
        latencies.append(time.perf_counter() - began)
        time.sleep(0.002)
    out.put((latencies, failed))


def run(engine: str) -> str:
    with tempfile.TemporaryDirectory(prefix="fairness-") as tmp:
        db = os.path.join(tmp, "db.sqlite3")
        conn = sqlite3.connect(db)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (x)")
        conn.execute("CREATE TABLE w (x)")
        conn.commit()
        conn.close()
        stop = mp.Event()
        hog = mp.Process(target=worker, args=(db, stop))
        hog.start()
        time.sleep(0.2)
        out: mp.Queue = mp.Queue()
        webs = [mp.Process(target=web, args=(db, engine, out)) for _ in range(WEBS)]
        for p in webs:
            p.start()
        results = [out.get(timeout=INSERTS * 6) for _ in webs]
        for p in webs:
            p.join(10)
        stop.set()
        hog.join(10)
    latencies = sorted(x for lat, _ in results for x in lat)
    failed = sum(f for _, f in results)
    n = len(latencies)
    return (
        f"{engine:28s} inserts {n}, failed {failed}; "
        f"p50 {latencies[n // 2] * 1000:.1f} ms, p99 {latencies[int(n * 0.99)] * 1000:.1f} ms, "
        f"max {latencies[-1] * 1000:.1f} ms"
    )


if __name__ == "__main__":
    for engine in ("django.db.backends.sqlite3", "tocsin.core.sqlite"):
        print(run(engine), flush=True)
