"""The automation webhook API: create (secret shown once), read, change, disable, delete,
test, rotate and the delivery log, per role, and bad input answered 4xx naming the field
with nothing changed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.comms.automation_support import (  # noqa: F401 - fixtures
    Hook,
    Org,
    hook_fixture,
    org_fixture,
    tick,
    verify,
)
from tocsin.accounts.models import User
from tocsin.comms.models import AutomationWebhook
from tocsin.core.actors import Actor
from tocsin.core.audit import AuditEntry
from tocsin.incidents import services as incidents

pytestmark = pytest.mark.django_db
BASE = "/api/v1/automation-webhooks"


def _body(url: str, service: int | None, **kw: Any) -> dict[str, Any]:
    return {"name": "Jira", "service": service, "url": url, "events": ["created"]} | kw


def _delete(client: Any, path: str) -> Any:
    return client.client.delete(path, headers=client._headers(None))


def test_a_manager_creates_a_webhook_for_their_service_and_sees_the_secret_once(
    org: Org, hook: Hook, api: Callable[[User], Any]
) -> None:
    maya = api(org.manager)
    created = maya.post(BASE, _body(hook.url(), org.service.pk))
    assert created.status_code == 201, created.content
    assert created["Cache-Control"] == "no-store"
    doc = created.json()
    secret = doc["secret"]
    assert secret.startswith("whsec_")
    assert doc["service"] == {"id": org.service.pk, "name": "Payments API"}
    assert doc["events"] == ["created"] and doc["active"] is True
    assert doc["created_by"] == "maya"
    got = maya.get(f"{BASE}/{doc['id']}").json()
    assert got["secret"] is None
    listed = maya.get(BASE).json()
    assert listed["count"] == 1 and listed["items"][0]["secret"] is None
    assert secret not in AutomationWebhook.objects.get().secret_encrypted
    assert AuditEntry.objects.filter(action="automation_webhook.create").exists()

    # the secret signs what the worker sends
    hook.secret = secret
    incidents.incident_create(
        actor=Actor.for_user(org.agent), title="Down", reporter=org.reporter, service=org.service
    )
    tick()
    [req] = hook.requests
    assert verify(secret, req.headers, req.raw)
    assert hook.names == ["created"]


def test_an_idempotent_replay_never_repeats_the_secret(
    org: Org, api: Callable[[User], Any]
) -> None:
    ada = api(org.admin)
    body = _body("https://hooks.example.com/jira", None)
    first = ada.post(BASE, body, headers={"Idempotency-Key": "k-1"})
    again = ada.post(BASE, body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert first.json()["secret"] and again.json()["secret"] is None
    assert first.json()["id"] == again.json()["id"]
    assert AutomationWebhook.objects.count() == 1


def test_patch_disable_rotate_test_deliveries_and_delete(
    org: Org, hook: Hook, api: Callable[[User], Any]
) -> None:
    maya = api(org.manager)
    doc = maya.post(BASE, _body(hook.url(), org.service.pk)).json()
    path = f"{BASE}/{doc['id']}"
    changed = maya.patch(path, {"name": "Jira (prod)", "events": ["resolved", "created"]})
    assert changed.status_code == 200, changed.content
    assert changed.json()["name"] == "Jira (prod)"
    assert changed.json()["events"] == ["created", "resolved"]  # the documented order

    rotated = maya.post(f"{path}/rotate-secret")
    assert rotated.status_code == 200 and rotated["Cache-Control"] == "no-store"
    new_secret = rotated.json()["secret"]
    assert new_secret and new_secret != doc["secret"]
    assert rotated.json()["secret_rotated_at"]

    assert maya.patch(path, {"active": False}).json()["active"] is False
    tested = maya.post(f"{path}/test")
    assert tested.status_code == 202, tested.content
    assert tested.json()["event"] == "test" and tested.json()["state"] == "queued"
    hook.secret = new_secret
    tick()
    [req] = hook.requests
    assert verify(new_secret, req.headers, req.raw)
    sent = req.json()
    assert sent["event"] == "test" and sent["incident"] is None
    assert sent["data"]["webhook"] == {"id": doc["id"], "name": "Jira (prod)"}
    assert req.headers["idempotency-key"] == tested.json()["message_id"]

    # a second test is a new delivery, not the first one again
    assert maya.post(f"{path}/test").status_code == 202
    hook.fail_with = [500]
    tick()
    log = maya.get(f"{path}/deliveries").json()
    assert log["count"] == 2
    newest, oldest = log["items"]
    assert oldest["state"] == "sent" and oldest["attempts"] == 1 and oldest["sent_at"]
    assert newest["state"] == "queued" and newest["attempts"] == 1
    assert "HTTP 500" in newest["last_error"] and newest["next_attempt_at"]
    assert newest["event"] == "test" and newest["incident"] is None

    gone = _delete(maya, path)
    assert gone.status_code == 204
    assert maya.get(path).status_code == 404
    assert not AutomationWebhook.objects.exists()


@pytest.fixture
def webhooks(org: Org) -> dict[str, AutomationWebhook]:
    from tocsin.comms import automation

    admin = Actor.for_user(org.admin)
    own, _ = automation.automation_webhook_create(
        actor=admin,
        name="Own",
        service=org.service,
        url="https://a.example.com/x",
        events=["created"],
    )
    other, _ = automation.automation_webhook_create(
        actor=admin,
        name="Other",
        service=org.other_service,
        url="https://b.example.com/x",
        events=["created"],
    )
    glob, _ = automation.automation_webhook_create(
        actor=admin,
        name="Global",
        service=None,
        url="https://c.example.com/x",
        events=["created"],
    )
    return {"own": own, "other": other, "global": glob}


def test_who_sees_which_webhook(
    org: Org, webhooks: dict[str, AutomationWebhook], api: Callable[[User], Any]
) -> None:
    ada, maya = api(org.admin), api(org.manager)
    assert {w["name"] for w in ada.get(BASE).json()["items"]} == {"Own", "Other", "Global"}
    # a team's manager: their service's webhooks, nothing of another team's, no global ones
    assert [w["name"] for w in maya.get(BASE).json()["items"]] == ["Own"]
    for name in ("other", "global"):
        path = f"{BASE}/{webhooks[name].pk}"
        for answer in (
            maya.get(path),
            maya.patch(path, {"active": False}),
            maya.post(f"{path}/test"),
            maya.post(f"{path}/rotate-secret"),
            maya.get(f"{path}/deliveries"),
            _delete(maya, path),
        ):
            assert answer.status_code == 404, (name, answer.content)
    assert maya.get(BASE, {"service": org.other_service.pk}).status_code == 422
    # an agent manages none: 403 on the list and create, 404 on each webhook
    alice = api(org.agent)
    assert alice.get(BASE).status_code == 403
    assert alice.post(BASE, _body("https://x.example.com/", org.service.pk)).status_code == 403
    assert alice.get(f"{BASE}/{webhooks['own'].pk}").status_code == 404
    assert alice.post(f"{BASE}/{webhooks['own'].pk}/test").status_code == 404
    # a reporter: nothing here exists
    rita = api(org.reporter)
    assert rita.get(BASE).status_code == 404
    assert rita.post(BASE, _body("https://x.example.com/", org.service.pk)).status_code == 404
    assert rita.get(f"{BASE}/{webhooks['own'].pk}").status_code == 404
    assert rita.get(f"{BASE}/{webhooks['own'].pk}/deliveries").status_code == 404
    # nothing changed
    assert AutomationWebhook.objects.filter(active=True).count() == 3
    assert AutomationWebhook.objects.count() == 3


def test_a_manager_may_not_create_global_webhooks_or_for_another_team(
    org: Org, api: Callable[[User], Any]
) -> None:
    maya = api(org.manager)
    for service in (None, org.other_service.pk):
        answer = maya.post(BASE, _body("https://hooks.example.com/x", service))
        assert answer.status_code == 422
        assert answer.json()["detail"][0]["loc"][-1] == "service"
    assert not AutomationWebhook.objects.exists()


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"url": "ftp://hooks.example.com/x"}, "url", "http"),
        ({"url": "http://10.0.0.5/hook"}, "url", "private"),
        ({"url": "http://127.0.0.1:8080/hook"}, "url", "loopback"),
        ({"url": "http://169.254.169.254/latest"}, "url", "link-local"),
        ({"url": "https://user:pw@hooks.example.com/x"}, "url", "password"),
        ({"url": "https://hooks.example.com:22/x"}, "url", "port"),
        ({"url": "not a url"}, "url", "http"),
        ({"events": ["created", "exploded"]}, "events", "exploded"),
        ({"events": []}, "events", "at least one"),
        ({"name": ""}, "name", ""),
        ({"colour": "red"}, "colour", ""),
        ({"service": 999999}, "service", "999999"),
        ({"active": "yes"}, "active", ""),
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_changes_nothing(
    org: Org, api: Callable[[User], Any], change: dict[str, Any], field: str, says: str
) -> None:
    ada = api(org.admin)
    body = _body("https://hooks.example.com/x", org.service.pk) | change
    created = ada.post(BASE, body)
    assert created.status_code == 422, created.content
    detail = created.json()["detail"]
    assert any(field in [str(p) for p in d["loc"]] for d in detail), detail
    assert says.lower() in " ".join(d["msg"] for d in detail).lower()
    assert not AutomationWebhook.objects.exists()

    good = ada.post(BASE, _body("https://hooks.example.com/x", org.service.pk)).json()
    patched = ada.patch(f"{BASE}/{good['id']}", change)
    assert patched.status_code == 422, patched.content
    assert AutomationWebhook.objects.get().url == "https://hooks.example.com/x"
    assert AutomationWebhook.objects.get().events == ["created"]


def test_a_private_address_is_accepted_when_the_operator_allows_its_network(
    org: Org, api: Callable[[User], Any], settings: Any
) -> None:
    settings.TOCSIN_OUTBOUND_ALLOW = ["10.0.0.0/8"]
    ada = api(org.admin)
    answer = ada.post(BASE, _body("http://10.0.0.5:8080/hook", None))
    assert answer.status_code == 201, answer.content


def test_the_openapi_schema_lists_the_routes(org: Org, api: Callable[[User], Any]) -> None:
    paths = api(org.admin).get("/api/v1/openapi.json").json()["paths"]
    for path in (
        BASE,
        BASE + "/{webhook_id}",
        BASE + "/{webhook_id}/test",
        BASE + "/{webhook_id}/rotate-secret",
        BASE + "/{webhook_id}/deliveries",
    ):
        assert path in paths
