"""Monitoring for the demo organisation: integrations, and alerts that went through the
real path (adapter -> inbox -> the engine's ingest module) over the last few hours."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from tocsin.accounts.models import User
from tocsin.alerts.adapters import alertmanager, pagerduty
from tocsin.alerts.engine import IngestModule
from tocsin.alerts.models import InboxEvent, Silence
from tocsin.catalog.models import Integration, Service
from tocsin.catalog.services import integration_create
from tocsin.core.actors import Actor
from tocsin.core.clock import travel
from tocsin.incidents.models import Incident
from tocsin.incidents.services import incident_acknowledge, incident_add_note

HOLDER = "demo-loader"
DEMO_ACTOR = Actor.system("demo loader")


def _am_group(
    group: str, alerts: list[tuple[str, str, str, str, dt.datetime]], status: str
) -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{group}"}}',
        "status": status,
        "receiver": "tocsin",
        "groupLabels": {"alertname": group},
        "commonLabels": {"alertname": group},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093",
        "truncatedAlerts": 0,
        "alerts": [
            {
                "status": state,
                "labels": {"alertname": group, "instance": instance, "severity": severity},
                "annotations": {"summary": summary},
                "startsAt": starts.isoformat(),
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.example:9090/graph",
                "fingerprint": hashlib.sha256(f"{group}/{instance}".encode()).hexdigest()[:16],
            }
            for instance, severity, summary, state, starts in alerts
        ],
    }


def _deliver(integration: Integration, kind: str, events: list[Any], at: dt.datetime) -> None:
    with travel(at):
        InboxEvent.objects.create(
            integration=integration,
            kind=kind,
            received_at=at,
            events=[event.to_json() for event in events],
            request_id="demo",
        )
        IngestModule(HOLDER).tick(at)


def write_alerts(end: dt.datetime) -> None:
    portal = Service.objects.get(name="Customer portal")
    payroll = Service.objects.get(name="Payroll")
    storage = Service.objects.get(name="File storage")
    with travel(end - dt.timedelta(days=2)):
        prom, _ = integration_create(
            service=portal, kind="alertmanager", name="Prometheus prod", actor=DEMO_ACTOR
        )
        pd, _ = integration_create(
            service=payroll, kind="pagerduty", name="Batch scheduler", actor=DEMO_ACTOR
        )
        backup, _ = integration_create(
            service=storage,
            kind="heartbeat",
            name="Nightly backup",
            options={"interval_seconds": 86400, "grace_seconds": 3600},
            actor=DEMO_ACTOR,
        )
        Silence.objects.create(
            service=portal,
            matchers=[{"label": "alertname", "value": "Watchdog"}],
            starts_at=end - dt.timedelta(days=2),
            ends_at=end + dt.timedelta(days=30),
            comment="Watchdog proves the pipeline works; it must never page",
            created_at=end - dt.timedelta(days=2),
        )
    _deliver(backup, "heartbeat", [], end - dt.timedelta(hours=5))  # last night's backup
    t0 = end - dt.timedelta(hours=3)
    firing = [
        ("web-1:9100", "critical", "HTTP 5xx ratio above 5% on portal", "firing", t0),
        ("web-2:9100", "critical", "HTTP 5xx ratio above 5% on portal", "firing", t0),
    ]
    _deliver(prom, "event", alertmanager.parse(_am_group("PortalErrors", firing, "firing")), t0)
    # The same snapshot again at the next group interval: only last-seen moves.
    later = t0 + dt.timedelta(minutes=5)
    _deliver(prom, "event", alertmanager.parse(_am_group("PortalErrors", firing, "firing")), later)
    # The on-call responder picks it up within minutes.
    incident = Incident.objects.filter(alerts__integration=prom).earliest("pk")
    with travel(t0 + dt.timedelta(minutes=7)):
        responder = User.objects.get(username="noah")
        incident_acknowledge(incident=incident, actor=Actor.for_user(responder))
        incident_add_note(
            incident=incident,
            actor=Actor.for_user(responder),
            text="Looking at it: errors started right after the last deploy of portal-web.",
        )
    watchdog = [("prometheus:9090", "info", "Watchdog", "firing", t0)]
    _deliver(prom, "event", alertmanager.parse(_am_group("Watchdog", watchdog, "firing")), t0)
    # A payroll batch failed and recovered: PagerDuty trigger, then resolve (auto-resolve).
    t1 = end - dt.timedelta(hours=2)
    trigger = pagerduty.parse_event(
        {
            "event_action": "trigger",
            "dedup_key": "payroll-export-nightly",
            "payload": {
                "summary": "Payroll export job failed: ORA-01653 unable to extend table",
                "source": "batch-01.payroll.internal",
                "severity": "error",
                "component": "export",
            },
        }
    )
    _deliver(pd, "event", [trigger], t1)
    resolve = pagerduty.parse_event(
        {"event_action": "resolve", "dedup_key": "payroll-export-nightly"}
    )
    _deliver(pd, "event", [resolve], t1 + dt.timedelta(minutes=40))
    with travel(end):
        IngestModule(HOLDER).forget()
