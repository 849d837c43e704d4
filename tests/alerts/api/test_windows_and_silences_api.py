"""Maintenance windows and silences through the REST API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import ApiClient
from tocsin.accounts.models import Role
from tocsin.alerts.models import MaintenanceWindow, Silence
from tocsin.catalog.models import Service
from tocsin.catalog.services import service_create
from tocsin.core.actors import Actor
from tocsin.core.clock import now

Clients = Callable[[str], ApiClient]


def _in(minutes: int) -> str:
    return (now() + dt.timedelta(minutes=minutes)).isoformat()


def _fields(response: Any) -> list[str]:
    return [str(loc) for e in response.json()["detail"] for loc in e["loc"]]


@pytest.mark.parametrize("role", [Role.AGENT, Role.RESPONDER, Role.MANAGER, Role.ADMIN])
def test_staff_open_and_end_a_window(client_for: Clients, service: Service, role: str) -> None:
    api = client_for(role)
    other = service_create(name="Search", actor=Actor.system("test setup"))
    created = api.post(
        "/api/v1/maintenance-windows",
        {"services": [service.pk, other.pk], "ends_at": _in(60), "reason": "DB upgrade"},
    )
    assert created.status_code == 201, created.content
    window = created.json()
    assert window["state"] == "active"
    assert {s["name"] for s in window["services"]} == {"Checkout", "Search"}
    assert window["created_by"] == api.user.username
    listed = api.get("/api/v1/maintenance-windows", {"service": service.pk, "state": "active"})
    assert [w["id"] for w in listed.json()["items"]] == [window["id"]]
    ended = api.post(f"/api/v1/maintenance-windows/{window['id']}/end")
    assert ended.status_code == 200 and ended.json()["state"] == "ended"
    assert api.post(f"/api/v1/maintenance-windows/{window['id']}/end").status_code == 409
    stored = MaintenanceWindow.objects.get()
    assert stored.ends_at <= now()


def test_a_scheduled_window_ended_early_is_cancelled(client_for: Clients, service: Service) -> None:
    api = client_for(Role.AGENT)
    window = api.post(
        "/api/v1/maintenance-windows",
        {"services": [service.pk], "starts_at": _in(60), "ends_at": _in(120)},
    ).json()
    assert window["state"] == "scheduled"
    ended = api.post(f"/api/v1/maintenance-windows/{window['id']}/end").json()
    assert ended["state"] == "ended"
    assert ended["starts_at"] == ended["ends_at"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"services": [], "ends_at": "+60"}, "services"),
        ({"services": [424242], "ends_at": "+60"}, "services"),
        ({"services": ["1"], "ends_at": "+60"}, "services"),
        ({"services": "S", "ends_at": "+60"}, "ends_at"),
        ({"services": "S", "starts_at": "+90", "ends_at": "+60"}, "ends_at"),
        ({"services": "S", "ends_at": "-5", "starts_at": "-60"}, "ends_at"),
        ({"services": "S", "ends_at": "tomorrow"}, "ends_at"),
        ({"services": "S", "ends_at": "+60", "reason": "x" * 301}, "reason"),
        ({"services": "S", "ends_at": "+60", "colour": "red"}, "colour"),
    ],
)
def test_bad_windows_are_422(
    client_for: Clients, service: Service, body: dict[str, Any], field: str
) -> None:
    body = dict(body)
    if body.get("services") == "S":
        body["services"] = [service.pk]
    if body == {"services": [service.pk], "ends_at": "+60"}:
        body["ends_at"] = "2026-01-01T00:00:00"  # no time zone
    for name in ("starts_at", "ends_at"):
        value = body.get(name)
        if isinstance(value, str) and value[:1] in "+-" and value[1:].isdigit():
            body[name] = _in(int(value))
    response = client_for(Role.AGENT).post("/api/v1/maintenance-windows", body)
    assert response.status_code == 422, response.content
    assert field in _fields(response), response.json()
    assert not MaintenanceWindow.objects.exists()


def test_silence_for_a_service_and_for_all(client_for: Clients, service: Service) -> None:
    api = client_for(Role.RESPONDER)
    scoped = api.post(
        "/api/v1/silences",
        {
            "service": service.pk,
            "matchers": [{"label": "env", "value": "staging"}],
            "ends_at": _in(30),
            "comment": "load test",
        },
    )
    assert scoped.status_code == 201, scoped.content
    assert scoped.json()["service"] == {"id": service.pk, "name": "Checkout"}
    assert scoped.json()["matchers"] == [{"label": "env", "value": "staging"}]
    everywhere = api.post(
        "/api/v1/silences",
        {"matchers": [{"label": "alertname", "value": "Watchdog"}], "ends_at": _in(30)},
    ).json()
    assert everywhere["service"] is None
    other = service_create(name="Search", actor=Actor.system("test setup"))
    listed = api.get("/api/v1/silences", {"service": other.pk}).json()
    assert [s["id"] for s in listed["items"]] == [everywhere["id"]]
    expired = api.post(f"/api/v1/silences/{scoped.json()['id']}/expire")
    assert expired.status_code == 200 and expired.json()["state"] == "ended"
    assert api.post(f"/api/v1/silences/{scoped.json()['id']}/expire").status_code == 409
    current = api.get("/api/v1/silences", {"state": "current"}).json()
    assert [s["id"] for s in current["items"]] == [everywhere["id"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"matchers": []}, "matchers"),
        ({"matchers": [{"label": "env"}]}, "value"),
        ({"matchers": [{"label": "bad label", "value": "x"}]}, "matchers"),
        ({"matchers": [{"label": "env", "value": "x", "op": "~"}]}, "op"),
        ({"service": 424242}, "service"),
        ({"comment": "\x00"}, "comment"),
    ],
)
def test_bad_silences_are_422(
    client_for: Clients, service: Service, body: dict[str, Any], field: str
) -> None:
    full = {"matchers": [{"label": "env", "value": "staging"}], "ends_at": _in(30)} | body
    response = client_for(Role.AGENT).post("/api/v1/silences", full)
    assert response.status_code == 422, response.content
    assert field in _fields(response), response.json()
    assert not Silence.objects.exists()


def test_reporters_may_not_touch_windows_or_silences(client_for: Clients, service: Service) -> None:
    staff = client_for(Role.AGENT)
    window = staff.post(
        "/api/v1/maintenance-windows", {"services": [service.pk], "ends_at": _in(60)}
    ).json()
    silence = staff.post(
        "/api/v1/silences", {"matchers": [{"label": "a", "value": "b"}], "ends_at": _in(60)}
    ).json()
    reporter = client_for(Role.REPORTER)
    assert reporter.get("/api/v1/maintenance-windows").status_code == 403
    assert reporter.get("/api/v1/silences").status_code == 403
    body = {"services": [service.pk], "ends_at": _in(60)}
    assert reporter.post("/api/v1/maintenance-windows", body).status_code == 403
    assert reporter.post(f"/api/v1/maintenance-windows/{window['id']}/end").status_code == 403
    assert reporter.post(f"/api/v1/silences/{silence['id']}/expire").status_code == 403
    assert MaintenanceWindow.objects.count() == 1
    assert MaintenanceWindow.objects.get().ends_at > now()


def test_idempotent_window_create(client_for: Clients, service: Service) -> None:
    api = client_for(Role.AGENT)
    body = {"services": [service.pk], "ends_at": _in(60)}
    first = api.post("/api/v1/maintenance-windows", body, headers={"Idempotency-Key": "w1"})
    again = api.post("/api/v1/maintenance-windows", body, headers={"Idempotency-Key": "w1"})
    assert first.json()["id"] == again.json()["id"]
    assert MaintenanceWindow.objects.count() == 1


def test_one_write_path_for_windows_and_silences(client_for: Clients, service: Service) -> None:
    """alerts.services.windows is the only writer (the copy with laxer rules is gone): a
    silence without matchers is refused, whether or not it names a service."""
    from tocsin.alerts import services as alert_services

    for name in ("maintenance_window_create", "silence_create"):
        assert getattr(alert_services, name).__module__ == "tocsin.alerts.services.windows"
    assert not hasattr(alert_services, "suppression_end")
    api = client_for(Role.AGENT)
    body = {"service": service.pk, "matchers": [], "ends_at": _in(60)}
    response = api.post("/api/v1/silences", body)
    assert response.status_code == 422
    assert "matchers" in _fields(response)
    assert Silence.objects.count() == 0
