"""The drain with one worker and with several, on PostgreSQL (or SQLite): CPU and wall.

    .venv/bin/python bench/ingest/drain_workers.py --rows 3000 --workers 1 2 \\
        --db-name tocsin_drain_workers [--what pd|dup|am] [--sqlite]

For each worker count: a fresh database, 20 services with 10 PagerDuty (or
Alertmanager) integrations each, `--rows` accepted requests posted through Django's
test client (the whole ingest view), then `tocsin_drain.py --workers N`, which drains
with N worker processes at once. Prints one JSON line per run: rows, wall seconds, the
drain processes' CPU seconds and CPU ms a row. On a busy machine compare CPU a row
(the drain's cost) and, on a quiet one, the wall time (how much the workers overlap).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

FILL = r"""
import os, sys, django
sys.path.insert(0, sys.argv[1])
django.setup()
from django.core.management import call_command
from django.test import Client
from run import alertmanager_snapshot, compact, pagerduty_event
from tocsin.catalog.services import integration_create, service_create
from tocsin.core.actors import Actor
setup = Actor.system("bench setup")
call_command("migrate", verbosity=0)
what, rows = sys.argv[2], int(sys.argv[3])
kind = "alertmanager" if what == "am" else "pagerduty"
services = [service_create(name=f"bench-{n:02d}", actor=setup) for n in range(20)]
keys = [
    integration_create(service=services[n % 20], kind=kind, actor=setup)[1] for n in range(200)
]
client = Client()
for n in range(rows):
    key = keys[n % len(keys)]
    if kind == "pagerduty":
        dedup = f"p-{n % 50}" if what == "dup" else f"p-{n}"
        path, body = "/v2/enqueue", compact(pagerduty_event(key, dedup, n))
    else:
        path = f"/integrations/alertmanager/{key}"
        body = compact(alertmanager_snapshot(f"g{n}", f"{n:010x}"))
    reply = client.post(path, data=body, content_type="application/json")
    assert reply.status_code < 300, reply.content[:300]
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--what", choices=("pd", "dup", "am"), default="pd")
    parser.add_argument("--db-name", default="tocsin_drain_workers")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    from run import postgres_recreate, postgres_url

    for workers in args.workers:
        data = tempfile.mkdtemp(prefix="tocsin-drain-workers-")
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("TOCSIN_") and k != "DATABASE_URL"
        }
        env.update(TOCSIN_DATA_DIR=data, DJANGO_SETTINGS_MODULE="tocsin.settings")
        if not args.sqlite:
            postgres_recreate(args.db_name)
            env["DATABASE_URL"] = postgres_url(args.db_name)
        try:
            python = sys.executable
            subprocess.run(
                [python, "-c", FILL, str(HERE), args.what, str(args.rows)], env=env, check=True
            )
            out = subprocess.run(
                [
                    python,
                    str(HERE / "tocsin_drain.py"),
                    "--workers",
                    str(workers),
                    "--timeout",
                    str(args.timeout),
                ],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            drain = json.loads(out)
            keep = ("workers", "rows", "events", "rows_left", "seconds", "cpu_seconds")
            line = {k: drain.get(k) for k in keep}
            line["cpu_ms_per_row"] = drain.get("cpu_ms_per_row")
            line["rows_per_s"] = drain.get("rows_per_s")
            line["what"] = args.what
            line["db"] = "sqlite" if args.sqlite else "postgresql"
            print(json.dumps(line), flush=True)
        finally:
            shutil.rmtree(data, ignore_errors=True)
            if not args.sqlite:
                postgres_recreate(args.db_name, drop_only=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
