"""Deduplication per integration (PagerDuty semantics) and the incidents alerts open."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from tocsin.alerts.models import Alert, InboxEvent
from tocsin.catalog.models import Integration, Service
from tocsin.core.actors import Actor
from tocsin.incidents.models import EntryKind, Incident, Status
from tocsin.incidents.services import incident_act

from .helpers import ack, alert_of, drain, outcome, push, resolve, trigger

pytestmark = pytest.mark.django_db


def test_a_trigger_opens_an_alert_and_a_monitoring_incident(
    clock: time_machine.Coordinates, pd: Integration, service: Service
) -> None:
    started = "2026-03-02T08:55:00+0000"
    row = push(
        pd,
        trigger(
            "disk-full",
            "Disk full on db1",
            severity="critical",
            source="db1",
            occurred_at=started,
            labels={"env": "prod"},
            details={"free": "0 bytes", "mount": {"path": "/var"}},
            links=[{"href": "https://grafana.example/d/1", "text": "Dashboard"}],
        ),
    )
    assert drain() == 1
    alert = alert_of(pd, "disk-full")
    incident = alert.incident
    assert incident is not None
    assert outcome(row) == ("created", f"alert #{alert.pk} opened {incident.ref}")
    assert (alert.status, alert.occurrences, alert.severity) == ("triggered", 1, "critical")
    assert alert.started_at == dt.datetime(2026, 3, 2, 8, 55, tzinfo=dt.UTC)
    assert (incident.source, incident.status, incident.service) == ("monitoring", "new", service)
    assert incident.title == "Disk full on db1"
    assert incident.detected_at == alert.started_at
    assert (incident.impact, incident.urgency, incident.priority) == (1, 1, 1)
    for text in ("Source: db1", "Labels: env=prod", "Dashboard: https://grafana"):
        assert text in incident.description
    assert '"path"' not in incident.description  # the payload is on the alert's page
    created = incident.timeline.get(kind=EntryKind.CREATED)
    assert (created.actor_kind, created.actor_label) == ("integration", "pagerduty:PD one")


def test_the_service_severity_map_sets_the_priority(pd: Integration, service: Service) -> None:
    service.severity_map = {"warning": [2, 1]}
    service.save()
    push(pd, trigger("a", severity="warning"), trigger("b", severity="info"))
    drain()
    assert (alert_of(pd, "a").incident.impact, alert_of(pd, "a").incident.urgency) == (2, 1)
    # Not in the service's map: the default mapping.
    assert alert_of(pd, "b").incident.priority == 4


def test_a_repeated_trigger_adds_an_occurrence_not_an_alert(
    clock: time_machine.Coordinates, pd: Integration
) -> None:
    push(pd, trigger("k"))
    drain()
    clock.shift(dt.timedelta(minutes=5))
    rows = [push(pd, trigger("k")), push(pd, trigger("k"))]
    drain()
    alert = alert_of(pd, "k")
    assert Alert.objects.count() == 1
    assert Incident.objects.count() == 1
    assert alert.occurrences == 3
    assert alert.last_seen_at == rows[-1].received_at
    assert outcome(rows[0]) == ("merged", f"alert #{alert.pk}: occurrence 2")
    assert outcome(rows[1])[0] == "merged"
    # Re-sends do not write on the incident's timeline.
    assert not alert.incident.timeline.filter(kind=EntryKind.NOTE).exists()


def test_acknowledge_acknowledges_the_alert_and_its_new_incident(pd: Integration) -> None:
    push(pd, trigger("k"))
    drain()
    row = push(pd, ack("k"))
    drain()
    alert = alert_of(pd, "k")
    assert alert.status == "acknowledged"
    assert alert.incident.status == Status.ACKNOWLEDGED
    assert outcome(row) == ("updated", f"alert #{alert.pk} acknowledged")
    again = push(pd, ack("k"))
    drain()
    assert outcome(again)[0] == "ignored"


def test_acknowledge_leaves_an_incident_people_already_work_on(
    pd: Integration, responder: object
) -> None:
    push(pd, trigger("k"))
    drain()
    incident = alert_of(pd, "k").incident
    incident_act(incident=incident, actor=Actor.for_user(responder), action="start")
    push(pd, ack("k"))
    drain()
    incident.refresh_from_db()
    assert incident.status == Status.IN_PROGRESS
    assert alert_of(pd, "k").status == "acknowledged"


def test_a_trigger_on_an_acknowledged_alert_adds_an_occurrence_and_reopens_nothing(
    pd: Integration,
) -> None:
    push(pd, trigger("k"), ack("k"))
    push(pd, trigger("k"))
    drain()
    alert = alert_of(pd, "k")
    assert (alert.status, alert.occurrences) == ("acknowledged", 2)
    assert alert.incident.status == Status.ACKNOWLEDGED
    assert Alert.objects.count() == 1


def test_after_resolve_the_same_key_opens_a_new_alert_and_a_new_incident(
    pd: Integration,
) -> None:
    push(pd, trigger("k"))
    push(pd, resolve("k"))
    drain()
    first = alert_of(pd, "k")
    first_incident = first.incident
    assert first.status == "resolved"
    assert first_incident.status == Status.RESOLVED
    assert first_incident.resolution_code == "auto-resolved"
    assert first_incident.resolution_notes == "All alerts resolved"
    row = push(pd, trigger("k"))
    drain()
    second = alert_of(pd, "k")
    assert second.pk != first.pk
    assert second.status == "triggered"
    assert second.incident.pk != first_incident.pk
    assert outcome(row)[0] == "created"


def test_ack_or_resolve_without_an_open_alert_is_ignored(pd: Integration) -> None:
    rows = [push(pd, ack("nope")), push(pd, resolve("nope"))]
    push(pd, trigger("k"), resolve("k"))
    rows.append(push(pd, resolve("k")))
    drain()
    assert [outcome(r) for r in rows] == [
        ("ignored", "acknowledge for unknown or resolved key"),
        ("ignored", "resolve for unknown or resolved key"),
        ("ignored", "resolve for unknown or resolved key"),
    ]


def test_ack_and_resolve_through_another_integration_never_touch_the_alert(
    pd: Integration, pd2: Integration
) -> None:
    push(pd, trigger("k"))
    drain()
    rows = [push(pd2, ack("k")), push(pd2, resolve("k"))]
    drain()
    alert = alert_of(pd, "k")
    assert alert.status == "triggered"
    assert alert.incident.status == Status.NEW
    assert [outcome(r)[0] for r in rows] == ["ignored", "ignored"]


def test_the_same_key_on_two_integrations_is_two_alerts_in_one_incident(
    pd: Integration, pd2: Integration
) -> None:
    push(pd, trigger("k"))
    push(pd2, trigger("k"))
    drain()
    one, two = alert_of(pd, "k"), alert_of(pd2, "k")
    assert one.pk != two.pk
    assert one.incident_id == two.incident_id
    push(pd, resolve("k"))
    drain()
    one.incident.refresh_from_db()
    assert one.incident.status == Status.NEW  # the other integration's alert still fires
    push(pd2, resolve("k"))
    drain()
    one.incident.refresh_from_db()
    assert one.incident.status == Status.RESOLVED


def test_a_new_alert_joining_an_incident_leaves_one_internal_note(
    pd: Integration, pd2: Integration
) -> None:
    push(pd, trigger("k", "First"))
    drain()
    push(pd2, trigger("k", "Second"))
    push(pd2, trigger("k", "Second again"))
    drain()
    incident = alert_of(pd, "k").incident
    notes = list(incident.timeline.filter(kind=EntryKind.NOTE))
    assert [(n.text, n.visibility) for n in notes] == [("Alert joined: Second", "internal")]


def test_auto_resolve_off_keeps_the_incident_open(pd: Integration, service: Service) -> None:
    service.auto_resolve = False
    service.save()
    push(pd, trigger("k"), resolve("k"))
    drain()
    alert = alert_of(pd, "k")
    assert alert.status == "resolved"
    assert alert.incident.status == Status.NEW


def test_resolving_the_incident_by_hand_resolves_its_alerts(
    pd: Integration, pd2: Integration, responder: object
) -> None:
    push(pd, trigger("k"))
    push(pd2, trigger("k"), ack("k"))
    drain()
    incident = alert_of(pd, "k").incident
    incident_act(
        incident=incident,
        actor=Actor.for_user(responder),
        action="resolve",
        resolution_code="fixed",
        resolution_notes="Restarted the database",
    )
    assert list(Alert.objects.values_list("status", flat=True)) == ["resolved", "resolved"]
    incident.refresh_from_db()
    assert (incident.status, incident.resolution_code) == ("resolved", "fixed")
    # One resolve on the timeline (no recursion into auto-resolve), and a note.
    assert incident.timeline.filter(kind=EntryKind.TRANSITION, data__action="resolve").count() == 1
    assert incident.timeline.filter(text="2 open alerts resolved with the incident").exists()
    # The monitoring's late resolve is ignored; its next trigger opens a new incident.
    late = push(pd, resolve("k"))
    push(pd, trigger("k"))
    drain()
    assert outcome(late)[0] == "ignored"
    assert alert_of(pd, "k").incident.pk != incident.pk


def test_a_merged_duplicate_hands_its_open_alerts_to_the_original(
    pd: Integration, manager: object
) -> None:
    from tocsin.incidents.services import incident_merge

    push(pd, trigger("a"), trigger("b"))
    drain()
    original, duplicate = alert_of(pd, "a").incident, alert_of(pd, "b").incident
    assert original.pk != duplicate.pk
    incident_merge(incident=duplicate, into=original, actor=Actor.for_user(manager))
    assert alert_of(pd, "b").incident_id == original.pk
    # A re-send lands on the original; resolving both alerts resolves it.
    push(pd, trigger("b"), resolve("a"))
    drain()
    assert Incident.objects.count() == 2
    original.refresh_from_db()
    assert original.status == Status.NEW
    push(pd, resolve("b"))
    drain()
    original.refresh_from_db()
    assert original.status == Status.RESOLVED


def test_rows_of_an_integration_apply_in_arrival_order(pd: Integration) -> None:
    # Arrival order: a resolve that came before its trigger is ignored.
    early = push(pd, resolve("k"))
    rows = [push(pd, trigger("k")), push(pd, ack("k")), push(pd, trigger("k"))]
    drain()
    assert outcome(early)[0] == "ignored"
    assert [outcome(r)[0] for r in rows] == ["created", "updated", "merged"]
    alert = alert_of(pd, "k")
    assert (alert.status, alert.occurrences) == ("acknowledged", 2)
    processed = list(InboxEvent.objects.order_by("id").values_list("processed_at", flat=True))
    assert processed == sorted(processed)
