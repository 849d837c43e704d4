"""The audit log: every kind of configuration change writes one entry (with actor, address,
request id and the changed fields, secrets redacted), read by administrators only, through
GET /api/v1/audit and the Audit log page; nothing updates or deletes an entry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.test import Client

from tests.conftest import ApiClient
from tocsin.accounts.models import ApiToken, Role, User
from tocsin.accounts.services import token_create, token_revoke
from tocsin.catalog.models import Service
from tocsin.catalog.services import service_create
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.core.models import AuditEntry
from tocsin.incidents.priority import priority_for, priority_matrix_set
from tocsin.incidents.sla import sla_target_set, target_for

pytestmark = pytest.mark.django_db

Clients = Callable[[str], ApiClient]


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def client_for(make_user: Callable[..., User]) -> Clients:
    return lambda role: ApiClient(make_user(role))


@pytest.fixture
def api(admin: User) -> ApiClient:
    return ApiClient(admin)


@pytest.fixture
def checkout(db: Any) -> Service:
    return service_create(name="Checkout", actor=Actor.system("test setup"))


def _later(minutes: int) -> str:
    return (now() + dt.timedelta(minutes=minutes)).isoformat()


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content
    return response


def _entries(action: str) -> list[AuditEntry]:
    """Entries of an action made by people (fixtures create people as the system)."""
    return list(AuditEntry.objects.filter(action=action).exclude(actor_kind="system"))


# Each case: (action, set-up returning context, the change through the API) -----------------


def _user_create(api: ApiClient, ctx: dict[str, Any]) -> Any:
    return _ok(api.post("/api/v1/users", {"username": "zoe", "email": "zoe@example.com"}), 201)


def _user_update(api: ApiClient, ctx: dict[str, Any]) -> Any:
    return _ok(api.patch(f"/api/v1/users/{ctx['agent'].username}", {"role": "manager"}))


def _team_create(api: ApiClient, ctx: dict[str, Any]) -> Any:
    return _ok(api.post("/api/v1/teams", {"name": "Network", "members": ["alice"]}), 201)


def _team_update(api: ApiClient, ctx: dict[str, Any]) -> Any:
    team = _ok(api.post("/api/v1/teams", {"name": "Network"}), 201).json()
    return _ok(api.patch(f"/api/v1/teams/{team['id']}", {"manager": "alice"}))


def _service_create(api: ApiClient, ctx: dict[str, Any]) -> Any:
    return _ok(api.post("/api/v1/services", {"name": "Search"}), 201)


def _service_update(api: ApiClient, ctx: dict[str, Any]) -> Any:
    return _ok(api.patch(f"/api/v1/services/{ctx['service'].pk}", {"description": "Payments"}))


def _alert_settings(api: ApiClient, ctx: dict[str, Any]) -> Any:
    return _ok(api.patch(f"/api/v1/services/{ctx['service'].pk}", {"storm_threshold": 9}))


def _integration_create(api: ApiClient, ctx: dict[str, Any]) -> Any:
    path = f"/api/v1/services/{ctx['service'].pk}/integrations"
    return _ok(api.post(path, {"kind": "pagerduty", "name": "PD"}), 201)


def _integration(api: ApiClient, ctx: dict[str, Any], kind: str = "pagerduty") -> str:
    path = f"/api/v1/services/{ctx['service'].pk}/integrations"
    created = _ok(api.post(path, {"kind": kind, "name": "Hook"}), 201).json()
    return f"{path}/{created['id']}"


def _integration_update(api: ApiClient, ctx: dict[str, Any]) -> Any:
    return _ok(api.patch(_integration(api, ctx), {"name": "Renamed"}))


def _integration_rotate(api: ApiClient, ctx: dict[str, Any]) -> Any:
    return _ok(api.post(_integration(api, ctx) + "/rotate"))


def _integration_revoke(api: ApiClient, ctx: dict[str, Any]) -> Any:
    return _ok(api.post(_integration(api, ctx) + "/revoke"))


def _category_create(api: ApiClient, ctx: dict[str, Any]) -> Any:
    return _ok(api.post("/api/v1/categories", {"name": "Hardware"}), 201)


def _window_create(api: ApiClient, ctx: dict[str, Any]) -> Any:
    body = {"services": [ctx["service"].pk], "ends_at": _later(60), "reason": "upgrade"}
    return _ok(api.post("/api/v1/maintenance-windows", body), 201)


def _window_end(api: ApiClient, ctx: dict[str, Any]) -> Any:
    window = _window_create(api, ctx).json()
    return _ok(api.post(f"/api/v1/maintenance-windows/{window['id']}/end"))


def _silence_create(api: ApiClient, ctx: dict[str, Any]) -> Any:
    body = {"matchers": [{"label": "env", "value": "dev"}], "ends_at": _later(60)}
    return _ok(api.post("/api/v1/silences", body), 201)


def _silence_expire(api: ApiClient, ctx: dict[str, Any]) -> Any:
    silence = _silence_create(api, ctx).json()
    return _ok(api.post(f"/api/v1/silences/{silence['id']}/expire"))


API_CHANGES = [
    ("user.create", _user_create),
    ("user.update", _user_update),
    ("team.create", _team_create),
    ("team.update", _team_update),
    ("service.create", _service_create),
    ("service.update", _service_update),
    ("service.alert_settings", _alert_settings),
    ("integration.create", _integration_create),
    ("integration.update", _integration_update),
    ("integration.rotate_key", _integration_rotate),
    ("integration.revoke", _integration_revoke),
    ("category.create", _category_create),
    ("maintenance_window.create", _window_create),
    ("maintenance_window.end", _window_end),
    ("silence.create", _silence_create),
    ("silence.expire", _silence_expire),
]


@pytest.mark.parametrize(("action", "change"), API_CHANGES, ids=[a for a, _ in API_CHANGES])
def test_each_change_through_the_api_writes_one_entry(
    api: ApiClient, agent: User, checkout: Service, action: str, change: Any
) -> None:
    response = change(api, {"agent": agent, "service": checkout})
    [entry] = _entries(action)
    assert entry.actor_kind == "token"
    assert entry.actor_user == api.user
    assert entry.actor_token_id == ApiToken.objects.get(user=api.user).pk
    assert entry.ip == "127.0.0.1"
    assert entry.request_id == response["X-Request-Id"]
    assert entry.object_type == action.split(".")[0]
    assert entry.object_id and entry.object_label
    assert entry.after


def test_before_and_after_hold_the_changed_fields_only(api: ApiClient, agent: User) -> None:
    body = {"role": "manager", "name": "Alice Liddell", "time_zone": agent.time_zone}
    _ok(api.patch(f"/api/v1/users/{agent.username}", body))
    [entry] = _entries("user.update")
    assert entry.before == {"role": "agent", "name": "Alice"}
    assert entry.after == {"role": "manager", "name": "Alice Liddell"}
    # A change that changes nothing writes nothing.
    _ok(api.patch(f"/api/v1/users/{agent.username}", {"role": "manager"}))
    assert len(_entries("user.update")) == 1


def test_secrets_and_keys_are_never_stored(api: ApiClient, checkout: Service) -> None:
    path = f"/api/v1/services/{checkout.pk}/integrations"
    body = {"kind": "grafana", "hmac_secret": "s3cret-hmac-value"}
    created = _ok(api.post(path, body), 201).json()
    _ok(api.patch(f"{path}/{created['id']}", {"hmac_secret": "an0ther-secret"}))
    rotated = _ok(api.post(f"{path}/{created['id']}/rotate")).json()
    stored = str(list(AuditEntry.objects.values("before", "after")))
    for secret in ("s3cret-hmac-value", "an0ther-secret", created["key"], rotated["key"]):
        assert secret not in stored
    [update] = _entries("integration.update")
    assert update.after == {"secret_encrypted": "[redacted]"}  # it changed; not to what
    [rotate] = _entries("integration.rotate_key")
    assert rotate.after == {"key_prefix": rotated["key"][:6]}


def test_tokens_matrix_and_sla_changes_are_recorded(admin: User, agent: User) -> None:
    actor = Actor.for_user(admin, "req-1", "192.0.2.7")
    token, raw = token_create(user=agent, name="ci", actor=actor)
    token_revoke(token=token, actor=actor)
    priority_matrix_set(impact=4, urgency=4, priority=1, actor=actor)
    sla_target_set(priority=1, response_minutes=5, resolution_minutes=60, actor=actor)
    assert priority_for(4, 4) == 1 and target_for(1).response_seconds == 300
    created, revoked = _entries("token.create"), _entries("token.revoke")
    assert len(created) == 1 and len(revoked) == 1
    assert raw not in str(created[0].after)
    assert created[0].after == {"owner": "alice", "name": "ci", "prefix": token.prefix}
    [cell] = _entries("priority_matrix.update")
    assert (cell.before, cell.after) == ({"priority": 4}, {"priority": 1})
    [sla] = _entries("sla_target.update")
    assert sla.before == {"response_minutes": 15, "resolution_minutes": 240}
    assert sla.after == {"response_minutes": 5, "resolution_minutes": 60}
    assert {e.ip for e in AuditEntry.objects.filter(actor_user=admin)} == {"192.0.2.7"}
    assert {e.request_id for e in AuditEntry.objects.filter(actor_user=admin)} == {"req-1"}


def test_a_refused_change_writes_no_entry(api: ApiClient, checkout: Service) -> None:
    assert api.post("/api/v1/services", {"name": "checkout"}).status_code == 409
    body = {"services": [checkout.pk], "ends_at": _later(-5)}
    assert api.post("/api/v1/maintenance-windows", body).status_code == 422
    assert _entries("service.create") == [] and _entries("maintenance_window.create") == []


def test_an_integration_actor_links_to_its_integration(checkout: Service) -> None:
    from tocsin.catalog.services import integration_create

    integration, _ = integration_create(
        service=checkout, kind="webhook", name="Ops hook", actor=Actor.system("test setup")
    )
    actor = Actor.for_integration(integration)
    assert (actor.kind, actor.integration_id, actor.integration_name) == (
        "integration",
        integration.pk,
        "Ops hook",
    )


# --- reading: the API -------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.REPORTER, Role.AGENT, Role.RESPONDER, Role.MANAGER])
def test_only_administrators_read_the_log(client_for: Clients, role: str) -> None:
    response = client_for(role).get("/api/v1/audit")
    assert response.status_code == 403
    assert "audit log" in response.json()["detail"]


def test_without_credentials_401() -> None:
    assert Client().get("/api/v1/audit").status_code == 401


def test_filters_and_paging(api: ApiClient, agent: User, checkout: Service) -> None:
    with time_machine.travel(now() - dt.timedelta(days=3)):
        _service_update(api, {"service": checkout})
    _user_update(api, {"agent": agent})
    _team_create(api, {})
    everything = _ok(api.get("/api/v1/audit")).json()
    assert everything["count"] == AuditEntry.objects.count()
    assert [e["action"] for e in everything["items"]][:2] == ["team.create", "user.update"]
    users = AuditEntry.objects.filter(action__in=["user.create", "user.update"]).count()
    assert _ok(api.get("/api/v1/audit", {"action": "user"})).json()["count"] == users
    by_type = _ok(api.get("/api/v1/audit", {"object_type": "team"})).json()
    assert [e["object_label"] for e in by_type["items"]] == ["Network"]
    recent = _ok(api.get("/api/v1/audit", {"since": (now() - dt.timedelta(days=1)).isoformat()}))
    assert "service.update" not in [e["action"] for e in recent.json()["items"]]
    old = _ok(api.get("/api/v1/audit", {"until": (now() - dt.timedelta(days=1)).isoformat()}))
    assert [e["action"] for e in old.json()["items"]] == ["service.update"]
    by_actor = _ok(api.get("/api/v1/audit", {"actor": "ada", "q": "alice"})).json()
    [item] = by_actor["items"]
    assert item["action"] == "user.update"
    assert item["actor"] == {
        "kind": "token",
        "label": "ada (token tests)",
        "username": "ada",
        "token_id": api_token_id(api),
        "integration_id": None,
    }
    assert item["before"] == {"role": "agent"} and item["after"] == {"role": "manager"}
    paged = _ok(api.get("/api/v1/audit", {"limit": 1, "offset": 1})).json()
    assert paged["count"] == everything["count"]
    assert [e["id"] for e in paged["items"]] == [everything["items"][1]["id"]]


def api_token_id(api: ApiClient) -> int:
    return ApiToken.objects.get(user=api.user).pk


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-01-01T00:00:00"}, "since"),  # no offset
        ({"until": "2026-01-01T00:00:00Z", "since": "2026-02-01T00:00:00Z"}, "until"),
        ({"object_type": "incident"}, "object_type"),
        ({"action": "DROP TABLE"}, "action"),
        ({"actor": "x" * 151}, "actor"),
        ({"q": "x" * 201}, "q"),
        ({"q": "a\x00b"}, "q"),
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
    ],
)
def test_bad_filters_are_422(api: ApiClient, params: dict[str, Any], field: str) -> None:
    response = api.get("/api/v1/audit", params)
    assert response.status_code == 422, response.content
    assert field in [str(loc) for e in response.json()["detail"] for loc in e["loc"]]


def test_the_api_has_no_write_path(api: ApiClient) -> None:
    _ok(api.post("/api/v1/teams", {"name": "Network"}), 201)
    entry = AuditEntry.objects.first()
    assert entry is not None
    for method in ("post", "put", "patch", "delete"):
        response = getattr(api.client, method)(
            f"/api/v1/audit/{entry.pk}" if method != "post" else "/api/v1/audit",
            headers={"Authorization": f"Bearer {api.token}"},
        )
        assert response.status_code in (404, 405), (method, response.status_code)
    with pytest.raises(ValueError, match="append-only"):
        entry.save()
    with pytest.raises(ValueError, match="append-only"):
        entry.delete()
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


# --- reading: the page -----------------------------------------------------------------------


def _browser(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_page_for_administrators(admin: User, agent: User, api: ApiClient) -> None:
    _ok(api.post("/api/v1/teams", {"name": "<script>alert(1)</script>"}), 201)
    _user_update(api, {"agent": agent})
    page = _browser(admin).get("/settings/audit/", {"action": "team"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "team.create" in html and "user.update" not in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    everything = _browser(admin).get("/settings/audit/", {"q": "alice"}).content.decode()
    assert "user.update" in everything and "agent" in everything and "manager" in everything


@pytest.mark.parametrize("role", [Role.REPORTER, Role.AGENT, Role.MANAGER])
def test_the_page_is_for_administrators_only(make_user: Callable[..., User], role: str) -> None:
    assert _browser(make_user(role)).get("/settings/audit/").status_code == 403


def test_the_page_signed_out_goes_to_sign_in() -> None:
    response = Client().get("/settings/audit/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_page_refuses_bad_filters(admin: User) -> None:
    page = _browser(admin).get("/settings/audit/", {"since": "soon", "object_type": "x"})
    assert page.status_code == 400
    assert "Enter a valid date" in page.content.decode()


def test_the_page_pages(admin: User, api: ApiClient) -> None:
    for n in range(55):
        _ok(api.post("/api/v1/categories", {"name": f"Cat {n}"}), 201)
    first = _browser(admin).get("/settings/audit/", {"action": "category"}).content.decode()
    assert "Page 1 of 2" in first and "Cat 54" in first and "Cat 0<" not in first
    second = _browser(admin).get("/settings/audit/", {"action": "category", "page": 2})
    assert "Cat 0<" in second.content.decode()


def test_the_django_admin_shows_the_log_read_only(admin: User, api: ApiClient) -> None:
    _ok(api.post("/api/v1/teams", {"name": "Network"}), 201)
    entry = AuditEntry.objects.first()
    assert entry is not None
    client = _browser(admin)
    assert client.get("/admin/core/auditentry/").status_code == 200
    assert client.get("/admin/core/auditentry/add/").status_code == 403
    assert (
        client.post(f"/admin/core/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_changes_in_the_web_ui_are_recorded_with_the_person(agent: User, checkout: Service) -> None:
    browser = Client(REMOTE_ADDR="192.0.2.44")
    browser.force_login(agent)
    ends = (now() + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = browser.post(
        f"/services/{checkout.pk}/maintenance/", {"ends_at": ends, "reason": "DB upgrade"}
    )
    assert response.status_code == 302
    [entry] = _entries("maintenance_window.create")
    assert (entry.actor_kind, entry.actor_user, entry.ip) == ("user", agent, "192.0.2.44")
    assert entry.request_id == response["X-Request-Id"]
    assert entry.after is not None and entry.after["reason"] == "DB upgrade"
    assert entry.after["services"] == ["Checkout"]
