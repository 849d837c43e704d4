"""Django's SQLite backend, with a fair wait for the write lock.

SQLite lets one connection write at a time. A connection that finds the lock taken
waits in SQLite's busy handler, which sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50,
100 ms between tries. Against a worker that writes transaction after transaction with
a fraction of a millisecond between them (an alert storm's drain), those sleeps seldom
land in a gap: in bench/sqlite_fairness.py (four writers, 100 inserts each, against
such a worker, on a busy 2-core machine) 11 of the 400 inserts failed with "database
is locked" after their five seconds and the 99th percentile was 5.5 s.

Here a statement that takes the lock outside a transaction (`BEGIN IMMEDIATE`, an
autocommit write, a checkpoint) is tried with SQLite's busy timeout set to zero and
tried again after a short random sleep (0.1-0.5 ms, longer after the first 50 ms)
until the connection's `timeout` has passed; then it fails as before ("database is
locked", which the web answers with a 503). In the same run: none failed, the 99th
percentile was 236 ms. Inside a transaction (which
already holds the lock: every transaction begins IMMEDIATE) nothing changes.

Within one process, the threads that write to the same database file take turns in the
order they asked (`WriteGate`), from `BEGIN` to the end of the transaction (and around a
write outside one), waiting on a condition rather than polling. The worker's eight
sending threads used to poll for the lock every fraction of a millisecond while the
engine thread wrote transaction after transaction; each poll took the GIL from the
engine thread. With the gate the worker spends about a sixth less CPU on a storm's alert
(docs/benchmarks.md). An in-memory database (tests) has no gate.

Between processes, the thread that holds its process's turn also holds an exclusive
`flock` on a file beside the database (`<database>-writelock`, `ProcessLock`) until the
turn ends: a process whose turn it is waits in the kernel for the others' writes, and
is woken when they end, rather than asking SQLite again and again. Before it, two worker
processes and the web's spent about a third of their CPU in a storm on those tries, and
a second worker process made the storm slower, not faster (docs/benchmarks.md,
session 17). Writers that do not take it (the sqlite3 shell, a backup) still meet the
lock through the polling above.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import os
import random
import sqlite3
import threading
import time
from typing import Any

from django.db import OperationalError
from django.db.backends.sqlite3 import base

FAST = 0.05  # seconds of quick tries before the sleeps grow


def _locked(exc: sqlite3.OperationalError) -> bool:
    # "database table is locked" (SQLITE_LOCKED) is what a shared-cache database (the
    # test suite's in-memory one) answers at once, where a file answers "busy".
    message = str(exc)
    return (
        "database is locked" in message
        or "database is busy" in message
        or "database table is locked" in message
    )


class ProcessLock:
    """An exclusive `flock` on one file: this process's turn at writing among the
    processes that use the same database. `acquire()` first tries without waiting; else
    a thread of its own waits in the kernel (the caller waits for it, up to `timeout`:
    a lock that another process holds for longer is "database is locked", as before,
    never a hang); one whose caller gave up releases the lock as soon as it gets it.
    Only the holder of its process's `WriteGate` calls it, so one call at a time. A
    forked child opens the file again (a `flock` is shared by the descriptors of one
    open, which a fork copies)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._pid = -1
        self._fd = -1
        self._cond = threading.Condition()
        self._asked: object | None = None  # the pending request
        self._granted: object | None = None
        self._waiter: threading.Thread | None = None
        self._in_kernel = False  # the waiter is inside flock() (for a request maybe given up)

    def _file(self) -> int:
        if self._pid != os.getpid():
            flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
            self._fd = os.open(self.path, flags, 0o600)
            self._pid = os.getpid()
            self._cond = threading.Condition()
            self._asked = self._granted = self._waiter = None
            self._in_kernel = False
        return self._fd

    def acquire(self, timeout: float) -> bool:
        fd = self._file()
        ticket = object()
        with self._cond:
            # Not while the waiter is inside flock() for a request given up: it would get
            # this descriptor's lock at once and, finding nobody asking, release it.
            if not self._in_kernel:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return True
                except BlockingIOError:
                    pass
            self._asked = ticket
            if self._waiter is None:
                self._waiter = threading.Thread(
                    target=self._wait_in_kernel, name="sqlite-writelock", daemon=True
                )
                self._waiter.start()
            self._cond.notify_all()
            if self._cond.wait_for(lambda: self._granted is ticket, timeout):
                self._granted = None
                return True
            self._asked = None  # given up: the waiter releases the lock when it gets it
            return False

    def _wait_in_kernel(self) -> None:
        fd = self._fd
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._asked is not None)
                self._in_kernel = True
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)  # the GIL is released while it waits
            except OSError:  # (not expected) its caller times out; ask again later
                with self._cond:
                    self._in_kernel = False
                time.sleep(0.01)
                continue
            with self._cond:  # one section with the decision: nobody can slip in between
                self._in_kernel = False
                if self._asked is None:  # its caller gave up meanwhile
                    fcntl.flock(fd, fcntl.LOCK_UN)
                    continue
                self._granted, self._asked = self._asked, None
                self._cond.notify_all()

    def release(self) -> None:
        if self._pid == os.getpid():
            fcntl.flock(self._fd, fcntl.LOCK_UN)


class WriteGate:
    """The turns of one process's threads at writing one database file: first come,
    first served; a thread may take it again while it holds it (a second connection of
    its own). With a `ProcessLock`, the turn also waits for the other processes'.
    `take()` gives up after `timeout` seconds (False)."""

    def __init__(self, lock: ProcessLock | None = None) -> None:
        self._lock = lock
        self._cond = threading.Condition()
        self._queue: collections.deque[object] = collections.deque()
        self._owner: int | None = None
        self._depth = 0

    def take(self, timeout: float) -> bool:
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._depth += 1
                return True
            deadline = time.monotonic() + timeout
            if self._owner is not None or self._queue:
                ticket = object()
                self._queue.append(ticket)
                while self._owner is not None or self._queue[0] is not ticket:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        self._queue.remove(ticket)
                        self._cond.notify_all()
                        return False
                    self._cond.wait(left)
                self._queue.popleft()
            self._owner, self._depth = me, 1
        # this process's turn; now the other processes' (outside the condition: the
        # threads behind it queue meanwhile)
        if self._lock is None or self._lock.acquire(max(0.0, deadline - time.monotonic())):
            return True
        with self._cond:
            self._owner, self._depth = None, 0
            self._cond.notify_all()
        return False

    def give(self) -> None:
        with self._cond:
            if self._owner != threading.get_ident():
                return
            self._depth -= 1
            if self._depth <= 0:
                if self._lock is not None:
                    with contextlib.suppress(OSError):
                        self._lock.release()
                self._owner, self._depth = None, 0
                self._cond.notify_all()


_gates: dict[str, WriteGate] = {}
_gates_lock = threading.Lock()


def gate_for(name: str) -> WriteGate:
    """The write gate of this process for one database file."""
    with _gates_lock:
        gate = _gates.get(name)
        if gate is None:
            gate = _gates[name] = WriteGate(ProcessLock(f"{name}-writelock"))
        return gate


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "BEGIN", "PRAGMA WAL_CHECKPOINT")


def _writes(query: str) -> bool:
    return query.lstrip()[:21].upper().startswith(_WRITES)


def _locked_error() -> OperationalError:
    # Django's error (what a locked database raises through the cursor too), so that the
    # callers' `except OperationalError` and the web's 503 treat it the same way
    return OperationalError("database is locked (waited for this process's turn to write)")


class SQLiteCursorWrapper(base.SQLiteCursorWrapper):
    def execute(self, query: str, params: Any = None) -> Any:
        if self.connection.in_transaction:
            return super().execute(query, params)
        return self._gated(query, lambda: super(SQLiteCursorWrapper, self).execute(query, params))

    def executemany(self, query: str, param_list: Any) -> Any:
        if self.connection.in_transaction:
            return super().executemany(query, param_list)
        param_list = list(param_list)  # it may be tried again
        return self._gated(
            query, lambda: super(SQLiteCursorWrapper, self).executemany(query, param_list)
        )

    def _gated(self, query: str, run: Any) -> Any:
        """A write outside a transaction (BEGIN, an autocommit write) waits for this
        process's turn first (a BEGIN keeps it until the transaction ends:
        DatabaseWrapper)."""
        gate: WriteGate | None = getattr(self.connection, "tocsin_gate", None)
        if gate is None or not _writes(query):
            return self._fair(run)
        if not gate.take(getattr(self.connection, "tocsin_timeout", 0.0)):
            raise _locked_error()
        try:
            return self._fair(run)
        finally:
            gate.give()

    def _fair(self, run: Any) -> Any:
        wait = getattr(self.connection, "tocsin_timeout", 0.0)
        started = time.monotonic()
        while True:
            try:
                return run()
            except sqlite3.OperationalError as exc:
                waited = time.monotonic() - started
                if not _locked(exc) or waited >= wait:
                    raise
                time.sleep(random.uniform(0.0001, 0.0005 if waited < FAST else 0.002))


class Connection(sqlite3.Connection):
    """sqlite3's connection, able to carry the wait that SQLite's own handler had."""

    tocsin_timeout = 5.0
    tocsin_gate: WriteGate | None = None


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_connection_params()
        params["factory"] = Connection
        return params

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        conn = super().get_new_connection(conn_params)
        # SQLite's own wait off: the cursor above waits, with short sleeps, for up to
        # the configured timeout.
        conn.tocsin_timeout = float(conn_params.get("timeout", 5.0))
        conn.execute("PRAGMA busy_timeout = 0")
        if not self.is_in_memory_db():
            conn.tocsin_gate = gate_for(str(self.settings_dict["NAME"]))
        return conn

    # The gate taken by BEGIN (the cursor above) is kept until the transaction ends.
    def _start_transaction_under_autocommit(self) -> None:
        gate = getattr(self.connection, "tocsin_gate", None)
        if gate is None:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]  # private in django-stubs
            return
        if not gate.take(getattr(self.connection, "tocsin_timeout", 0.0)):
            raise _locked_error()
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]  # private in django-stubs
        except BaseException:
            gate.give()
            raise
        self._tocsin_gate_held = gate

    def _give_gate(self, *, closed: bool = False) -> None:
        gate = getattr(self, "_tocsin_gate_held", None)
        if gate is None:
            return
        if closed or self.connection is None or not self.connection.in_transaction:
            self._tocsin_gate_held = None
            gate.give()

    def _commit(self) -> None:
        try:
            super()._commit()  # type: ignore[misc]  # private in django-stubs
        finally:
            self._give_gate()

    def _rollback(self) -> None:
        try:
            super()._rollback()  # type: ignore[misc]  # private in django-stubs
        finally:
            self._give_gate()

    def _close(self) -> None:
        try:
            super()._close()  # type: ignore[misc]  # private in django-stubs
        finally:
            self._give_gate(closed=True)

    def create_cursor(self, name: str | None = None) -> Any:
        return self.connection.cursor(factory=SQLiteCursorWrapper)
