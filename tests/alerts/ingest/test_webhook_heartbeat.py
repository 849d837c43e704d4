"""Generic JSON webhook with a field mapping, and heartbeat pings."""

from __future__ import annotations

import pytest

from tests.alerts.ingest.conftest import only_row, post, stored
from tocsin.catalog.services import integration_revoke
from tocsin.core.actors import Actor

MAPPING = {
    "summary_path": "$.alert.title",
    "severity_path": "alert.level",
    "dedup_key_path": "alert.ids[0]",
    "status_path": "state",
    "resolved_value": "OK",
    "source_path": "host.name",
}


def test_default_mapping(client, make_integration):
    integration, key = make_integration("webhook")
    body = {"summary": "Queue backed up", "severity": "warning", "dedup_key": "q1", "x": [1]}
    response = post(client, f"/integrations/webhook/{key}", body)
    assert response.status_code == 202
    assert response.json() == {"status": "accepted"}
    row = only_row()
    assert row.integration == integration
    [event] = row.events
    assert event["action"] == "trigger"
    assert (event["summary"], event["severity"], event["dedup_key"]) == (
        "Queue backed up",
        "warning",
        "q1",
    )
    assert event["details"] == {"body": body}


def test_user_mapping_with_paths_and_resolved_value(client, make_integration):
    _, key = make_integration("webhook", options=MAPPING)
    fire = {
        "alert": {"title": "CPU hot", "level": "CRIT", "ids": [4711]},
        "state": "ALERTING",
        "host": {"name": "db1"},
    }
    post(client, f"/integrations/webhook/{key}", fire)
    [event] = only_row().events
    assert (event["action"], event["summary"], event["severity"], event["dedup_key"]) == (
        "trigger",
        "CPU hot",
        "critical",
        "4711",
    )
    assert event["source"] == "db1"


def test_resolved_value_resolves_without_summary(client, make_integration):
    _, key = make_integration("webhook", options=MAPPING)
    response = post(
        client, f"/integrations/webhook/{key}", {"alert": {"ids": ["4711"]}, "state": "OK"}
    )
    assert response.status_code == 202
    [event] = only_row().events
    assert (event["action"], event["dedup_key"]) == ("resolve", "4711")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"alert": {"level": "CRIT"}}, "summary"),
        ({"alert": {"title": {"nested": 1}}}, "summary"),
        ({"alert": {"title": "   "}}, "summary"),
        ({"alert": {"title": "t", "level": ["x"]}}, "severity"),
        ({"alert": {}, "state": "OK"}, "dedup_key"),
    ],
)
def test_mapping_errors_name_the_field_and_path(client, make_integration, body, field):
    _, key = make_integration("webhook", options=MAPPING)
    response = post(client, f"/integrations/webhook/{key}", body)
    assert response.status_code == 400
    assert response.json()["errors"][0].startswith(field)
    assert stored() == 0


def test_webhook_without_dedup_key_opens_a_new_alert_each_time(client, make_integration):
    _, key = make_integration("webhook")
    post(client, f"/integrations/webhook/{key}", {"summary": "s"})
    post(client, f"/integrations/webhook/{key}", {"summary": "s"})
    from tocsin.alerts.models import InboxEvent

    keys = {row.events[0]["dedup_key"] for row in InboxEvent.objects.all()}
    assert len(keys) == 2


@pytest.mark.parametrize("method", ["get", "post", "head"])
def test_heartbeat_ping_is_recorded(client, make_integration, method):
    integration, key = make_integration("heartbeat", options={"interval": 60, "grace": 30})
    response = getattr(client, method)(f"/integrations/heartbeat/{key}")
    assert response.status_code == 200
    row = only_row()
    assert (row.integration, row.kind, row.events) == (integration, "heartbeat", [])
    assert row.payload == ""


def test_heartbeat_ignores_any_body(client, make_integration):
    _, key = make_integration("heartbeat")
    response = client.post(f"/integrations/heartbeat/{key}", b"\xff\x00 not json", "text/plain")
    assert response.status_code == 200
    assert stored() == 1


def test_heartbeat_body_is_limited(client, make_integration):
    _, key = make_integration("heartbeat")
    response = client.post(f"/integrations/heartbeat/{key}", b"x" * (64 * 1024 + 1), "text/plain")
    assert response.status_code == 413
    assert stored() == 0


def test_heartbeat_unknown_revoked_or_wrong_kind_key_is_404(client, make_integration):
    integration, key = make_integration("heartbeat")
    _, webhook_key = make_integration("webhook")
    assert client.get(f"/integrations/heartbeat/{'a' * 32}").status_code == 404
    assert client.get(f"/integrations/heartbeat/{webhook_key}").status_code == 404
    integration_revoke(integration=integration, actor=Actor.system("test setup"))
    assert client.get(f"/integrations/heartbeat/{key}").status_code == 404
    assert stored() == 0


def test_heartbeat_put_is_not_allowed(client, make_integration):
    _, key = make_integration("heartbeat")
    assert client.put(f"/integrations/heartbeat/{key}").status_code == 405
    assert stored() == 0
