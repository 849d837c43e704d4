"""Each hand-written statement of tocsin.notify.sql gives, or writes, what the ORM query
it replaces does (on SQLite and on PostgreSQL): the same row, the same values."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tocsin.accounts.models import ContactMethod, User
from tocsin.accounts.services import contact_method_add
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.notify import sql
from tocsin.notify.models import OutboxMessage, OutboxState
from tocsin.notify.services import outbox_enqueue

pytestmark = pytest.mark.django_db

SETUP = Actor.system("test setup")


def _values(instance: Any) -> dict[str, Any]:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def _message(**fields: Any) -> OutboxMessage:
    return outbox_enqueue(
        channel="webhook",
        recipient="https://hooks.example.com/ü?x=1",
        subject="[P1] Ünïcode ‘quotes’",
        body="line 1\nline 2",
        payload={"priority": 1, "links": {"ack": "https://x/a"}, "n": [1.5, None, True]},
        purpose="page",
        **fields,
    )


def test_message_for_send_is_the_orm_query_with_person_and_method(responder: User) -> None:
    method = contact_method_add(
        user=responder, kind="webhook", address="https://hooks.example.com/p", actor=SETUP
    )
    message = _message(person=responder, contact_method=method)
    found = sql.message_for_send(message.pk)
    expected = OutboxMessage.objects.select_related("contact_method", "person").get(pk=message.pk)
    assert found is not None
    assert _values(found) == _values(expected)
    assert found.payload == {"priority": 1, "links": {"ack": "https://x/a"}, "n": [1.5, None, True]}
    assert isinstance(found.created_at, dt.datetime) and found.created_at.tzinfo is not None
    with django_queries() as counted:
        assert found.contact_method is not None and found.person is not None
        assert _values(found.contact_method) == _values(expected.contact_method)
        assert _values(found.person) == _values(expected.person)
        assert found.person.username == responder.username
    assert counted == [], "the method and the person came with the message"


def test_message_for_send_without_person_or_method() -> None:
    message = _message()
    found = sql.message_for_send(message.pk)
    assert found is not None
    assert _values(found) == _values(OutboxMessage.objects.get(pk=message.pk))
    with django_queries() as counted:
        assert found.contact_method is None and found.person is None
    assert counted == []


def test_message_for_send_of_a_missing_row_is_none() -> None:
    assert sql.message_for_send(987654321) is None


def test_claim_is_the_compare_and_set() -> None:
    due = _message()
    later = _message(not_before=now() + dt.timedelta(minutes=5))
    at = now()
    lease = at + dt.timedelta(seconds=30)
    assert sql.claim(due.pk, at, lease) == 1
    assert sql.claim(due.pk, at, lease) is None, "held: a second claim fails"
    assert sql.claim(later.pk, at, lease) is None, "not due yet"
    row = OutboxMessage.objects.get(pk=due.pk)
    assert (row.state, row.attempts, row.lease_until) == (OutboxState.SENDING, 1, lease)
    # the lease ran out: claimed again, attempt 2
    assert sql.claim(due.pk, lease + dt.timedelta(seconds=1), lease + dt.timedelta(60)) == 2
    assert OutboxMessage.objects.get(pk=later.pk).state == OutboxState.QUEUED


def test_record_sent_writes_what_the_orm_update_writes() -> None:
    mine, theirs = _message(), _message()
    at = now()
    for message in (mine, theirs):
        assert sql.claim(message.pk, at, at + dt.timedelta(seconds=30)) == 1
    sent_at = at + dt.timedelta(seconds=2)
    long_id = "sid-" + "x" * 400
    assert sql.record_sent(mine.pk, 1, sent_at, long_id) == 1
    OutboxMessage.objects.filter(pk=theirs.pk, state=OutboxState.SENDING, attempts=1).update(
        state=OutboxState.SENT,
        sent_at=sent_at,
        lease_until=None,
        last_error="",
        provider_message_id=long_id[:300],
    )
    written = _values(OutboxMessage.objects.get(pk=mine.pk))
    expected = _values(OutboxMessage.objects.get(pk=theirs.pk))
    for name in ("id", "message_id", "dedup_key", "created_at", "not_before"):
        written.pop(name), expected.pop(name)
    assert written == expected
    assert written["state"] == OutboxState.SENT and written["sent_at"] == sent_at


def test_record_sent_writes_nothing_without_the_claim() -> None:
    message, unclaimed = _message(), _message()
    at = now()
    assert sql.claim(message.pk, at, at + dt.timedelta(seconds=30)) == 1
    assert sql.record_sent(message.pk, 2, at, "sid") == 0, "another attempt's claim"
    assert sql.record_sent(unclaimed.pk, 0, at, "sid") == 0, "never claimed"
    row = OutboxMessage.objects.get(pk=message.pk)
    assert (row.state, row.provider_message_id, row.sent_at) == (OutboxState.SENDING, "", None)


def test_due_rows_is_the_orm_query() -> None:
    from django.db.models import Q

    base = now()
    made = [
        _message(not_before=base - dt.timedelta(seconds=n % 3)) for n in range(7)
    ]  # ties on not_before: the keyset goes on by id
    _message(not_before=base + dt.timedelta(minutes=5))  # not due
    held, lapsed = made[0], made[1]
    at = now()
    assert sql.claim(held.pk, at, at + dt.timedelta(seconds=30)) == 1  # sending, leased
    assert sql.claim(lapsed.pk, at, at - dt.timedelta(seconds=1)) == 1  # lease run out
    OutboxMessage.objects.filter(pk=made[2].pk).update(state=OutboxState.SENT)

    def orm(size: int, after: tuple[dt.datetime, int] | None) -> list[list[Any]]:
        qs = OutboxMessage.objects.filter(
            Q(state=OutboxState.QUEUED, not_before__lte=at)
            | Q(state=OutboxState.SENDING, lease_until__lt=at)
        )
        if after is not None:
            qs = qs.filter(Q(not_before__gt=after[0]) | Q(not_before=after[0], pk__gt=after[1]))
        return [
            list(values)
            for values in qs.order_by("not_before", "pk").values_list(
                "pk", "channel", "recipient", "contact_method_id", "purpose", "not_before"
            )[:size]
        ]

    first = sql.due_rows(at, 3)
    assert first == orm(3, None) and len(first) == 3
    after = (first[-1][5], first[-1][0])
    rest = sql.due_rows(at, 100, after)
    assert rest == orm(100, after)
    seen = [row[0] for row in first + rest]
    assert len(seen) == 5 == len(set(seen))  # 7 made: one held, one sent; the later one not
    assert lapsed.pk in seen and held.pk not in seen and made[2].pk not in seen
    assert all(isinstance(row[5], dt.datetime) and row[5].tzinfo for row in first + rest)


def test_methods_by_id_is_in_bulk(responder: User) -> None:
    methods = [
        contact_method_add(
            user=responder, kind="webhook", address=f"https://hooks.example.com/{n}", actor=SETUP
        )
        for n in range(3)
    ]
    ids = {methods[0].pk, methods[2].pk, 987654}
    found = sql.methods_by_id(ids)
    expected = ContactMethod.objects.in_bulk(ids)
    assert sorted(found) == sorted(expected) == sorted([methods[0].pk, methods[2].pk])
    for pk, method in found.items():
        assert _values(method) == _values(expected[pk])
    assert sql.methods_by_id(set()) == {}


def _orm_stamp(method_id: int, *, ok: bool, error: str, at: dt.datetime, since: dt.datetime) -> int:
    return (
        ContactMethod.objects.filter(pk=method_id)
        .exclude(
            last_delivery_ok=ok,
            last_error=error,
            last_delivery_at__gt=since,
            last_delivery_at__lte=at,
        )
        .update(last_delivery_at=at, last_delivery_ok=ok, last_error=error)
    )


def test_stamp_delivery_writes_what_the_orm_update_writes(responder: User) -> None:
    """Step by step, on two methods: one stamped by the statement, one by the ORM."""
    mine, theirs = (
        contact_method_add(
            user=responder, kind="webhook", address=f"https://hooks.example.com/{n}", actor=SETUP
        )
        for n in (1, 2)
    )
    at = now()
    minute = dt.timedelta(seconds=60)
    steps = [
        # (seconds later, ok, error, written?)
        (0, True, "", 1),  # never delivered before (NULLs): written
        (10, True, "", 0),  # the same, 10 s later: nothing to write
        (20, False, "HTTP 500", 1),  # a failure: written at once
        (21, False, "HTTP 500", 1),  # the same failure again (since=at): written
        (30, True, "", 1),  # a recovery: written at once
        (95, True, "", 1),  # the stamp is over a minute old: written again
    ]
    for seconds, ok, error, expected in steps:
        when = at + dt.timedelta(seconds=seconds)
        since = when - minute if ok else when
        written = sql.stamp_delivery(mine.pk, ok=ok, error=error, at=when, since=since)
        assert written == _orm_stamp(theirs.pk, ok=ok, error=error, at=when, since=since)
        assert written == expected, (seconds, ok, error)
        a, b = ContactMethod.objects.get(pk=mine.pk), ContactMethod.objects.get(pk=theirs.pk)
        assert (a.last_delivery_at, a.last_delivery_ok, a.last_error) == (
            b.last_delivery_at,
            b.last_delivery_ok,
            b.last_error,
        )
    final = ContactMethod.objects.get(pk=mine.pk)
    assert (final.last_delivery_at, final.last_delivery_ok) == (at + dt.timedelta(seconds=95), True)


class django_queries:
    """The statements run inside the block (a list, filled on exit)."""

    def __enter__(self) -> list[str]:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        self._capture = CaptureQueriesContext(connection)
        self._capture.__enter__()
        self.queries: list[str] = []
        return self.queries

    def __exit__(self, *exc: object) -> None:
        self._capture.__exit__(*exc)
        self.queries.extend(q["sql"] for q in self._capture.captured_queries)
