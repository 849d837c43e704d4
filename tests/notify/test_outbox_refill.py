"""The sending threads claim what waited for a slot (ADR 0008): during a storm the pages
keep leaving while the engine thread works through other modules, within the same
per-destination limit, each message once."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tocsin.notify.channels import CHANNELS
from tocsin.notify.engine import OutboxModule
from tocsin.notify.models import OutboxState

from . import outbox_testchannel
from .outbox_testchannel import Receiver, most_at_once
from .test_outbox_concurrency import _hook, _states_of, read

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def webhook_channel(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    monkeypatch.setitem(CHANNELS, "webhook", "tests.notify.outbox_testchannel")
    monkeypatch.setattr(outbox_testchannel, "TIMEOUT", 4.0)
    settings.TOCSIN_OUTBOUND_ALLOW = ["127.0.0.0/8"]


@pytest.fixture
def slowish() -> Iterator[Receiver]:
    receiver = Receiver(delay=0.05).start()
    yield receiver
    receiver.stop()


def test_one_engine_turn_and_the_threads_send_the_rest(slowish: Receiver) -> None:
    messages = [_hook(f"{slowish.url}/hook", n) for n in range(8)]
    module = OutboxModule(threads=4, per_destination=2)
    try:
        # the engine's one turn claims the destination's two slots; nothing else ticks
        assert module.tick(dt.datetime.now(dt.UTC)) == 2
        deadline = time.monotonic() + 10
        while len(slowish.requests) < len(messages) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sorted(slowish.idempotency_keys()) == sorted(str(m.message_id) for m in messages)
        # the threads kept to the destination's limit
        assert most_at_once(slowish.intervals()) <= 2
        assert module.wait_idle(10)
    finally:
        module.forget()
    assert _states_of(messages) == {OutboxState.SENT: len(messages)}
    attempts = read(
        lambda: sorted(
            type(messages[0])
            .objects.filter(pk__in=[m.pk for m in messages])
            .values_list("attempts", flat=True)
        )
    )
    assert attempts == [1] * len(messages)  # each claimed once, sent once


def test_after_forget_the_threads_claim_nothing_more(slowish: Receiver) -> None:
    messages = [_hook(f"{slowish.url}/hook", n) for n in range(6)]
    module = OutboxModule(threads=2, per_destination=1)
    assert module.tick(dt.datetime.now(dt.UTC)) == 1
    module.forget()  # waits for the send in flight, then stops
    time.sleep(0.3)
    states = _states_of(messages)
    assert states[OutboxState.SENDING] == 0
    assert states[OutboxState.QUEUED] >= 4  # left for the next worker, not lost
    assert states[OutboxState.SENT] + states[OutboxState.QUEUED] == len(messages)
