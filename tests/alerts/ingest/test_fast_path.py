"""Ingest routes skip the session/auth middleware but keep what every reply must carry."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import OperationalError

from tests.alerts.ingest.conftest import pd_event, post, stored
from tocsin.alerts import services
from tocsin.alerts.models import InboxEvent

pytestmark = pytest.mark.django_db


def test_ingest_replies_keep_request_id_and_security_headers(client, make_integration) -> None:
    _, key = make_integration("pagerduty")
    response = post(client, "/v2/enqueue", pd_event(key), headers={"X-Request-Id": "abc123"})
    assert response.status_code == 202
    assert response["X-Request-Id"] == "abc123"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" in response
    assert "sessionid" not in response.cookies  # no session work on the hot path
    assert InboxEvent.objects.get().request_id == "abc123"


def test_a_locked_database_is_still_a_503_on_the_fast_path(
    client, make_integration, monkeypatch: Any
) -> None:
    _, key = make_integration("pagerduty")

    def locked(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("database is locked")

    monkeypatch.setattr(services, "inbox_add", locked)
    response = post(client, "/v2/enqueue", pd_event(key))
    assert response.status_code == 503
    assert response["Retry-After"]
    assert "X-Request-Id" in response
    monkeypatch.undo()
    assert stored() == 0


def test_other_pages_still_get_the_full_stack(client) -> None:
    response = client.get("/login/")
    assert response.status_code == 200
    assert "csrftoken" in response.cookies  # CSRF middleware ran


@pytest.mark.parametrize("field", ["message", "description"])
def test_opsgenie_update_calls_get_an_opsgenie_shaped_answer(client, field) -> None:
    response = post(client, f"/opsgenie/v2/alerts/abc/{field}?identifierType=alias", {})
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert "update_alerts: false" in response.json()["message"]
    assert stored() == 0
