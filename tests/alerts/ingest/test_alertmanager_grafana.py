"""Alertmanager webhook (v4) and Grafana Alerting webhook bodies: one event per alert."""

from __future__ import annotations

import base64
import hashlib

import pytest

from tests.alerts.ingest.conftest import am_alert, am_body, grafana_body, only_row, post, stored
from tocsin.catalog.services import integration_revoke
from tocsin.core.actors import Actor

GROUP = '{}:{alertname="DiskFull"}'


@pytest.fixture
def am(make_integration):
    return make_integration("alertmanager")


def test_snapshot_becomes_one_event_per_alert(client, am):
    integration, key = am
    resolved = am_alert("0000000000000002", "resolved")
    resolved["labels"] = {"alertname": "DiskFull", "instance": "web2:9100", "severity": "page"}
    resolved["annotations"] = {}
    response = post(client, f"/integrations/alertmanager/{key}", am_body([am_alert(), resolved]))

    assert response.status_code == 202
    assert response.json() == {"status": "accepted"}
    row = only_row()
    assert (row.integration, row.kind) == (integration, "event")
    first, second = row.events
    assert first["action"] == "trigger"
    assert first["dedup_key"] == f"{GROUP}:a1b2c3d4e5f60718"
    assert first["group_key"] == GROUP
    assert first["snapshot"] is True
    assert first["summary"] == "Disk full on web1"
    assert first["severity"] == "critical"
    assert first["labels"]["instance"] == "web1:9100"
    assert first["occurred_at"] == "2026-01-05T10:00:00.123456+00:00"
    assert [link["href"] for link in first["links"]] == [
        "http://prometheus:9090/graph?g0.expr=x",
        "https://runbooks/disk",
    ]
    assert first["details"]["annotations"]["summary"] == "Disk full on web1"
    # the second alert: resolved from its status, summary from alertname + instance
    assert second["action"] == "resolve"
    assert second["summary"] == "DiskFull on web2:9100"
    assert second["severity"] == "critical"  # "page" maps to critical


def test_status_comes_from_status_not_ends_at(client, am):
    _, key = am
    alert = am_alert()
    alert["endsAt"] = "2020-01-01T00:00:00Z"  # in the past, yet still firing
    post(client, f"/integrations/alertmanager/{key}", am_body([alert]))
    assert only_row().events[0]["action"] == "trigger"


@pytest.mark.parametrize(
    ("label", "severity"),
    [
        ("critical", "critical"),
        ("warning", "warning"),
        ("info", "info"),
        ("weird", "error"),
        (None, "error"),
    ],
)
def test_severity_label_is_mapped(client, am, label, severity):
    _, key = am
    alert = am_alert()
    if label is None:
        del alert["labels"]["severity"]
    else:
        alert["labels"]["severity"] = label
    post(client, f"/integrations/alertmanager/{key}", am_body([alert]))
    assert only_row().events[0]["severity"] == severity


def test_long_group_key_is_hashed_into_the_dedup_key(client, am):
    _, key = am
    body = am_body()
    body["groupKey"] = "{}:{" + "x" * 300 + "}"
    post(client, f"/integrations/alertmanager/{key}", body)
    event = only_row().events[0]
    expected = hashlib.sha256(f"{body['groupKey']}:a1b2c3d4e5f60718".encode()).hexdigest()
    assert event["dedup_key"] == expected
    assert event["group_key"] == body["groupKey"]


def test_javascript_links_are_dropped(client, am):
    _, key = am
    alert = am_alert()
    alert["generatorURL"] = "javascript:alert(1)"
    alert["annotations"]["runbook_url"] = "data:text/html,x"
    post(client, f"/integrations/alertmanager/{key}", am_body([alert]))
    assert only_row().events[0]["links"] == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"groupKey": None}, "groupKey"),
        ({"groupKey": 5}, "groupKey"),
        ({"status": "burning"}, "status"),
        ({"alerts": None}, "alerts"),
        ({"alerts": {"a": 1}}, "alerts"),
        ({"alerts": []}, "alerts"),
        ({"alerts": ["x"]}, "alerts[0]"),
        ({"alerts": [{**am_alert(), "status": "maybe"}]}, "alerts[0].status"),
        ({"alerts": [{**am_alert(), "labels": {"a": 1}}]}, "alerts[0].labels.a"),
        ({"alerts": [{**am_alert(), "labels": ["a"]}]}, "alerts[0].labels"),
        ({"alerts": [{**am_alert(), "annotations": {"s": None}}]}, "alerts[0].annotations.s"),
        ({"alerts": [{**am_alert(), "startsAt": "yesterday"}]}, "alerts[0].startsAt"),
        ({"alerts": [{**am_alert(), "startsAt": 17}]}, "alerts[0].startsAt"),
        ({"truncatedAlerts": "2"}, "truncatedAlerts"),
        ({"commonAnnotations": "x"}, "commonAnnotations"),
    ],
)
def test_malformed_snapshots_get_400_naming_the_field(client, am, change, field):
    _, key = am
    body = am_body()
    for name, value in change.items():
        if value is None:
            body.pop(name)
        else:
            body[name] = value
    response = post(client, f"/integrations/alertmanager/{key}", body)
    assert response.status_code == 400
    assert any(error.startswith(field) for error in response.json()["errors"]), response.json()
    assert stored() == 0


def test_unknown_revoked_and_other_kind_keys_are_404(client, am, make_integration):
    integration, key = am
    assert post(client, f"/integrations/alertmanager/{'q' * 32}", am_body()).status_code == 404
    assert post(client, "/integrations/alertmanager/short", am_body()).status_code == 404
    _, grafana_key = make_integration("grafana")
    assert post(client, f"/integrations/alertmanager/{grafana_key}", am_body()).status_code == 404
    integration_revoke(integration=integration, actor=Actor.system("test setup"))
    response = post(client, f"/integrations/alertmanager/{key}", am_body())
    assert response.status_code == 404
    assert "detail" in response.json()
    assert stored() == 0


def test_a_large_snapshot_fits(client, am):
    """A group of 2,000 alerts with long annotations (~2 MB) is accepted, not 413."""
    _, key = am
    alerts = []
    for i in range(2000):
        alert = am_alert(f"{i:016x}")
        alert["annotations"]["description"] = "d" * 1000
        alerts.append(alert)
    response = post(client, f"/integrations/alertmanager/{key}", am_body(alerts))
    assert response.status_code == 202
    row = only_row()
    assert len(row.events) == 2000
    assert row.payload_truncated is True
    assert len(row.payload) == 64 * 1024


def test_grafana_body_keeps_its_extras(client, make_integration):
    integration, key = make_integration("grafana")
    response = post(client, f"/integrations/grafana/{key}", grafana_body())
    assert response.status_code == 202
    assert response.json() == {"status": "accepted"}
    row = only_row()
    assert row.integration == integration
    [event] = row.events
    assert event["dedup_key"] == f"{GROUP}:a1b2c3d4e5f60718"
    assert event["group_key"] == GROUP
    assert event["snapshot"] is True
    texts = [link["text"] for link in event["links"]]
    assert texts == ["Source", "Runbook", "Dashboard", "Panel", "Silence"]
    assert event["details"]["values"] == {"B": 97.5, "C": 1}
    assert event["details"]["valueString"] == "[ var='B' value=97.5 ]"


def test_grafana_put_is_accepted(client, make_integration):
    _, key = make_integration("grafana")
    response = post(client, f"/integrations/grafana/{key}", grafana_body(), method="put")
    assert response.status_code == 202
    assert stored() == 1


def test_grafana_wrong_typed_extras_are_400(client, make_integration):
    _, key = make_integration("grafana")
    body = grafana_body()
    body["alerts"][0]["values"] = [1, 2]
    body["alerts"][0]["dashboardURL"] = 5
    response = post(client, f"/integrations/grafana/{key}", body)
    assert response.status_code == 400
    assert response.json()["errors"] == [
        "alerts[0].dashboardURL must be a string",
        "alerts[0].values must be an object",
    ]
    assert stored() == 0


def test_alertmanager_without_key_in_path_can_use_bearer_or_basic(client, am):
    """For a path-less route (the key in Authorization instead of the URL)."""
    from django.test import RequestFactory

    from tocsin.alerts import ingest

    _, key = am
    factory = RequestFactory()
    import json

    body = json.dumps(am_body())
    request = factory.post(
        "/", body, content_type="application/json", headers={"Authorization": f"Bearer {key}"}
    )
    assert ingest.alertmanager(request).status_code == 202
    basic = base64.b64encode(f"alertmanager:{key}".encode()).decode()
    request = factory.post(
        "/", body, content_type="application/json", headers={"Authorization": f"Basic {basic}"}
    )
    assert ingest.alertmanager(request).status_code == 202
    request = factory.post("/", body, content_type="application/json")
    assert ingest.alertmanager(request).status_code == 404
    assert stored() == 2
