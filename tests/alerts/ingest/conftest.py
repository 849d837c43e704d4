"""Ingest tests: integrations of every kind, a plain client, and request builders."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from tocsin.alerts.models import InboxEvent
from tocsin.catalog.models import Integration, Service
from tocsin.catalog.services import integration_create, service_create
from tocsin.core.actors import Actor

SMALL = 512_000
LARGE = 10 * 1024 * 1024


@pytest.fixture
def service(db: Any) -> Service:
    return service_create(name="Checkout", actor=Actor.system("test setup"))


@pytest.fixture
def make_integration(service: Service) -> Callable[..., tuple[Integration, str]]:
    def make(kind: str, options: dict[str, Any] | None = None, secret: str = ""):
        return integration_create(
            service=service,
            kind=kind,
            options=options,
            secret=secret,
            actor=Actor.system("test setup"),
        )

    return make


@pytest.fixture
def client() -> Client:
    return Client()


def post(
    client: Client,
    path: str,
    body: Any,
    *,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
    method: str = "post",
) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return getattr(client, method)(path, data, content_type=content_type, headers=headers or {})


def stored() -> int:
    return InboxEvent.objects.count()


def only_row() -> InboxEvent:
    rows = list(InboxEvent.objects.all())
    assert len(rows) == 1
    return rows[0]


# --- one valid request per endpoint, for the tests that run over all of them -----------


def pd_event(key: str) -> dict[str, Any]:
    return {
        "routing_key": key,
        "event_action": "trigger",
        "dedup_key": "disk-full-web1",
        "payload": {"summary": "Disk full on web1", "source": "web1", "severity": "critical"},
    }


def am_alert(fingerprint: str = "a1b2c3d4e5f60718", status: str = "firing") -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": "DiskFull", "instance": "web1:9100", "severity": "critical"},
        "annotations": {"summary": "Disk full on web1", "runbook_url": "https://runbooks/disk"},
        "startsAt": "2026-01-05T10:00:00.123456789Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=x",
        "fingerprint": fingerprint,
    }


def am_body(alerts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    alerts = alerts if alerts is not None else [am_alert()]
    return {
        "version": "4",
        "groupKey": '{}:{alertname="DiskFull"}',
        "truncatedAlerts": 0,
        "status": "firing" if any(a["status"] == "firing" for a in alerts) else "resolved",
        "receiver": "tocsin",
        "groupLabels": {"alertname": "DiskFull"},
        "commonLabels": {"alertname": "DiskFull"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": alerts,
    }


def grafana_body() -> dict[str, Any]:
    body = am_body()
    body.update({"version": "1", "orgId": 1, "title": "[FIRING:1] DiskFull", "state": "alerting"})
    body["alerts"][0].update(
        {
            "dashboardURL": "https://grafana/d/abc",
            "panelURL": "https://grafana/d/abc?viewPanel=2",
            "silenceURL": "https://grafana/alerting/silence/new",
            "values": {"B": 97.5, "C": 1},
            "valueString": "[ var='B' value=97.5 ]",
        }
    )
    return body


@dataclass(frozen=True)
class Endpoint:
    name: str
    kind: str
    limit: int
    unknown_key_status: int
    build: Callable[[str], tuple[str, dict[str, Any], dict[str, str]]]
    ok_status: int = 202
    invalid_status: int = 400  # field errors
    type_status: int = 415  # wrong Content-Type


ENDPOINTS = [
    Endpoint(
        "pagerduty",
        "pagerduty",
        SMALL,
        400,
        lambda k: ("/v2/enqueue", pd_event(k), {}),
        type_status=400,
    ),
    Endpoint(
        "pagerduty-change",
        "pagerduty",
        SMALL,
        400,
        lambda k: (
            "/v2/change/enqueue",
            {"routing_key": k, "payload": {"summary": "Deployed v42", "source": "ci"}},
            {},
        ),
        type_status=400,
    ),
    Endpoint(
        "opsgenie",
        "opsgenie",
        SMALL,
        401,
        lambda k: (
            "/opsgenie/v2/alerts",
            {"message": "Disk full", "alias": "disk-web1", "priority": "P2"},
            {"Authorization": f"GenieKey {k}"},
        ),
        invalid_status=422,
    ),
    Endpoint(
        "opsgenie-close",
        "opsgenie",
        SMALL,
        401,
        lambda k: (
            "/opsgenie/v2/alerts/disk-web1/close?identifierType=alias",
            {"source": "Alertmanager"},
            {"Authorization": f"GenieKey {k}"},
        ),
        invalid_status=422,
    ),
    Endpoint(
        "alertmanager",
        "alertmanager",
        LARGE,
        404,
        lambda k: (f"/integrations/alertmanager/{k}", am_body(), {}),
    ),
    Endpoint(
        "grafana",
        "grafana",
        LARGE,
        404,
        lambda k: (f"/integrations/grafana/{k}", grafana_body(), {}),
    ),
    Endpoint(
        "webhook",
        "webhook",
        LARGE,
        404,
        lambda k: (
            f"/integrations/webhook/{k}",
            {"summary": "Queue backed up", "severity": "warning", "dedup_key": "q1"},
            {},
        ),
    ),
]
JSON_ENDPOINTS = {e.name: e for e in ENDPOINTS}
