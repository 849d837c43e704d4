"""Acknowledging and resolving alerts through the API: one alert, or several at once
(issue 8, point 11), with the API's usual error shapes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.alerts.engine.helpers import drain, make_integration, make_service, push, trigger
from tests.conftest import ApiClient
from tocsin.accounts.models import Role
from tocsin.alerts.models import Alert
from tocsin.catalog.models import Integration
from tocsin.core.audit import AuditEntry
from tocsin.incidents.models import Incident, Status

Clients = Callable[[str], ApiClient]


@pytest.fixture
def integration(db: Any) -> Integration:
    return make_integration(make_service("Checkout"), kind="pagerduty", name="Prometheus")


def fire(integration: Integration, *keys: str) -> list[Alert]:
    push(integration, *(trigger(key, f"{key} is down") for key in keys))
    drain()
    return [Alert.objects.get(integration=integration, dedup_key=key) for key in keys]


def test_get_one_alert_with_its_payload(client_for: Clients, integration: Integration) -> None:
    push(
        integration,
        trigger("disk", "Disk full", labels={"instance": "db1"}, details={"free": "0 bytes"}),
    )
    drain()
    alert = Alert.objects.get(dedup_key="disk")
    body = client_for(Role.AGENT).get(f"/api/v1/alerts/{alert.pk}").json()
    assert (body["id"], body["summary"], body["labels"], body["details"]) == (
        alert.pk,
        "Disk full",
        {"instance": "db1"},
        {"free": "0 bytes"},
    )
    assert body["incident"] == alert.incident.ref  # type: ignore[union-attr]


def test_acknowledge_then_resolve_one_alert(client_for: Clients, integration: Integration) -> None:
    (alert,) = fire(integration, "disk")
    responder = client_for(Role.RESPONDER)
    acked = responder.post(f"/api/v1/alerts/{alert.pk}/acknowledge")
    assert acked.status_code == 200, acked.content
    assert acked.json()["status"] == "acknowledged" and acked.json()["acknowledged_at"]
    incident = Incident.objects.get(pk=alert.incident_id)
    assert incident.status == Status.ACKNOWLEDGED  # a new incident follows its alert
    again = responder.post(f"/api/v1/alerts/{alert.pk}/acknowledge")
    assert again.status_code == 409
    assert again.json() == {
        "detail": f"alert #{alert.pk} is already acknowledged; it may still be resolved"
    }
    resolved = responder.post(f"/api/v1/alerts/{alert.pk}/resolve")
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    incident.refresh_from_db()
    assert incident.status == Status.RESOLVED  # its last alert; the service auto-resolves
    gone = responder.post(f"/api/v1/alerts/{alert.pk}/resolve")
    assert gone.status_code == 409 and gone.json()["detail"].endswith("is already resolved")
    actions = list(AuditEntry.objects.order_by("id").values_list("action", "object_id"))
    assert [a for a in actions if a[0].startswith("alert.")] == [
        ("alert.acknowledge", str(alert.pk)),
        ("alert.resolve", str(alert.pk)),
    ]


def test_reporters_and_missing_alerts_get_404(
    client_for: Clients, integration: Integration
) -> None:
    (alert,) = fire(integration, "disk")
    reporter = client_for(Role.REPORTER)
    for action in ("acknowledge", "resolve"):
        response = reporter.post(f"/api/v1/alerts/{alert.pk}/{action}")
        assert response.status_code == 404
        assert response.json() == {"detail": f"no alert with id {alert.pk}"}
    assert client_for(Role.AGENT).post("/api/v1/alerts/424242/resolve").status_code == 404
    alert.refresh_from_db()
    assert alert.status == "triggered"


def test_bulk_acknowledges_and_lists_what_it_skipped(
    client_for: Clients, integration: Integration
) -> None:
    first, second, third = fire(integration, "a", "b", "c")
    agent = client_for(Role.AGENT)
    agent.post(f"/api/v1/alerts/{third.pk}/resolve")
    response = agent.post(
        "/api/v1/alerts/bulk", {"action": "acknowledge", "ids": [first.pk, second.pk, third.pk]}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert [a["id"] for a in body["changed"]] == [first.pk, second.pk]
    assert {a["status"] for a in body["changed"]} == {"acknowledged"}
    assert body["skipped"] == [{"id": third.pk, "reason": f"alert #{third.pk} is already resolved"}]
    both = [first.pk, second.pk]
    resolved = agent.post("/api/v1/alerts/bulk", {"action": "resolve", "ids": both})
    assert resolved.json()["incidents_resolved"] == [
        first.incident.ref,  # type: ignore[union-attr]
        second.incident.ref,  # type: ignore[union-attr]
    ]


def test_bulk_refuses_bad_input_and_changes_nothing(
    client_for: Clients, integration: Integration
) -> None:
    (alert,) = fire(integration, "a")
    agent = client_for(Role.AGENT)
    missing = agent.post("/api/v1/alerts/bulk", {"action": "resolve", "ids": [alert.pk, 999999]})
    assert missing.status_code == 404 and missing.json() == {"detail": "no alert with id 999999"}
    empty = agent.post("/api/v1/alerts/bulk", {"action": "resolve", "ids": []})
    assert empty.status_code == 422 and empty.json()["detail"][0]["loc"][-1] == "ids"
    wrong = agent.post("/api/v1/alerts/bulk", {"action": "delete", "ids": [alert.pk]})
    assert wrong.status_code == 422 and wrong.json()["detail"][0]["loc"][-1] == "action"
    too_many = agent.post("/api/v1/alerts/bulk", {"action": "resolve", "ids": list(range(1, 202))})
    assert too_many.status_code == 422
    assert client_for(Role.REPORTER).post(
        "/api/v1/alerts/bulk", {"action": "resolve", "ids": [alert.pk]}
    ).status_code in (403, 404)
    alert.refresh_from_db()
    assert alert.status == "triggered"
