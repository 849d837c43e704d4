"""A slow or dead provider delays nobody else: the engine thread only claims, sends run in
threads of the outbox, at most K at once per destination.

Real HTTP receivers on loopback (tests.notify.outbox_testchannel): a tarpit that accepts
connections and never answers, fast receivers, slow receivers. The channel is a test
double of Tocsin's own webhook channel (POST through tocsin.core.outbound with the message
id as Idempotency-Key), registered for the `webhook` kind.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from django.db import OperationalError, connection

from tocsin.engine.engine import run_tick
from tocsin.notify.channels import CHANNELS
from tocsin.notify.engine import OutboxModule, destination
from tocsin.notify.models import OutboxMessage, OutboxState
from tocsin.notify.services import outbox_enqueue

from . import outbox_testchannel
from .outbox_testchannel import Receiver, Tarpit, most_at_once

pytestmark = pytest.mark.django_db(transaction=True)
T = TypeVar("T")


@pytest.fixture(autouse=True)
def webhook_channel(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    monkeypatch.setitem(CHANNELS, "webhook", "tests.notify.outbox_testchannel")
    monkeypatch.setattr(outbox_testchannel, "TIMEOUT", 4.0)
    settings.TOCSIN_OUTBOUND_ALLOW = ["127.0.0.0/8"]


@pytest.fixture
def fast() -> Iterator[Receiver]:
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def tarpit() -> Iterator[Tarpit]:
    pit = Tarpit()
    yield pit
    pit.close()


def _hook(url: str, n: int) -> OutboxMessage:
    return outbox_enqueue(channel="webhook", recipient=url, subject=f"Page {n}", body="x")


def read(fn: Callable[[], T]) -> T:
    """The test's own read while sending threads write. On SQLite the test database is
    in memory with a shared cache, where a writer locks the table and a reader fails at
    once ("database table is locked") instead of waiting: read again."""
    deadline = time.monotonic() + 10
    while True:
        try:
            return fn()
        except OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _states() -> Counter[str]:
    return read(lambda: Counter(OutboxMessage.objects.values_list("state", flat=True)))


def _states_of(messages: list[OutboxMessage]) -> Counter[str]:
    pks = [m.pk for m in messages]
    return read(
        lambda: Counter(OutboxMessage.objects.filter(pk__in=pks).values_list("state", flat=True))
    )


class After:
    """The engine module after the outbox: it must get its turn at once."""

    name = "after"

    def __init__(self) -> None:
        self.turns: list[float] = []

    def tick(self, now: dt.datetime) -> int:
        self.turns.append(time.monotonic())
        return 0


def test_destinations() -> None:
    assert destination("webhook", "https://Hooks.Example.com/a/b", 3) == "webhook:hooks.example.com"
    assert destination("webhook", "http://127.0.0.1:8080/x", None) == "webhook:127.0.0.1:8080"
    assert destination("sms", "+441632960001", 7) == "sms:method:7"
    assert destination("voice", "+441632960001", 8) == "voice:method:8"
    assert destination("email", "a@example.com", None) == "email"
    assert destination("apprise", "tgram://bot/chat", 4) == "apprise:bot"


def test_a_tarpit_host_ties_up_only_its_own_slots(fast: Receiver, tarpit: Tarpit) -> None:
    stuck = [_hook(tarpit.url, n) for n in range(3)]
    quick = [_hook(f"{fast.url}/hook", n) for n in range(4)]
    module = OutboxModule(threads=4, per_destination=2)
    after = After()
    try:
        started = time.monotonic()
        turn_took: list[float] = []
        while len(fast.requests) < len(quick) and time.monotonic() - started < 3:
            begun = time.monotonic()
            run_tick([module, after], budget=0.5)
            turn_took.append(time.monotonic() - begun)
            time.sleep(0.02)
        took = time.monotonic() - started
        assert sorted(fast.idempotency_keys()) == sorted(str(m.message_id) for m in quick)
        assert took < 1.0, f"the fast receiver's messages took {took:.2f} s"
        # The module never waits on a send: every turn was short, the next module ran.
        # (a send to the tarpit would hold a turn for the channel's 4 s timeout)
        assert max(turn_took) < 1.0, turn_took
        assert len(after.turns) == len(turn_took)
        # Two of the tarpit's messages hang in flight (its two slots); the third waits
        # queued rather than take a slot that the other hosts need.
        assert _states_of(stuck) == {
            OutboxState.SENDING: 2,
            OutboxState.QUEUED: 1,
        }
        # the fast ones are recorded sent (by their sending threads, a moment after the
        # receiver had them); the tarpit's two stay in flight
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and set(_states_of(quick)) != {OutboxState.SENT}:
            time.sleep(0.05)
        assert _states_of(quick) == {OutboxState.SENT: len(quick)}
        assert module.in_flight() == 2
    finally:
        tarpit.close()  # the hanging connections are reset: a temporary failure
        assert module.wait_idle(10)
        module.forget()
    # the tarpit's messages were given up for now and queued for a retry, not lost (a
    # sending thread that freed its slot may be claiming the third at this moment: it
    # fails at once against the closed tarpit and is queued too)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _states_of(stuck) != {OutboxState.QUEUED: 3}:
        time.sleep(0.05)
    assert _states_of(stuck) == {OutboxState.QUEUED: 3}


def test_stopping_waits_briefly_then_leaves_the_send_to_its_lease(
    tarpit: Tarpit, fast: Receiver, settings: Any
) -> None:
    settings.TOCSIN_OUTBOX_STOP_WAIT_SECONDS = 0.3
    settings.TOCSIN_OUTBOX_LEASE_SECONDS = 1.5
    message = _hook(tarpit.url, 1)
    module = OutboxModule(threads=2)
    assert module.tick(dt.datetime.now(dt.UTC)) == 1
    started = time.monotonic()
    module.forget()
    assert time.monotonic() - started < 1.0
    message.refresh_from_db()
    assert message.state == OutboxState.SENDING and message.attempts == 1
    # The next worker takes it when the lease has run out and sends it again (at least once).
    OutboxMessage.objects.filter(pk=message.pk).update(recipient=f"{fast.url}/hook")
    time.sleep(1.6)
    again = OutboxModule()
    assert again.tick(dt.datetime.now(dt.UTC)) == 1
    message.refresh_from_db()
    assert (message.state, message.attempts) == (OutboxState.SENT, 2)
    assert fast.idempotency_keys() == [str(message.message_id)]
    tarpit.close()
    assert module.wait_idle(10)


def _worker(
    module: OutboxModule, errors: list[BaseException], give_up: float, stop: threading.Event
) -> None:
    try:
        while time.monotonic() < give_up and not stop.is_set():
            run_tick([module])
            time.sleep(0.01)
        module.forget()
    except BaseException as exc:  # reported by the test
        errors.append(exc)
    finally:
        connection.close()


def test_slow_sends_and_two_workers_send_every_message_once(settings: Any) -> None:
    """Sends take longer than a tick; the lease (2 s) is shorter than the whole run, so a
    lease counted from anything but the claim, or an outcome recorded by a worker that
    no longer holds the claim, shows up as a message received twice."""
    settings.TOCSIN_OUTBOX_LEASE_SECONDS = 2.0
    if connection.vendor == "sqlite":
        # One worker on SQLite (as deployed). The test database is in memory with a
        # shared cache, where a locked table fails at once instead of waiting, so
        # recording an outcome may spin on retries for seconds under a loaded machine;
        # a file database (as deployed) waits on its busy timeout instead. A lease that
        # outlives those retries keeps the test about claims, not about the test
        # database's locking.
        settings.TOCSIN_OUTBOX_LEASE_SECONDS = 8.0
    receivers = [Receiver(delay=0.25).start() for _ in range(3)]
    try:
        count = 36
        messages = [_hook(f"{receivers[n % 3].url}/hook", n) for n in range(count)]
        workers = 1 if connection.vendor == "sqlite" else 2
        errors: list[BaseException] = []
        stop = threading.Event()
        give_up = time.monotonic() + 40
        threads = [
            threading.Thread(target=_worker, args=(OutboxModule(threads=3), errors, give_up, stop))
            for _ in range(workers)
        ]
        for thread in threads:
            thread.start()
        started = time.monotonic()
        while time.monotonic() < give_up:
            if sum(len(r.requests) for r in receivers) >= count and not _pending():
                break
            time.sleep(0.1)
        took = time.monotonic() - started
        stop.set()
        for thread in threads:
            thread.join(timeout=20)
        assert not errors
        received = Counter(key for r in receivers for key in r.idempotency_keys())
        doubled = {key: n for key, n in received.items() if n > 1}
        assert doubled == {}, f"sent more than once: {doubled}"
        assert set(received) == {str(m.message_id) for m in messages}
        assert _states() == {OutboxState.SENT: count}
        assert read(lambda: set(OutboxMessage.objects.values_list("attempts", flat=True))) == {1}
        # several sends were in flight at once, across the destinations
        at_once = most_at_once([i for r in receivers for i in r.intervals()])
        assert at_once >= 2, (at_once, f"{took:.1f} s")
    finally:
        for receiver in receivers:
            receiver.stop()


def _pending() -> bool:
    return read(
        OutboxMessage.objects.filter(state__in=[OutboxState.QUEUED, OutboxState.SENDING]).exists
    )
