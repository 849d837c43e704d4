"""`tocsin worker` as a process: SIGTERM stops it cleanly, and a restart loses nothing.

Like tests/cli, the subprocess always runs on SQLite in its own data directory (DATABASE_URL
is removed from its environment), so it never touches the pytest database.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.cli.conftest import child_env, tocsin

RESOLVED_LONG_AGO = """
import datetime as dt
from django.utils import timezone
from tocsin.accounts.services import user_create
from tocsin.accounts.models import User
from tocsin.core.actors import Actor
from tocsin.core.clock import travel
from tocsin.incidents.services import incident_act, incident_create
agent = User.objects.filter(username="agent").first() or user_create(
    username="agent", email="agent@example.com", role="agent", actor=Actor.system("test setup"))
with travel(timezone.now() - dt.timedelta(days=10)):
    incident = incident_create(actor=Actor.for_user(agent), title="{title}")
    incident_act(incident=incident, actor=Actor.for_user(agent), action="resolve",
                 resolution_code="fixed", resolution_notes="done")
print(incident.number)
"""


def make_old_resolved(data_dir: Path, title: str) -> int:
    result = tocsin(
        data_dir, "manage", "shell", "--no-imports", "-c", RESOLVED_LONG_AGO.format(title=title)
    )
    assert result.returncode == 0, result.stderr
    return int(result.stdout.strip().splitlines()[-1])


def status_of(data_dir: Path, number: int) -> str:
    with sqlite3.connect(data_dir / "tocsin.sqlite3", timeout=10) as db:
        return db.execute(
            "SELECT status FROM incidents_incident WHERE number = ?", (number,)
        ).fetchone()[0]


def heartbeats(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "tocsin.sqlite3", timeout=10) as db:
        return db.execute("SELECT COUNT(*) FROM engine_workerheartbeat").fetchone()[0]


def start_worker(data_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tocsin", "worker"],
        env=child_env(data_dir, TOCSIN_LOG_LEVEL="INFO"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError("condition not reached in time")


def stop(proc: subprocess.Popen[str]) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=15)
    return proc.returncode, err


def test_worker_stops_on_sigterm_and_a_restart_picks_up_the_work(
    migrated_data_dir: Path,
) -> None:
    data_dir = migrated_data_dir
    first = make_old_resolved(data_dir, "Closed by the first worker")

    worker = start_worker(data_dir)
    try:
        wait_for(lambda: status_of(data_dir, first) == "closed")
        assert heartbeats(data_dir) == 1
        started = time.monotonic()
        code, err = stop(worker)
        assert code == 0
        assert time.monotonic() - started < 10
        assert "stopped after" in err and "Traceback" not in err
        assert heartbeats(data_dir) == 0  # a clean stop no longer counts for /readyz

        # Work that arrives while no worker runs waits in the database...
        second = make_old_resolved(data_dir, "Waiting for the next worker")
        time.sleep(1.5)
        assert status_of(data_dir, second) == "resolved"

        # ...and the next worker does it.
        worker = start_worker(data_dir)
        wait_for(lambda: status_of(data_dir, second) == "closed")
        code, _err = stop(worker)
        assert code == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
