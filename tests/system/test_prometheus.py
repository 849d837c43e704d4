"""`/metrics` from real processes: `tocsin up` with two gunicorn workers and the engine's
worker, scraped as Prometheus would.

On PostgreSQL the children use the test's own database; on SQLite a migrated file of
the test's own. Alerts are posted concurrently until both gunicorn workers have
accepted some (each process has its own metrics file); /metrics must add them up
exactly, keep counting a worker that was killed, show the engine's turn histograms
written by the worker process, and answer only the token (the allow-list is set to a
network the test is not in).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tests.cli.conftest import alive, child_env, descendants, free_port, kill_all, tocsin

ON_POSTGRESQL = os.environ.get("DATABASE_URL", "").startswith("postgres")
pytestmark = [pytest.mark.django_db(transaction=True)] if ON_POSTGRESQL else []

TOKEN = "scrape-token-for-the-test"
ACCEPTED = "tocsin_ingest_requests_accepted_total"
T = TypeVar("T")

SETUP = """
import json
from tocsin.catalog.services import integration_create, service_create
from tocsin.core.actors import Actor
actor = Actor.system("test setup")
service = service_create(name="Checkout", actor=actor)
_integration, key = integration_create(service=service, kind="webhook", actor=actor)
print(json.dumps(key))
"""


@dataclass
class Up:
    proc: subprocess.Popen[bytes]
    base: str
    data_dir: Path
    log: Path
    key: str = ""  # the webhook integration's

    def get(self, path: str, **headers: str) -> httpx.Response:
        return httpx.get(f"{self.base}{path}", headers=headers, timeout=10)

    def scrape(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        response = self.get("/metrics", Authorization=f"Bearer {TOKEN}")
        assert response.status_code == 200, response.text
        found = {}
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return found

    def web_workers(self) -> set[int]:
        """The gunicorn workers: the children of `tocsin web` (the master)."""
        for pid in descendants(self.proc.pid):
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_text().split("\0")
            except OSError:
                continue
            if argv[3:4] == ["web"] and self._parent(pid) == self.proc.pid:
                return {child for child in descendants(pid) if alive(child)}
        return set()

    @staticmethod
    def _parent(pid: int) -> int:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def accepted_per_process(data_dir: Path) -> dict[int, float]:
    """tocsin_ingest_requests_accepted_total as each web process's own file holds it."""
    found: dict[int, float] = {}
    for path in (data_dir / "prometheus" / "web").glob("counter_*.db"):
        pid = int(re.findall(r"\d+", path.name)[0])
        for metric in MultiProcessCollector.merge([str(path)]):
            for sample in metric.samples:
                if sample.name == ACCEPTED and sample.labels.get("integration") == "webhook":
                    found[pid] = found.get(pid, 0) + sample.value
    return {pid: n for pid, n in found.items() if n}


def value(found: dict[Any, float], name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def wait_for(what: str, check: Callable[[], T | None], up: Up, timeout: float = 60) -> T:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        assert up.proc.poll() is None, f"tocsin up exited ({up.proc.returncode}):\n{up.tail()}"
        try:
            result = check()
        except (httpx.HTTPError, AssertionError) as exc:
            result, last = None, exc
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError(f"not reached within {timeout:.0f} s: {what} ({last!r})\n{up.tail()}")


@pytest.fixture
def up(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Up]:
    data_dir = tmp_path / "data"
    extra = {
        "TOCSIN_WEB_WORKERS": "2",
        "TOCSIN_METRICS_TOKEN": TOKEN,
        "TOCSIN_METRICS_ALLOW": "192.0.2.0/24",  # not loopback: only the token opens it
        "TOCSIN_LOG_LEVEL": "WARNING",
    }
    if ON_POSTGRESQL:
        from django.db import connection

        db = connection.settings_dict
        auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
        extra["DATABASE_URL"] = (
            f"postgresql://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
        data_dir.mkdir()
    else:
        shutil.copytree(request.getfixturevalue("migrated_template"), data_dir)
    port, smtp_port = free_port(), free_port()
    log = tmp_path / "up.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tocsin", "up", "--port", str(port)],
            env=child_env(data_dir, TOCSIN_SMTP_PORT=str(smtp_port), **extra),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    running = Up(proc, f"http://127.0.0.1:{port}", data_dir, log)
    family: set[int] = set()
    try:
        wait_for("ready", lambda: running.get("/readyz").status_code == 200, running, 90)
        family = descendants(proc.pid)
        running.key = _setup_key(data_dir, extra)
        yield running
    finally:
        family |= descendants(proc.pid)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        kill_all({pid for pid in family if alive(pid)})


def _setup_key(data_dir: Path, extra: dict[str, str]) -> str:
    import json

    result = tocsin(data_dir, "manage", "shell", "--no-imports", "-c", SETUP, env=extra)
    assert result.returncode == 0, result.stderr[-3000:]
    return str(json.loads(result.stdout.strip().splitlines()[-1]))


def post_alerts(up: Up, key: str, count: int, start: int) -> None:
    def post(n: int) -> int:
        body = {"summary": f"Disk {n} full", "severity": "warning", "dedup_key": f"disk-{n}"}
        # a new connection each time, several at once: the workers share the accepts
        return httpx.post(
            f"{up.base}/integrations/webhook/{key}", json=body, timeout=20
        ).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = list(pool.map(post, range(start, start + count)))
    assert codes == [202] * count, codes


def test_metrics_add_up_every_process(up: Up) -> None:
    key = up.key
    workers = up.web_workers()
    assert len(workers) == 2, workers

    # requests go to both gunicorn workers; each counts in its own file
    sent = 0
    for _round in range(15):
        post_alerts(up, key, 12, sent)
        sent += 12
        if len(accepted_per_process(up.data_dir)) >= 2:
            break
    per_process = accepted_per_process(up.data_dir)
    assert len(per_process) >= 2 and set(per_process) <= workers, (per_process, workers)
    assert sum(per_process.values()) == sent

    found = up.scrape()
    assert value(found, ACCEPTED, integration="webhook") == sent
    assert value(found, "tocsin_ingest_events_accepted_total", integration="webhook") == sent

    # the engine runs in the worker process: its turns show up in the web's /metrics,
    # and it drains the inbox (a gauge read from the database at scrape time)
    def drained() -> dict[Any, float] | None:
        now = up.scrape()
        done = (
            value(now, "tocsin_engine_module_duration_seconds_count", module="ingest") > 0
            and value(now, "tocsin_inbox_pending") == 0
            and sum(value(now, "tocsin_incidents_open", priority=f"P{p}") for p in range(1, 5)) >= 1
        )
        return now if done else None

    found = wait_for("the worker drained the inbox", drained, up)
    assert list((up.data_dir / "prometheus" / "worker").glob("histogram_*.db"))
    assert value(found, "tocsin_engine_module_duration_seconds_count", module="outbox") > 0

    # a killed gunicorn worker is replaced; what it counted still counts
    victim = max(per_process, key=lambda pid: per_process[pid])
    os.kill(victim, signal.SIGKILL)
    wait_for(
        "gunicorn replaced the killed worker",
        lambda: len(up.web_workers()) == 2 and victim not in up.web_workers(),
        up,
    )
    assert value(up.scrape(), ACCEPTED, integration="webhook") == sent
    post_alerts(up, key, 4, sent)
    sent += 4
    assert value(up.scrape(), ACCEPTED, integration="webhook") == sent

    # only the token opens it here: loopback is not in this allow-list
    assert up.get("/metrics", Authorization="Bearer not-the-token").status_code == 404
    assert up.get("/metrics").status_code == 404
    assert up.get("/healthz").status_code == 200
