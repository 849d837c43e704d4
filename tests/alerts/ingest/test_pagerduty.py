"""PagerDuty Events v2: /v2/enqueue and /v2/change/enqueue."""

from __future__ import annotations

import pytest

from tests.alerts.ingest.conftest import only_row, pd_event, post, stored
from tocsin.core.actors import Actor


@pytest.fixture
def pd(make_integration):
    return make_integration("pagerduty")


def test_trigger_is_stored_with_normalised_event_and_answered_like_pagerduty(client, pd):
    integration, key = pd
    body = pd_event(key)
    body["payload"].update(
        {
            "timestamp": "2015-07-17T08:42:58.315+0000",
            "component": "mysql",
            "group": "prod-datapipe",
            "class": "disk",
            "custom_details": {"free": "2%", "nested": {"a": [1, 2]}},
        }
    )
    body["links"] = [
        {"href": "https://example.com/graph", "text": "Graph"},
        {"href": "javascript:alert(1)", "text": "bad"},
    ]
    body["images"] = [{"src": "https://example.com/i.png", "alt": "chart"}]
    body["client"] = "Alertmanager"
    body["client_url"] = "http://am:9093"

    response = post(client, "/v2/enqueue", body)

    assert response.status_code == 202
    assert response.json() == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": "disk-full-web1",
    }
    row = only_row()
    assert row.integration == integration
    assert row.kind == "event"
    assert row.state == "pending"
    assert row.request_id == response["X-Request-Id"]
    assert key not in row.payload  # the routing key is a credential
    [event] = row.events
    assert event["action"] == "trigger"
    assert event["dedup_key"] == "disk-full-web1"
    assert event["summary"] == "Disk full on web1"
    assert event["severity"] == "critical"
    assert event["source"] == "web1"
    assert event["occurred_at"] == "2015-07-17T08:42:58.315000+00:00"
    assert event["details"]["component"] == "mysql"
    assert event["details"]["class"] == "disk"
    assert event["details"]["custom_details"] == {"free": "2%", "nested": {"a": [1, 2]}}
    hrefs = [link["href"] for link in event["links"]]
    assert hrefs == ["https://example.com/graph", "https://example.com/i.png", "http://am:9093"]


def test_timestamp_with_colon_offset_is_accepted(client, pd):
    _, key = pd
    body = pd_event(key)
    body["payload"]["timestamp"] = "2015-07-17T10:42:58+02:00"
    assert post(client, "/v2/enqueue", body).status_code == 202
    assert only_row().events[0]["occurred_at"] == "2015-07-17T08:42:58+00:00"


def test_trigger_without_dedup_key_gets_one_and_returns_it(client, pd):
    _, key = pd
    body = pd_event(key)
    del body["dedup_key"]
    response = post(client, "/v2/enqueue", body)
    assert response.status_code == 202
    generated = response.json()["dedup_key"]
    assert len(generated) == 32
    assert only_row().events[0]["dedup_key"] == generated
    # and a second one gets another key: a new alert each time
    assert post(client, "/v2/enqueue", body).json()["dedup_key"] != generated


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_acknowledge_and_resolve_need_only_the_key(client, pd, action):
    _, key = pd
    body = {"routing_key": key, "event_action": action, "dedup_key": "disk-full-web1"}
    response = post(client, "/v2/enqueue", body)
    assert response.status_code == 202
    assert response.json()["dedup_key"] == "disk-full-web1"
    [event] = only_row().events
    assert (event["action"], event["dedup_key"]) == (action, "disk-full-web1")


SEVERITY_ONE_OF = (
    "'payload.severity' is invalid (must be one of the following: "
    "'critical', 'warning', 'error' or 'info')"
)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"event_action": None}, "'event_action' is missing or blank"),
        (
            {"event_action": "explode"},
            "'event_action' is invalid (must be one of the following: "
            "'trigger', 'acknowledge' or 'resolve')",
        ),
        ({"payload": None}, "'payload' is missing or blank"),
        ({"payload": "text"}, "'payload' is invalid (must be an object)"),
        (
            {"payload": {"source": "web1", "severity": "error"}},
            "'payload.summary' is missing or blank",
        ),
        (
            {"payload": {"summary": "  ", "source": "w", "severity": "error"}},
            "'payload.summary' is missing or blank",
        ),
        (
            {"payload": {"summary": 42, "source": "w", "severity": "error"}},
            "'payload.summary' is invalid (must be a string)",
        ),
        (
            {"payload": {"summary": "x" * 1025, "source": "w", "severity": "error"}},
            "Length of 'payload.summary' is incorrect (should be at most 1024 characters)",
        ),
        (
            {"payload": {"summary": "s", "severity": "error"}},
            "'payload.source' is missing or blank",
        ),
        (
            {"payload": {"summary": "s", "source": " ", "severity": "error"}},
            "'payload.source' is missing or blank",
        ),
        ({"payload": {"summary": "s", "source": "w"}}, "'payload.severity' is missing or blank"),
        ({"payload": {"summary": "s", "source": "w", "severity": "bad"}}, SEVERITY_ONE_OF),
        (
            {"payload": {"summary": "s", "source": "w", "severity": "info", "timestamp": "noon"}},
            "'payload.timestamp' is invalid (must be an ISO 8601 timestamp)",
        ),
        (
            {"dedup_key": "k" * 256},
            "Length of 'dedup_key' is incorrect (should be at most 255 characters)",
        ),
        ({"dedup_key": 7}, "'dedup_key' is invalid (must be a string)"),
        ({"links": {"href": "https://x"}}, "'links' is invalid (must be an array)"),
        ({"links": [{"text": "no href"}]}, "'links[0].href' is missing or blank"),
        ({"images": ["https://x/i.png"]}, "'images[0]' is invalid (must be an object)"),
        ({"routing_key": None}, "'routing_key' cannot be blank"),
        ({"routing_key": ""}, "'routing_key' cannot be blank"),
        ({"routing_key": 12345}, "'routing_key' is invalid (must be a string)"),
        (
            {"routing_key": "short"},
            "Length of 'routing_key' is incorrect (should be 32 characters)",
        ),
    ],
)
def test_invalid_events_get_pagerduty_400_in_pagerduty_words(client, pd, change, error):
    _, key = pd
    body = pd_event(key)
    for name, value in change.items():
        if value is None:
            body.pop(name)
        else:
            body[name] = value
    response = post(client, "/v2/enqueue", body)
    assert response.status_code == 400
    reply = response.json()
    assert reply["status"] == "invalid event"
    assert reply["message"] == "Event object is invalid"
    assert reply["errors"] == [error]
    assert stored() == 0


def test_all_the_errors_of_an_event_are_listed(client, pd):
    _, key = pd
    body = {"routing_key": key, "event_action": "trigger", "payload": {"summary": "s"}}
    response = post(client, "/v2/enqueue", body)
    assert response.json()["errors"] == [
        "'payload.source' is missing or blank",
        "'payload.severity' is missing or blank",
    ]


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_acknowledge_without_dedup_key_is_invalid(client, pd, action):
    _, key = pd
    response = post(client, "/v2/enqueue", {"routing_key": key, "event_action": action})
    assert response.status_code == 400
    assert response.json()["errors"] == ["'dedup_key' is missing or blank"]
    assert stored() == 0


def test_unknown_and_revoked_routing_keys_are_rejected_naming_routing_key(client, pd):
    from tocsin.catalog.services import integration_revoke

    integration, key = pd
    response = post(client, "/v2/enqueue", pd_event("z" * 32))
    assert response.status_code == 400
    assert response.json()["errors"] == ["Invalid routing key"]
    integration_revoke(integration=integration, actor=Actor.system("test setup"))
    assert post(client, "/v2/enqueue", pd_event(key)).status_code == 400
    assert stored() == 0


def test_a_key_of_another_kind_is_not_a_routing_key(client, make_integration):
    _, key = make_integration("alertmanager")
    assert post(client, "/v2/enqueue", pd_event(key)).status_code == 400
    assert stored() == 0


def test_change_event_is_stored_as_change(client, pd):
    integration, key = pd
    body = {
        "routing_key": key,
        "payload": {
            "summary": "Deployed checkout v42",
            "source": "ci",
            "timestamp": "2026-01-05T10:00:00Z",
            "custom_details": {"build": 42},
        },
        "links": [{"href": "https://ci/builds/42", "text": "Build"}],
    }
    response = post(client, "/v2/change/enqueue", body)
    assert response.status_code == 202
    assert response.json() == {"status": "success", "message": "Change event processed"}
    row = only_row()
    assert (row.integration, row.kind) == (integration, "change")
    [event] = row.events
    assert event["summary"] == "Deployed checkout v42"
    assert event["occurred_at"] == "2026-01-05T10:00:00+00:00"
    assert event["details"] == {"custom_details": {"build": 42}}
    assert event["links"] == [{"href": "https://ci/builds/42", "text": "Build"}]


def test_change_event_without_summary_is_invalid(client, pd):
    _, key = pd
    response = post(client, "/v2/change/enqueue", {"routing_key": key, "payload": {}})
    assert response.status_code == 400
    assert response.json()["errors"] == ["'payload.summary' is missing or blank"]
    assert stored() == 0


def test_get_is_not_allowed(client, pd):
    assert client.get("/v2/enqueue").status_code == 405
    assert stored() == 0
