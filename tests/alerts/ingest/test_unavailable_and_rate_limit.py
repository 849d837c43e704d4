"""Overload and an unavailable database: 503 (or PagerDuty's 429) with Retry-After."""

from __future__ import annotations

import pytest
from django.db import InterfaceError, OperationalError

from tests.alerts.ingest.conftest import ENDPOINTS, am_body, pd_event, post, stored
from tocsin.alerts import ingest_auth
from tocsin.alerts import services as alert_services
from tocsin.catalog.models import Service


def _locked(*args, **kwargs):
    raise OperationalError("database is locked")


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_a_locked_database_on_insert_is_503_with_retry_after(
    client, make_integration, monkeypatch, endpoint
):
    _, key = make_integration(endpoint.kind)
    path, body, headers = endpoint.build(key)
    monkeypatch.setattr(alert_services, "inbox_add", _locked)
    response = post(client, path, body, headers=headers)
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    monkeypatch.undo()
    assert stored() == 0


def test_a_closed_connection_is_503(client, make_integration, monkeypatch):
    _, key = make_integration("webhook")

    def closed(*args, **kwargs):
        raise InterfaceError("connection already closed")

    monkeypatch.setattr(alert_services, "inbox_add", closed)
    response = post(client, f"/integrations/webhook/{key}", {"summary": "s"})
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    monkeypatch.undo()
    assert stored() == 0


def test_heartbeat_with_a_locked_database_is_503(client, make_integration, monkeypatch):
    _, key = make_integration("heartbeat")
    monkeypatch.setattr(alert_services, "inbox_add", _locked)
    response = client.get(f"/integrations/heartbeat/{key}")
    assert response.status_code == 503
    assert response["Retry-After"] == "1"


def test_an_unreachable_database_on_key_lookup_is_503(client, make_integration, monkeypatch):
    _, key = make_integration("alertmanager")

    def refused(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(ingest_auth, "integration_by_key", refused)
    response = post(client, f"/integrations/alertmanager/{key}", am_body())
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    response = post(client, "/v2/enqueue", pd_event(key))
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    monkeypatch.undo()
    assert stored() == 0


def test_pagerduty_rate_limit_is_429_with_retry_after(client, service, make_integration):
    Service.objects.filter(pk=service.pk).update(ingest_rate_limit=2)
    _, key = make_integration("pagerduty")
    _, other_key = make_integration("pagerduty")
    assert post(client, "/v2/enqueue", pd_event(key)).status_code == 202
    assert post(client, "/v2/enqueue", pd_event(key)).status_code == 202
    response = post(client, "/v2/enqueue", pd_event(key))
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 61
    assert response.json()["status"] == "throttle event"
    assert stored() == 2
    # the limit is per key
    assert post(client, "/v2/enqueue", pd_event(other_key)).status_code == 202


def test_opsgenie_rate_limit_is_429(client, service, make_integration):
    Service.objects.filter(pk=service.pk).update(ingest_rate_limit=1)
    _, key = make_integration("opsgenie")
    headers = {"Authorization": f"GenieKey {key}"}
    assert post(client, "/opsgenie/v2/alerts", {"message": "m"}, headers=headers).status_code == 202
    response = post(client, "/opsgenie/v2/alerts", {"message": "m"}, headers=headers)
    assert response.status_code == 429
    assert "Retry-After" in response


@pytest.mark.parametrize("kind", ["alertmanager", "grafana", "webhook"])
def test_rate_limit_answers_503_where_senders_drop_4xx(client, service, make_integration, kind):
    Service.objects.filter(pk=service.pk).update(ingest_rate_limit=1)
    _, key = make_integration(kind)
    body = am_body() if kind != "webhook" else {"summary": "s"}
    path = f"/integrations/{kind}/{key}"
    assert post(client, path, body).status_code == 202
    response = post(client, path, body)
    assert response.status_code == 503
    assert "Retry-After" in response
    assert stored() == 1


def test_rate_limit_window_slides(client, service, make_integration):
    import time_machine

    Service.objects.filter(pk=service.pk).update(ingest_rate_limit=1)
    _, key = make_integration("pagerduty")
    with time_machine.travel("2026-03-01 12:00:00+00:00", tick=False) as clock:
        assert post(client, "/v2/enqueue", pd_event(key)).status_code == 202
        clock.shift(30)
        response = post(client, "/v2/enqueue", pd_event(key))
        assert response.status_code == 429
        assert response["Retry-After"] == "31"
        clock.shift(31)
        assert post(client, "/v2/enqueue", pd_event(key)).status_code == 202


def test_no_rate_limit_by_default(client, make_integration):
    _, key = make_integration("pagerduty")
    for _ in range(25):
        assert post(client, "/v2/enqueue", pd_event(key)).status_code == 202
    assert stored() == 25
