"""Start-up on a broken set-up: clear one-line errors and 503s, never a traceback or a 500."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_readyz_is_503_not_500_on_an_unmigrated_database(monkeypatch) -> None:
    from django.db import DatabaseError

    from tocsin.engine.models import WorkerHeartbeat

    def broken(*args, **kwargs):
        raise DatabaseError("no such table: engine_workerheartbeat")

    monkeypatch.setattr(WorkerHeartbeat.objects, "filter", broken)
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert "Retry-After" in response


def _tocsin(tmp_path: Path, *args: str, env_extra: dict[str, str] | None = None):
    import os

    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["TOCSIN_DATA_DIR"] = str(tmp_path)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "tocsin", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_worker_on_an_unmigrated_database_fails_in_one_line(tmp_path) -> None:
    result = _tocsin(tmp_path, "worker")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "migrate" in result.stderr.strip().splitlines()[-1]


def test_smtp_port_out_of_range_is_a_one_line_error(tmp_path) -> None:
    result = _tocsin(tmp_path, "smtp", env_extra={"TOCSIN_SMTP_PORT": "99999"})
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "TOCSIN_SMTP_PORT" in result.stderr
