"""bench/latency: at idle, how long an accepted PagerDuty event waits for its incident.

    .venv/bin/python bench/latency/run.py --db both --samples 50
    .venv/bin/python bench/latency/run.py --db both --src /path/to/other/checkout/src

For each database (SQLite: a fresh data directory; PostgreSQL: a fresh database
`tocsin_bench_latency`, created and dropped here) it migrates, creates one service and
one PagerDuty integration, and starts the real `tocsin web --workers 2` (gunicorn) and
one `tocsin worker` on 127.0.0.1, with the default tick (1 s). Then, one sample at a
time, with the worker idle between samples (a random pause of 0.3-0.8 s), it POSTs one
PagerDuty trigger with a new dedup key to /v2/enqueue and, from the moment the 202 is
read, polls the database every 2 ms until that alert is linked to an incident. It prints
median, p95 and max, and writes bench/results/latency-<db>-<label>.json.

`--src` runs the Tocsin code from another source tree (e.g. main's checkout) with this
virtualenv, to measure before and after on the same machine.
Every process started here is stopped at the end, even on error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RESULTS = ROOT / "bench" / "results"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "tocsin_bench_latency"

SETUP = """
import json
from tocsin.catalog.services import integration_create, service_create
from tocsin.core.actors import Actor
setup = Actor.system("bench setup")
service = service_create(name="latency", actor=setup)
_integration, key = integration_create(
    service=service, kind="pagerduty", name="latency", actor=setup
)
print(json.dumps({"key": key}))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env(src: Path, data_dir: Path, database_url: str | None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TOCSIN_") and k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    env.update(
        PYTHONPATH=str(src),
        PYTHONUNBUFFERED="1",
        TOCSIN_DATA_DIR=str(data_dir),
        TOCSIN_LOG_LEVEL="WARNING",
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def tocsin(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "tocsin", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"tocsin {' '.join(args[:2])} failed:\n{result.stderr[-2000:]}")
    return result.stdout


def start(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tocsin", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_ready(base: str, timeout: float = 60) -> None:
    """/readyz answers 200 once the web serves and a worker has ticked."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("web or worker not ready in time")


class Poller:
    """Reads the incident of an alert straight from the database."""

    def __init__(self, db: str, data_dir: Path, database_url: str | None) -> None:
        self.db = db
        if db == "sqlite":
            self.conn: Any = sqlite3.connect(data_dir / "tocsin.sqlite3", timeout=5)
            self.sql = "SELECT incident_id FROM alerts_alert WHERE dedup_key = ?"
        else:
            import psycopg

            self.conn = psycopg.connect(database_url, autocommit=True)
            self.sql = "SELECT incident_id FROM alerts_alert WHERE dedup_key = %s"

    def incident_of(self, dedup_key: str) -> int | None:
        row = self.conn.execute(self.sql, (dedup_key,)).fetchone()
        if self.db == "sqlite":
            self.conn.commit()  # end the read transaction: see the next commit
        return row[0] if row else None

    def close(self) -> None:
        self.conn.close()


def post_event(base: str, key: str, dedup_key: str, n: int) -> None:
    body = json.dumps(
        {
            "routing_key": key,
            "event_action": "trigger",
            "dedup_key": dedup_key,
            "payload": {
                "summary": f"Latency probe {n}",
                "source": "probe.example.com",
                "severity": "critical",
            },
        }
    ).encode()
    request = urllib.request.Request(
        base + "/v2/enqueue", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        if response.status != 202:
            raise SystemExit(f"/v2/enqueue answered {response.status}")


def measure(db: str, src: Path, samples: int, workdir: Path) -> dict[str, Any]:
    data_dir = workdir / f"data-{db}"
    data_dir.mkdir()
    database_url = None
    if db == "postgresql":
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{PG_DB}"')
        database_url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{PG_DB}"
    env = child_env(src, data_dir, database_url)
    tocsin(env, "migrate")
    key = json.loads(tocsin(env, "manage", "shell", "--no-imports", "-c", SETUP).splitlines()[-1])[
        "key"
    ]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    procs = [
        start(env, workdir / f"web-{db}.log", "web", "--port", str(port), "--workers", "2"),
        start(env, workdir / f"worker-{db}.log", "worker"),
    ]
    poller = Poller(db, data_dir, database_url)
    waits: list[float] = []
    try:
        wait_ready(base)
        time.sleep(1.5)
        rng = random.Random(7)
        for n in range(samples):
            time.sleep(rng.uniform(0.3, 0.8))  # the worker is idle when the event arrives
            dedup_key = f"probe-{uuid.uuid4().hex}"
            post_event(base, key, dedup_key, n)
            accepted = time.perf_counter()
            while poller.incident_of(dedup_key) is None:
                if time.perf_counter() - accepted > 30:
                    raise SystemExit(f"no incident for {dedup_key} after 30 s")
                time.sleep(0.002)
            waits.append(time.perf_counter() - accepted)
    finally:
        poller.close()
        for proc in procs:
            stop(proc)
        if db == "postgresql":
            import psycopg

            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
    ordered = sorted(waits)
    return {
        "db": db,
        "samples": len(waits),
        "median_ms": round(statistics.median(waits) * 1000, 1),
        "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
        "waits_ms": [round(w * 1000, 1) for w in waits],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="Tocsin source tree")
    parser.add_argument("--label", default="", help="name for the results file")
    args = parser.parse_args(argv)
    label = args.label or ("this" if args.src.resolve() == (ROOT / "src").resolve() else "other")
    RESULTS.mkdir(exist_ok=True)
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    with tempfile.TemporaryDirectory(prefix="tocsin-latency-") as tmp:
        for db in dbs:
            result = measure(db, args.src.resolve(), args.samples, Path(tmp))
            result["src"] = str(args.src)
            result["label"] = label
            (RESULTS / f"latency-{db}-{label}.json").write_text(json.dumps(result, indent=1) + "\n")
            print(
                f"{label:8} {db:10} n={result['samples']} median {result['median_ms']} ms, "
                f"p95 {result['p95_ms']} ms, max {result['max_ms']} ms"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
