"""Subscriptions to the public status page, as a reader and a mail client use them: double
opt-in by email (real SMTP on loopback), no GET that changes anything, RFC 8058 one-click
unsubscribe, per-component delivery of public updates through the outbox (one message per
subscriber and update), webhooks signed and delivered to a real receiver on loopback, bad
input refused naming the field, and the subscribe form throttled."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from tests.comms.sppublic_data import Page, build
from tests.notify.conftest import Inbox, _serve
from tests.notify.test_channels_http import Receiver
from tocsin.comms import events, subscriptions
from tocsin.comms.models import PublicUpdate, StatusSubscriber
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.notify.engine import OutboxModule
from tocsin.notify.models import OutboxMessage


@pytest.fixture
def smtp(settings: Any) -> Iterator[Inbox]:
    yield from _serve(settings, Inbox())


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(autouse=True)
def _listening() -> None:
    subscriptions.register()  # as CommsConfig.ready does through comms/wiring.py


def send_all() -> None:
    OutboxModule().tick(now())


def confirm_link(text: str) -> str:
    match = re.search(r"https?://[^/\s]+(/status/subscribe/confirm/[^\s]+/)", text)
    assert match, text
    return match.group(1)


def announce(page: Page, body: str = "All good now.", status: str = "resolved") -> PublicUpdate:
    update = PublicUpdate.objects.create(public_incident=page.incident, status=status, body=body)
    events.emit(
        "public_update",
        incident=None,
        actor=Actor.system("test"),
        data={"update_id": update.pk},
    )
    return update


def subscribe(client: Client, **fields: Any) -> Any:
    page = client.get("/status/subscribe/")
    assert page.status_code == 200
    return client.post("/status/subscribe/", fields, REMOTE_ADDR=fields.pop("ip", "198.51.100.7"))


@pytest.mark.django_db
def test_double_opt_in_then_updates_with_one_click_unsubscribe(smtp: Inbox) -> None:
    page = build()
    client = Client(enforce_csrf_checks=False)
    answer = subscribe(client, kind="email", email="fan@example.org", components=[page.api.pk])
    assert answer.status_code == 200
    assert b"Check your mail" in answer.content
    sub = StatusSubscriber.objects.get(email="fan@example.org")
    assert sub.confirmed_at is None
    announce(page, "Before confirming.")
    assert not OutboxMessage.objects.filter(purpose="status-update").exists()
    send_all()
    assert len(smtp.messages) == 1
    mail = smtp.messages[0]
    assert mail["To"] == "fan@example.org"
    link = confirm_link(mail.get_payload())
    # the link's page asks; a GET confirms nothing
    shown = client.get(link)
    assert shown.status_code == 200 and b"Confirm" in shown.content
    sub.refresh_from_db()
    assert sub.confirmed_at is None
    done = client.post(link)
    assert done.status_code == 200 and b"Subscription confirmed" in done.content
    sub.refresh_from_db()
    assert sub.confirmed_at is not None

    update = announce(page, "A fix is deployed.", "monitoring")
    announce_again = OutboxMessage.objects.filter(purpose="status-update").count()
    events.emit(  # the same update announced twice (a retry) queues nothing more
        "public_update", incident=None, actor=Actor.system("t"), data={"update_id": update.pk}
    )
    assert OutboxMessage.objects.filter(purpose="status-update").count() == announce_again == 1
    send_all()
    mail = smtp.messages[-1]
    assert "A fix is deployed." in mail.get_payload()
    assert "Elevated API error rates" in mail["Subject"]
    unsubscribe = "".join(str(mail["List-Unsubscribe"]).split())  # unfolded
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    match = re.fullmatch(r"<https?://[^/]+(/status/unsubscribe/[^>]+)>", unsubscribe)
    assert match, unsubscribe
    # a GET shows a button and changes nothing; the mail client's one-click POST (no CSRF
    # token, no cookie) unsubscribes
    assert Client().get(match.group(1)).status_code == 200
    sub.refresh_from_db()
    assert sub.unsubscribed_at is None
    strict = Client(enforce_csrf_checks=True)
    gone = strict.post(
        match.group(1),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert gone.status_code == 200
    sub.refresh_from_db()
    assert sub.unsubscribed_at is not None
    announce(page, "After unsubscribing.")
    assert OutboxMessage.objects.filter(purpose="status-update").count() == 1


@pytest.mark.django_db
def test_updates_go_to_the_subscribers_of_the_affected_components_only() -> None:
    page = build()
    at = now()

    def confirmed(email: str, *components: Any) -> StatusSubscriber:
        sub = StatusSubscriber.objects.create(
            kind="email", email=email, token=f"t-{email}", confirmed_at=at
        )
        sub.components.set(components)
        return sub

    api_fan = confirmed("api@example.org", page.api)
    all_fan = confirmed("all@example.org")
    confirmed("web@example.org", page.web)
    StatusSubscriber.objects.create(kind="email", email="unconfirmed@example.org", token="t-u")
    update = announce(page)
    queued = OutboxMessage.objects.filter(purpose="status-update")
    assert sorted(m.recipient for m in queued) == sorted([api_fan.email, all_fan.email])
    assert {m.dedup_key for m in queued} == {
        f"status-update:{update.pk}:{api_fan.pk}",
        f"status-update:{update.pk}:{all_fan.pk}",
    }


@pytest.mark.django_db
def test_a_draft_update_reaches_nobody() -> None:
    page = build()
    StatusSubscriber.objects.create(
        kind="email", email="a@example.org", token="t", confirmed_at=now()
    )
    draft_update = PublicUpdate.objects.create(
        public_incident=page.draft, status="investigating", body="draft"
    )
    events.emit(
        "public_update",
        incident=None,
        actor=Actor.system("t"),
        data={"update_id": draft_update.pk},
    )
    assert not OutboxMessage.objects.filter(purpose="status-update").exists()


@pytest.mark.django_db
def test_webhook_subscription_is_signed_and_delivered(
    smtp: Inbox, receiver: Receiver, settings: Any
) -> None:
    settings.TOCSIN_OUTBOUND_ALLOW = ["127.0.0.1/32"]
    page = build()
    client = Client()
    url = receiver.url("/status-hook")
    answer = subscribe(client, kind="webhook", email="ops@example.org", url=url)
    assert answer.status_code == 200
    send_all()
    link = confirm_link(smtp.messages[0].get_payload())
    confirmed = client.post(link)
    secret = re.search(rb"<code class=\"sp-secret\">([^<]+)</code>", confirmed.content)
    assert secret, confirmed.content
    announce(page, "Webhook body.", "monitoring")
    send_all()
    assert len(receiver.seen) == 1
    seen = receiver.seen[0]
    assert seen.path == "/status-hook"
    stamp = seen.headers["x-tocsin-timestamp"]
    expected = hmac.new(
        secret.group(1), stamp.encode() + b"." + seen.body, hashlib.sha256
    ).hexdigest()
    assert f"v1={expected}" in seen.headers["x-tocsin-signature"].split(",")
    assert seen.headers["idempotency-key"]
    doc = json.loads(seen.body)["payload"]
    assert doc["incident"]["name"] == "Elevated API error rates"
    assert doc["incident"]["incident_updates"][0]["body"] == "Webhook body."
    assert doc["meta"]["unsubscribe"].startswith(settings.BASE_URL + "/status/unsubscribe/")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "email", "email": "not-an-address"}, "email"),
        ({"kind": "email", "email": ""}, "email"),
        ({"kind": "pigeon", "email": "a@example.org"}, "kind"),
        ({"kind": "email", "email": "a@example.org", "components": ["999999"]}, "components"),
        ({"kind": "email", "email": "a@example.org", "components": ["x"]}, "components"),
        ({"kind": "webhook", "email": "a@example.org", "url": ""}, "url"),
        ({"kind": "webhook", "email": "a@example.org", "url": "http://10.1.2.3/hook"}, "url"),
        ({"kind": "webhook", "email": "a@example.org", "url": "http://127.0.0.1:8080/"}, "url"),
        ({"kind": "webhook", "email": "a@example.org", "url": "http://169.254.169.254/"}, "url"),
        ({"kind": "webhook", "email": "a@example.org", "url": "file:///etc/passwd"}, "url"),
    ],
)
def test_bad_input_names_the_field_and_stores_nothing(fields: dict[str, Any], field: str) -> None:
    build()
    answer = subscribe(Client(), **fields)
    assert answer.status_code == 422
    assert f'id="err-{field}"'.encode() in answer.content or field == "components"
    assert b"errorlist" in answer.content
    assert not StatusSubscriber.objects.exists()
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
def test_subscribe_is_throttled_per_email_and_per_address() -> None:
    build()
    client = Client()
    for _ in range(3):
        assert subscribe(client, kind="email", email="victim@example.org").status_code == 200
    refused = subscribe(client, kind="email", email="victim@example.org", ip="203.0.113.9")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert OutboxMessage.objects.filter(recipient="victim@example.org").count() == 3
    # one address, many mailboxes
    for n in range(10 - 3):
        subscribe(client, kind="email", email=f"m{n}@example.org")
    assert subscribe(client, kind="email", email="new@example.org").status_code == 429
    assert not OutboxMessage.objects.filter(recipient="new@example.org").exists()


@pytest.mark.django_db
def test_forged_or_unknown_links() -> None:
    build()
    client = Client()
    assert client.get("/status/subscribe/confirm/abc:def:ghi/").status_code == 404
    assert client.post("/status/subscribe/confirm/abc:def:ghi/").status_code == 404
    assert client.get("/status/unsubscribe/nope").status_code == 404
    assert client.post("/status/unsubscribe/nope").status_code == 404


@pytest.mark.django_db
def test_a_webhook_subscriber_gets_a_secret_of_its_own_never_the_urls(
    smtp: Inbox, settings: Any
) -> None:
    """The secret Tocsin derives for a URL signs every other webhook to that URL (a
    person's paging webhook among them): a stranger subscribing that URL must not learn
    it. Each subscriber gets a random secret; the confirmation mail does not carry the
    stranger's URL."""
    from tocsin.notify.channels.webhook import signing_secret

    settings.TOCSIN_OUTBOUND_ALLOW = ["127.0.0.1/32"]
    build()
    url = "http://127.0.0.1:8080/paging-receiver"
    shown = []
    for n, email in enumerate(("a@example.org", "b@example.org")):
        client = Client()
        answer = subscribe(client, kind="webhook", email=email, url=url, ip=f"198.51.100.{20 + n}")
        assert answer.status_code == 200
        send_all()
        mail = smtp.messages[-1].get_payload()
        assert "paging-receiver" not in mail
        confirmed = client.post(confirm_link(mail))
        secret = re.search(rb"<code class=\"sp-secret\">([^<]+)</code>", confirmed.content)
        assert secret, confirmed.content
        shown.append(secret.group(1).decode())
    assert shown[0] != shown[1]
    assert signing_secret(url) not in shown


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["http://10.1.2.3/hook", "http://127.0.0.1:8080/", "https://example.com/h#secret=x"]
)
def test_a_refused_url_says_why_without_naming_addresses(url: str) -> None:
    build()
    answer = subscribe(Client(), kind="webhook", email="a@example.org", url=url)
    assert answer.status_code == 422
    body = answer.content.decode()
    assert "This URL cannot be used" in body
    assert "private" not in body and "loopback" not in body
    assert not StatusSubscriber.objects.exists()


@pytest.mark.django_db
def test_the_url_is_looked_up_only_within_the_throttle() -> None:
    build()
    client = Client()
    codes = [
        subscribe(
            client, kind="webhook", email=f"p{n}@example.org", url=f"http://10.0.0.{n}/"
        ).status_code
        for n in range(12)
    ]
    assert codes[:10] == [422] * 10
    assert codes[10:] == [429, 429]
