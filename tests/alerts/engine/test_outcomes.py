"""Every inbox row ends done with a recorded outcome (N2), whatever it holds."""

from __future__ import annotations

import pytest

from tocsin.alerts.engine import IngestModule
from tocsin.alerts.models import Alert, InboxEvent
from tocsin.catalog.models import Integration
from tocsin.core.clock import now

from .helpers import drain, outcome, push, trigger

pytestmark = pytest.mark.django_db


def test_bad_rows_are_rejected_with_a_reason_and_the_module_carries_on(
    pd: Integration,
) -> None:
    rows = [
        push(pd, {"action": "explode", "dedup_key": "k"}),
        push(pd, {"action": "trigger"}),
        push(pd, {"action": "trigger", "dedup_key": "k", "colour": "red"}),
        push(pd, "not an object"),  # type: ignore[arg-type]
        push(pd),
        push(pd, trigger("k"), kind="telepathy"),
        push(pd, {"action": "trigger", "dedup_key": "x" * 256}),
        push(pd, trigger("good")),
    ]
    assert drain() == len(rows)
    results = [outcome(r) for r in rows]
    assert results[0] == (
        "rejected",
        "unknown action 'explode'; one of trigger, acknowledge, resolve",
    )
    assert results[1][0] == "rejected" and "malformed event" in results[1][1]
    assert results[2][0] == "rejected" and "colour" in results[2][1]
    assert results[3] == ("rejected", "an event must be a JSON object")
    assert results[4] == ("rejected", "the row holds no events")
    assert results[5] == ("rejected", "unknown inbox kind 'telepathy'")
    assert results[6] == ("rejected", "dedup_key is longer than 255 characters")
    assert results[7][0] == "created"
    assert list(Alert.objects.values_list("dedup_key", flat=True)) == ["good"]


def test_one_bad_event_in_a_snapshot_does_not_lose_the_others(am: Integration) -> None:
    row = push(
        am,
        trigger("a", group_key="g", snapshot=True),
        {"action": "page-everyone", "dedup_key": "b"},
        trigger("c", group_key="g", snapshot=True),
    )
    drain()
    assert outcome(row) == (
        "created",
        "2 created, 1 rejected. rejected: unknown action 'page-everyone'; "
        "one of trigger, acknowledge, resolve",
    )
    assert Alert.objects.count() == 2


def test_odd_but_usable_fields_are_normalised(pd: Integration) -> None:
    push(
        pd,
        {
            "action": "trigger",
            "dedup_key": "k",
            "summary": "",
            "severity": "DISASTER",
            "details": ["a", "list"],
            "labels": {"port": 5432},
            "links": "nope",
            "occurred_at": "yesterday-ish",
        },
    )
    drain()
    alert = Alert.objects.get()
    assert alert.summary == "Alert k"
    assert alert.severity == "error"
    assert alert.details == {"details": ["a", "list"]}
    assert alert.labels == {"port": "5432"}
    assert alert.links == []
    assert alert.started_at == alert.first_seen_at


def test_every_row_ends_done_with_an_outcome(pd: Integration, pd2: Integration) -> None:
    for n in range(30):
        push(pd if n % 2 else pd2, trigger(f"k{n % 4}") if n % 3 else {"action": "?"})
    module = IngestModule("w")
    module.batch = 7
    assert module.tick(now()) == 7  # a batch at a time
    drain(module)
    rows = InboxEvent.objects.all()
    assert rows.count() == 30
    for row in rows:
        assert row.state == "done"
        assert row.processed_at is not None
        assert row.outcome in {"created", "merged", "rejected"}
        assert row.outcome_detail
