"""Change events are listed, never page; the inbox and old change events are pruned."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from tocsin.alerts.adapters.base import Event
from tocsin.alerts.engine import RetentionModule
from tocsin.alerts.models import Alert, ChangeEvent, InboxEvent
from tocsin.catalog.models import Integration, Service
from tocsin.core.clock import now
from tocsin.incidents.models import Incident

from .conftest import START
from .helpers import drain, outcome, push, trigger

pytestmark = pytest.mark.django_db


def change(summary: str, **fields: object) -> dict[str, object]:
    return Event(action="trigger", dedup_key="change", summary=summary, **fields).to_json()  # type: ignore[arg-type]


def test_a_change_event_is_recorded_for_the_service_and_opens_nothing(
    clock: time_machine.Coordinates, pd: Integration, service: Service
) -> None:
    row = push(
        pd,
        change(
            "Deployed v42",
            source="ci",
            occurred_at="2026-03-02T08:30:00Z",
            details={"commit": "abc"},
            links=[{"href": "https://ci.example/42", "text": "Build"}, {"text": "no href"}],
        ),
        kind="change",
    )
    drain()
    event = ChangeEvent.objects.get()
    assert outcome(row) == ("recorded", f"change event #{event.pk}")
    assert (event.service, event.summary, event.source) == (service, "Deployed v42", "ci")
    assert event.timestamp == dt.datetime(2026, 3, 2, 8, 30, tzinfo=dt.UTC)
    assert event.links == [{"href": "https://ci.example/42", "text": "Build"}]
    assert event.received_at == START
    assert Alert.objects.count() == 0
    assert Incident.objects.count() == 0


def test_a_change_row_must_hold_one_event(pd: Integration) -> None:
    row = push(pd, change("a"), change("b"), kind="change")
    drain()
    assert outcome(row) == ("rejected", "a change row holds exactly one event")


def test_done_inbox_rows_are_deleted_after_the_retention_days(
    clock: time_machine.Coordinates, pd: Integration, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOCSIN_INBOX_RETENTION_DAYS", "2")
    old = [push(pd, trigger("k")) for _ in range(3)]
    drain()
    clock.shift(dt.timedelta(days=1))
    recent = push(pd, trigger("k"))
    drain()
    clock.shift(dt.timedelta(days=1, hours=1))
    pending = push(pd, trigger("k"))
    pending.received_at = START  # older than the retention, but not processed yet
    pending.save()
    module = RetentionModule("test-worker")
    module.batch = 2
    assert module.tick(now()) == 2  # a batch at a time, again next tick while there is more
    assert module.tick(now()) == 1
    assert module.tick(now()) == 0
    remaining = set(InboxEvent.objects.values_list("pk", flat=True))
    assert remaining == {recent.pk, pending.pk}
    assert not remaining & {r.pk for r in old}


def test_change_events_are_kept_ninety_days(
    clock: time_machine.Coordinates, pd: Integration
) -> None:
    push(pd, change("old"), kind="change")
    drain()
    clock.shift(dt.timedelta(days=60))
    push(pd, change("new"), kind="change")
    drain()
    clock.shift(dt.timedelta(days=31))
    RetentionModule("test-worker").tick(now())
    assert list(ChangeEvent.objects.values_list("summary", flat=True)) == ["new"]


def test_retention_runs_once_a_minute_whichever_worker_asks_and_after_a_restart(
    clock: time_machine.Coordinates, pd: Integration, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When retention next runs is kept in the database (its lease), not in a worker's
    memory: a second worker, or a restarted one, does not run it again within the
    minute; a minute on, one of them does."""
    monkeypatch.setenv("TOCSIN_INBOX_RETENTION_DAYS", "1")
    push(pd, trigger("k"))
    drain()
    clock.shift(dt.timedelta(days=2))
    assert RetentionModule("w1").tick(now()) == 1
    row = push(pd, trigger("k"))
    drain()
    InboxEvent.objects.filter(pk=row.pk).update(received_at=START)  # past retention too
    assert RetentionModule("w2").tick(now()) == 0  # w1 ran it less than a minute ago
    assert RetentionModule("w1").tick(now()) == 0  # w1 restarted: no memory, same answer
    clock.shift(dt.timedelta(seconds=61))
    assert RetentionModule("w2").tick(now()) == 1
