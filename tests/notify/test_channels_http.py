"""The HTTP channels (webhook, Slack, Teams, ntfy) against real HTTP receivers on loopback:
what each sends, how a receiver verifies the webhook's signature, and how every answer a
receiver can give (2xx, 3xx, 404, 429, 500, silence, a drip) becomes sent, retry or failed.
"""

from __future__ import annotations

import datetime as dt
import email.header
import http.server
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import time_machine

from tocsin.accounts.models import ContactMethod, Role, User
from tocsin.accounts.services import contact_method_add
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.notify.channels import (
    CHANNELS,
    PAGE_RETRY,
    Permanent,
    Sent,
    Temporary,
    _http,
    channel_for,
    ntfy,
    slack,
    teams,
    webhook,
)
from tocsin.notify.engine import OutboxModule
from tocsin.notify.models import OutboxMessage, OutboxState
from tocsin.notify.services import outbox_enqueue

pytestmark = pytest.mark.django_db
SETUP = Actor.system("test setup")
HTTP_KINDS = ("webhook", "slack", "teams", "ntfy")
OWN_SECRET = "correct-horse-battery-staple"


# --- a real HTTP receiver ---------------------------------------------------------------


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0  # seconds before answering
    hang: bool = False  # read the request, never answer (until the test ends)


class Receiver:
    """A ThreadingHTTPServer on 127.0.0.1 that records every request and answers from a
    script (then 200 with an empty body)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.seen: list[Seen] = []
        self.script: list[Answer] = []
        self.released = threading.Event()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                receiver.seen.append(
                    Seen("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                answer = receiver.script.pop(0) if receiver.script else Answer()
                if answer.hang:
                    receiver.released.wait(30)
                    self.close_connection = True
                    return
                if answer.delay and receiver.released.wait(answer.delay):
                    return
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(answer.body)

            do_PUT = do_POST

        self.server = http.server.ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.host = host
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def then(self, *answers: Answer) -> Receiver:
        self.script.extend(answers)
        return self

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def loopback(settings: Any) -> None:
    settings.TOCSIN_OUTBOUND_ALLOW = ["127.0.0.1/32"]


@pytest.fixture
def tarpit() -> Iterator[str]:
    """A port that accepts connections (the kernel completes them) and never reads or
    answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    sock.close()


@pytest.fixture
def drip() -> Iterator[str]:
    """A receiver that answers one byte of its headers every 0.2 s, for a minute."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    stop = threading.Event()

    def serve() -> None:
        try:
            conn, _ = sock.accept()
        except OSError:
            return
        with conn:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"z" * 300:
                if stop.wait(0.2):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    stop.set()
    sock.close()


@pytest.fixture
def short_timeouts(monkeypatch: pytest.MonkeyPatch) -> float:
    for module in (webhook, slack, teams, ntfy):
        monkeypatch.setattr(module, "SEND_TIMEOUT", 1.0)
    return 1.0


# --- helpers ----------------------------------------------------------------------------

LINKS = {
    "acknowledge": "http://tocsin.test/p/ack-token/",
    "resolve": "http://tocsin.test/p/resolve-token/",
    "open": "http://tocsin.test/p/open-token/",
}


def page_payload(urgency: str = "high", **extra: Any) -> dict[str, Any]:
    return {
        "kind": "page",
        "page": 7,
        "incident": "INC-42",
        "title": "Card payments failing",
        "priority": 1 if urgency == "high" else 3,
        "urgency": urgency,
        "service": "Payments API",
        "via": "Payments",
        "level": 1,
        "links": dict(LINKS),
        **extra,
    }


PAGE_BODY = "\n".join(
    [
        "INC-42 · P1 · Payments API",
        "Card payments failing",
        "",
        "You are paged via Payments (level 1).",
        "",
        f"Acknowledge: {LINKS['acknowledge']}",
        f"Resolve: {LINKS['resolve']}",
        f"Open: {LINKS['open']}",
    ]
)


def enqueue(
    kind: str,
    url: str,
    *,
    subject: str = "[P1] INC-42: Card payments failing",
    body: str = PAGE_BODY,
    payload: dict[str, Any] | None = None,
    person: User | None = None,
    method: ContactMethod | None = None,
) -> OutboxMessage:
    return outbox_enqueue(
        channel=kind,
        recipient="" if method is not None else url,
        subject=subject,
        body=body,
        payload=page_payload() if payload is None else payload,
        person=person,
        contact_method=method,
        purpose="page",
    )


DOCS = Path(__file__).resolve().parents[2] / "docs" / "channels.md"


def _doc_block(heading: str, language: str) -> str:
    text = DOCS.read_text()
    after = text[text.index(heading) :]
    match = re.search(rf"```{language}\n(.*?)```", after, re.S)
    assert match, f"no {language} block after {heading!r} in docs/channels.md"
    return match.group(1)


# The receiver's check as docs/channels.md shows it: what a reader copies is what runs here.
_RECIPE: dict[str, Any] = {}
exec(_doc_block("### Verifying a request (Python)", "python"), _RECIPE)


def verify(secret: str, headers: dict[str, str], raw_body: bytes, tolerance: int = 300) -> bool:
    _RECIPE["TOLERANCE"] = tolerance
    try:
        return bool(_RECIPE["verify"](secret, headers, raw_body))
    finally:
        _RECIPE["TOLERANCE"] = 300


def send_now(message: OutboxMessage) -> Any:
    channel = channel_for(message.channel)
    assert channel is not None
    return channel.send(OutboxMessage.objects.get(pk=message.pk))


# --- registry ---------------------------------------------------------------------------


def test_every_http_channel_is_registered_with_the_page_policy() -> None:
    for kind in (*HTTP_KINDS, "apprise"):
        assert kind in CHANNELS
        channel = channel_for(kind)
        assert channel is not None and channel.kind == kind
        assert channel.policy is PAGE_RETRY
    # a send ends well inside the lease, so no second worker takes a message mid-send
    assert PAGE_RETRY.lease.total_seconds() > _http.SEND_TIMEOUT * 3


# --- webhook: body, headers, signature --------------------------------------------------


def test_webhook_posts_the_documented_body_signed_with_the_urls_own_secret(
    receiver: Receiver, loopback: None, make_user: Callable[..., User]
) -> None:
    person = make_user(Role.RESPONDER, username="rita")
    url = receiver.url("/hooks/T0K3N") + f"#secret={OWN_SECRET}"
    method = contact_method_add(user=person, kind="webhook", address=url, actor=SETUP)
    message = enqueue("webhook", "", person=person, method=method)

    assert OutboxModule().tick(now()) == 1
    message.refresh_from_db()
    assert message.state == OutboxState.SENT
    [got] = receiver.seen
    assert got.path == "/hooks/T0K3N"  # the fragment (the secret) never goes on the wire
    assert OWN_SECRET not in got.path and OWN_SECRET.encode() not in got.body
    assert got.headers["content-type"].startswith("application/json")
    assert got.headers["idempotency-key"] == str(message.message_id)
    assert verify(OWN_SECRET, got.headers, got.body)
    assert not verify("another secret of some length", got.headers, got.body)
    assert not verify(OWN_SECRET, got.headers, got.body.replace(b"INC-42", b"INC-43"))
    doc = got.json()
    assert doc == {
        "version": 1,
        "message_id": str(message.message_id),
        "purpose": "page",
        "created_at": message.created_at.isoformat(),
        "person": "rita",
        "incident": "INC-42",
        "subject": "[P1] INC-42: Card payments failing",
        "body": PAGE_BODY,
        "links": LINKS,
        "payload": page_payload(),
    }


def test_webhook_without_its_own_secret_signs_with_one_derived_for_the_url(
    receiver: Receiver, loopback: None, settings: Any
) -> None:
    url = receiver.url("/a")
    secret = webhook.signing_secret(url)
    assert secret.startswith("whsec_") and len(secret) == 6 + 64
    # per URL and per installation
    assert webhook.signing_secret(receiver.url("/b")) != secret
    settings.SECRET_KEY = "another installation's key, long enough for the test"
    assert webhook.signing_secret(url) != secret
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "the new key after a rotation, long enough for the test"
    new_secret = webhook.signing_secret(url)

    assert isinstance(send_now(enqueue("webhook", url)), Sent)
    got = receiver.seen[-1]
    # during a rotation the signature is given under the new and the old key
    assert got.headers["x-tocsin-signature"].count("v1=") == 2
    old_secret = webhook._derived(url, settings.SECRET_KEY_FALLBACKS[0])
    assert verify(new_secret, got.headers, got.body)
    assert verify(old_secret, got.headers, got.body)
    assert not verify(secret, got.headers, got.body)


def test_the_documented_body_has_the_fields_that_are_sent(
    receiver: Receiver, loopback: None
) -> None:
    documented = json.loads(_doc_block("## Generic webhook", "json"))
    assert isinstance(send_now(enqueue("webhook", receiver.url())), Sent)
    sent = receiver.seen[0].json()
    assert list(documented) == list(sent)
    assert set(documented["payload"]) == set(sent["payload"]) | {"delay_minutes"}


def test_an_old_timestamp_fails_the_documented_check(receiver: Receiver, loopback: None) -> None:
    url = receiver.url() + f"#secret={OWN_SECRET}"
    with time_machine.travel(now() - dt.timedelta(minutes=10), tick=False):
        assert isinstance(send_now(enqueue("webhook", url)), Sent)
    got = receiver.seen[-1]
    assert not verify(OWN_SECRET, got.headers, got.body)  # a replay from ten minutes ago
    assert verify(OWN_SECRET, got.headers, got.body, tolerance=3600)


def test_a_short_own_secret_is_a_permanent_failure(receiver: Receiver, loopback: None) -> None:
    result = send_now(enqueue("webhook", receiver.url() + "#secret=short"))
    assert isinstance(result, Permanent) and "16 characters" in result.reason
    assert receiver.seen == []


def test_a_retry_carries_the_same_idempotency_key_and_body(
    receiver: Receiver, loopback: None
) -> None:
    receiver.then(Answer(500, body=b"upstream exploded"), Answer(502), Answer(200))
    url = receiver.url() + f"#secret={OWN_SECRET}"
    message = enqueue("webhook", url)
    start = now()
    with time_machine.travel(start, tick=False):
        assert OutboxModule().tick(start) == 0
    message.refresh_from_db()
    assert message.state == OutboxState.QUEUED
    assert "HTTP 500" in message.last_error and "upstream exploded" in message.last_error
    assert message.not_before == start + PAGE_RETRY.delay(1)
    later = start + dt.timedelta(seconds=6)
    with time_machine.travel(later, tick=False):
        assert OutboxModule().tick(later) == 0
    last = later + dt.timedelta(seconds=11)
    with time_machine.travel(last, tick=False):
        assert OutboxModule().tick(last) == 1
    message.refresh_from_db()
    assert message.state == OutboxState.SENT and message.attempts == 3
    assert len(receiver.seen) == 3
    assert {s.headers["idempotency-key"] for s in receiver.seen} == {str(message.message_id)}
    assert len({s.body for s in receiver.seen}) == 1
    for seen in receiver.seen:
        assert verify(OWN_SECRET, seen.headers, seen.body, tolerance=3600)


def test_a_resend_after_a_crash_carries_the_same_idempotency_key(
    receiver: Receiver, loopback: None
) -> None:
    """A worker that died after the POST leaves the row `sending`; once its lease runs out
    another worker sends it again, with the same key, so the receiver can drop it."""
    message = enqueue("webhook", receiver.url())
    start = now()
    module = OutboxModule()
    attempts = module._claim(message.pk, start, PAGE_RETRY.lease)
    assert attempts == 1
    assert isinstance(send_now(message), Sent)  # ... and the worker dies here
    after = start + PAGE_RETRY.lease + dt.timedelta(seconds=1)
    with time_machine.travel(after, tick=False):
        assert module.tick(after) == 1
    assert [s.headers["idempotency-key"] for s in receiver.seen] == [str(message.message_id)] * 2


# --- outcomes, for every HTTP channel ---------------------------------------------------


@pytest.mark.parametrize("kind", HTTP_KINDS)
def test_2xx_is_sent_with_the_providers_id(kind: str, receiver: Receiver, loopback: None) -> None:
    receiver.then(Answer(200, {"Content-Type": "application/json"}, b'{"id":"msg-123"}'))
    receiver.then(Answer(202, {"x-ms-workflow-run-id": "run-9"}))
    assert send_now(enqueue(kind, receiver.url())) == Sent("msg-123")
    assert send_now(enqueue(kind, receiver.url())) == Sent("run-9")


@pytest.mark.parametrize("kind", HTTP_KINDS)
def test_500_is_retried_and_the_recovered_receiver_gets_it(
    kind: str, receiver: Receiver, loopback: None
) -> None:
    receiver.then(Answer(500), Answer(503))
    message = enqueue(kind, receiver.url())
    start = now()
    for step in (0, 6, 17):
        at = start + dt.timedelta(seconds=step)
        with time_machine.travel(at, tick=False):
            OutboxModule().tick(at)
    message.refresh_from_db()
    assert message.state == OutboxState.SENT and message.attempts == 3
    assert len(receiver.seen) == 3


@pytest.mark.parametrize("kind", HTTP_KINDS)
def test_429_waits_as_long_as_retry_after_says(
    kind: str, receiver: Receiver, loopback: None
) -> None:
    receiver.then(Answer(429, {"Retry-After": "7"}, b"slow down"))
    first = enqueue(kind, receiver.url())
    result = send_now(first)
    first.delete()
    assert isinstance(result, Temporary)
    assert result.retry_after == dt.timedelta(seconds=7)
    assert "HTTP 429" in result.reason

    message = enqueue(kind, receiver.url())
    receiver.then(Answer(429, {"Retry-After": "86400"}))
    start = now()
    with time_machine.travel(start, tick=False):
        OutboxModule().tick(start)
    message.refresh_from_db()
    # a day is capped: a page is never parked for long
    assert message.state == OutboxState.QUEUED
    assert message.not_before == start + _http.MAX_RETRY_AFTER


def test_retry_after_as_an_http_date_and_nonsense() -> None:
    at = dt.datetime(2026, 12, 6, 3, 0, tzinfo=dt.UTC)
    assert _http.retry_after("Sun, 06 Dec 2026 03:00:30 GMT", now=at) == dt.timedelta(seconds=30)
    assert _http.retry_after("Sun, 06 Dec 2026 02:00:00 GMT", now=at) == dt.timedelta(seconds=1)
    assert _http.retry_after("Mon, 07 Dec 2026 03:00:00 GMT", now=at) == _http.MAX_RETRY_AFTER
    assert _http.retry_after("0", now=at) == dt.timedelta(seconds=1)
    assert _http.retry_after("soon", now=at) is None
    assert _http.retry_after(None) is None
    assert _http.retry_after("99999999999999999999") == _http.MAX_RETRY_AFTER


@pytest.mark.parametrize("kind", HTTP_KINDS)
def test_404_is_permanent_and_fails_the_contact_method(
    kind: str, receiver: Receiver, loopback: None, make_user: Callable[..., User]
) -> None:
    person = make_user(Role.RESPONDER)
    address = receiver.url("/services/T000/B000/secrettoken")
    method = contact_method_add(user=person, kind=kind, address=address, actor=SETUP)
    receiver.then(Answer(404, body=b"no_service for /services/T000/B000/secrettoken"))
    message = enqueue(kind, "", person=person, method=method)
    OutboxModule().tick(now())
    message.refresh_from_db()
    assert message.state == OutboxState.FAILED and message.attempts == 1
    assert "127.0.0.1 answered HTTP 404" in message.last_error
    assert "no_service" in message.last_error
    assert "secrettoken" not in message.last_error  # the URL's path is a secret
    method.refresh_from_db()
    assert method.last_delivery_ok is False and "HTTP 404" in method.last_error


@pytest.mark.parametrize("kind", HTTP_KINDS)
def test_a_redirect_is_not_followed(kind: str, receiver: Receiver, loopback: None) -> None:
    receiver.then(Answer(302, {"Location": "http://169.254.169.254/latest/meta-data/"}))
    result = send_now(enqueue(kind, receiver.url()))
    assert isinstance(result, Permanent)
    assert "redirect to 169.254.169.254" in result.reason
    assert len(receiver.seen) == 1


@pytest.mark.parametrize("kind", HTTP_KINDS)
def test_a_slow_receiver_times_out_and_is_retried(
    kind: str, receiver: Receiver, loopback: None, short_timeouts: float
) -> None:
    receiver.then(Answer(200, delay=5))
    started = time.monotonic()
    result = send_now(enqueue(kind, receiver.url()))
    assert time.monotonic() - started < short_timeouts + 1
    assert isinstance(result, Temporary) and "timed out" in result.reason


@pytest.mark.parametrize("kind", HTTP_KINDS)
def test_a_receiver_that_reads_and_never_answers(
    kind: str, receiver: Receiver, loopback: None, short_timeouts: float
) -> None:
    receiver.then(Answer(hang=True))
    started = time.monotonic()
    result = send_now(enqueue(kind, receiver.url()))
    assert time.monotonic() - started < short_timeouts + 1
    assert isinstance(result, Temporary) and "timed out" in result.reason
    assert len(receiver.seen) == 1


@pytest.mark.parametrize("kind", HTTP_KINDS)
def test_a_tarpit_that_never_accepts_ends_within_the_timeout(
    kind: str, tarpit: str, loopback: None, short_timeouts: float
) -> None:
    started = time.monotonic()
    result = send_now(enqueue(kind, tarpit))
    assert time.monotonic() - started < short_timeouts + 1
    assert isinstance(result, Temporary) and "timed out" in result.reason


@pytest.mark.parametrize("kind", HTTP_KINDS)
def test_a_receiver_dripping_its_answer_cannot_stretch_the_send(
    kind: str, drip: str, loopback: None, short_timeouts: float
) -> None:
    started = time.monotonic()
    result = send_now(enqueue(kind, drip))
    assert time.monotonic() - started < short_timeouts + 1
    assert isinstance(result, Temporary) and "timed out" in result.reason


@pytest.mark.parametrize("kind", HTTP_KINDS)
def test_nothing_listening_is_temporary(kind: str, loopback: None) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = send_now(enqueue(kind, f"http://127.0.0.1:{port}/hook"))
    assert isinstance(result, Temporary) and "127.0.0.1" in result.reason


# --- SSRF -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", HTTP_KINDS)
def test_loopback_is_refused_without_the_allow_list(
    kind: str, receiver: Receiver, settings: Any
) -> None:
    settings.TOCSIN_OUTBOUND_ALLOW = []
    result = send_now(enqueue(kind, receiver.url()))
    assert isinstance(result, Permanent) and "loopback" in result.reason
    assert receiver.seen == []


@pytest.mark.parametrize("kind", HTTP_KINDS)
@pytest.mark.parametrize(
    "address",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/hook",
        "http://[::ffff:127.0.0.1]:8080/hook",
        "http://localhost:8080/hook",
        "http://127.0.0.1:22/hook",
        "file:///etc/passwd",
    ],
)
def test_a_refused_address_fails_through_the_outbox_with_its_reason(
    kind: str, address: str, settings: Any, make_user: Callable[..., User]
) -> None:
    settings.TOCSIN_OUTBOUND_ALLOW = []
    person = make_user(Role.RESPONDER)
    message = enqueue(kind, address, person=person)
    OutboxModule().tick(now())
    message.refresh_from_db()
    assert message.state == OutboxState.FAILED and message.attempts == 1
    assert message.last_error.startswith("refused before sending: ")


def test_no_address_or_a_malformed_one_is_permanent() -> None:
    for kind in HTTP_KINDS:
        for address in ("", "http://[::1/hook", "http://exa mple.com:99999/"):
            result = send_now(enqueue(kind, address))
            assert isinstance(result, Permanent), (kind, address, result)


# --- Slack ------------------------------------------------------------------------------


def test_slack_sends_text_and_blocks_with_the_links_as_buttons(
    receiver: Receiver, loopback: None
) -> None:
    assert isinstance(send_now(enqueue("slack", receiver.url())), Sent)
    doc = receiver.seen[0].json()
    assert set(doc) == {"text", "blocks"}
    # the text alone (Mattermost, Rocket.Chat, notifications) has everything, links too
    assert doc["text"].startswith("[P1] INC-42: Card payments failing\nINC-42")
    assert LINKS["acknowledge"] in doc["text"]
    header, section, actions = doc["blocks"]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": "[P1] INC-42: Card payments failing"},
    }
    assert section["text"]["type"] == "mrkdwn"
    assert "You are paged via Payments (level 1)." in section["text"]["text"]
    assert "http://tocsin.test" not in section["text"]["text"]  # links are buttons
    assert [(b["text"]["text"], b["url"], b.get("style")) for b in actions["elements"]] == [
        ("Acknowledge", LINKS["acknowledge"], "primary"),
        ("Resolve", LINKS["resolve"], None),
        ("Open", LINKS["open"], None),
    ]


def test_slack_escapes_user_text() -> None:
    message = OutboxMessage(
        subject="<!channel> *Down* @here",
        body="Title: <https://evil.example|click me> & more <@U123>\n@channel everyone",
        payload={},
        created_at=now(),
        not_before=now(),
    )
    doc = slack.body_of(message)
    assert "<" not in doc["text"] and ">" not in doc["text"]
    assert "&lt;https://evil.example|click me&gt; &amp; more &lt;@U123&gt;" in doc["text"]
    assert "@channel" not in doc["text"] and "@\u200bchannel" in doc["text"]
    assert "@here" not in doc["blocks"][0]["text"]["text"]
    assert [b["type"] for b in doc["blocks"]] == ["header", "section"]  # no links, no buttons
    long = OutboxMessage(subject="x" * 500, body="y" * 9000, payload={})
    doc = slack.body_of(long)
    assert len(doc["text"]) <= slack.TEXT_LIMIT
    assert len(doc["blocks"][0]["text"]["text"]) <= slack.HEADER_LIMIT
    assert len(doc["blocks"][1]["text"]["text"]) <= slack.TEXT_LIMIT


# --- Teams ------------------------------------------------------------------------------


def test_teams_sends_an_adaptive_card_with_open_url_actions(
    receiver: Receiver, loopback: None
) -> None:
    assert isinstance(send_now(enqueue("teams", receiver.url())), Sent)
    doc = receiver.seen[0].json()
    assert doc["type"] == "message"
    [attachment] = doc["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "Acknowledge", "url": LINKS["acknowledge"]},
        {"type": "Action.OpenUrl", "title": "Resolve", "url": LINKS["resolve"]},
        {"type": "Action.OpenUrl", "title": "Open in Tocsin", "url": LINKS["open"]},
    ]
    texts = [block["inlines"][0]["text"] for block in card["body"]]
    assert texts == [
        "[P1] INC-42: Card payments failing",
        "INC-42 · P1 · Payments API",
        "Card payments failing",
        "You are paged via Payments (level 1).",
    ]
    assert card["body"][0]["inlines"][0]["color"] == "Attention"
    # user text only ever in TextRuns, which Adaptive Cards do not read as Markdown
    assert {b["type"] for b in card["body"]} == {"RichTextBlock"}
    assert {i["type"] for b in card["body"] for i in b["inlines"]} == {"TextRun"}


def test_teams_keeps_markdown_in_user_text_literal_and_bounded() -> None:
    body = "\n".join(["[click](https://evil.example) **bold**"] + [f"line {n}" for n in range(40)])
    message = OutboxMessage(subject="# Title", body=body, payload={}, created_at=now())
    card = teams.card_of(message)
    texts = [b["inlines"][0]["text"] for b in card["body"]]
    assert texts[0] == "# Title"
    assert texts[1] == "[click](https://evil.example) **bold**"
    assert texts[-1] == f"({41 - teams.MAX_LINES} more lines)"
    assert "actions" not in card


# --- ntfy -------------------------------------------------------------------------------


def test_ntfy_posts_to_the_topic_with_its_headers(receiver: Receiver, loopback: None) -> None:
    topic = receiver.url("/tocsin-rita-4f9a")
    assert isinstance(send_now(enqueue("ntfy", topic)), Sent)
    got = receiver.seen[0]
    assert got.path == "/tocsin-rita-4f9a"
    assert got.headers["title"] == "[P1] INC-42: Card payments failing"
    assert got.headers["priority"] == "5"
    assert got.headers["tags"] == "rotating_light,P1,INC-42"
    assert got.headers["click"] == LINKS["open"]
    assert got.headers["actions"] == (
        f"view, Acknowledge, {LINKS['acknowledge']}; view, Resolve, {LINKS['resolve']}"
    )
    text = got.body.decode()
    assert text.startswith("INC-42 · P1 · Payments API\nCard payments failing")
    assert "http://tocsin.test" not in text  # the links are the click and the actions

    assert isinstance(send_now(enqueue("ntfy", topic, payload=page_payload("low"))), Sent)
    low = receiver.seen[1].headers
    assert low["priority"] == "3" and low["tags"] == "warning,P3,INC-42"


def test_ntfy_headers_never_carry_line_breaks_and_encode_non_ascii(
    receiver: Receiver, loopback: None
) -> None:
    subject = "Zahlungen \u00fcberall kaputt \U0001f525\r\nX-Injected: yes\nPriority: 1 " + "ü" * 60
    message = enqueue("ntfy", receiver.url("/t"), subject=subject, body="b" * 9000, payload={})
    assert isinstance(send_now(message), Sent)
    got = receiver.seen[0]
    assert "x-injected" not in got.headers
    assert got.headers["priority"] == "3" and got.headers["tags"] == "bell"
    raw = got.headers["title"]
    assert raw.isascii() and raw.startswith("=?UTF-8?B?")
    assert all(len(word) <= 75 for word in raw.split(" "))
    decoded = str(email.header.make_header(email.header.decode_header(raw)))
    assert decoded == " ".join(subject.replace("\r\n", " ").replace("\n", " ").split())
    assert len(got.body) <= ntfy.BODY_LIMIT


def test_ntfy_quotes_an_action_url_with_a_comma() -> None:
    payload = page_payload(links={"acknowledge": "https://t.example/p/a,b/"})
    message = OutboxMessage(subject="s", body="b", payload=payload)
    assert ntfy.headers_of(message)["Actions"] == 'view, Acknowledge, "https://t.example/p/a,b/"'


# --- the profile's test message -----------------------------------------------------------


@pytest.mark.parametrize("kind", (*HTTP_KINDS, "apprise"))
def test_a_test_message_reaches_each_kind_and_keeps_secret_addresses_out_of_the_outbox(
    kind: str, receiver: Receiver, loopback: None, make_user: Callable[..., User]
) -> None:
    from tocsin.notify.services import contact_method_test

    person = make_user(Role.RESPONDER)
    address = receiver.url("/tok3n-in-the-path")
    if kind == "apprise":
        address = f"json://127.0.0.1:{receiver.port}/tok3n-in-the-path"
    method = contact_method_add(user=person, kind=kind, address=address, actor=SETUP)
    message = contact_method_test(method=method, actor=SETUP)
    if kind in ("webhook", "apprise"):
        assert message.recipient == ""  # the secret URL stays encrypted on the method
        assert "tok3n" not in str(OutboxMessage.objects.values().get(pk=message.pk))
    assert OutboxModule().tick(now()) == 1
    message.refresh_from_db()
    assert message.state == OutboxState.SENT and message.purpose == "test"
    [got] = receiver.seen
    assert got.path == "/tok3n-in-the-path"
    assert b"This is a test message from Tocsin" in got.body
    method.refresh_from_db()
    assert method.last_delivery_ok is True
