"""Issue 7, point 17: Grafana's two signature headers, the header set through the API,
replayed signatures, and Grafana's "Test" button."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from tests.alerts.ingest.conftest import grafana_body, stored
from tocsin.accounts.models import Role
from tocsin.alerts.models import InboxEvent, SeenSignature
from tocsin.catalog.models import Integration
from tocsin.core.clock import now, travel

pytestmark = pytest.mark.django_db

SECRET = "grafana-shared-secret"


def sign(body: bytes, timestamp: str = "") -> str:
    message = f"{timestamp}:".encode() + body if timestamp else body
    return hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()


def send(
    client: Client, key: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Any:
    return client.post(
        f"/integrations/grafana/{key}",
        json.dumps(body, separators=(",", ":")).encode(),
        content_type="application/json",
        headers=headers or {},
    )


def raw(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


@pytest.fixture
def signed(make_integration):
    return make_integration("grafana", options={"auth": "hmac"}, secret=SECRET)


def grafana_test_notification() -> dict[str, Any]:
    """What Grafana's contact-point "Test" button posts (default test alert)."""
    body = grafana_body()
    body.update(
        {
            "receiver": "tocsin",
            "groupKey": '{alertname="TestAlert", instance="Grafana"}2026-12-05 18:40:12 +0000',
            "groupLabels": {},
            "commonLabels": {"alertname": "TestAlert", "instance": "Grafana"},
            "commonAnnotations": {"summary": "Notification test"},
            "title": "[FIRING:1]  (TestAlert Grafana)",
            "message": "**Firing**\n\nValue: [no value]\nLabels:\n - alertname = TestAlert\n",
        }
    )
    body["alerts"] = [
        {
            "status": "firing",
            "labels": {"alertname": "TestAlert", "instance": "Grafana"},
            "annotations": {"summary": "Notification test"},
            "startsAt": "2026-12-05T18:40:12.1Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "",
            "fingerprint": "57c6d9296de2ad39",
            "silenceURL": "https://grafana/alerting/silence/new",
            "dashboardURL": "",
            "panelURL": "",
            "values": None,
            "valueString": "[ metric='foo' labels={instance=bar} value=10 ]",
        }
    ]
    return body


# --- the two header names -------------------------------------------------------------


@pytest.mark.parametrize("header", ["X-Grafana-Alert-Signature", "X-Grafana-Alerting-Signature"])
def test_both_of_grafanas_header_names_are_accepted(client, signed, header) -> None:
    _, key = signed
    body = grafana_body()
    response = send(client, key, body, {header: sign(raw(body))})
    assert response.status_code == 202, response.content
    assert stored() == 1


def test_a_wrong_signature_in_either_header_is_401(client, signed) -> None:
    _, key = signed
    body = grafana_body()
    for header in ("X-Grafana-Alert-Signature", "X-Grafana-Alerting-Signature"):
        response = send(client, key, body, {header: "0" * 64})
        assert response.status_code == 401
    assert stored() == 0


def test_the_signature_header_can_be_set_through_the_api(api, make_user, service) -> None:
    admin = api(make_user(Role.ADMIN, username="root"))
    created = admin.post(
        f"/api/v1/services/{service.pk}/integrations",
        {"kind": "grafana", "hmac_secret": SECRET, "hmac_header": "X-Tocsin-Signature"},
    )
    assert created.status_code == 201, created.content
    reply = created.json()
    assert reply["options"]["hmac_header"] == "X-Tocsin-Signature"
    key = reply["key"]
    client = Client()
    body = grafana_body()
    refused = send(client, key, body, {"X-Grafana-Alert-Signature": sign(raw(body))})
    assert refused.status_code == 401
    assert "X-Tocsin-Signature" in refused.json()["detail"]
    accepted = send(client, key, body, {"X-Tocsin-Signature": sign(raw(body))})
    assert accepted.status_code == 202
    path = f"/api/v1/services/{service.pk}/integrations/{reply['id']}"
    cleared = admin.patch(path, {"hmac_header": ""})
    assert cleared.status_code == 200
    assert "hmac_header" not in cleared.json()["options"]
    bad = admin.patch(path, {"hmac_header": "X Bad: header"})
    assert bad.status_code == 422
    assert "hmac_header" in json.dumps(bad.json())


# --- replays --------------------------------------------------------------------------


def test_a_replayed_signature_is_answered_2xx_and_stores_nothing(client, signed) -> None:
    integration, key = signed
    body = grafana_body()
    headers = {"X-Grafana-Alerting-Signature": sign(raw(body))}
    first = send(client, key, body, headers)
    assert first.status_code == 202
    again = send(client, key, body, headers)
    assert again.status_code == 202
    assert again.json()["status"] == "duplicate"
    assert InboxEvent.objects.filter(integration=integration).count() == 1


def test_a_replay_with_the_other_header_name_is_still_a_replay(client, signed) -> None:
    _, key = signed
    body = grafana_body()
    send(client, key, body, {"X-Grafana-Alerting-Signature": sign(raw(body))})
    send(client, key, body, {"X-Grafana-Alert-Signature": sign(raw(body))})
    assert stored() == 1


def test_a_replay_within_the_timestamp_window_is_dropped(client, signed) -> None:
    _, key = signed
    body = grafana_body()
    stamp = str(int(time.time()))
    headers = {
        "X-Grafana-Alerting-Signature": sign(raw(body), stamp),
        "X-Grafana-Alerting-Timestamp": stamp,
    }
    assert send(client, key, body, headers).status_code == 202
    assert send(client, key, body, headers).json()["status"] == "duplicate"
    assert stored() == 1


def test_after_the_window_the_signature_is_forgotten(client, signed) -> None:
    _, key = signed
    body = grafana_body()
    headers = {"X-Grafana-Alerting-Signature": sign(raw(body))}
    assert send(client, key, body, headers).status_code == 202
    with travel(now() + timedelta(hours=25)):
        later = send(client, key, body, headers)
    assert later.status_code == 202
    assert later.json()["status"] == "accepted"
    assert stored() == 2
    assert SeenSignature.objects.count() == 1  # the expired one was pruned


def test_different_bodies_are_not_replays(client, signed) -> None:
    _, key = signed
    for fingerprint in ("aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"):
        body = grafana_body()
        body["alerts"][0]["fingerprint"] = fingerprint
        response = send(client, key, body, {"X-Grafana-Alerting-Signature": sign(raw(body))})
        assert response.json()["status"] == "accepted"
    assert stored() == 2


# --- Grafana's Test button ------------------------------------------------------------


def test_grafanas_test_notification_is_recorded_not_paged(
    client, signed, api, make_user, service
) -> None:
    integration, key = signed
    body = grafana_test_notification()
    with travel(now().replace(microsecond=0)):
        at = now()
        response = send(client, key, body, {"X-Grafana-Alert-Signature": sign(raw(body))})
    assert response.status_code == 200
    assert response.json()["status"] == "test received"
    assert stored() == 0  # no inbox row: no alert, no P2 incident
    integration.refresh_from_db()
    admin = api(make_user(Role.ADMIN, username="root"))
    shown = admin.get(f"/api/v1/services/{service.pk}/integrations/{integration.pk}").json()
    assert shown["test_received_at"].startswith(at.strftime("%Y-%m-%dT%H:%M:%S"))
    page = Client()
    page.force_login(admin.user)
    html = page.get(f"/services/{service.pk}/").content.decode()
    assert "test received at" in html
    assert at.strftime("%Y-%m-%d %H:%M") in html


def test_an_unsigned_test_notification_is_still_refused(client, signed) -> None:
    _, key = signed
    response = send(client, key, grafana_test_notification())
    assert response.status_code == 401
    integration = Integration.objects.get(pk=signed[0].pk)
    assert "test_received_at" not in integration.options


def test_a_real_alert_called_testalert_still_pages(client, make_integration) -> None:
    _, key = make_integration("grafana")
    body = grafana_test_notification()
    body["alerts"][0]["labels"] = {"alertname": "TestAlert", "instance": "db1:9100"}
    response = send(client, key, body)
    assert response.status_code == 202
    assert stored() == 1
