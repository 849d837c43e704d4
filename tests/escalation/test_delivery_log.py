"""The delivery log (/deliveries/ and GET /api/v1/deliveries): administrators only, newest
first, filters, pages of 50, masked addresses (never a webhook's or Apprise URL's secret)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tests.escalation.paging_helpers import SETUP, reachable
from tocsin.accounts.models import ContactMethod, Role, User
from tocsin.accounts.services import contact_method_add
from tocsin.core.clock import now
from tocsin.incidents.models import Incident
from tocsin.notify.models import OutboxMessage, OutboxState
from tocsin.notify.services import contact_method_test, outbox_enqueue

pytestmark = pytest.mark.django_db

APPRISE = "tgram://123456789:AAsecretTOKENvalue/987654"


@pytest.fixture
def world(make_user: Callable[..., User], make_incident: Callable[..., Incident]) -> dict[str, Any]:
    admin = make_user(Role.ADMIN, username="ada")
    ann = make_user(Role.RESPONDER, username="ann", name="Ann Example")
    reachable(ann, "email", "webhook", "slack")
    contact_method_add(user=ann, kind="apprise", address=APPRISE, actor=SETUP)
    incident = make_incident(ann, title="Disk full")
    methods = {m.kind: m for m in ContactMethod.objects.filter(user=ann)}
    for kind, method in methods.items():
        outbox_enqueue(
            channel=kind,
            recipient="",
            subject=f"page by {kind}",
            incident=incident,
            person=ann,
            contact_method=method,
            purpose="page",
        )
    contact_method_test(method=methods["email"], actor=SETUP)
    outbox_enqueue(
        channel="email", recipient="someone@example.org", subject="Your incident", purpose="mail"
    )
    OutboxMessage.objects.filter(channel="slack").update(
        state=OutboxState.FAILED, attempts=3, last_error="HTTP 404 from hooks.slack.com"
    )
    return {"admin": admin, "ann": ann, "incident": incident}


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("role", [Role.REPORTER, Role.AGENT, Role.RESPONDER, Role.MANAGER])
def test_only_administrators_see_the_log(
    role: str, world: dict[str, Any], make_user: Callable[..., User], api: Any
) -> None:
    other = make_user(role)
    assert signed_in(other).get("/deliveries/").status_code == 404
    assert api(other).get("/api/v1/deliveries").status_code == 404
    assert signed_in(world["admin"]).get("/deliveries/").status_code == 200
    assert api(world["admin"]).get("/api/v1/deliveries").status_code == 200


def test_signed_out_is_sent_to_sign_in(world: dict[str, Any]) -> None:
    reply = Client().get("/deliveries/")
    assert reply.status_code == 302 and "/login/" in reply["Location"]
    assert Client().get("/api/v1/deliveries").status_code == 401


def test_the_page_lists_newest_first_with_masked_addresses(world: dict[str, Any]) -> None:
    html = signed_in(world["admin"]).get("/deliveries/").content.decode()
    assert "Delivery log" in html and "6 messages" in html
    assert "Tocsin test message" not in html  # rows show purpose and recipient, not bodies
    assert html.index("someone@example.org") < html.index("ann@example.com")  # newest first
    assert "Ann Example" in html
    assert "https://hooks.example.invalid/…" in html and "secret-path" not in html
    assert "https://hooks.slack.com/…" in html and "XXXXSECRET" not in html
    assert "tgram://…" in html and "AAsecretTOKEN" not in html
    assert "HTTP 404 from hooks.slack.com" in html
    assert f'href="/incidents/{world["incident"].ref}/"' in html


def test_the_api_filters(world: dict[str, Any], api: Any) -> None:
    client = api(world["admin"])
    body = client.get("/api/v1/deliveries").json()
    assert body["count"] == 6
    ids = [item["id"] for item in body["items"]]
    assert ids == sorted(ids, reverse=True)
    assert "secret" not in str(body).lower().replace("secret-", "")
    assert "AAsecretTOKEN" not in str(body) and "secret-path" not in str(body)

    def count(**params: str) -> int:
        reply = client.get("/api/v1/deliveries", params)
        assert reply.status_code == 200, reply.content
        return int(reply.json()["count"])

    assert count(purpose="page") == 4
    assert count(purpose="test") == 1
    assert count(channel="email") == 3
    assert count(state="failed") == 1
    assert count(person="ann") == 5
    assert count(incident=world["incident"].ref) == 4
    assert count(incident=str(world["incident"].number)) == 4
    assert count(purpose="page", channel="slack", state="failed") == 1
    failed = client.get("/api/v1/deliveries", {"state": "failed"}).json()["items"][0]
    assert failed["attempts"] == 3 and failed["last_error"].startswith("HTTP 404")
    assert failed["address"] == "https://hooks.slack.com/…"
    assert failed["person"] == "ann" and failed["incident"] == world["incident"].ref


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"state": "exploded"}, "state"),
        ({"person": "nobody"}, "person"),
        ({"person": "bad name!"}, "person"),
        ({"incident": "INC-999999"}, "incident"),
        ({"incident": "banana"}, "incident"),
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"before": "0"}, "before"),
    ],
)
def test_bad_api_filters_are_422_naming_the_field(
    world: dict[str, Any], api: Any, params: dict[str, str], field: str
) -> None:
    reply = api(world["admin"]).get("/api/v1/deliveries", params)
    assert reply.status_code == 422, reply.content
    assert reply.json()["detail"][0]["loc"][-1] == field


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"state": "exploded"}, "Select a valid choice"),
        ({"person": "nobody"}, "No one has this username"),
        ({"incident": "INC-999999"}, "No incident has this number"),
    ],
)
def test_bad_page_filters_are_400_with_the_error(
    world: dict[str, Any], params: dict[str, str], says: str
) -> None:
    reply = signed_in(world["admin"]).get("/deliveries/", params)
    assert reply.status_code == 400
    assert says in reply.content.decode()


def test_pages_of_fifty_and_keyset(world: dict[str, Any], api: Any) -> None:
    for n in range(60):
        outbox_enqueue(
            channel="email", recipient=f"p{n}@example.org", subject="bulk", purpose="mail"
        )
    html = signed_in(world["admin"]).get("/deliveries/", {"purpose": "mail"}).content.decode()
    assert "Page 1 of 2" in html and html.count("<tr>") == 1 + 50
    html = (
        signed_in(world["admin"])
        .get("/deliveries/", {"purpose": "mail", "page": "2"})
        .content.decode()
    )
    assert "Page 2 of 2" in html and html.count("<tr>") == 1 + 11
    assert 'href="?purpose=mail&amp;page=1"' in html
    client = api(world["admin"])
    first = client.get("/api/v1/deliveries", {"limit": "10"}).json()["items"]
    older = client.get("/api/v1/deliveries", {"limit": "10", "before": str(first[-1]["id"])}).json()
    assert older["items"][0]["id"] < first[-1]["id"]


def test_settings_link_to_the_log_for_administrators(world: dict[str, Any]) -> None:
    html = signed_in(world["admin"]).get("/settings/").content.decode()
    assert 'href="/deliveries/"' in html


def test_retrying_and_waiting_rows_read_as_such(world: dict[str, Any]) -> None:
    OutboxMessage.objects.filter(channel="webhook").update(
        attempts=1, last_error="HTTP 503", not_before=now() + dt.timedelta(seconds=30)
    )
    html = signed_in(world["admin"]).get("/deliveries/", {"channel": "webhook"}).content.decode()
    assert "Retrying" in html and "HTTP 503" in html
