"""CPU time of each page, in-process: what a request costs, whatever else the machine runs.

Run with Tocsin's environment (TOCSIN_DATA_DIR, DATABASE_URL):

    python bench/ui/cpu.py --samples 50 sam=/ sam=/alerts/ rita=/portal/

For each `user=path` it renders the page through Django's full stack (middleware,
view, template; the test client, no network) `--samples` times after two warm-ups and
prints JSON: per page the CPU time of this thread (time.thread_time: the Python work
and SQLite's, which runs in this thread; PostgreSQL's own work is not in it) and the
wall time, p50 and p99, and the number of SQL queries. On a machine shared with other
work the wall time grows with the load; the CPU time hardly does, so it is the figure
to compare between runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("pages", nargs="+", help="username=/path/")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tocsin.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tocsin.accounts.models import User

    settings.ALLOWED_HOSTS = ["*"]
    found = {}
    for spec in args.pages:
        username, path = spec.split("=", 1)
        client = Client()
        client.force_login(User.objects.get(username=username))
        for _ in range(2):
            client.get(path)
        cpu: list[float] = []
        wall: list[float] = []
        queries = 0
        for _ in range(args.samples):
            with CaptureQueriesContext(connection) as captured:
                c0, w0 = time.thread_time(), time.perf_counter()
                response = client.get(path)
                cpu.append((time.thread_time() - c0) * 1000)
                wall.append((time.perf_counter() - w0) * 1000)
            if response.status_code != 200:
                print(f"{path} answered {response.status_code}", file=sys.stderr)
                return 1
            queries = len(captured.captured_queries)
        cpu.sort()
        wall.sort()
        p99 = min(len(cpu) - 1, round(0.99 * (len(cpu) - 1)))
        found[spec] = {
            "cpu_p50_ms": round(statistics.median(cpu), 1),
            "cpu_p99_ms": round(cpu[p99], 1),
            "wall_p50_ms": round(statistics.median(wall), 1),
            "wall_p99_ms": round(wall[p99], 1),
            "queries": queries,
        }
    print(json.dumps(found))
    return 0


if __name__ == "__main__":
    sys.exit(main())
