"""Opsgenie alert API: create and close by alias."""

from __future__ import annotations

import hashlib

import pytest

from tests.alerts.ingest.conftest import only_row, post, stored
from tocsin.alerts.models import InboxEvent


@pytest.fixture
def og(make_integration):
    return make_integration("opsgenie")


def genie(key: str) -> dict[str, str]:
    return {"Authorization": f"GenieKey {key}"}


def test_create_is_stored_and_answered_like_opsgenie(client, og):
    integration, key = og
    body = {
        "message": "Disk full on web1",
        "alias": "disk-web1",
        "description": "97% used",
        "source": "Alertmanager",
        "priority": "P1",
        "tags": ["disk", "prod"],
        "details": {"instance": "web1"},
        "entity": "web1",
        "responders": [{"name": "ops", "type": "team"}],
    }
    response = post(client, "/opsgenie/v2/alerts", body, headers=genie(key))
    assert response.status_code == 202
    reply = response.json()
    assert reply["result"] == "Request will be processed"
    assert isinstance(reply["took"], float)
    assert reply["requestId"] == response["X-Request-Id"]
    row = only_row()
    assert (row.integration, row.kind) == (integration, "event")
    [event] = row.events
    assert event["action"] == "trigger"
    assert event["dedup_key"] == "disk-web1"
    assert event["summary"] == "Disk full on web1"
    assert event["severity"] == "critical"
    assert event["source"] == "Alertmanager"
    assert event["details"]["priority"] == "P1"
    assert event["details"]["description"] == "97% used"
    assert event["details"]["tags"] == ["disk", "prod"]
    assert event["details"]["details"] == {"instance": "web1"}


@pytest.mark.parametrize(
    ("priority", "severity"),
    [("P1", "critical"), ("P2", "error"), ("P3", "warning"), ("P4", "info"), ("P5", "info")],
)
def test_priority_maps_to_severity_and_is_kept(client, og, priority, severity):
    _, key = og
    body = {"message": "m", "priority": priority}
    assert post(client, "/opsgenie/v2/alerts", body, headers=genie(key)).status_code == 202
    event = only_row().events[0]
    assert (event["severity"], event["details"]["priority"]) == (severity, priority)


def test_default_priority_is_p3(client, og):
    _, key = og
    post(client, "/opsgenie/v2/alerts", {"message": "m"}, headers=genie(key))
    event = only_row().events[0]
    assert event["details"]["priority"] == "P3"
    assert event["severity"] == "warning"
    assert len(event["dedup_key"]) == 32  # no alias: a new alert each time


def test_long_message_is_cut_to_130_and_kept_whole_in_details(client, og):
    _, key = og
    message = "x" * 200
    post(client, "/opsgenie/v2/alerts", {"message": message}, headers=genie(key))
    event = only_row().events[0]
    assert len(event["summary"]) == 130
    assert event["details"]["message"] == message


def test_long_alias_is_hashed_the_same_on_create_and_close(client, og):
    _, key = og
    alias = "a" * 300
    post(client, "/opsgenie/v2/alerts", {"message": "m", "alias": alias}, headers=genie(key))
    post(client, f"/opsgenie/v2/alerts/{alias}/close?identifierType=alias", {}, headers=genie(key))
    keys = [row.events[0]["dedup_key"] for row in InboxEvent.objects.order_by("id")]
    assert keys == [hashlib.sha256(alias.encode()).hexdigest()] * 2


def test_alias_over_512_is_rejected(client, og):
    _, key = og
    body = {"message": "m", "alias": "a" * 513}
    response = post(client, "/opsgenie/v2/alerts", body, headers=genie(key))
    assert response.status_code == 422
    assert "alias" in response.json()["errors"]
    assert stored() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "message"),
        ({"message": ""}, "message"),
        ({"message": 5}, "message"),
        ({"message": "m", "priority": "P9"}, "priority"),
        ({"message": "m", "details": ["a"]}, "details"),
        ({"message": "m", "tags": "disk"}, "tags"),
        ({"message": "m", "tags": [1]}, "tags"),
        ({"message": "m", "alias": 7}, "alias"),
        ({"message": "m", "responders": {"name": "x"}}, "responders"),
    ],
)
def test_invalid_create_gets_422_naming_the_field(client, og, body, field):
    _, key = og
    response = post(client, "/opsgenie/v2/alerts", body, headers=genie(key))
    assert response.status_code == 422
    reply = response.json()
    assert reply["message"] == "Request body is not processable. Please check the errors."
    assert field in reply["errors"]
    assert set(reply) == {"message", "errors", "took", "requestId"}
    assert stored() == 0


def test_missing_or_wrong_genie_key_is_401(client, og):
    response = post(client, "/opsgenie/v2/alerts", {"message": "m"})
    assert response.status_code == 401
    assert "authenticate" in response.json()["message"].lower()
    response = post(client, "/opsgenie/v2/alerts", {"message": "m"}, headers=genie("q" * 32))
    assert response.status_code == 401
    assert stored() == 0


def test_close_by_alias_resolves(client, og):
    _, key = og
    response = post(
        client,
        "/opsgenie/v2/alerts/disk-web1/close?identifierType=alias",
        {"source": "Alertmanager", "note": "fixed"},
        headers=genie(key),
    )
    assert response.status_code == 202
    assert response.json()["result"] == "Request will be processed"
    row = only_row()
    [event] = row.events
    assert (event["action"], event["dedup_key"]) == ("resolve", "disk-web1")
    assert event["details"] == {"source": "Alertmanager", "note": "fixed"}


def test_close_by_alias_with_an_empty_body(client, og):
    _, key = og
    response = client.generic(
        "POST", "/opsgenie/v2/alerts/disk-web1/close?identifierType=alias", headers=genie(key)
    )
    assert response.status_code == 202
    assert only_row().events[0]["dedup_key"] == "disk-web1"


def test_without_identifier_type_the_identifier_is_an_id(client, og):
    """Opsgenie's rule: no identifierType means `id` (an alias there is no alert's id)."""
    _, key = og
    response = client.generic("POST", "/opsgenie/v2/alerts/disk-web1/close", headers=genie(key))
    assert response.status_code == 404
    assert response.json()["message"] == "Alert does not exist"
    assert stored() == 0


@pytest.mark.parametrize(("kind", "status"), [("id", 404), ("tiny", 404), ("other", 422)])
def test_close_by_id_or_tiny_is_refused(client, og, kind, status):
    _, key = og
    path = f"/opsgenie/v2/alerts/abc/close?identifierType={kind}"
    assert post(client, path, {}, headers=genie(key)).status_code == status
    assert stored() == 0


def test_close_with_control_characters_in_the_alias_is_refused(client, og):
    _, key = og
    path = "/opsgenie/v2/alerts/a%00b/close?identifierType=alias"
    response = post(client, path, {}, headers=genie(key))
    assert response.status_code == 422
    assert stored() == 0
