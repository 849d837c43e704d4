"""The Apprise channel end to end: the `apprise` package sending to real receivers on
loopback (json:// and form://), how its failures map to retry or failed, and the address
check on every lookup Apprise makes (loopback, names, redirects), off again afterwards."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest

from tocsin.accounts.models import Role, User
from tocsin.accounts.services import contact_method_add
from tocsin.core.clock import now
from tocsin.notify.channels import Permanent, Sent, Temporary
from tocsin.notify.channels import apprise as apprise_channel
from tocsin.notify.engine import OutboxModule
from tocsin.notify.models import OutboxState

from .test_channels_http import (
    PAGE_BODY,
    SETUP,
    Answer,
    Receiver,
    enqueue,
    page_payload,
    send_now,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def loopback(settings: Any) -> None:
    settings.TOCSIN_OUTBOUND_ALLOW = ["127.0.0.1/32"]


def json_url(r: Receiver, path: str = "/apprise") -> str:
    return f"json://127.0.0.1:{r.port}{path}"


def test_apprise_json_reaches_the_receiver_through_the_outbox(
    receiver: Receiver, loopback: None, make_user: Callable[..., User]
) -> None:
    person = make_user(Role.RESPONDER)
    method = contact_method_add(
        user=person, kind="apprise", address=json_url(receiver), actor=SETUP
    )
    message = enqueue("apprise", "", person=person, method=method)
    assert OutboxModule().tick(now()) == 1
    message.refresh_from_db()
    assert message.state == OutboxState.SENT
    [got] = receiver.seen
    assert got.path == "/apprise"
    doc = got.json()
    assert doc["title"] == "[P1] INC-42: Card payments failing"
    assert doc["message"] == PAGE_BODY
    assert doc["type"] == "failure"  # a high-urgency page
    method.refresh_from_db()
    assert method.last_delivery_ok is True


def test_apprise_form_and_a_low_urgency_page(receiver: Receiver, loopback: None) -> None:
    url = f"form://127.0.0.1:{receiver.port}/form"
    result = send_now(enqueue("apprise", url, payload=page_payload("low")))
    assert isinstance(result, Sent)
    fields = parse_qs(receiver.seen[0].body.decode())
    assert fields["title"] == ["[P1] INC-42: Card payments failing"]
    assert fields["type"] == ["warning"]
    assert "Acknowledge: http://tocsin.test/p/ack-token/" in fields["message"][0]


def test_apprise_404_is_permanent_and_500_is_retried(receiver: Receiver, loopback: None) -> None:
    receiver.then(Answer(404), Answer(500), Answer(200))
    result = send_now(enqueue("apprise", json_url(receiver)))
    assert isinstance(result, Permanent) and "404" in result.reason
    result = send_now(enqueue("apprise", json_url(receiver)))
    assert isinstance(result, Temporary) and "500" in result.reason
    assert isinstance(send_now(enqueue("apprise", json_url(receiver))), Sent)


def test_apprise_refuses_loopback_without_the_allow_list(receiver: Receiver, settings: Any) -> None:
    settings.TOCSIN_OUTBOUND_ALLOW = []
    result = send_now(enqueue("apprise", json_url(receiver)))
    assert isinstance(result, Permanent) and "loopback" in result.reason
    assert receiver.seen == []


def test_apprise_checks_the_address_a_name_resolves_to(
    receiver: Receiver, settings: Any, make_user: Callable[..., User]
) -> None:
    """`localhost` is only known to be loopback once looked up: the lookup Apprise makes
    is checked, and the message fails with the reason through the outbox."""
    settings.TOCSIN_OUTBOUND_ALLOW = []
    person = make_user(Role.RESPONDER)
    url = f"json://localhost:{receiver.port}/apprise"
    method = contact_method_add(user=person, kind="apprise", address=url, actor=SETUP)
    message = enqueue("apprise", "", person=person, method=method)
    OutboxModule().tick(now())
    message.refresh_from_db()
    assert message.state == OutboxState.FAILED
    assert message.last_error.startswith("refused before sending: localhost: ")
    assert "loopback" in message.last_error
    assert receiver.seen == []
    # the check is off again once the send is over
    assert socket.getaddrinfo("localhost", receiver.port)


def test_apprise_redirect_to_a_refused_address_is_stopped(loopback: None) -> None:
    """127.0.0.1 is allowed, 127.0.0.2 is not: a receiver on the first that redirects
    Apprise (which follows redirects) to the second gets the message refused."""
    inner = Receiver("127.0.0.2")
    outer = Receiver()
    try:
        outer.then(Answer(307, {"Location": inner.url("/stolen")}))
        result = send_now(enqueue("apprise", json_url(outer)))
        assert isinstance(result, Permanent)
        assert "127.0.0.2 is a loopback address" in result.reason
        assert len(outer.seen) == 1 and inner.seen == []
    finally:
        inner.close()
        outer.close()


def test_the_lookup_check_is_per_thread() -> None:
    """While one thread sends, lookups in other threads (the web server, other channels)
    are not affected."""
    seen: list[Any] = []
    with apprise_channel.checked_lookups():
        thread = threading.Thread(target=lambda: seen.append(socket.getaddrinfo("127.0.0.1", 80)))
        thread.start()
        thread.join()
        with pytest.raises(socket.gaierror):
            socket.getaddrinfo("127.0.0.1", 80)
    assert seen and seen[0]
    assert socket.getaddrinfo("127.0.0.1", 80)


def test_apprise_tarpit_ends_within_its_timeouts(
    loopback: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(apprise_channel, "CONNECT_TIMEOUT", 1.0)
    monkeypatch.setattr(apprise_channel, "READ_TIMEOUT", 1.0)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        started = time.monotonic()
        url = f"json://127.0.0.1:{sock.getsockname()[1]}/x?rto=600&cto=600"
        result = send_now(enqueue("apprise", url))
        assert time.monotonic() - started < 4
        assert isinstance(result, Temporary)
    finally:
        sock.close()


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("notascheme://whatever", "not an Apprise URL"),
        ("rsyslog://10.0.0.1/local0", "not allowed"),
        ("json://169.254.169.254/latest", "link-local"),
        ("", "no address"),
    ],
)
def test_apprise_urls_that_are_refused(url: str, why: str) -> None:
    result = send_now(enqueue("apprise", url))
    assert isinstance(result, Permanent) and why in result.reason
