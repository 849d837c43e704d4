"""Secrets on top of the key: Grafana's HMAC signature, Bearer and Basic."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tests.alerts.ingest.conftest import am_body, grafana_body, stored

SECRET = "s3cret-shared-with-grafana"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def sign(body: bytes, timestamp: str | None = None, secret: str = SECRET) -> str:
    message = f"{timestamp}:".encode() + body if timestamp else body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def send(client, path, body: bytes, headers):
    return client.post(path, body, content_type="application/json", headers=headers)


@pytest.fixture
def grafana(make_integration):
    return make_integration("grafana", secret=SECRET)


@pytest.fixture
def body() -> bytes:
    return json.dumps(grafana_body()).encode()


def test_signature_of_the_body_is_accepted(client, grafana, body):
    _, key = grafana
    headers = {"X-Grafana-Alerting-Signature": sign(body)}
    assert send(client, f"/integrations/grafana/{key}", body, headers).status_code == 202
    assert stored() == 1


@time_machine.travel(NOW, tick=False)
def test_signature_with_timestamp_in_the_window_is_accepted(client, grafana, body):
    _, key = grafana
    ts = str(int((NOW - timedelta(minutes=4)).timestamp()))
    headers = {"X-Grafana-Alerting-Signature": sign(body, ts), "X-Grafana-Alerting-Timestamp": ts}
    assert send(client, f"/integrations/grafana/{key}", body, headers).status_code == 202


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("offset", [timedelta(minutes=-6), timedelta(minutes=6)])
def test_stale_or_future_timestamp_is_401(client, grafana, body, offset):
    _, key = grafana
    ts = str(int((NOW + offset).timestamp()))
    headers = {"X-Grafana-Alerting-Signature": sign(body, ts), "X-Grafana-Alerting-Timestamp": ts}
    response = send(client, f"/integrations/grafana/{key}", body, headers)
    assert response.status_code == 401
    assert "window" in response.json()["detail"]
    assert stored() == 0


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Grafana-Alerting-Signature": "00" * 32},
        {"X-Grafana-Alerting-Signature": sign(b"another body")},
        {"X-Grafana-Alerting-Signature": "not hex at all"},
        {"X-Grafana-Alerting-Signature": "é"},
        {"X-Grafana-Alerting-Timestamp": "soon", "X-Grafana-Alerting-Signature": "ab"},
    ],
)
def test_missing_or_wrong_signature_is_401(client, grafana, body, headers):
    _, key = grafana
    # a signature made with another secret must fail too
    response = send(client, f"/integrations/grafana/{key}", body, headers)
    assert response.status_code == 401
    assert stored() == 0


def test_signature_with_another_secret_is_401(client, grafana, body):
    _, key = grafana
    headers = {"X-Grafana-Alerting-Signature": sign(body, secret="other")}
    assert send(client, f"/integrations/grafana/{key}", body, headers).status_code == 401


def test_signature_over_the_body_when_a_timestamp_is_sent_is_401(client, grafana, body):
    """The timestamp is part of what is signed: replaying an old signature fails."""
    _, key = grafana
    ts = str(int(datetime.now(UTC).timestamp()))
    headers = {"X-Grafana-Alerting-Signature": sign(body), "X-Grafana-Alerting-Timestamp": ts}
    assert send(client, f"/integrations/grafana/{key}", body, headers).status_code == 401


def test_custom_header_names_and_required_timestamp(client, make_integration, body):
    _, key = make_integration(
        "grafana",
        secret=SECRET,
        options={
            "hmac_header": "X-Sig",
            "hmac_timestamp_header": "X-Ts",
            "hmac_require_timestamp": True,
        },
    )
    path = f"/integrations/grafana/{key}"
    assert send(client, path, body, {"X-Sig": sign(body)}).status_code == 401
    ts = str(int(datetime.now(UTC).timestamp()))
    assert send(client, path, body, {"X-Sig": sign(body, ts), "X-Ts": ts}).status_code == 202


def test_grafana_without_secret_needs_no_signature(client, make_integration, body):
    _, key = make_integration("grafana")
    assert send(client, f"/integrations/grafana/{key}", body, {}).status_code == 202


@pytest.mark.parametrize("kind", ["alertmanager", "webhook"])
def test_secret_as_bearer_or_basic_password(client, make_integration, kind):
    _, key = make_integration(kind, secret=SECRET, options={"basic_password": True})
    body = am_body() if kind == "alertmanager" else {"summary": "s"}
    raw = json.dumps(body).encode()
    path = f"/integrations/{kind}/{key}"
    basic = base64.b64encode(f"prometheus:{SECRET}".encode()).decode()
    wrong = base64.b64encode(b"prometheus:nope").decode()
    assert send(client, path, raw, {}).status_code == 401
    assert send(client, path, raw, {"Authorization": "Bearer nope"}).status_code == 401
    assert send(client, path, raw, {"Authorization": f"Basic {wrong}"}).status_code == 401
    assert send(client, path, raw, {"Authorization": "Basic !!notbase64"}).status_code == 401
    assert stored() == 0
    assert send(client, path, raw, {"Authorization": f"Bearer {SECRET}"}).status_code == 202
    assert send(client, path, raw, {"Authorization": f"Basic {basic}"}).status_code == 202
    assert stored() == 2


def test_basic_username_when_configured(client, make_integration):
    _, key = make_integration("webhook", secret=SECRET, options={"basic_username": "mon"})
    raw = json.dumps({"summary": "s"}).encode()
    path = f"/integrations/webhook/{key}"
    other = base64.b64encode(f"someone:{SECRET}".encode()).decode()
    right = base64.b64encode(f"mon:{SECRET}".encode()).decode()
    assert send(client, path, raw, {"Authorization": f"Basic {other}"}).status_code == 401
    assert send(client, path, raw, {"Authorization": f"Basic {right}"}).status_code == 202


def test_grafana_with_basic_auth_option(client, make_integration, body):
    _, key = make_integration("grafana", secret=SECRET, options={"auth": "basic"})
    basic = base64.b64encode(f"grafana:{SECRET}".encode()).decode()
    path = f"/integrations/grafana/{key}"
    assert send(client, path, body, {}).status_code == 401
    assert send(client, path, body, {"Authorization": f"Basic {basic}"}).status_code == 202


def test_heartbeat_with_secret(client, make_integration):
    _, key = make_integration("heartbeat", secret=SECRET)
    assert client.get(f"/integrations/heartbeat/{key}").status_code == 401
    headers = {"Authorization": f"Bearer {SECRET}"}
    assert client.get(f"/integrations/heartbeat/{key}", headers=headers).status_code == 200
