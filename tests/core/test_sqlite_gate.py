"""The SQLite write gate (tocsin.core.sqlite): within one process, threads writing to one
database file take turns in the order they asked, a wait ends with "database is locked"
after the connection's timeout (never a hang), and a transaction's end — commit,
rollback or a closed connection — hands the turn on."""

from __future__ import annotations

import os
import subprocess
import sys
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


# --- between processes: the flock beside the database (ProcessLock) ----------------------

HOLDER = """
import sys
import django
from django.conf import settings
settings.configure(USE_TZ=True)
django.setup()
from tocsin.core.sqlite.base import DatabaseWrapper
db = DatabaseWrapper({
    "ENGINE": "tocsin.core.sqlite", "NAME": sys.argv[1],
    "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 5.0}, "ATOMIC_REQUESTS": False,
    "AUTOCOMMIT": True, "CONN_MAX_AGE": 0, "CONN_HEALTH_CHECKS": False, "TIME_ZONE": None,
    "USER": "", "PASSWORD": "", "HOST": "", "PORT": "", "TEST": {},
}, alias="holder")
db.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
with db.cursor() as cursor:
    cursor.execute("INSERT INTO t (v) VALUES ('other process')")
print("holding", flush=True)
sys.stdin.readline()
db.commit()
print("committed", flush=True)
"""


def hold_in_another_process(path: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "holding"
    return proc


def test_a_writer_in_another_process_waits_its_turn_then_writes(path: Path) -> None:
    """The other process's transaction holds the file lock beside the database: a writer
    here waits (in the kernel, not trying SQLite's lock again and again) and writes as
    soon as the other commits; one whose timeout runs out first gets "database is
    locked", as before, never a hang."""
    other = hold_in_another_process(path)
    try:
        assert Path(f"{path}-writelock").exists()
        errors: list[BaseException] = []
        started = time.monotonic()
        writer(path, "gave up", errors, 0.3)
        assert 0.25 <= time.monotonic() - started < 3
        assert len(errors) == 1 and "database is locked" in str(errors[0])
        waited: list[BaseException] = []
        cpu: list[float] = []

        def timed_writer() -> None:
            used = time.thread_time()
            writer(path, "waited", waited)
            cpu.append(time.thread_time() - used)

        thread = threading.Thread(target=timed_writer)
        thread.start()
        time.sleep(0.5)
        assert thread.is_alive()  # waiting for the other process
        assert other.stdin is not None and other.stdout is not None
        other.stdin.write("\n")
        other.stdin.flush()
        assert other.stdout.readline().strip() == "committed"
        thread.join(10)
        assert waited == []
        # half a second's wait cost next to no CPU: asking SQLite's lock every 0.1-0.5 ms
        # took tens of milliseconds of it
        assert cpu[0] < 0.01, f"the wait used {cpu[0] * 1000:.0f} ms of CPU"
    finally:
        other.kill()
        other.wait()
    assert rows(path) == ["other process", "waited"]


def test_a_forked_child_takes_the_file_lock_as_a_process_of_its_own(tmp_path: Path) -> None:
    """A flock belongs to an open file, which a fork shares: a child that used its
    parent's would think it held the lock while the parent does (gunicorn forks)."""
    from tocsin.core.sqlite.base import ProcessLock

    lock = ProcessLock(str(tmp_path / "x-writelock"))
    assert lock.acquire(1.0)
    pid = os.fork()
    if pid == 0:  # the child: refused while the parent holds it
        got = lock.acquire(0.2)
        os._exit(3 if got else 0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    lock.release()
    other = ProcessLock(str(tmp_path / "x-writelock"))  # another open: another holder
    assert other.acquire(1.0)
    assert not lock.acquire(0.2)
    other.release()
    assert lock.acquire(1.0)
    lock.release()


def test_a_wait_given_up_does_not_take_the_lock_from_the_next_turn(tmp_path: Path) -> None:
    """A caller gave up while the kernel wait went on; the next turn of the same process
    must hold the lock even when that old wait then ends (it gets the lock, finds nobody
    asking, and must not release the lock the next turn holds)."""
    from tocsin.core.sqlite.base import ProcessLock

    path = str(tmp_path / "x-writelock")
    other, mine, third = ProcessLock(path), ProcessLock(path), ProcessLock(path)
    assert other.acquire(1.0)
    assert not mine.acquire(0.1)  # given up; its waiter is still in the kernel
    other.release()
    assert mine.acquire(1.0)  # the next turn
    time.sleep(0.2)  # the old wait has ended by now
    assert not third.acquire(0.2), "the next turn's lock was released under it"
    mine.release()
    assert third.acquire(1.0)
    third.release()
