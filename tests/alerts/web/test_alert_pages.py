"""The alerts view, the service pages and the integration set-up pages, as people use them."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tests.web.helpers import text_of
from tocsin.accounts.models import User
from tocsin.alerts.models import Alert, ChangeEvent, Heartbeat, MaintenanceWindow, Silence
from tocsin.catalog.models import Integration, Service
from tocsin.catalog.selectors import integration_by_key
from tocsin.catalog.services import integration_create, service_create
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.core.crypto import sha256_hex
from tocsin.incidents.models import Incident

BASE = "http://tocsin.example"


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.BASE_URL = BASE


@pytest.fixture
def browse() -> Callable[[User | None], Client]:
    def make(user: User | None) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def service(db: Any) -> Service:
    return service_create(name="Checkout", actor=Actor.system("test setup"))


@pytest.fixture
def integration(service: Service) -> Integration:
    return integration_create(
        service=service, kind="alertmanager", name="Prometheus", actor=Actor.system("test setup")
    )[0]


def _alert(integration: Integration, **fields: Any) -> Alert:
    at = fields.pop("at", now())
    values: dict[str, Any] = {
        "integration": integration,
        "service": integration.service,
        "dedup_key": f"k{Alert.objects.count()}",
        "summary": "Disk full on db1",
        "severity": "critical",
        "started_at": at,
        "first_seen_at": at,
        "last_seen_at": at,
    }
    return Alert.objects.create(**(values | fields))


def _key_from(response: Any) -> str:
    match = re.search(r'id="integration-key">([a-z0-9]{32})<', response.content.decode())
    assert match, "the key is shown on the page"
    return match.group(1)


# --- the alerts view --------------------------------------------------------------------


def test_alerts_view_lists_and_filters(
    browse: Callable[[User | None], Client],
    agent: User,
    integration: Integration,
    make_incident: Callable[..., Incident],
) -> None:
    agent.time_zone = "Asia/Tokyo"
    agent.save(update_fields=["time_zone"])
    incident = make_incident(agent)
    at = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    _alert(integration, summary="Disk full on db1", occurrences=7, incident=incident, at=at)
    _alert(
        integration,
        summary="Queue backlog",
        severity="warning",
        suppressed_reason="maintenance window: DB upgrade",
    )
    _alert(integration, summary="Old thing", status="resolved")
    client = browse(agent)
    page = client.get("/alerts/")
    assert page.status_code == 200
    text = text_of(page)
    assert "Disk full on db1" in text and "Queue backlog" in text
    assert "Old thing" not in text  # open alerts by default
    assert incident.ref in text
    assert "Suppressed maintenance window: DB upgrade" in text
    assert "01 Mar 21:00" in text  # 12:00 UTC in the viewer's zone (Tokyo)
    assert "7" in text
    assert "row-suppressed" in page.content.decode()
    suppressed = text_of(client.get("/alerts/", {"status": "all", "suppressed": "yes"}))
    assert "Queue backlog" in suppressed and "Disk full" not in suppressed
    searched = text_of(client.get("/alerts/", {"status": "all", "q": "old"}))
    assert "Old thing" in searched and "Queue backlog" not in searched
    bad = client.get("/alerts/", {"status": "burning"})
    assert bad.status_code == 400


def test_alerts_view_paginates(
    browse: Callable[[User | None], Client], agent: User, integration: Integration
) -> None:
    for n in range(55):
        _alert(integration, summary=f"Alert number {n}")
    page = browse(agent).get("/alerts/")
    assert "Page 1 of 2" in text_of(page)
    second = browse(agent).get("/alerts/", {"page": 2})
    assert "Alert number 0" in text_of(second)


@pytest.mark.parametrize(
    "path",
    ["/alerts/", "/services/", "/services/{id}/", "/services/{id}/integrations/new/"],
)
def test_reporters_are_refused(
    browse: Callable[[User | None], Client], reporter: User, service: Service, path: str
) -> None:
    response = browse(reporter).get(path.format(id=service.pk))
    assert response.status_code == 403


def test_anonymous_is_sent_to_sign_in(browse: Callable[[User | None], Client], db: Any) -> None:
    response = browse(None).get("/alerts/")
    assert response.status_code == 302 and "/login/" in response["Location"]


# --- services -----------------------------------------------------------------------------


def test_service_list_and_page(
    browse: Callable[[User | None], Client], responder: User, integration: Integration
) -> None:
    service = integration.service
    _alert(integration, summary="Checkout 500s")
    _alert(integration, summary="Was fine", status="resolved")
    ChangeEvent.objects.create(
        integration=integration,
        service=service,
        summary="Deploy v42",
        timestamp=now(),
        received_at=now(),
    )
    client = browse(responder)
    listing = text_of(client.get("/services/"))
    assert "Checkout" in listing
    page = client.get(f"/services/{service.pk}/")
    assert page.status_code == 200
    text = text_of(page)
    assert "Checkout 500s" in text and "Was fine" not in text
    assert "Deploy v42" in text
    assert "Prometheus" in text and f"{integration.key_prefix}…" in text
    assert f"{BASE}/integrations/alertmanager/<key>" in text
    # a responder sees, but does not manage
    assert "Add integration" not in text and "Rotate" not in text
    assert "Edit alert settings" not in text
    assert client.get(f"/services/{service.pk}/integrations/new/").status_code == 403
    assert client.post(f"/services/{service.pk}/settings/", {}).status_code == 403
    assert browse(responder).get("/services/424242/").status_code == 404


def test_manager_edits_alert_settings(
    browse: Callable[[User | None], Client], manager: User, service: Service
) -> None:
    form = {
        "grouping": "labels",
        "group_labels": "alertname, cluster",
        "group_window_minutes": "15",
        "storm_threshold": "40",
        "ingest_rate_limit": "",
        "auto_resolve": "on",
    }
    for sev in ("critical", "error", "warning", "info"):
        form[f"{sev}_impact"] = "2"
        form[f"{sev}_urgency"] = "3"
    client = browse(manager)
    assert "Edit alert settings" in text_of(client.get(f"/services/{service.pk}/"))
    response = client.post(f"/services/{service.pk}/settings/", form)
    assert response.status_code == 302
    service.refresh_from_db()
    assert service.group_labels == ["alertname", "cluster"]
    assert service.storm_threshold == 40 and service.ingest_rate_limit is None
    assert service.severity_map["critical"] == [2, 3]
    bad = client.post(
        f"/services/{service.pk}/settings/", form | {"group_labels": "", "storm_threshold": "0"}
    )
    assert bad.status_code == 422
    assert "Correct the field marked below." in text_of(bad)
    service.refresh_from_db()
    assert service.storm_threshold == 40


# --- integrations -------------------------------------------------------------------------


def test_add_integration_shows_key_once_with_snippets(
    browse: Callable[[User | None], Client], admin: User, service: Service
) -> None:
    client = browse(admin)
    form_page = client.get(f"/services/{service.pk}/integrations/new/")
    assert form_page.status_code == 200
    assert "Field mapping (webhook)" in text_of(form_page)
    response = client.post(
        f"/services/{service.pk}/integrations/new/",
        {"kind": "pagerduty", "name": "AM via PD"},
        follow=True,
    )
    assert response.status_code == 200
    # Post/redirect/get: the key is on a GET page, shown once; a reload shows no key.
    [(key_url, status)] = response.redirect_chain
    assert status == 302 and key_url.endswith("/key/")
    assert response["Cache-Control"] == "no-store"
    key = _key_from(response)
    text = text_of(response)
    assert "shown only once" in text
    assert f"routing_key: {key}" in text
    assert f"url: {BASE}/v2/enqueue" in text
    assert "<pre" in response.content.decode()
    integration = Integration.objects.get()
    assert integration.key_hash == sha256_hex(key) and integration.name == "AM via PD"
    # the service page never shows the key again, nor does reloading the key page
    again = client.get(f"/services/{service.pk}/").content.decode()
    assert key not in again and integration.key_prefix in again
    reload = client.get(key_url, follow=True)
    assert key not in reload.content.decode() and "shown only once" in text_of(reload)
    assert Integration.objects.count() == 1


def test_heartbeat_form_and_validation(
    browse: Callable[[User | None], Client], manager: User, service: Service
) -> None:
    client = browse(manager)
    path = f"/services/{service.pk}/integrations/new/"
    bad = client.post(path, {"kind": "heartbeat", "interval_seconds": "5"})
    assert bad.status_code == 422
    assert not Integration.objects.exists()
    missing = client.post(path, {"kind": "heartbeat"})
    assert missing.status_code == 422
    assert "interval_seconds" in missing.content.decode()
    assert "is required" in text_of(missing)
    ok = client.post(
        path, {"kind": "heartbeat", "interval_seconds": "300", "grace_seconds": "60"}, follow=True
    )
    assert ok.status_code == 200
    assert "*/5 * * * *" in text_of(ok)
    assert Heartbeat.objects.get().due_at is not None
    webhook = client.post(path, {"kind": "webhook", "summary_path": "alert..x"})
    assert webhook.status_code == 422 and "single dots" in text_of(webhook)
    assert client.post(path, {"kind": "fax"}).status_code == 422


def test_rotate_and_revoke(
    browse: Callable[[User | None], Client], admin: User, service: Service
) -> None:
    integration, old_key = integration_create(
        service=service, kind="webhook", actor=Actor.system("test setup")
    )
    client = browse(admin)
    rotated = client.post(
        f"/services/{service.pk}/integrations/{integration.pk}/rotate/", follow=True
    )
    assert rotated.status_code == 200
    new_key = _key_from(rotated)
    assert new_key != old_key and "old key no longer works" in text_of(rotated)
    assert integration_by_key(old_key) is None
    assert integration_by_key(new_key) == integration
    revoked = client.post(f"/services/{service.pk}/integrations/{integration.pk}/revoke/")
    assert revoked.status_code == 302
    assert integration_by_key(new_key) is None
    page = client.get(f"/services/{service.pk}/")
    assert "Revoked" in text_of(page)
    assert 'data-confirm="Revoke' not in page.content.decode()  # no buttons on a revoked one
    assert (
        client.get(f"/services/{service.pk}/integrations/{integration.pk}/rotate/").status_code
        == 405
    )


# --- windows and silences -----------------------------------------------------------------


def _local(minutes: int) -> str:
    return (now() + dt.timedelta(minutes=minutes)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M")


def test_windows_and_silences_from_the_service_page(
    browse: Callable[[User | None], Client], agent: User, service: Service
) -> None:
    client = browse(agent)
    created = client.post(
        f"/services/{service.pk}/maintenance/", {"ends_at": _local(90), "reason": "DB upgrade"}
    )
    assert created.status_code == 302
    window = MaintenanceWindow.objects.get()
    assert list(window.services.all()) == [service]
    page = text_of(client.get(f"/services/{service.pk}/"))
    assert "DB upgrade" in page and "Active" in page
    bad = client.post(
        f"/services/{service.pk}/maintenance/", {"starts_at": _local(90), "ends_at": _local(30)}
    )
    assert bad.status_code == 422 and "must be after starts_at" in text_of(bad)
    assert client.post(f"/maintenance/{window.pk}/end/", {"service": service.pk}).status_code == 302
    window.refresh_from_db()
    assert window.ends_at <= now()

    silenced = client.post(
        f"/services/{service.pk}/silences/",
        {"matchers": "env=staging\nalertname = Watchdog", "ends_at": _local(60)},
    )
    assert silenced.status_code == 302
    silence = Silence.objects.get()
    assert silence.matchers == [
        {"label": "env", "value": "staging"},
        {"label": "alertname", "value": "Watchdog"},
    ]
    assert silence.service == service
    assert "env=staging" in text_of(client.get(f"/services/{service.pk}/"))
    nonsense = client.post(
        f"/services/{service.pk}/silences/", {"matchers": "no equals sign", "ends_at": _local(60)}
    )
    assert nonsense.status_code == 422 and "is not label=value" in text_of(nonsense)
    assert (
        client.post(f"/silences/{silence.pk}/expire/", {"service": service.pk}).status_code == 302
    )
    silence.refresh_from_db()
    assert silence.ends_at <= now()
    assert Silence.objects.count() == 1


def test_reporters_may_not_create_windows(
    browse: Callable[[User | None], Client], reporter: User, service: Service
) -> None:
    response = browse(reporter).post(
        f"/services/{service.pk}/maintenance/", {"ends_at": _local(60)}
    )
    assert response.status_code == 403
    assert not MaintenanceWindow.objects.exists()


# --- the incident page -------------------------------------------------------------------


def test_incident_page_lists_its_alerts_for_staff(
    browse: Callable[[User | None], Client],
    agent: User,
    reporter: User,
    integration: Integration,
    make_incident: Callable[..., Incident],
) -> None:
    incident = make_incident(reporter)
    _alert(integration, summary="Checkout 500s", incident=incident, occurrences=4)
    _alert(integration, summary="Unrelated")
    staff_page = text_of(browse(agent).get(f"/incidents/{incident.ref}/"))
    assert "Alerts (1)" in staff_page and "Checkout 500s" in staff_page
    assert "Unrelated" not in staff_page
    reporter_page = text_of(browse(reporter).get(f"/incidents/{incident.ref}/"))
    assert "Checkout 500s" not in reporter_page
    plain = make_incident(reporter, title="No alerts here")
    assert "Alerts (" not in text_of(browse(agent).get(f"/incidents/{plain.ref}/"))
