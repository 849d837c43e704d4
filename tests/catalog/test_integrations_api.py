"""Integrations through the REST API: keys shown once and stored hashed, snippets with the
real URL and key, options per kind, rotate, revoke, roles."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import ApiClient
from tocsin.accounts.models import Role
from tocsin.alerts.models import Heartbeat
from tocsin.catalog.models import Integration, Service
from tocsin.catalog.selectors import integration_by_key
from tocsin.core.crypto import decrypt, sha256_hex
from tocsin.core.models import IdempotencyRecord

Clients = Callable[[str], ApiClient]
BASE = "http://127.0.0.1:8000"


@pytest.fixture(autouse=True)
def _base_url(settings: Any) -> None:
    settings.BASE_URL = BASE
    settings.TOCSIN_EMAIL_DOMAIN = ""


def _create(client: ApiClient, service: Service, **body: Any) -> Any:
    return client.post(f"/api/v1/services/{service.pk}/integrations", body)


def _fields(response: Any) -> list[str]:
    return [str(loc) for e in response.json()["detail"] for loc in e["loc"]]


@pytest.mark.parametrize(
    ("kind", "url"),
    [
        ("pagerduty", BASE + "/v2/enqueue"),
        ("opsgenie", BASE + "/opsgenie/v2/alerts"),
        ("alertmanager", BASE + "/integrations/alertmanager/{key}"),
        ("grafana", BASE + "/integrations/grafana/{key}"),
        ("webhook", BASE + "/integrations/webhook/{key}"),
        ("email", "{key}@127.0.0.1"),
    ],
)
def test_key_is_shown_once_and_stored_hashed(
    client_for: Clients, service: Service, kind: str, url: str
) -> None:
    admin = client_for(Role.ADMIN)
    response = _create(admin, service, kind=kind, name=f"My {kind}")
    assert response.status_code == 201, response.content
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    key = body["key"]
    assert re.fullmatch(r"[a-z0-9]{32}", key)
    assert body["kind"] == kind and body["name"] == f"My {kind}"
    assert body["url"] == url.format(key=key)
    assert body["key_prefix"] == key[:6]
    integration = Integration.objects.get(pk=body["id"])
    assert integration.key_hash == sha256_hex(key)
    assert key not in str(Integration.objects.filter(pk=body["id"]).values().first())
    assert integration_by_key(key) == integration
    # later reads show the prefix, never the key
    again = admin.get(f"/api/v1/services/{service.pk}/integrations/{body['id']}").json()
    assert "key" not in again and key not in str(again)
    assert again["key_prefix"] == key[:6]
    listed = admin.get(f"/api/v1/services/{service.pk}/integrations").json()
    assert listed["count"] == 1 and key not in str(listed)


def test_snippets_carry_the_real_url_and_key(client_for: Clients, service: Service) -> None:
    admin = client_for(Role.MANAGER)
    am = _create(admin, service, kind="alertmanager").json()
    assert f"url: {BASE}/integrations/alertmanager/{am['key']}" in am["snippet"]
    assert "webhook_configs:" in am["snippet"]

    pd = _create(admin, service, kind="pagerduty").json()
    yaml = pd["snippet"]
    assert "pagerduty_configs:" in yaml
    assert f"routing_key: {pd['key']}" in yaml
    assert f"url: {BASE}/v2/enqueue" in yaml
    curl = [s["text"] for s in pd["snippets"] if s["language"] == "shell"]
    assert curl and pd["key"] in curl[0] and f"{BASE}/v2/enqueue" in curl[0]

    og = _create(admin, service, kind="opsgenie").json()
    assert f"api_key: {og['key']}" in og["snippet"]
    assert f"api_url: {BASE}/opsgenie/" in og["snippet"]

    grafana = _create(admin, service, kind="grafana", hmac_secret="s3cret").json()
    assert f"url: {BASE}/integrations/grafana/{grafana['key']}" in grafana["snippet"]
    assert "hmacConfig" in grafana["snippet"] and "s3cret" not in str(grafana)

    hb = _create(admin, service, kind="heartbeat", interval_seconds=300).json()
    assert f"*/5 * * * * your-job && curl -fsS --retry 3 {hb['url']}" in hb["snippet"]

    mail = _create(admin, service, kind="email").json()
    assert mail["snippet"] == f"{mail['key']}@127.0.0.1"


def test_email_domain_setting_names_the_address(
    client_for: Clients, service: Service, settings: Any
) -> None:
    settings.TOCSIN_EMAIL_DOMAIN = "alerts.example.org"
    body = _create(client_for(Role.ADMIN), service, kind="email").json()
    assert body["url"] == f"{body['key']}@alerts.example.org"


def test_webhook_mapping_is_stored_and_shown(client_for: Clients, service: Service) -> None:
    response = _create(
        client_for(Role.ADMIN),
        service,
        kind="webhook",
        summary_path="$.alert.title",
        dedup_key_path="alert.id",
        status_path="alert.state",
        severity_path="",
        resolved_value="ok",
        bearer_token="tok-123",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    options = body["options"]
    assert options["summary_path"] == "$.alert.title"
    assert options["dedup_key_path"] == "alert.id"
    assert options["severity_path"] == ""
    assert options["resolved_value"] == "ok"
    assert body["secret_set"] is True and "tok-123" not in str(body)
    integration = Integration.objects.get(pk=body["id"])
    assert decrypt(integration.secret_encrypted) == "tok-123"
    assert "tok-123" not in integration.secret_encrypted
    example = next(s["text"] for s in body["snippets"] if s["language"] == "shell")
    sent = json.loads(example.split("-d '", 1)[1].rstrip("'"))
    assert sent == {
        "alert": {"title": "Disk full on db1", "id": "disk-full-db1", "state": "firing"}
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "sms"}, "kind"),
        ({"kind": "webhook", "summary_path": ""}, "summary_path"),
        ({"kind": "webhook", "summary_path": "alert..title"}, "summary_path"),
        ({"kind": "webhook", "summary_path": "$alert"}, "summary_path"),
        ({"kind": "webhook", "status_path": "a.[x]"}, "status_path"),
        ({"kind": "webhook", "resolved_value": ""}, "resolved_value"),
        ({"kind": "webhook", "interval_seconds": 60}, "interval_seconds"),
        ({"kind": "heartbeat"}, "interval_seconds"),
        ({"kind": "heartbeat", "interval_seconds": 5}, "interval_seconds"),
        ({"kind": "heartbeat", "interval_seconds": "60"}, "interval_seconds"),
        ({"kind": "heartbeat", "interval_seconds": 60, "grace_seconds": -1}, "grace_seconds"),
        ({"kind": "grafana", "timestamp_header": "X Bad"}, "timestamp_header"),
        ({"kind": "grafana", "bearer_token": "x"}, "bearer_token"),
        ({"kind": "pagerduty", "hmac_secret": "x"}, "hmac_secret"),
        ({"kind": "pagerduty", "name": "x" * 101}, "name"),
        ({"kind": "pagerduty", "colour": "red"}, "colour"),
    ],
)
def test_bad_options_are_422_naming_the_field(
    client_for: Clients, service: Service, body: dict[str, Any], field: str
) -> None:
    response = client_for(Role.ADMIN).post(f"/api/v1/services/{service.pk}/integrations", body)
    assert response.status_code == 422, response.content
    assert field in _fields(response), response.json()
    assert not Integration.objects.exists()
    assert not Heartbeat.objects.exists()


def test_heartbeat_is_due_from_creation(client_for: Clients, service: Service) -> None:
    body = _create(
        client_for(Role.ADMIN), service, kind="heartbeat", interval_seconds=600, grace_seconds=30
    ).json()
    heartbeat = Heartbeat.objects.get(integration_id=body["id"])
    assert heartbeat.state == "new" and heartbeat.last_ping_at is None
    created = Integration.objects.get(pk=body["id"]).created_at
    assert heartbeat.due_at == created + dt.timedelta(seconds=630)
    assert body["heartbeat"]["state"] == "new"
    # changing the interval moves the due time
    patched = client_for(Role.MANAGER).patch(
        f"/api/v1/services/{service.pk}/integrations/{body['id']}", {"interval_seconds": 60}
    )
    assert patched.status_code == 200, patched.content
    heartbeat.refresh_from_db()
    assert (heartbeat.interval_seconds, heartbeat.grace_seconds) == (60, 30)
    assert heartbeat.due_at == created + dt.timedelta(seconds=90)


def test_rotate_replaces_the_key_at_once(client_for: Clients, service: Service) -> None:
    admin = client_for(Role.ADMIN)
    first = _create(admin, service, kind="alertmanager").json()
    rotated = admin.post(f"/api/v1/services/{service.pk}/integrations/{first['id']}/rotate")
    assert rotated.status_code == 200, rotated.content
    body = rotated.json()
    assert body["key"] != first["key"] and body["id"] == first["id"]
    assert body["key"] in body["snippet"] and first["key"] not in body["snippet"]
    assert body["rotated_at"] is not None
    assert integration_by_key(first["key"]) is None
    assert integration_by_key(body["key"]).pk == first["id"]  # type: ignore[union-attr]


def test_revoke_stops_the_key_and_blocks_changes(client_for: Clients, service: Service) -> None:
    admin = client_for(Role.ADMIN)
    created = _create(admin, service, kind="pagerduty").json()
    path = f"/api/v1/services/{service.pk}/integrations/{created['id']}"
    revoked = admin.post(path + "/revoke")
    assert revoked.status_code == 200
    assert revoked.json()["active"] is False and revoked.json()["revoked_at"]
    assert integration_by_key(created["key"]) is None
    assert admin.post(path + "/rotate").status_code == 409
    assert admin.patch(path, {"name": "again"}).status_code == 409
    assert admin.post(path + "/revoke").status_code == 200  # idempotent


def test_patch_renames_and_replaces_secrets(client_for: Clients, service: Service) -> None:
    admin = client_for(Role.ADMIN)
    created = _create(admin, service, kind="grafana", hmac_secret="one").json()
    path = f"/api/v1/services/{service.pk}/integrations/{created['id']}"
    body = admin.patch(path, {"name": "Grafana prod", "timestamp_header": "X-Ts"}).json()
    assert body["name"] == "Grafana prod"
    assert body["options"]["hmac_timestamp_header"] == "X-Ts"
    integration = Integration.objects.get(pk=created["id"])
    assert decrypt(integration.secret_encrypted) == "one"
    admin.patch(path, {"hmac_secret": "two"})
    integration.refresh_from_db()
    assert decrypt(integration.secret_encrypted) == "two"
    cleared = admin.patch(path, {"hmac_secret": None}).json()
    assert cleared["secret_set"] is False
    assert admin.patch(path, {"interval_seconds": 3}).status_code == 422


def test_idempotent_create_never_stores_the_key(client_for: Clients, service: Service) -> None:
    admin = client_for(Role.ADMIN)
    path = f"/api/v1/services/{service.pk}/integrations"
    headers = {"Idempotency-Key": "abc-1"}
    first = admin.post(path, {"kind": "pagerduty"}, headers=headers)
    again = admin.post(path, {"kind": "pagerduty"}, headers=headers)
    assert first.status_code == again.status_code == 201
    key = first.json()["key"]
    assert again.json()["id"] == first.json()["id"] and again.json()["key"] is None
    assert Integration.objects.count() == 1
    assert key not in str(list(IdempotencyRecord.objects.values()))


@pytest.mark.parametrize("role", [Role.AGENT, Role.RESPONDER])
def test_staff_list_integrations_but_may_not_manage_them(
    client_for: Clients, service: Service, role: str
) -> None:
    created = _create(client_for(Role.ADMIN), service, kind="pagerduty").json()
    staff = client_for(role)
    path = f"/api/v1/services/{service.pk}/integrations"
    assert staff.get(path).json()["count"] == 1
    assert staff.post(path, {"kind": "pagerduty"}).status_code == 403
    assert staff.post(f"{path}/{created['id']}/rotate").status_code == 403
    assert staff.post(f"{path}/{created['id']}/revoke").status_code == 403
    assert staff.patch(f"{path}/{created['id']}", {"name": "x"}).status_code == 403
    assert Integration.objects.get().revoked_at is None


def test_reporters_see_no_integrations(client_for: Clients, service: Service) -> None:
    created = _create(client_for(Role.ADMIN), service, kind="pagerduty").json()
    reporter = client_for(Role.REPORTER)
    path = f"/api/v1/services/{service.pk}/integrations"
    assert reporter.get(path).status_code == 403
    assert reporter.get(f"{path}/{created['id']}").status_code == 403
    assert reporter.post(path, {"kind": "pagerduty"}).status_code == 403


def test_another_services_integration_is_404(client_for: Clients, service: Service) -> None:
    admin = client_for(Role.ADMIN)
    created = _create(admin, service, kind="pagerduty").json()
    other = admin.post("/api/v1/services", {"name": "Other"}).json()
    path = f"/api/v1/services/{other['id']}/integrations/{created['id']}"
    assert admin.get(path).status_code == 404
    assert admin.post(path + "/rotate").status_code == 404
    assert admin.get("/api/v1/services/999999/integrations").status_code == 404


def test_inactive_service_takes_no_new_integration(client_for: Clients, service: Service) -> None:
    admin = client_for(Role.ADMIN)
    admin.patch(f"/api/v1/services/{service.pk}", {"active": False})
    assert _create(admin, service, kind="pagerduty").status_code == 409
