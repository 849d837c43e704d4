"""Property: for any interleaving of trigger / acknowledge / resolve events over a few keys
and two integrations, with duplicate deliveries, snapshot re-sends and manual resolves,
alerts and incidents end as a small reference model says (issue 3, "How it is checked")."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tocsin.accounts.models import User
from tocsin.alerts.models import Alert
from tocsin.catalog.models import Integration
from tocsin.core.actors import Actor
from tocsin.incidents.models import Incident
from tocsin.incidents.services import incident_act

from .helpers import drain, firing, make_integration, make_service, push

KEYS = ("a", "b", "c")
GROUP = "snapshot-group"


# --- the reference model ------------------------------------------------------------


@dataclass
class ModelAlert:
    integration: int
    key: str
    grouping: str
    incident: int
    status: str = "triggered"
    occurrences: int = 1


@dataclass
class Model:
    alerts: list[ModelAlert] = field(default_factory=list)
    incidents: list[str] = field(default_factory=list)  # status by creation order

    def open_alert(self, integration: int, key: str) -> ModelAlert | None:
        for alert in self.alerts:
            if (alert.integration, alert.key) == (integration, key) and alert.status != "resolved":
                return alert
        return None

    def apply_row(self, integration: int, events: list[tuple[str, str, str, bool]]) -> None:
        """events: (action, dedup key, grouping, snapshot); auto-resolve at the row's end."""
        touched: set[int] = set()
        for action, key, grouping, snapshot in events:
            alert = self.open_alert(integration, key)
            if action == "trigger":
                if alert is not None:
                    if not snapshot:
                        alert.occurrences += 1
                    continue
                joined = next(
                    (
                        a.incident
                        for a in reversed(self.alerts)
                        if a.grouping == grouping and self.incidents[a.incident] != "resolved"
                    ),
                    None,
                )
                if joined is None:
                    self.incidents.append("new")
                    joined = len(self.incidents) - 1
                self.alerts.append(ModelAlert(integration, key, grouping, joined))
            elif alert is None:
                continue  # ack/resolve without an open alert on this integration: ignored
            elif action == "acknowledge":
                if alert.status == "triggered":
                    alert.status = "acknowledged"
                    if self.incidents[alert.incident] == "new":
                        self.incidents[alert.incident] = "acknowledged"
            else:
                alert.status = "resolved"
                touched.add(alert.incident)
        for incident in touched:
            if all(a.status == "resolved" for a in self.alerts if a.incident == incident):
                self.incidents[incident] = "resolved"

    def resolve_incident(self, incident: int) -> None:
        self.incidents[incident] = "resolved"
        for alert in self.alerts:
            if alert.incident == incident:
                alert.status = "resolved"


# --- operations ---------------------------------------------------------------------

integrations = st.integers(min_value=0, max_value=1)
keys = st.sampled_from(KEYS)
operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("event"),
            integrations,
            st.sampled_from(("trigger", "acknowledge", "resolve")),
            keys,
        ),
        st.tuples(
            st.just("snapshot"), integrations, st.dictionaries(keys, st.booleans(), min_size=1)
        ),
        st.tuples(st.just("redeliver")),  # the last request again (a sender's retry)
        st.tuples(st.just("resend-snapshot")),  # the last snapshot again (a group flush)
        st.tuples(st.just("process")),  # the worker catches up here
        st.tuples(st.just("manual-resolve"), st.integers(min_value=0, max_value=5)),
    ),
    max_size=25,
)


def event_json(action: str, key: str) -> dict[str, Any]:
    from tocsin.alerts.adapters.base import Event

    return Event(action=action, dedup_key=key, summary=f"{key} broke").to_json()


@pytest.mark.django_db(transaction=False)
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
def test_alerts_and_incidents_follow_the_reference_model(
    ops: list[tuple[Any, ...]], responder: User
) -> None:
    with transaction.atomic():
        run_example(ops, responder)
        transaction.set_rollback(True)  # each example starts from empty tables


def run_example(ops: list[tuple[Any, ...]], responder: User) -> None:
    service = make_service()
    service.storm_threshold = 0  # no storms here: they are tested on their own
    service.save()
    pair: list[Integration] = [make_integration(service), make_integration(service)]
    model = Model()
    last: tuple[int, list[dict[str, Any]], list[tuple[str, str, str, bool]]] | None = None
    last_snapshot = None

    def deliver(
        integration: int, events: list[dict[str, Any]], plan: list[tuple[str, str, str, bool]]
    ) -> None:
        push(pair[integration], *events)
        model.apply_row(integration, plan)

    for op in ops:
        if op[0] == "event":
            _, integration, action, key = op
            last = (integration, [event_json(action, key)], [(action, key, f"key:{key}", False)])
            deliver(*last)
        elif op[0] == "snapshot":
            _, integration, entries = op
            events = [
                firing(GROUP, k) if is_firing else {**firing(GROUP, k), "action": "resolve"}
                for k, is_firing in sorted(entries.items())
            ]
            plan = [
                ("trigger" if is_firing else "resolve", f"{GROUP}:{k}", f"key:{GROUP}", True)
                for k, is_firing in sorted(entries.items())
            ]
            last = last_snapshot = (integration, events, plan)
            deliver(*last)
        elif op[0] == "redeliver" and last is not None:
            deliver(*last)
        elif op[0] == "resend-snapshot" and last_snapshot is not None:
            deliver(*last_snapshot)
        elif op[0] == "process":
            drain()
        elif op[0] == "manual-resolve":
            drain()
            open_ones = [n for n, status in enumerate(model.incidents) if status != "resolved"]
            if open_ones:
                target = open_ones[op[1] % len(open_ones)]
                incident = Incident.objects.order_by("id")[target]
                incident_act(
                    incident=incident,
                    actor=Actor.for_user(responder),
                    action="resolve",
                    resolution_code="fixed",
                    resolution_notes="by hand",
                )
                model.resolve_incident(target)
    drain()

    real_incidents = list(Incident.objects.order_by("id"))
    number = {incident.pk: n for n, incident in enumerate(real_incidents)}
    assert [i.status for i in real_incidents] == model.incidents
    real_alerts = [
        (
            pair.index(next(p for p in pair if p.pk == a.integration_id)),
            a.dedup_key,
            a.status,
            a.occurrences,
            number[a.incident_id],
        )
        for a in Alert.objects.order_by("id")
    ]
    expected = [(a.integration, a.key, a.status, a.occurrences, a.incident) for a in model.alerts]
    assert real_alerts == expected
    for incident in real_incidents:
        if incident.status == "resolved" and incident.resolution_code == "auto-resolved":
            assert not incident.alerts.exclude(status="resolved").exists()
