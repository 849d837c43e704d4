"""Every hand-written SQL statement of the outbox's sending path, in one place.

Each one replaces an ORM query that the outbox runs once for every message it sends,
where building the query through the ORM cost a measured share of a storm's CPU
(docs/benchmarks.md, "What each hand-written statement buys"). Each is built once per
database connection alias from the models' metadata (tocsin.core.prepared), and
tests/notify/test_sql.py checks it gives or writes what the ORM query it replaces
does, on SQLite and on PostgreSQL. The ORM query is in each docstring.

- due_rows          every claim scan (a sending thread's after each send): due rows
- methods_by_id     every claim scan: the contact methods of those rows
- claim             every message: the compare-and-set that claims it (UPDATE RETURNING)
- message_for_send  every message: the row, its contact method and its person
- record_sent       every message sent: the outcome, by the holder of the claim only
- stamp_delivery    every message sent or failed: its contact method's last delivery
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper

from tocsin.accounts.models import ContactMethod
from tocsin.core.prepared import Columns, column, prepared, quoted
from tocsin.notify.models import OutboxMessage, OutboxState


def _db_for_write() -> BaseDatabaseWrapper:
    return connections[router.db_for_write(OutboxMessage)]


class _Claim:
    """`OutboxMessage.objects.filter(_due(at), pk=pk).update(state=SENDING,
    lease_until=lease_until, attempts=F("attempts") + 1)` and the new attempt number in
    the same statement (RETURNING: SQLite 3.35+ and PostgreSQL)."""

    def __init__(self, db: BaseDatabaseWrapper) -> None:
        self.vendor = db.vendor
        quote = db.ops.quote_name
        meta = OutboxMessage._meta

        col = quoted(db, OutboxMessage)

        state, lease, attempts = col("state"), col("lease_until"), col("attempts")
        self.sql = (
            f"UPDATE {quote(meta.db_table)} SET {state} = %s, {lease} = %s, "  # noqa: S608 - quoted metadata
            f"{attempts} = {attempts} + 1 WHERE {quote(column(OutboxMessage))} = %s "
            f"AND (({state} = %s AND {col('not_before')} <= %s) "
            f"OR ({state} = %s AND {lease} < %s)) RETURNING {attempts}"
        )


def claim(pk: int, at: dt.datetime, lease_until: dt.datetime) -> int | None:
    """Claim message `pk` if it is due at `at` (queued and not before `at`, or `sending`
    with a lease run out): the attempt number this claim holds, or None when it is not
    (another worker has it)."""
    db = _db_for_write()
    statement = prepared(db, _Claim)
    stamp = db.ops.adapt_datetimefield_value
    with db.cursor() as cursor:
        cursor.execute(
            statement.sql,
            [
                str(OutboxState.SENDING),
                stamp(lease_until),
                pk,
                str(OutboxState.QUEUED),
                stamp(at),
                str(OutboxState.SENDING),
                stamp(at),
            ],
        )
        row = cursor.fetchone()
    return None if row is None else int(row[0])


class _MessageForSend:
    """`OutboxMessage.objects.select_related("contact_method", "person").get(pk=pk)`
    (None rather than DoesNotExist)."""

    def __init__(self, db: BaseDatabaseWrapper) -> None:
        self.vendor = db.vendor
        quote = db.ops.quote_name
        meta = OutboxMessage._meta
        self.method_field: Any = meta.get_field("contact_method")
        self.person_field: Any = meta.get_field("person")
        person_model: Any = self.person_field.related_model
        self.message = Columns(OutboxMessage, "m", db)
        self.method = Columns(ContactMethod, "c", db)
        self.person = Columns(person_model, "p", db)
        person_pk = person_model._meta.pk
        self.method_pk = self.message.width + self.method.names.index(
            str(ContactMethod._meta.pk.attname)
        )
        self.person_pk = (
            self.message.width + self.method.width + self.person.names.index(person_pk.attname)
        )
        columns = self.message.sql + self.method.sql + self.person.sql
        method_pk, method_fk = column(ContactMethod), column(OutboxMessage, "contact_method")
        person_fk = column(OutboxMessage, "person")
        self.sql = (
            f"SELECT {', '.join(columns)} FROM {quote(meta.db_table)} m "  # noqa: S608 - quoted metadata
            f"LEFT OUTER JOIN {quote(ContactMethod._meta.db_table)} c "
            f"ON c.{quote(method_pk)} = m.{quote(method_fk)} "
            f"LEFT OUTER JOIN {quote(person_model._meta.db_table)} p "
            f"ON p.{quote(person_pk.column)} = m.{quote(person_fk)} "
            f"WHERE m.{quote(column(OutboxMessage))} = %s"
        )

    def run(self, db: BaseDatabaseWrapper, pk: int) -> OutboxMessage | None:
        with db.cursor() as cursor:
            cursor.execute(self.sql, [pk])
            row = cursor.fetchone()
        if row is None:
            return None
        values = list(row)
        first, second = self.message.width, self.message.width + self.method.width
        message: Any = self.message.instance(db, values[:first])
        method = None
        if values[self.method_pk] is not None:
            method = self.method.instance(db, values[first:second])
        person = None
        if values[self.person_pk] is not None:
            person = self.person.instance(db, values[second:])
        self.method_field.set_cached_value(message, method)
        self.person_field.set_cached_value(message, person)
        return message


def message_for_send(pk: int) -> OutboxMessage | None:
    """Message `pk` with its contact method and its person read in the same statement
    (the sending thread's read of a message it claimed)."""
    db = connections[router.db_for_read(OutboxMessage)]
    statement: _MessageForSend = prepared(db, _MessageForSend)
    return statement.run(db, pk)


class _RecordSent:
    """`OutboxMessage.objects.filter(pk=pk, state=SENDING, attempts=attempts).update(
    state=SENT, sent_at=at, lease_until=None, last_error="", provider_message_id=...)`."""

    def __init__(self, db: BaseDatabaseWrapper) -> None:
        self.vendor = db.vendor
        quote = db.ops.quote_name
        meta = OutboxMessage._meta

        col = quoted(db, OutboxMessage)

        self.sql = (
            f"UPDATE {quote(meta.db_table)} SET {col('state')} = %s, {col('sent_at')} = %s, "  # noqa: S608 - quoted metadata
            f"{col('lease_until')} = NULL, {col('last_error')} = %s, "
            f"{col('provider_message_id')} = %s "
            f"WHERE {quote(column(OutboxMessage))} = %s AND {col('state')} = %s "
            f"AND {col('attempts')} = %s"
        )


PROVIDER_ID_MAX = 300  # OutboxMessage.provider_message_id's max_length


def record_sent(pk: int, attempts: int, at: dt.datetime, provider_message_id: str) -> int:
    """Message `pk` sent at `at`, if claim `attempts` still holds it: rows written (0 or
    1)."""
    db = _db_for_write()
    statement = prepared(db, _RecordSent)
    with db.cursor() as cursor:
        cursor.execute(
            statement.sql,
            [
                str(OutboxState.SENT),
                db.ops.adapt_datetimefield_value(at),
                "",
                provider_message_id[:PROVIDER_ID_MAX],
                pk,
                str(OutboxState.SENDING),
                attempts,
            ],
        )
        return int(cursor.rowcount)


class _StampDelivery:
    """`ContactMethod.objects.filter(pk=method_id).exclude(last_delivery_ok=ok,
    last_error=error, last_delivery_at__gt=since, last_delivery_at__lte=at).update(
    last_delivery_at=at, last_delivery_ok=ok, last_error=error)`."""

    def __init__(self, db: BaseDatabaseWrapper) -> None:
        self.vendor = db.vendor
        quote = db.ops.quote_name

        col = quoted(db, ContactMethod)

        when, ok, error = col("last_delivery_at"), col("last_delivery_ok"), col("last_error")
        # (the guards keep the condition from being NULL, which NOT would leave NULL)
        self.sql = (
            f"UPDATE {quote(ContactMethod._meta.db_table)} "  # noqa: S608 - quoted metadata
            f"SET {when} = %s, {ok} = %s, {error} = %s WHERE {quote(column(ContactMethod))} = %s "
            f"AND NOT ({ok} IS NOT NULL AND {ok} = %s AND {error} = %s "
            f"AND {when} IS NOT NULL AND {when} > %s AND {when} <= %s)"
        )


def stamp_delivery(
    method_id: int, *, ok: bool, error: str, at: dt.datetime, since: dt.datetime
) -> int:
    """Contact method `method_id` last delivered at `at`, `ok` or not with `error`, unless
    the same outcome and error were written after `since` (and not after `at`): rows
    written (0 or 1). `since=at` always writes."""
    db = connections[router.db_for_write(ContactMethod)]
    statement = prepared(db, _StampDelivery)
    stamp = db.ops.adapt_datetimefield_value
    with db.cursor() as cursor:
        cursor.execute(
            statement.sql,
            [stamp(at), ok, error, method_id, ok, error, stamp(since), stamp(at)],
        )
        return int(cursor.rowcount)


DUE_ROW = ("id", "channel", "recipient", "contact_method", "purpose", "not_before")


class _DueRows:
    """`OutboxMessage.objects.filter(Q(state=QUEUED, not_before__lte=at) | Q(state=SENDING,
    lease_until__lt=at))`, after the keyset `(not_before, id) > after` when given,
    `.order_by("not_before", "pk").values_list(*DUE_ROW)[:size]`."""

    def __init__(self, db: BaseDatabaseWrapper) -> None:
        self.vendor = db.vendor
        quote = db.ops.quote_name

        col = quoted(db, OutboxMessage)

        self.row = Columns(OutboxMessage, "m", db, only=DUE_ROW)
        state, not_before, pk = col("state"), col("not_before"), quote(column(OutboxMessage))
        self.sql = (
            f"SELECT {', '.join(self.row.sql)} FROM {quote(OutboxMessage._meta.db_table)} m "  # noqa: S608 - quoted metadata
            f"WHERE ((m.{state} = %s AND m.{not_before} <= %s) "
            f"OR (m.{state} = %s AND m.{col('lease_until')} < %s))"
        )
        self.after = f" AND (m.{not_before} > %s OR (m.{not_before} = %s AND m.{pk} > %s))"
        self.tail = f" ORDER BY m.{not_before} ASC, m.{pk} ASC LIMIT %s"


def due_rows(
    at: dt.datetime, size: int, after: tuple[dt.datetime, int] | None = None
) -> list[list[Any]]:
    """Up to `size` messages due at `at` (queued and not before `at`, or `sending` with a
    lease run out), oldest first, after the (not_before, id) `after` when given: the
    values of DUE_ROW for each."""
    db = connections[router.db_for_read(OutboxMessage)]
    statement: _DueRows = prepared(db, _DueRows)
    stamp = db.ops.adapt_datetimefield_value
    params: list[Any] = [
        str(OutboxState.QUEUED),
        stamp(at),
        str(OutboxState.SENDING),
        stamp(at),
    ]
    sql = statement.sql
    if after is not None:
        sql += statement.after
        params += [stamp(after[0]), stamp(after[0]), after[1]]
    params.append(size)
    with db.cursor() as cursor:
        cursor.execute(sql + statement.tail, params)
        rows = cursor.fetchall()
    return [statement.row.values(db, list(row)) for row in rows]


class _Methods:
    """`ContactMethod.objects.in_bulk(ids)`."""

    def __init__(self, db: BaseDatabaseWrapper) -> None:
        self.vendor = db.vendor
        quote = db.ops.quote_name
        self.method = Columns(ContactMethod, "c", db)
        self.pk = self.method.names.index(str(ContactMethod._meta.pk.attname))
        self.sql = (
            f"SELECT {', '.join(self.method.sql)} "  # noqa: S608 - quoted metadata
            f"FROM {quote(ContactMethod._meta.db_table)} c "
            f"WHERE c.{quote(column(ContactMethod))} IN "
        )


def methods_by_id(ids: set[int]) -> dict[int, ContactMethod]:
    """The contact methods of these ids, by id (missing ones left out)."""
    if not ids:
        return {}
    db = connections[router.db_for_read(ContactMethod)]
    statement: _Methods = prepared(db, _Methods)
    wanted = sorted(ids)
    with db.cursor() as cursor:
        cursor.execute(statement.sql + "(" + ", ".join(["%s"] * len(wanted)) + ")", wanted)
        rows = cursor.fetchall()
    found: dict[int, ContactMethod] = {}
    for row in rows:
        method: Any = statement.method.instance(db, list(row))
        found[method.pk] = method
    return found
