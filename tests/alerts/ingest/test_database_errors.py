"""Issue 7, point 11 (middleware): only a database that is busy or briefly away is a 503.

The errors are real: each is what Django raises when it connects to a real PostgreSQL
server (on loopback) or a real SQLite file with the settings shown, whichever database
the suite itself runs on. They are then raised where an ingest request or a page would
meet them.
"""

from __future__ import annotations

import logging
import socket
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from django.db import DatabaseError, connections
from django.db.utils import load_backend
from django.test import RequestFactory

from tests.alerts.ingest.conftest import pd_event, post, stored
from tocsin.alerts import services
from tocsin.core.middleware import DatabaseBusyMiddleware, database_busy

pytestmark = pytest.mark.django_db


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _connect(**changes: Any) -> DatabaseError:
    """The error Django raises when it connects with the default settings plus `changes`."""
    settings_dict = dict(connections["default"].settings_dict)
    settings_dict.update(changes)
    settings_dict["OPTIONS"] = dict(changes.get("OPTIONS", {}))
    backend = load_backend(settings_dict["ENGINE"])
    wrapper = backend.DatabaseWrapper(settings_dict, alias="probe")
    try:
        wrapper.ensure_connection()
        if settings_dict["ENGINE"].endswith("sqlite3"):
            with wrapper.cursor() as cursor:
                cursor.execute("BEGIN IMMEDIATE")
    except DatabaseError as exc:
        return exc
    finally:
        wrapper.close()
    raise AssertionError(f"connecting with {changes} did not fail")


def _postgres(**changes: Any) -> DatabaseError:
    pytest.importorskip("psycopg")
    base = {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": "127.0.0.1",
        "PORT": "5432",
        "USER": "postgres",
        "PASSWORD": "",
        "NAME": "postgres",
    }
    base.update(changes)
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=2):
            pass
    except OSError:
        pytest.skip("no PostgreSQL on 127.0.0.1:5432")
    return _connect(**base)


def _sqlite_locked(tmp_path: Path) -> DatabaseError:
    path = tmp_path / "locked.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        return _connect(
            ENGINE="django.db.backends.sqlite3", NAME=str(path), OPTIONS={"timeout": 0.05}
        )
    finally:
        holder.close()


def errors(tmp_path: Path) -> dict[str, DatabaseError]:
    return {
        "postgres: unknown role": _postgres(USER="tocsin_no_such_role"),
        "postgres: unknown database": _postgres(NAME="tocsin_no_such_database"),
        "postgres: connection refused": _postgres(PORT=str(_closed_port())),
        "sqlite: file cannot be opened": _connect(
            ENGINE="django.db.backends.sqlite3", NAME=str(tmp_path / "missing" / "db.sqlite3")
        ),
        "sqlite: database is locked": _sqlite_locked(tmp_path),
    }


BUSY = {"postgres: connection refused", "sqlite: database is locked"}
CASES = [
    "postgres: unknown role",
    "postgres: unknown database",
    "postgres: connection refused",
    "sqlite: file cannot be opened",
    "sqlite: database is locked",
]


@pytest.mark.parametrize("case", CASES)
def test_only_a_busy_database_is_503_on_ingest(
    client, make_integration, monkeypatch, tmp_path, caplog, case
) -> None:
    _, key = make_integration("pagerduty")
    error = errors(tmp_path)[case]

    def fail(*args: Any, **kwargs: Any) -> None:
        raise error

    monkeypatch.setattr(services, "inbox_add", fail)
    client.raise_request_exception = False
    with caplog.at_level(logging.ERROR, logger="tocsin.core.middleware"):
        response = post(client, "/v2/enqueue", pd_event(key))
    monkeypatch.undo()
    assert stored() == 0
    if case in BUSY:
        assert response.status_code == 503
        assert response["Retry-After"]
        return
    assert response.status_code == 500  # not "busy": retrying will not help
    assert "Retry-After" not in response
    lines = [r.getMessage() for r in caplog.records if r.name == "tocsin.core.middleware"]
    assert any("configuration error" in line and "DATABASE_URL" in line for line in lines), lines


@pytest.mark.parametrize("case", CASES)
def test_the_middleware_answers_503_only_when_busy(tmp_path, caplog, case) -> None:
    error = errors(tmp_path)[case]
    middleware = DatabaseBusyMiddleware(lambda request: None)  # type: ignore[arg-type,return-value]
    request = RequestFactory().get("/incidents/")
    with caplog.at_level(logging.ERROR, logger="tocsin.core.middleware"):
        response = middleware.process_exception(request, error)  # type: ignore[arg-type]
    assert database_busy(error) is (case in BUSY)
    if case in BUSY:
        assert response is not None and response.status_code == 503
        assert response["Retry-After"] == "1"
    else:
        assert response is None  # Django's 500, after the line below
        assert any("configuration error" in r.getMessage() for r in caplog.records)
