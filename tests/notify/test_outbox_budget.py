"""A slow provider cannot hold the worker: the outbox stops claiming when its turn's
budget is spent, the modules after it still run, and the rest goes out next turn."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from tocsin.engine.engine import run_tick
from tocsin.notify.engine import OutboxModule
from tocsin.notify.models import OutboxMessage, OutboxState
from tocsin.notify.services import outbox_enqueue_email

pytestmark = pytest.mark.django_db


class After:
    name = "after"
    turns = 0

    def tick(self, now: dt.datetime) -> int:
        self.turns += 1
        return 0


def test_a_slow_provider_uses_only_the_outbox_budget(slow_smtp_server) -> None:
    for n in range(10):  # 10 x 0.2 s of sending
        outbox_enqueue_email(recipient=f"p{n}@example.com", subject=f"Mail {n}", body="x")
    after = After()
    started = time.monotonic()
    result = run_tick([OutboxModule(), after], budget=0.3)
    assert time.monotonic() - started < 1.2  # not the 2 s the whole batch takes
    assert after.turns == 1
    sent = OutboxMessage.objects.filter(state=OutboxState.SENT).count()
    assert 1 <= sent < 10
    assert result["outbox"] > 0  # more work: the worker comes back at once
    assert not OutboxMessage.objects.filter(state=OutboxState.SENDING).exists()
    while OutboxMessage.objects.filter(state=OutboxState.QUEUED).exists():
        run_tick([OutboxModule(), after], budget=0.3)
    assert len(slow_smtp_server.messages) == 10
