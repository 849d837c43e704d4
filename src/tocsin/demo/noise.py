"""Alert noise for the demo (issue 13): alerts that page and need nobody, so the
"Alert noise" report (/reports/noise/) has offenders to show, and a few "was this page
actionable?" answers. Everything goes the real way: Alertmanager payloads through the
inbox and the engine's ingest module, the service's policy pages the on-call, the
alerts resolve by themselves and auto-resolve their incidents."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from tocsin.alerts.adapters import alertmanager
from tocsin.alerts.engine import IngestModule
from tocsin.alerts.models import InboxEvent
from tocsin.catalog.models import Integration, Service
from tocsin.catalog.services import integration_create
from tocsin.core.actors import Actor
from tocsin.core.clock import travel
from tocsin.escalation.engine import EscalationModule
from tocsin.escalation.feedback import page_feedback_give
from tocsin.escalation.models import Page
from tocsin.incidents.engine import AutoCloseModule
from tocsin.incidents.models import Incident

HOLDER = "demo-loader"
DEMO_ACTOR = Actor.system("demo loader")


def _group(name: str, instance: str, state: str, at: dt.datetime, **labels: str) -> dict[str, Any]:
    every = {"alertname": name, "instance": instance, "severity": "critical", **labels}
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{name}", instance="{instance}"}}',
        "status": state,
        "receiver": "tocsin",
        "groupLabels": {"alertname": name, "instance": instance},
        "commonLabels": every,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093",
        "truncatedAlerts": 0,
        "alerts": [
            {
                "status": state,
                "labels": every,
                "annotations": {"summary": f"{name} on {instance}"},
                "startsAt": at.isoformat(),
                "endsAt": at.isoformat() if state == "resolved" else "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.example:9090/graph",
                "fingerprint": hashlib.sha256(f"{name}/{instance}".encode()).hexdigest()[:16],
            }
        ],
    }


def _deliver(integration: Integration, payload: dict[str, Any], at: dt.datetime) -> None:
    with travel(at):
        InboxEvent.objects.create(
            integration=integration,
            kind="event",
            received_at=at,
            events=[event.to_json() for event in alertmanager.parse(payload)],
            request_id="demo",
        )
        IngestModule(HOLDER).tick(at)


def _fire_and_clear(
    integration: Integration,
    name: str,
    instance: str,
    at: dt.datetime,
    lasts: dt.timedelta,
    **labels: str,
) -> Incident | None:
    """One alert fires (its incident pages the on-call), then resolves by itself."""
    _deliver(integration, _group(name, instance, "firing", at, **labels), at)
    with travel(at + dt.timedelta(seconds=30)):
        EscalationModule().tick(at + dt.timedelta(seconds=30))
    _deliver(integration, _group(name, instance, "resolved", at + lasts, **labels), at + lasts)
    return (
        Incident.objects.filter(alerts__integration=integration, reported_at__gte=at)
        .order_by("pk")
        .first()
    )


def _answer(incident: Incident | None, at: dt.datetime, *, yes: bool, note: str = "") -> None:
    page = Page.objects.filter(incident=incident).order_by("pk").first() if incident else None
    if page is None:
        return
    person = page.person
    with travel(at):
        page_feedback_give(
            person=person, actor=Actor.for_user(person), actionable=yes, note=note, page=page
        )


def write_noise(end: dt.datetime) -> None:
    storage = Service.objects.get(name="File storage")
    warehouse = Service.objects.get(name="Data warehouse")
    with travel(end - dt.timedelta(days=21)):
        nodes, _ = integration_create(
            service=storage, kind="alertmanager", name="Node exporter", actor=DEMO_ACTOR
        )
        loads, _ = integration_create(
            service=warehouse, kind="alertmanager", name="Warehouse probes", actor=DEMO_ACTOR
        )
    # A disk-latency alert that fires at night and clears itself within minutes.
    for day in (19, 17, 16, 13, 11, 8, 6, 4, 2):
        at = (end - dt.timedelta(days=day)).replace(hour=3, minute=10, second=0, microsecond=0)
        incident = _fire_and_clear(
            nodes, "DiskLatencyHigh", "fs-2:9100", at, dt.timedelta(minutes=3)
        )
        if day in (6, 4):  # within the schedules' history: somebody was paged
            _answer(incident, at + dt.timedelta(hours=5), yes=False, note="Flaps every night")
    # Warehouse probes: one incident (and one page) per instance, though one cluster is down.
    for i, day in enumerate((18, 15, 12, 9, 7, 5)):
        at = (end - dt.timedelta(days=day)).replace(hour=14, minute=0, second=0, microsecond=0)
        for n in range(2):
            incident = _fire_and_clear(
                loads,
                "LoadProbeFailed",
                f"etl-{i}{n}:9115",
                at + dt.timedelta(minutes=n),
                dt.timedelta(minutes=25),
                cluster="dw-eu",
            )
        if i == 3:
            _answer(incident, at + dt.timedelta(hours=1), yes=True, note="Nightly load was late")
    with travel(end):
        IngestModule(HOLDER).forget()
        # The self-resolved ones are closed after the auto-close delay, as the worker
        # would have done by now (nothing is left for it to catch up on).
        AutoCloseModule().tick(end)
