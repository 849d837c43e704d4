"""Leases: a named right to run alone, held by one worker until it lapses.

Every call is a compare-and-set on one row of `Lease`, in the caller's transaction if
there is one (a lease renewed inside a batch's transaction is renewed only if the batch
commits). Times come from the caller (the engine's `now()`), so tests can move them.

- `lease_take`: ours if nobody holds it, it lapsed, or we hold it already;
- `lease_renew`: extended only while we still hold it (False: another worker took it
  after ours lapsed; stop, and leave what we did not commit);
- `lease_release`: a clean stop hands it over at once;
- `lease_due`: a schedule shared by every worker: True for one caller at most every
  `every` (what runs "once a minute" keeps its next run in the lease, not in memory).

The read and the three updates that the ingest module makes for every service in every
turn (take, renew inside each batch, release) are statements built once
(tocsin.core.prepared, `_Statements`; each docstring names the ORM query it replaces and
tests/engine/test_leases.py compares them): during a storm a turn drains a few rows of
each of fifty services, and building those four queries through the ORM cost about a
third of a millisecond a service.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import (
    IntegrityError,
    OperationalError,
    connection,
    connections,
    router,
    transaction,
)
from django.db.backends.base.base import BaseDatabaseWrapper

from tocsin.core.models import Lease
from tocsin.core.prepared import column, prepared

RELEASED = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL: lock_timeout ran out


class _Statements:
    """- read: `Lease.objects.filter(name=name).values_list("holder", "lease_until").first()`
    - take: `Lease.objects.filter(name=name).filter(Q(lease_until__lt=at) | Q(holder=holder)
      | Q(holder="")).update(holder=holder, lease_until=until)`
    - renew: `Lease.objects.filter(name=name, holder=holder).update(lease_until=until)`
    - release: `...filter(name=name, holder=holder).update(holder="", lease_until=RELEASED)`
    """

    def __init__(self, db: BaseDatabaseWrapper) -> None:
        self.vendor = db.vendor
        quote = db.ops.quote_name
        table = quote(Lease._meta.db_table)
        name, holder = quote(column(Lease, "name")), quote(column(Lease, "holder"))
        until = quote(column(Lease, "lease_until"))
        field: Any = Lease._meta.get_field("lease_until")
        col = field.get_col("l")
        self.until_converters = db.ops.get_db_converters(col) + col.get_db_converters(db)
        self.until_col = col
        self.read = f"SELECT l.{holder}, l.{until} FROM {table} l WHERE l.{name} = %s LIMIT 1"  # noqa: S608 - quoted metadata
        self.take = (
            f"UPDATE {table} SET {holder} = %s, {until} = %s WHERE {name} = %s "  # noqa: S608 - quoted metadata
            f"AND ({until} < %s OR {holder} = %s OR {holder} = %s)"
        )
        self.renew = f"UPDATE {table} SET {until} = %s WHERE {name} = %s AND {holder} = %s"  # noqa: S608 - quoted metadata
        self.release = (
            f"UPDATE {table} SET {holder} = %s, {until} = %s "  # noqa: S608 - quoted metadata
            f"WHERE {name} = %s AND {holder} = %s"
        )


def _db() -> tuple[BaseDatabaseWrapper, _Statements]:
    db = connections[router.db_for_write(Lease)]
    return db, prepared(db, _Statements)


def _run(sql: str, params: list[Any]) -> int:
    db, _ = _db()
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def _read(name: str) -> tuple[str, dt.datetime] | None:
    """The lease's holder and end (None: no row yet)."""
    db, statements = _db()
    with db.cursor() as cursor:
        cursor.execute(statements.read, [name])
        row = cursor.fetchone()
    if row is None:
        return None
    value = row[1]
    for converter in statements.until_converters:
        value = converter(value, statements.until_col, db)
    return str(row[0]), value


def lease_take(*, name: str, holder: str, at: dt.datetime, until: dt.datetime) -> bool:
    """Compare-and-set: the lease is `holder`'s until `until` if it lapsed before `at`,
    was released, or `holder` holds it already; False if another holder has it."""
    if not holder:
        raise ValueError("a lease needs a holder")
    # A plain read first: a lease another worker holds is refused at once. The UPDATE
    # below would wait for that worker's transaction (it renews the lease inside each of
    # its batches) before finding the lease taken: two workers would take turns.
    seen = _read(name)
    if seen is not None and seen[0] not in ("", holder) and seen[1] >= at:
        return False
    if connection.vendor == "postgresql":
        taken = _take_unless_locked(name=name, holder=holder, at=at, until=until)
        if taken is not None:
            return taken
    else:
        db, statements = _db()
        stamp = db.ops.adapt_datetimefield_value
        taken_rows = _run(statements.take, [holder, stamp(until), name, stamp(at), holder, ""])
        if taken_rows == 1:
            return True
    return _create(name=name, holder=holder, until=until)


# How long the first take of a lease waits, on PostgreSQL, for another transaction that
# has just made the same lease's row (see `_create`).
CREATE_WAIT_MS = 200


def _create(*, name: str, holder: str, until: dt.datetime) -> bool:
    """The lease's first take: its row is made, ours. False if another worker made it
    first. On PostgreSQL the INSERT's unique check waits for any transaction still
    changing a row of the same name, and the other worker may be renewing the lease it
    has just made inside a whole drain batch: its read and SKIP LOCKED above came too
    early to see that row. The wait is bounded (`lock_timeout`, this transaction only):
    a lease someone is renewing is theirs."""
    db, _ = _db()
    try:
        with transaction.atomic(using=db.alias):
            before = None
            if db.vendor == "postgresql":
                with db.cursor() as cursor:
                    cursor.execute(
                        "SELECT current_setting('lock_timeout'), "
                        "set_config('lock_timeout', %s, true)",
                        [f"{CREATE_WAIT_MS}ms"],
                    )
                    before = cursor.fetchone()[0]
            # Straight to the INSERT: the caller found no row a moment ago.
            Lease.objects.using(db.alias).create(name=name, holder=holder, lease_until=until)
            if before is not None:  # a caller's own transaction keeps its setting
                with db.cursor() as cursor:
                    cursor.execute("SELECT set_config('lock_timeout', %s, true)", [before])
    except IntegrityError:  # another worker made the row at the same moment
        return False
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        return False  # another worker made the row and holds it in an open transaction
    return True


def _take_unless_locked(
    *, name: str, holder: str, at: dt.datetime, until: dt.datetime
) -> bool | None:
    """PostgreSQL: lock the lease's row FOR UPDATE SKIP LOCKED. A row another transaction
    is changing — its holder renewing it inside a batch, or another worker taking it — is
    refused at once: the plain read above may have seen the lease free, lapsed or not yet
    made just before that, and an UPDATE would wait for the other transaction to end (a
    whole drain batch; two workers then took turns instead of draining side by side).
    None: there is no row yet (the caller makes it)."""
    with transaction.atomic():
        row = (
            Lease.objects.select_for_update(skip_locked=True)
            .filter(name=name)
            .values_list("pk", "holder", "lease_until")
            .first()
        )
        if row is None:
            # locked by another transaction (its lease now), or not made yet
            return False if Lease.objects.filter(name=name).exists() else None
        pk, current, lease_until = row
        if current not in ("", holder) and lease_until >= at:
            return False
        Lease.objects.filter(pk=pk).update(holder=holder, lease_until=until)
        return True


def lease_renew(*, name: str, holder: str, until: dt.datetime) -> bool:
    """Extend the lease if `holder` still holds it."""
    db, statements = _db()
    return _run(statements.renew, [db.ops.adapt_datetimefield_value(until), name, holder]) == 1


def lease_release(*, name: str, holder: str) -> bool:
    """Hand the lease over now (if `holder` holds it)."""
    db, statements = _db()
    stamp = db.ops.adapt_datetimefield_value
    return _run(statements.release, ["", stamp(RELEASED), name, holder]) == 1


def leases_release_all(*, holder: str) -> int:
    """A clean stop: every lease `holder` holds is handed over."""
    return Lease.objects.filter(holder=holder).update(holder="", lease_until=RELEASED)


def lease_due(*, name: str, holder: str, at: dt.datetime, every: dt.timedelta) -> bool:
    """True if the lease lapsed (or was released, or never existed): it is then taken
    until `at + every`, so no worker (this one included) gets True again before that.
    `lease_release` makes it due again at once (e.g. there is more work)."""
    taken = Lease.objects.filter(name=name, lease_until__lt=at).update(
        holder=holder, lease_until=at + every
    )
    if taken == 1:
        return True
    try:
        with transaction.atomic():
            _, created = Lease.objects.get_or_create(
                name=name, defaults={"holder": holder, "lease_until": at + every}
            )
    except IntegrityError:
        return False
    return created


def lease_holder(name: str, *, at: dt.datetime) -> str:
    """Who holds the lease at `at` ("" if nobody)."""
    lease = Lease.objects.filter(name=name, lease_until__gte=at).exclude(holder="").first()
    return lease.holder if lease is not None else ""
