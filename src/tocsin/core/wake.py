"""Wake the worker when new work is committed (DESIGN.md: "at once when new work is committed").

`work_committed()` is called by the services that commit work for the engine (an ingest
inbox row, an outbox message). On PostgreSQL it issues `NOTIFY tocsin_work`: inside a
transaction PostgreSQL delivers it when (and only if) the transaction commits, and folds
repeats within one transaction into one; outside a transaction it is delivered at once.
Workers `LISTEN tocsin_work` on a connection of their own (tocsin.engine.engine).

On SQLite it does nothing: a worker notices another connection's commit by polling
`PRAGMA data_version` on its own connection while idle, which costs microseconds.
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections

CHANNEL = "tocsin_work"


def work_committed(using: str = DEFAULT_DB_ALIAS) -> None:
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"NOTIFY {CHANNEL}")
