"""Connection-level settings that only some processes want."""

from __future__ import annotations

from django.db import connection


def sqlite_checkpoint_every(pages: int) -> None:
    """On SQLite, let this connection's commits checkpoint the WAL only once it holds
    `pages` pages (SQLite's default: 1,000 pages, 4 MB).

    A checkpoint copies the WAL's pages into the database file and syncs it; run every
    4 MB, that is most of a commit's cost during an ingest backlog, and copies the same
    hot pages (indexes, the inbox's state) again and again. Fewer, larger checkpoints do
    less work in all. A setting of the connection only: web processes keep the default.
    Nothing on PostgreSQL.
    """
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA wal_autocheckpoint = {int(pages)}")
