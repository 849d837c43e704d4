"""The demo organisation for tests that start from a flushed database, copied, not rebuilt.

`load_demo()` writes a whole organisation through Tocsin's services: about 8 s of CPU on
SQLite and more on PostgreSQL. The live-server tests that crawl it (accessibility, dark
mode) and the page checks per role each needed it again after the flush that ends every
transactional test. `demo(key)` loads it the first time for `key` (a test module), keeps
a copy of every table's rows in memory, and afterwards writes that copy back into the
flushed database: on SQLite by `executemany`, on PostgreSQL by `COPY` (columns the database
generates itself, such as the search vectors, are left to it; the SQLite search indexes
are filled by their triggers). A copy is used only within the module that made it, so a
demo restored minutes later differs from a fresh one by those minutes at most.

What is not copied: content types and permissions (post_migrate makes them again after
a flush, with their own ids; no Tocsin table points at them), sessions and the admin log.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.management.color import no_style
from django.db import connection, transaction

SKIPPED = {"django_content_type", "auth_permission", "django_session", "django_admin_log"}


@dataclass
class Snapshot:
    vendor: str
    tables: list[tuple[str, list[str], Any]] = field(default_factory=list)  # name, columns, rows


_snapshots: dict[str, Snapshot] = {}


def _models() -> list[Any]:
    return [
        m
        for m in apps.get_models(include_auto_created=True)
        if m._meta.managed and not m._meta.proxy and m._meta.db_table not in SKIPPED
    ]


def _columns(table: str) -> list[str]:
    """The table's columns the database does not generate itself."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                "AND table_schema = current_schema() AND is_generated = 'NEVER' "
                "ORDER BY ordinal_position",
                [table],
            )
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f'PRAGMA table_xinfo("{table}")')
        # hidden: 0 an ordinary column, 2 or 3 a generated one
        return [row[1] for row in cursor.fetchall() if row[6] == 0]


def _take() -> Snapshot:
    snapshot = Snapshot(connection.vendor)
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model in _models():
            table = model._meta.db_table
            columns = _columns(table)
            names = ", ".join(qn(c) for c in columns)
            if connection.vendor == "postgresql":
                data = bytearray()
                with cursor.cursor.copy(f"COPY {qn(table)} ({names}) TO STDOUT") as copy:
                    for block in copy:
                        data += block
                if data:
                    snapshot.tables.append((table, columns, bytes(data)))
            else:
                # `+column`: the stored value as it is (no converter by declared type)
                raw = ", ".join(f"+{qn(c)}" for c in columns)
                cursor.execute(f"SELECT {raw} FROM {qn(table)}")
                rows = cursor.fetchall()
                if rows:
                    snapshot.tables.append((table, columns, rows))
    return snapshot


def _restore(snapshot: Snapshot) -> None:
    qn = connection.ops.quote_name
    models = _models()
    with transaction.atomic(), connection.cursor() as cursor:
        # what the flush left (the seeded rows put back after it) gives way to the copy;
        # foreign keys are checked at the commit
        for model in models:
            cursor.execute(f"DELETE FROM {qn(model._meta.db_table)}")
        for table, columns, rows in snapshot.tables:
            names = ", ".join(qn(c) for c in columns)
            if snapshot.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {qn(table)} ({names}) FROM STDIN") as copy:
                    copy.write(rows)
            else:
                marks = ", ".join(["%s"] * len(columns))
                cursor.executemany(
                    f"INSERT INTO {qn(table)} ({names}) VALUES ({marks})",
                    rows,
                )
        for sql in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(sql)


def demo(key: str | None = None) -> None:
    """The demo organisation in the test database: already there, copied back from this
    key's snapshot into an installation that has nobody in it yet, or loaded (and then
    kept for the key). The key defaults to the running test's file."""
    key = key or os.environ.get("PYTEST_CURRENT_TEST", "").split("::")[0]
    from tocsin.accounts.models import User
    from tocsin.demo import load_demo
    from tocsin.demo.organisation import demo_loaded

    if demo_loaded():
        return
    snapshot = _snapshots.get(key)
    if snapshot is not None and snapshot.vendor == connection.vendor and not User.objects.exists():
        _restore(snapshot)
        return
    load_demo()
    _snapshots.clear()  # one kept at a time: a copy is a few MB
    _snapshots[key] = _take()
