"""The automation webhook pages (/settings/webhooks/): who sees what, the form (secret
shown once, refusals naming the field), Send test, Disable, the delivery log, and the
service page's link."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from tests.comms.automation_support import (  # noqa: F401 - fixtures
    Hook,
    Org,
    hook_fixture,
    make_webhook,
    org_fixture,
    tick,
    verify,
)
from tocsin.accounts.models import User
from tocsin.comms.models import AutomationWebhook

pytestmark = pytest.mark.django_db
LIST = "/settings/webhooks/"


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _form(url: str, service: Any, **kw: Any) -> dict[str, Any]:
    return {
        "name": "Chat channel",
        "service": str(service.pk) if service is not None else "",
        "url": url,
        "events": ["created", "acknowledged"],
        "active": "on",
    } | kw


def test_a_manager_creates_a_webhook_from_the_service_page_and_sees_the_secret_once(
    org: Org, hook: Hook
) -> None:
    maya = _client(org.manager)
    service_page = maya.get(f"/services/{org.service.pk}/").content.decode()
    assert f'{LIST}?service={org.service.pk}"' in service_page
    other_page = maya.get(f"/services/{org.other_service.pk}/").content.decode()
    assert "Automation webhooks" not in other_page

    form = maya.get(f"/settings/webhooks/new/?service={org.service.pk}").content.decode()
    assert "Every service" not in form  # global webhooks are for administrators
    assert "Search" not in form  # another team's service is not offered

    created = maya.post("/settings/webhooks/new/", _form(hook.url(), org.service))
    assert created.status_code == 201, created.content.decode()[:2000]
    assert created["Cache-Control"] == "no-store"
    page = created.content.decode()
    secret = re.search(r'id="webhook-secret">([^<]+)<', page)
    assert secret is not None
    webhook = AutomationWebhook.objects.get()
    assert webhook.service == org.service and webhook.events == ["created", "acknowledged"]
    again = maya.get(f"{LIST}{webhook.pk}/").content.decode()
    assert secret.group(1) not in again

    # Send test: queued, sent by the worker, signed with that secret, in the delivery log
    answer = maya.post(f"{LIST}{webhook.pk}/test/")
    assert answer.status_code == 302
    hook.secret = secret.group(1)
    tick()
    [req] = hook.requests
    assert verify(secret.group(1), req.headers, req.raw)
    assert hook.names == ["test"]
    log = maya.get(f"{LIST}{webhook.pk}/").content.decode()
    assert "<code>test</code>" in log and "delivery-sent" in log

    # a failing receiver shows in the log with its error
    hook.fail_with = [500]
    maya.post(f"{LIST}{webhook.pk}/test/")
    tick()
    log = maya.get(f"{LIST}{webhook.pk}/").content.decode()
    assert "Retrying" in log and "HTTP 500" in log

    # rotate shows a new secret once
    rotated = maya.post(f"{LIST}{webhook.pk}/rotate/").content.decode()
    new = re.search(r'id="webhook-secret">([^<]+)<', rotated)
    assert new is not None and new.group(1) != secret.group(1)


def test_disable_then_enable(org: Org) -> None:
    webhook, _ = make_webhook("https://hooks.example.com/a", service=org.service)
    maya = _client(org.manager)
    assert maya.post(f"{LIST}{webhook.pk}/active/", {"active": "0"}).status_code == 302
    webhook.refresh_from_db()
    assert webhook.active is False
    assert "Disabled" in maya.get(LIST).content.decode()
    maya.post(f"{LIST}{webhook.pk}/active/", {"active": "1"})
    webhook.refresh_from_db()
    assert webhook.active is True


def test_edit_and_delete(org: Org) -> None:
    webhook, _ = make_webhook("https://hooks.example.com/a", service=org.service)
    ada = _client(org.admin)
    form = _form("https://hooks.example.com/b", None, name="Everything", events=["closed"])
    answer = ada.post(f"{LIST}{webhook.pk}/edit/", form)
    assert answer.status_code == 302
    webhook.refresh_from_db()
    assert (webhook.name, webhook.service, webhook.url, webhook.events) == (
        "Everything",
        None,
        "https://hooks.example.com/b",
        ["closed"],
    )
    assert ada.post(f"{LIST}{webhook.pk}/delete/").status_code == 302
    assert not AutomationWebhook.objects.exists()


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"url": "ftp://hooks.example.com/x"}, "http"),
        ({"url": "http://10.1.2.3/x"}, "private address"),
        ({"url": "https://me:pw@hooks.example.com/x"}, "password"),
        ({"events": []}, "at least one event"),
        ({"events": ["created", "exploded"]}, "exploded"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_changes_nothing(
    org: Org, change: dict[str, Any], says: str
) -> None:
    ada = _client(org.admin)
    answer = ada.post("/settings/webhooks/new/", _form("https://hooks.example.com/", None) | change)
    assert answer.status_code == 422
    assert says in answer.content.decode()
    assert "has-error" in answer.content.decode()
    assert not AutomationWebhook.objects.exists()


def test_who_may_open_which_page(org: Org) -> None:
    own, _ = make_webhook("https://hooks.example.com/a", service=org.service, name="Own")
    other, _ = make_webhook("https://hooks.example.com/b", service=org.other_service, name="Other")
    glob, _ = make_webhook("https://hooks.example.com/c", service=None, name="Global")
    ada, maya = _client(org.admin), _client(org.manager)
    listed = ada.get(LIST).content.decode()
    assert all(name in listed for name in ("Own", "Other", "Global"))
    listed = maya.get(LIST).content.decode()
    assert "Own" in listed and ">Other<" not in listed and "Global<" not in listed
    for webhook in (other, glob):
        for path in ("", "edit/"):
            assert maya.get(f"{LIST}{webhook.pk}/{path}").status_code == 404
        for path in ("test/", "rotate/", "active/", "delete/", "edit/"):
            assert maya.post(f"{LIST}{webhook.pk}/{path}", {"active": "0"}).status_code == 404
    # a manager may not make a webhook global or move it to another team's service
    answer = maya.post("/settings/webhooks/new/", _form("https://hooks.example.com/", None))
    assert answer.status_code == 422
    answer = maya.post(
        "/settings/webhooks/new/", _form("https://hooks.example.com/", org.other_service)
    )
    assert answer.status_code == 422

    alice = _client(org.agent)
    assert alice.get(LIST).status_code == 403
    assert alice.get("/settings/webhooks/new/").status_code == 403
    assert (
        alice.post(
            "/settings/webhooks/new/", _form("https://x.example.com/", org.service)
        ).status_code
        == 403
    )
    assert alice.get(f"{LIST}{own.pk}/").status_code == 404
    assert alice.post(f"{LIST}{own.pk}/test/").status_code == 404
    assert "Automation webhooks" not in alice.get(f"/services/{org.service.pk}/").content.decode()

    rita = _client(org.reporter)
    assert rita.get(LIST).status_code == 404
    assert rita.get(f"{LIST}{own.pk}/").status_code == 404
    assert rita.post(f"{LIST}{own.pk}/delete/").status_code == 404

    anonymous = Client()
    assert anonymous.get(LIST).status_code == 302  # to the sign-in page
    assert anonymous.post(f"{LIST}{own.pk}/delete/").status_code == 302
    assert AutomationWebhook.objects.count() == 3
    assert AutomationWebhook.objects.filter(active=True).count() == 3


def test_user_text_is_escaped(org: Org) -> None:
    webhook, _ = make_webhook(
        "https://hooks.example.com/a", service=org.service, name="<script>alert(1)</script>"
    )
    page = _client(org.admin).get(f"{LIST}{webhook.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
