"""A snapshot's new alerts are opened together (`_Row.open_many`): the same alerts,
incidents, notes, storm counts and outcomes as opening them one by one; and a re-sent
snapshot, or one with a single change, touches exactly what changed."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import time_machine

from tocsin.accounts.models import User
from tocsin.alerts.models import Alert, AlertStorm, InboxEvent
from tocsin.alerts.services import silence_create
from tocsin.alerts.services.alert_ops import _Row
from tocsin.catalog.models import Integration, Service
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.incidents.models import Incident, TimelineEntry

from .conftest import START
from .helpers import (
    alert_of,
    cleared,
    drain,
    firing,
    make_integration,
    make_service,
    outcome,
    push,
    trigger,
)

pytestmark = pytest.mark.django_db

GROUP = '{}:{alertname="HighLatency"}'
OTHER = '{}:{alertname="DiskFull"}'


def _labels(n: int) -> dict[str, str]:
    return {"alertname": "HighLatency", "instance": f"api-{n % 3}:9100", "job": "api"}


def _story(clock: time_machine.Coordinates, am: Integration) -> list[InboxEvent]:
    """Snapshots of every shape the drain meets: new groups (one beyond the storm
    threshold), a key twice in one snapshot, a known alert amid new ones, a plain
    trigger, a resolved entry, a late re-send of a resolved alert."""
    rows = [
        push(am, *(firing(GROUP, f"f{n}", labels=_labels(n)) for n in range(5))),
        push(am, firing(OTHER, "d1"), firing(OTHER, "d2"), firing(OTHER, "d1")),
    ]
    drain()
    clock.shift(dt.timedelta(seconds=5))
    rows += [
        # f2 is known: the new ones before and after it join the group's incident.
        push(
            am,
            firing(GROUP, "n1", labels=_labels(1)),
            firing(GROUP, "f2", labels=_labels(2)),
            firing(GROUP, "n2", labels=_labels(2)),
            firing(GROUP, "n3", labels=_labels(3)),
            trigger("plain-1"),
            cleared(GROUP, "f0"),
        ),
        push(
            am, *(firing(f"g{k}", f"s{n}", labels=_labels(n)) for k in range(3) for n in range(4))
        ),
    ]
    drain()
    clock.shift(dt.timedelta(seconds=5))
    rows.append(push(am, firing(GROUP, "f0", occurred_at=None)))  # fires again: a new alert
    drain()
    return rows


def _state(rows: list[InboxEvent], integration: Integration) -> dict[str, Any]:
    """What users see of the story, with the incidents as their order of opening and
    ids as their order in the text (they differ from one run to the other)."""
    incidents = list(Incident.objects.filter(service=integration.service).order_by("id"))
    order = {incident.pk: i for i, incident in enumerate(incidents)}
    alerts = [
        (
            *(a.dedup_key, a.status, a.grouping_key, order.get(a.incident_id or 0)),
            *(a.occurrences, a.last_seen_at, a.labels, a.suppressed_reason),
        )
        for a in Alert.objects.filter(integration=integration).order_by("id")
    ]
    timeline = [
        (order[entry.incident_id], entry.kind, entry.text)
        for entry in TimelineEntry.objects.filter(incident__in=incidents).order_by("id")
    ]
    storms = list(
        AlertStorm.objects.filter(service=integration.service)
        .order_by("id")
        .values_list("alert_count", "label_counts")
    )
    outcomes = [re.sub(r"#\d+|INC-\d+", "#", " ".join(outcome(row))) for row in rows]
    return {
        "alerts": alerts,
        "incidents": [
            (i.title.replace(integration.service.name, "S"), i.status) for i in incidents
        ],
        "timeline": timeline,
        "storms": storms,
        "outcomes": outcomes,
    }


def test_opening_a_snapshots_alerts_together_is_opening_them_one_by_one(
    clock: time_machine.Coordinates,
    am: Integration,
    service: Service,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service.storm_threshold = 4
    service.save()
    together = _state(_story(clock, am), am)
    assert AlertStorm.objects.filter(service=service).exists()  # the story reached a storm
    assert together["outcomes"][:3] == [
        "created 5 created",
        "created 2 created, 1 refreshed",
        "created 4 created, 1 updated, 1 refreshed",
    ]
    # The same story on a service of its own, one alert at a time, at the same times.
    twin = make_service(storm_threshold=4)
    other = make_integration(twin, "alertmanager", "Prometheus")
    asked: list[int] = []

    def one_by_one(self: _Row, items: list[Any], start: int) -> int:
        asked.append(start)
        return 0

    monkeypatch.setattr(_Row, "openable_together", one_by_one)
    clock.move_to(START)
    alone = _state(_story(clock, other), other)
    assert asked  # the other way was taken
    assert together == alone


def test_a_re_sent_snapshot_refreshes_every_alert_and_opens_nothing(
    clock: time_machine.Coordinates, am: Integration
) -> None:
    snapshot = [firing(GROUP, f"f{n}", labels=_labels(n)) for n in range(50)]
    push(am, *snapshot)
    drain()
    alerts, incidents = Alert.objects.count(), Incident.objects.count()
    notes = TimelineEntry.objects.count()
    clock.shift(dt.timedelta(minutes=5))
    again = push(am, *snapshot)
    drain()
    assert outcome(again) == ("refreshed", "50 refreshed")
    assert (Alert.objects.count(), Incident.objects.count()) == (alerts, incidents)
    assert TimelineEntry.objects.count() == notes
    assert set(Alert.objects.values_list("last_seen_at", "occurrences")) == {(again.received_at, 1)}


def test_a_snapshot_with_one_change_handles_exactly_that_one(
    clock: time_machine.Coordinates, am: Integration
) -> None:
    push(am, *(firing(GROUP, f"f{n}") for n in range(20)))
    drain()
    incident = Incident.objects.get()
    clock.shift(dt.timedelta(minutes=5))
    changed = push(am, *(firing(GROUP, f"f{n}") for n in range(19)), cleared(GROUP, "f19"))
    drain()
    assert outcome(changed) == ("updated", "1 updated, 19 refreshed")
    assert alert_of(am, f"{GROUP}:f19").status == "resolved"
    clock.shift(dt.timedelta(minutes=5))
    grown = push(am, *(firing(GROUP, f"f{n}") for n in range(19)), firing(GROUP, "new"))
    drain()
    assert outcome(grown) == ("created", "1 created, 19 refreshed")
    new = alert_of(am, f"{GROUP}:new")
    assert new.incident_id == incident.pk
    assert Alert.objects.filter(status="triggered").count() == 20
    assert Incident.objects.count() == 1


def test_a_silence_still_decides_alert_by_alert(
    clock: time_machine.Coordinates, am: Integration, service: Service, agent: User
) -> None:
    silence_create(
        actor=Actor.for_user(agent),
        service=service,
        matchers=[{"label": "instance", "value": "api-1:9100"}],
        starts_at=now() - dt.timedelta(minutes=1),
        ends_at=now() + dt.timedelta(hours=1),
        comment="known",
    )
    row = push(am, *(firing(GROUP, f"f{n}", labels=_labels(n)) for n in range(6)))
    drain()
    assert outcome(row)[0] == "created"
    assert outcome(row)[1].startswith("4 created, 2 suppressed")
    silenced = Alert.objects.exclude(suppressed_reason="")
    assert sorted(a.dedup_key for a in silenced) == [f"{GROUP}:f1", f"{GROUP}:f4"]
    assert all(a.incident_id is None for a in silenced)


def test_a_re_sent_snapshot_costs_the_same_statements_whatever_its_size(
    clock: time_machine.Coordinates, am: Integration
) -> None:
    """Set-based: the open alerts of all its keys in one statement, their incident in
    one more, one UPDATE of their last seen; never a statement an alert."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def resend(size: int) -> int:
        group = f"{GROUP}-{size}"
        snapshot = [firing(group, f"f{n}", labels=_labels(n)) for n in range(size)]
        push(am, *snapshot)
        drain()
        clock.shift(dt.timedelta(minutes=1))
        again = push(am, *snapshot)
        with CaptureQueriesContext(connection) as queries:
            drain()
        assert outcome(again) == ("refreshed", f"{size} refreshed")
        return len(queries)

    assert resend(3) == resend(60)
