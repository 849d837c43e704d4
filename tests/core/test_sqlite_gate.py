"""The SQLite write gate (tocsin.core.sqlite): within one process, threads writing to one
database file take turns in the order they asked, a wait ends with "database is locked"
after the connection's timeout (never a hang), and a transaction's end — commit,
rollback or a closed connection — hands the turn on."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError

from tocsin.core.sqlite.base import DatabaseWrapper


def open_db(path: Path, timeout: float = 5.0) -> DatabaseWrapper:
    """A connection of Tocsin's SQLite backend to `path`, as the settings make one."""
    settings: dict[str, Any] = {
        "ENGINE": "tocsin.core.sqlite",
        "NAME": str(path),
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": timeout},
        "ATOMIC_REQUESTS": False,
        "AUTOCOMMIT": True,
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": False,
        "TIME_ZONE": None,
        "USER": "",
        "PASSWORD": "",
        "HOST": "",
        "PORT": "",
        "TEST": {},
    }
    return DatabaseWrapper(settings, alias=f"gate-{uuid.uuid4().hex[:8]}")


def begin(db: DatabaseWrapper) -> None:
    """What transaction.atomic does on SQLite: BEGIN IMMEDIATE."""
    db.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)


def end(db: DatabaseWrapper, *, commit: bool = True) -> None:
    if commit:
        db.commit()
    else:
        db.rollback()
    db.set_autocommit(True)


def insert(db: DatabaseWrapper, value: str) -> None:
    with db.cursor() as cursor:
        cursor.execute("INSERT INTO t (v) VALUES (%s)", [value])


@pytest.fixture(autouse=True)
def _own_files(django_db_blocker: Any) -> Any:
    """These connections are to files of the test's own, not the test database."""
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def path(tmp_path: Path) -> Path:
    db = open_db(tmp_path / "gate.sqlite3")
    with db.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode = wal")
        cursor.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    db.close()
    return tmp_path / "gate.sqlite3"


def rows(path: Path) -> list[str]:
    db = open_db(path)
    try:
        with db.cursor() as cursor:
            cursor.execute("SELECT v FROM t ORDER BY id")
            return [v for (v,) in cursor.fetchall()]
    finally:
        db.close()


def writer(path: Path, value: str, errors: list[BaseException], timeout: float = 5.0) -> None:
    db = open_db(path, timeout)
    try:
        begin(db)
        insert(db, value)
        end(db)
    except BaseException as exc:  # the test reads them
        errors.append(exc)
    finally:
        db.close()


def wait_queued(n: int, gate_of: DatabaseWrapper) -> None:
    """Until `n` threads wait for the gate of this connection's file."""
    gate = gate_of.connection.tocsin_gate
    deadline = time.monotonic() + 5
    while len(gate._queue) < n:  # (the test looks inside)
        assert time.monotonic() < deadline, "the writers never queued"
        time.sleep(0.005)


def test_writers_go_in_the_order_they_asked_once_the_holder_commits(path: Path) -> None:
    holder = open_db(path)
    begin(holder)
    insert(holder, "holder")
    errors: list[BaseException] = []
    threads = []
    for i in range(6):  # each starts once the one before is queued: a known order
        thread = threading.Thread(target=writer, args=(path, f"w{i}", errors))
        thread.start()
        threads.append(thread)
        wait_queued(i + 1, holder)
    time.sleep(0.2)  # they wait (without the gate they would be polling SQLite's lock)
    assert rows(path) == []
    end(holder)
    for thread in threads:
        thread.join(10)
    holder.close()
    assert errors == []
    assert rows(path) == ["holder", "w0", "w1", "w2", "w3", "w4", "w5"]


def test_a_wait_ends_with_database_is_locked_and_the_turns_go_on(path: Path) -> None:
    holder = open_db(path)
    begin(holder)
    insert(holder, "holder")
    errors: list[BaseException] = []
    started = time.monotonic()
    late = threading.Thread(target=writer, args=(path, "late", errors, 0.3))
    late.start()
    late.join(10)
    assert 0.25 <= time.monotonic() - started < 3
    assert len(errors) == 1 and isinstance(errors[0], OperationalError)
    assert "database is locked" in str(errors[0])  # the web answers it with a 503
    end(holder)
    # the one that gave up left no place in the queue behind it
    after: list[BaseException] = []
    writer(path, "after", after, 0.3)
    holder.close()
    assert after == []
    assert rows(path) == ["holder", "after"]


def test_a_rollback_or_a_closed_connection_hands_the_turn_on(path: Path) -> None:
    for how in ("rollback", "close"):
        holder = open_db(path)
        begin(holder)
        insert(holder, how)
        errors: list[BaseException] = []
        waiting = threading.Thread(target=writer, args=(path, f"after {how}", errors))
        waiting.start()
        wait_queued(1, holder)
        if how == "rollback":
            end(holder, commit=False)
        holder.close()
        waiting.join(10)
        assert errors == []
    assert rows(path) == ["after rollback", "after close"]


def test_a_second_connection_of_the_same_thread_fails_instead_of_hanging(path: Path) -> None:
    """The gate lets its holder's thread in again; SQLite's own lock then refuses that
    second connection after its timeout, as it did before the gate."""
    first = open_db(path)
    second = open_db(path, timeout=0.2)
    begin(first)
    insert(first, "first")
    started = time.monotonic()
    with pytest.raises(OperationalError, match="database is locked"):
        insert(second, "second")
    assert time.monotonic() - started < 3
    end(first)
    insert(second, "second")  # its turn now
    first.close()
    second.close()
    assert rows(path) == ["first", "second"]
