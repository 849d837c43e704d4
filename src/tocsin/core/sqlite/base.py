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
"""

from __future__ import annotations

import random
import sqlite3
import time
from typing import Any

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


class SQLiteCursorWrapper(base.SQLiteCursorWrapper):
    def execute(self, query: str, params: Any = None) -> Any:
        if self.connection.in_transaction:
            return super().execute(query, params)
        return self._fair(lambda: super(SQLiteCursorWrapper, self).execute(query, params))

    def executemany(self, query: str, param_list: Any) -> Any:
        if self.connection.in_transaction:
            return super().executemany(query, param_list)
        param_list = list(param_list)  # it may be tried again
        return self._fair(lambda: super(SQLiteCursorWrapper, self).executemany(query, param_list))

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
        return conn

    def create_cursor(self, name: str | None = None) -> Any:
        return self.connection.cursor(factory=SQLiteCursorWrapper)
