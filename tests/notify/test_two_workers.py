"""Two workers and a slow provider: no message goes out twice without a crash.

Each worker is a thread with its own database connection, running engine ticks over
its own OutboxModule, as two `tocsin worker` processes would. The SMTP server (real,
on loopback) takes a fifth of a second per message, and the lease is made short (1 s)
so that a batch takes several leases to send. One worker's ticks also hold a module
that works for 1.2 s before the outbox gets its turn (as the ingest module does while
it drains a backlog). A lease counted from the start of the tick, or an outcome written
without checking who holds the claim, lets the other worker send a message the first
is still sending.
"""

from __future__ import annotations

import datetime as dt
import importlib
import threading
import time
from collections import Counter

import pytest
from django.db import connection

from tocsin.engine.engine import run_tick
from tocsin.notify import engine as outbox_engine
from tocsin.notify.engine import OutboxModule
from tocsin.notify.models import OutboxMessage, OutboxState
from tocsin.notify.services import outbox_enqueue_email

SHORT_LEASE = dt.timedelta(seconds=1)


@pytest.fixture
def short_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outbox_engine, "LEASE", SHORT_LEASE)
    try:  # the email channel's own retry policy holds its lease
        email = importlib.import_module("tocsin.notify.channels.email")
    except ImportError:
        return
    from dataclasses import replace

    monkeypatch.setattr(email, "policy", replace(email.policy, lease=SHORT_LEASE))


class Busy:
    """Another module's long turn (a drain of a backlog) before the outbox's."""

    name = "busy"

    def tick(self, now: dt.datetime) -> int:
        time.sleep(1.2)
        return 0


def _worker(errors: list[BaseException], give_up: float, busy: bool) -> None:
    modules = [Busy(), OutboxModule()] if busy else [OutboxModule()]
    try:
        while time.monotonic() < give_up:
            run_tick(modules)
            if not OutboxMessage.objects.filter(
                state__in=[OutboxState.QUEUED, OutboxState.SENDING]
            ).exists():
                return
            time.sleep(0.01)
    except BaseException as exc:  # reported by the test
        errors.append(exc)
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_two_workers_and_slow_sends_deliver_every_message_exactly_once(
    slow_smtp_server, short_lease
) -> None:
    count = 40
    for n in range(count):
        outbox_enqueue_email(recipient=f"p{n}@example.com", subject=f"Page {n}", body="x")
    errors: list[BaseException] = []
    give_up = time.monotonic() + 60
    workers = [
        threading.Thread(target=_worker, args=(errors, give_up, busy)) for busy in (True, False)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=90)
    assert not errors
    delivered = Counter(str(mail["Message-ID"]) for mail in slow_smtp_server.messages)
    doubled = {mid: n for mid, n in delivered.items() if n > 1}
    assert doubled == {}, f"sent more than once: {doubled}"
    assert len(delivered) == count
    states = Counter(OutboxMessage.objects.values_list("state", flat=True))
    assert states == {OutboxState.SENT: count}
    assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {1}
