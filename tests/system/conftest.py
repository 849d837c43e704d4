"""System tests: Tocsin against the real tools that send it alerts.

`alertmanager` starts the Debian package's Prometheus Alertmanager on loopback with a
config written by the test; `live` is Tocsin served by pytest-django's live server (the
test's own database, SQLite or PostgreSQL) with the engine driven tick by tick from the
test. Without /usr/bin/prometheus-alertmanager the Alertmanager tests skip with the
reason (under TOCSIN_TEST_STRICT=1 a skip fails the run); TOCSIN_ALERTMANAGER names
another binary.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests.cli.conftest import free_port
from tests.conftest import ApiClient

ALERTMANAGER = os.environ.get("TOCSIN_ALERTMANAGER", "/usr/bin/prometheus-alertmanager")
T = TypeVar("T")
# Boot time on a loaded CI machine (two passes, Chromium) is not what these tests prove.
AM_READY_TIMEOUT = 60.0


def iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


# --- Alertmanager ------------------------------------------------------------------------


@dataclass
class Alertmanager:
    """One running Alertmanager; alerts are posted to it as Prometheus would."""

    url: str
    proc: subprocess.Popen[bytes]
    log: Path
    config: str

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        response = httpx.post(f"{self.url}/api/v2/alerts", json=alerts, timeout=10)
        assert response.status_code == 200, response.text

    def fire(self, labels: dict[str, str], annotations: dict[str, str]) -> dt.datetime:
        """A firing alert (no endsAt: Alertmanager keeps it firing for resolve_timeout)."""
        starts_at = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=5)
        self.post_alerts(
            [{"labels": labels, "annotations": annotations, "startsAt": iso(starts_at)}]
        )
        return starts_at

    def resolve(
        self, labels: dict[str, str], annotations: dict[str, str], starts_at: dt.datetime
    ) -> None:
        """The same alert with endsAt in the past: Alertmanager marks it resolved."""
        ends_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        self.post_alerts(
            [
                {
                    "labels": labels,
                    "annotations": annotations,
                    "startsAt": iso(starts_at),
                    "endsAt": iso(ends_at),
                }
            ]
        )

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[Callable[[str], Alertmanager]]:
    """Start Alertmanager with a config (YAML text); stopped when the test ends."""
    if not Path(ALERTMANAGER).exists():
        pytest.skip(
            f"Prometheus Alertmanager not found at {ALERTMANAGER} "
            "(apt-get install prometheus-alertmanager)"
        )
    started: list[subprocess.Popen[bytes]] = []

    def start(config: str) -> Alertmanager:
        folder = tmp_path / f"alertmanager-{len(started) + 1}"
        (folder / "data").mkdir(parents=True)
        (folder / "alertmanager.yml").write_text(config, encoding="utf-8")
        log = folder / "alertmanager.log"
        port = free_port()
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [
                    ALERTMANAGER,
                    f"--config.file={folder / 'alertmanager.yml'}",
                    f"--storage.path={folder / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--cluster.listen-address=",  # no gossip: one instance, no network
                    "--log.level=debug",
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        started.append(proc)
        manager = Alertmanager(f"http://127.0.0.1:{port}", proc, log, config)
        deadline = time.monotonic() + AM_READY_TIMEOUT
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(
                    f"Alertmanager exited ({proc.returncode}) with this config:\n{config}\n"
                    f"log:\n{manager.log_tail()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{manager.url}/-/ready", timeout=1).status_code == 200:
                    return manager
            time.sleep(0.1)
        pytest.fail(f"Alertmanager not ready in {AM_READY_TIMEOUT:.0f} s:\n{manager.log_tail()}")

    try:
        yield start
    finally:
        for proc in started:
            _stop(proc)


# --- Tocsin, live ------------------------------------------------------------------------


@dataclass
class LiveTocsin:
    """Tocsin served by the live server, with the engine ticked by the test.

    On SQLite the test database lives in memory and the live server's request threads
    share the test's one connection; `lock` makes requests, engine ticks and the test's
    own reads take turns on it (on PostgreSQL it only costs a little parallelism).
    """

    url: str
    lock: threading.RLock
    modules: list[Any]
    client: ApiClient
    log: list[str] = field(default_factory=list)

    def read(self, fn: Callable[[], T]) -> T:
        with self.lock:
            return fn()

    def tick(self) -> None:
        from tocsin.engine.engine import run_tick

        with self.lock:
            run_tick(self.modules)

    def wait_for(self, what: str, check: Callable[[], T | None], timeout: float = 30) -> T:
        """Tick the engine until `check()` answers something truthy (bounded)."""
        deadline = time.monotonic() + timeout
        while True:
            self.tick()
            result = self.read(check)
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"not reached within {timeout:.0f} s: {what}")
            time.sleep(0.2)

    def settle(self, seconds: float) -> None:
        """Keep the engine running for a while (re-sends arrive and are processed)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.tick()
            time.sleep(0.2)

    def api_post(self, path: str, body: Any) -> Any:
        with self.lock:
            response = self.client.post(path, body)
        assert response.status_code in (200, 201), (path, response.status_code, response.content)
        return response.json()

    def api_get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        with self.lock:
            response = self.client.get(path, params)
        assert response.status_code == 200, (path, response.status_code, response.content)
        return response.json()


class _Serialised:
    """A WSGI app wrapper: the whole request, body included, under the lock."""

    def __init__(self, app: Callable[..., Iterable[bytes]], lock: threading.RLock) -> None:
        self.app = app
        self.lock = lock

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self.lock:
            result = self.app(environ, start_response)
            try:
                body = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        return [body]


@pytest.fixture
def live(
    live_server: Any,
    transactional_db: None,
    settings: Any,
    make_user: Callable[..., Any],
) -> Iterator[LiveTocsin]:
    from tocsin.accounts.models import Role
    from tocsin.engine.engine import default_modules

    url = live_server.url.replace("://localhost:", "://127.0.0.1:")
    settings.BASE_URL = url
    lock = threading.RLock()
    httpd = live_server.thread.httpd
    app = httpd.get_app()
    httpd.set_app(_Serialised(app, lock))
    try:
        with lock:
            admin = make_user(Role.ADMIN, username="sysadmin")
            client = ApiClient(admin)
        yield LiveTocsin(url, lock, default_modules("system-test"), client)
    finally:
        httpd.set_app(app)


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, default=str)
