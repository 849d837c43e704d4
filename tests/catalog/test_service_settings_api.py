"""A service's alert settings through the REST API: who may change them, and validation."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import ApiClient
from tocsin.accounts.models import Role
from tocsin.catalog.models import Service

Clients = Callable[[str], ApiClient]


def _fields(response: object) -> list[str]:
    return [str(e["loc"][-1]) for e in response.json()["detail"]]  # type: ignore[attr-defined]


def test_service_created_with_alert_settings(client_for: Clients) -> None:
    admin = client_for(Role.ADMIN)
    response = admin.post(
        "/api/v1/services",
        {
            "name": "Payments",
            "severity_map": {"warning": [2, 3]},
            "grouping": "labels",
            "group_labels": ["alertname", "cluster"],
            "group_window_minutes": 30,
            "storm_threshold": 50,
            "ingest_rate_limit": 120,
            "auto_resolve": False,
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["severity_map"]["warning"] == [2, 3]
    assert body["severity_map"]["critical"] == [1, 1]  # the others keep the default
    assert body["grouping"] == "labels"
    assert body["group_labels"] == ["alertname", "cluster"]
    assert (body["group_window_minutes"], body["storm_threshold"]) == (30, 50)
    assert body["ingest_rate_limit"] == 120
    assert body["auto_resolve"] is False
    stored = Service.objects.get(pk=body["id"])
    assert stored.storm_threshold == 50 and stored.group_labels == ["alertname", "cluster"]


def test_defaults_are_shown(client_for: Clients, service: Service) -> None:
    body = client_for(Role.AGENT).get(f"/api/v1/services/{service.pk}").json()
    assert body["grouping"] == "key"
    assert body["auto_resolve"] is True
    assert body["storm_threshold"] == 20
    assert body["ingest_rate_limit"] is None


def test_manager_changes_alert_settings_but_not_the_name(
    client_for: Clients, service: Service
) -> None:
    manager = client_for(Role.MANAGER)
    ok = manager.patch(
        f"/api/v1/services/{service.pk}", {"storm_threshold": 5, "ingest_rate_limit": 60}
    )
    assert ok.status_code == 200, ok.content
    assert ok.json()["storm_threshold"] == 5
    refused = manager.patch(f"/api/v1/services/{service.pk}", {"name": "Renamed"})
    assert refused.status_code == 403
    cleared = manager.patch(f"/api/v1/services/{service.pk}", {"ingest_rate_limit": None})
    assert cleared.json()["ingest_rate_limit"] is None
    service.refresh_from_db()
    assert (service.name, service.storm_threshold, service.ingest_rate_limit) == (
        "Checkout",
        5,
        None,
    )


@pytest.mark.parametrize("role", [Role.REPORTER, Role.AGENT, Role.RESPONDER])
def test_other_roles_may_not_change_alert_settings(
    client_for: Clients, service: Service, role: str
) -> None:
    response = client_for(role).patch(f"/api/v1/services/{service.pk}", {"storm_threshold": 1})
    assert response.status_code == 403
    service.refresh_from_db()
    assert service.storm_threshold == 20


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"severity_map": {"fatal": [1, 1]}}, "fatal"),
        ({"severity_map": {"critical": [0, 1]}}, "severity_map"),
        ({"severity_map": {"critical": [1]}}, "critical"),
        ({"severity_map": {"critical": ["1", 1]}}, "severity_map"),
        ({"grouping": "fingerprint"}, "grouping"),
        ({"grouping": "labels"}, "grouping"),
        ({"grouping": "labels", "group_labels": []}, "group_labels"),
        ({"group_labels": ["has space"]}, "group_labels"),
        ({"group_window_minutes": 0}, "group_window_minutes"),
        ({"group_window_minutes": "60"}, "group_window_minutes"),
        ({"storm_threshold": -3}, "storm_threshold"),
        ({"ingest_rate_limit": 0}, "ingest_rate_limit"),
        ({"auto_resolve": "yes"}, "auto_resolve"),
        ({"paging": True}, "paging"),
    ],
)
def test_bad_alert_settings_are_422_naming_the_field(
    client_for: Clients, service: Service, body: dict[str, object], field: str
) -> None:
    response = client_for(Role.ADMIN).patch(f"/api/v1/services/{service.pk}", body)
    assert response.status_code == 422, response.content
    locs = [loc for e in response.json()["detail"] for loc in e["loc"]]
    assert field in [str(loc) for loc in locs], response.json()
    service.refresh_from_db()
    assert service.grouping == "key" and service.group_window_minutes == 60


def test_a_bad_setting_changes_nothing_else(client_for: Clients, service: Service) -> None:
    response = client_for(Role.ADMIN).patch(
        f"/api/v1/services/{service.pk}",
        {"name": "Renamed", "storm_threshold": 7, "grouping": "labels"},
    )
    assert response.status_code == 422
    assert "group_labels" in _fields(response) or "grouping" in _fields(response)
    service.refresh_from_db()
    assert (service.name, service.storm_threshold) == ("Checkout", 20)
