"""Alerts and change events through the REST API: shape, filters, staff only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import ApiClient
from tocsin.accounts.models import Role, User
from tocsin.alerts.models import Alert, ChangeEvent
from tocsin.catalog.models import Integration, Service
from tocsin.catalog.services import integration_create, service_create
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.incidents.models import Incident

Clients = Callable[[str], ApiClient]


def _ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.content
    return {item["id"] for item in response.json()["items"]}


def test_alert_has_every_field(
    client_for: Clients,
    make_alert: Callable[..., Alert],
    make_incident: Callable[..., Incident],
    agent: User,
) -> None:
    incident = make_incident(agent)
    alert = make_alert(
        labels={"env": "prod"},
        details={"firing": "1"},
        links=[{"href": "https://grafana.example/d/1", "text": "Dashboard"}],
        occurrences=3,
        incident=incident,
        source="db1",
    )
    body = client_for(Role.AGENT).get(f"/api/v1/alerts/{alert.pk}").json()
    assert body["service"] == {"id": alert.service_id, "name": "Checkout"}
    assert body["integration"] == {
        "id": alert.integration_id,
        "kind": "alertmanager",
        "name": "Prometheus",
    }
    assert body["incident"] == incident.ref
    assert body["occurrences"] == 3
    assert body["labels"] == {"env": "prod"}
    assert body["links"][0]["text"] == "Dashboard"
    assert body["status"] == "triggered" and body["severity"] == "critical"
    assert body["suppressed_reason"] == ""
    for name in ("first_seen_at", "last_seen_at", "started_at", "dedup_key", "source"):
        assert body[name]
    assert body["acknowledged_at"] is None and body["resolved_at"] is None


def test_filters(
    client_for: Clients,
    make_alert: Callable[..., Alert],
    make_incident: Callable[..., Incident],
    integration: Integration,
    agent: User,
) -> None:
    other_service = service_create(name="Search", actor=Actor.system("test setup"))
    other = integration_create(
        service=other_service, kind="pagerduty", actor=Actor.system("test setup")
    )[0]
    incident = make_incident(agent)
    triggered = make_alert(incident=incident)
    acked = make_alert(status="acknowledged", summary="Latency high on api")
    resolved = make_alert(status="resolved", resolved_at=now())
    suppressed = make_alert(suppressed_reason="maintenance window #3", status="resolved")
    elsewhere = make_alert(integration=other)
    api = client_for(Role.RESPONDER)
    everything = {triggered.pk, acked.pk, resolved.pk, suppressed.pk, elsewhere.pk}
    assert _ids(api.get("/api/v1/alerts")) == everything
    assert api.get("/api/v1/alerts").json()["count"] == 5
    assert _ids(api.get("/api/v1/alerts", {"status": "open"})) == {
        triggered.pk,
        acked.pk,
        elsewhere.pk,
    }
    assert _ids(api.get("/api/v1/alerts", {"status": "resolved"})) == {resolved.pk, suppressed.pk}
    assert _ids(api.get("/api/v1/alerts", {"service": other_service.pk})) == {elsewhere.pk}
    assert _ids(api.get("/api/v1/alerts", {"integration": integration.pk})) == everything - {
        elsewhere.pk
    }
    assert _ids(api.get("/api/v1/alerts", {"incident": incident.ref})) == {triggered.pk}
    assert _ids(api.get("/api/v1/alerts", {"incident": str(incident.number)})) == {triggered.pk}
    assert _ids(api.get("/api/v1/alerts", {"suppressed": "true"})) == {suppressed.pk}
    assert _ids(api.get("/api/v1/alerts", {"q": "latency"})) == {acked.pk}
    paged = api.get("/api/v1/alerts", {"limit": 2, "offset": 0}).json()
    assert len(paged["items"]) == 2 and paged["count"] == 5


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "burning"}, "status"),
        ({"incident": "INC-x"}, "incident"),
        ({"service": "abc"}, "service"),
        ({"suppressed": "maybe"}, "suppressed"),
        ({"limit": 0}, "limit"),
    ],
)
def test_bad_filters_are_422(
    client_for: Clients, db: Any, params: dict[str, Any], field: str
) -> None:
    response = client_for(Role.AGENT).get("/api/v1/alerts", params)
    assert response.status_code == 422, response.content
    assert field in [str(loc) for e in response.json()["detail"] for loc in e["loc"]]


def test_reporters_may_not_see_alerts(
    client_for: Clients, make_alert: Callable[..., Alert], service: Service
) -> None:
    alert = make_alert()
    reporter = client_for(Role.REPORTER)
    assert reporter.get("/api/v1/alerts").status_code == 403
    assert reporter.get(f"/api/v1/alerts/{alert.pk}").status_code == 404  # not told it exists
    assert reporter.get(f"/api/v1/services/{service.pk}/change-events").status_code == 403


def test_missing_alert_is_404(client_for: Clients, db: Any) -> None:
    assert client_for(Role.AGENT).get("/api/v1/alerts/424242").status_code == 404


def test_incidents_filter_by_primary_service(
    client_for: Clients, service: Service, agent: User, make_incident: Callable[..., Incident]
) -> None:
    mine = make_incident(agent, service=service)
    make_incident(agent)
    found = client_for(Role.AGENT).get("/api/v1/incidents", {"service": service.pk}).json()
    assert [item["id"] for item in found["items"]] == [mine.number]


def test_change_events_of_a_service(
    client_for: Clients, service: Service, integration: Integration
) -> None:
    at = now()
    for minutes, summary in ((10, "Deploy v41"), (1, "Deploy v42")):
        ChangeEvent.objects.create(
            integration=integration,
            service=service,
            summary=summary,
            source="ci",
            timestamp=at - dt.timedelta(minutes=minutes),
            received_at=at,
            links=[{"href": "https://ci.example/42"}],
        )
    other = service_create(name="Other", actor=Actor.system("test setup"))
    body = client_for(Role.AGENT).get(f"/api/v1/services/{service.pk}/change-events").json()
    assert [item["summary"] for item in body["items"]] == ["Deploy v42", "Deploy v41"]
    assert body["items"][0]["integration"]["kind"] == "alertmanager"
    empty = client_for(Role.AGENT).get(f"/api/v1/services/{other.pk}/change-events").json()
    assert empty == {"items": [], "count": 0}
