"""Connection-level settings that only some processes want."""

from __future__ import annotations

import logging

from django.db import OperationalError, connection

log = logging.getLogger("tocsin.db")


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


def sqlite_checkpoint() -> None:
    """On SQLite, copy the WAL into the database now (PASSIVE: as far as readers allow,
    without waiting for anyone). The drain calls it when its backlog is done, so the
    next web request does not find up to 64 MB of WAL to checkpoint after its commit."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except OperationalError:  # best effort: a later commit checkpoints anyway
        log.debug("WAL checkpoint skipped", exc_info=True)
