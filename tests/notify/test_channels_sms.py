"""SMS and voice through the Twilio-shaped provider adapter, against real HTTP servers on
loopback playing Twilio's API: failover in the same send, temporary and permanent
failures, the text of an SMS, the TwiML of a call (hostile titles escaped)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import socket
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

from tocsin.core.clock import travel
from tocsin.core.env import ConfigError
from tocsin.notify.channels import Permanent, Sent, Temporary, channel_for
from tocsin.notify.channels import sms as sms_channel
from tocsin.notify.channels import voice as voice_channel
from tocsin.notify.engine import OutboxModule
from tocsin.notify.models import OutboxMessage, OutboxState
from tocsin.notify.services import outbox_enqueue

pytestmark = pytest.mark.django_db

TO = "+441632960001"


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    form: dict[str, str]


@dataclass
class FakeTwilio:
    """A real HTTP server on 127.0.0.1 answering as Twilio's REST API does.

    `mode`: "ok" (201 with a sid), "500", "429", "401", "21211" (400, invalid To),
    "slow" (answers after `delay` seconds, longer than the send's timeout)."""

    mode: str = "ok"
    delay: float = 3.0
    requests: list[Recorded] = field(default_factory=list)
    port: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    sids: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, resource: str) -> tuple[int, dict[str, str], dict[str, Any]]:
        if self.mode == "ok":
            self.sids += 1
            prefix = "CA" if resource == "Calls.json" else "SM"
            return 201, {}, {"sid": f"{prefix}{self.port}x{self.sids}", "status": "queued"}
        if self.mode == "500":
            return 500, {}, {"code": 20500, "message": "Internal Server Error", "status": 500}
        if self.mode == "429":
            return 429, {"Retry-After": "7"}, {"code": 20429, "message": "Too Many Requests"}
        if self.mode == "401":
            return 401, {}, {"code": 20003, "message": "Authenticate", "status": 401}
        if self.mode == "21211":
            message = "The 'To' number is not a valid phone number."
            return 400, {}, {"code": 21211, "message": message, "status": 400}
        raise AssertionError(self.mode)


def _handler(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode()
            form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
            fake.requests.append(Recorded(self.path, dict(self.headers.items()), form))
            if fake.mode == "slow":
                fake.stop.wait(fake.delay)
                fake.mode = "ok"
            status, headers, body = fake.answer(self.path.rsplit("/", 1)[-1])
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client gave up (a timeout test)
                pass

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def twilio_api(settings: Any) -> Iterator[Callable[..., FakeTwilio]]:
    """Start fake Twilio servers; `configure(*urls)` makes them the providers, in order."""
    servers: list[tuple[ThreadingHTTPServer, FakeTwilio]] = []
    settings.TOCSIN_OUTBOUND_ALLOW = ["127.0.0.1/32"]
    settings.TOCSIN_SMS_TIMEOUT = 0.5
    settings.BASE_URL = "https://tocsin.example.org"

    def start(mode: str = "ok") -> FakeTwilio:
        fake = FakeTwilio(mode=mode)
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
        server.daemon_threads = True
        fake.port = int(server.server_address[1])
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append((server, fake))
        return fake

    yield start
    for server, fake in servers:
        fake.stop.set()
        server.shutdown()
        server.server_close()


def configure(settings: Any, *urls: str) -> None:
    names = ["TOCSIN_SMS", "TOCSIN_SMS2"]
    settings.TOCSIN_SMS_PROVIDERS = [
        {
            "name": names[i],
            "url": url,
            "account": f"AC{i + 1}",
            "token": f"token-{i + 1}",
            "from": f"+1500555000{i + 1}",
        }
        for i, url in enumerate(urls)
    ]


def page_message(channel: str = "sms", **payload: Any) -> OutboxMessage:
    fields: dict[str, Any] = {
        "kind": "page",
        "page": 4821,
        "incident": "INC-42",
        "title": "Card payments failing",
        "priority": 1,
        "links": {
            "acknowledge": "https://tocsin.example.org/p/ack-token/",
            "resolve": "https://tocsin.example.org/p/resolve-token/",
            "open": "https://tocsin.example.org/p/open-token/",
        },
    }
    fields.update(payload)
    return outbox_enqueue(
        channel=channel,
        recipient=TO,
        subject=f"[P1] INC-42: {fields['title']}"[:300],
        body="You are paged.",
        payload=fields,
        purpose="page",
    )


def basic_auth(request: Recorded) -> str:
    kind, _, value = request.headers["Authorization"].partition(" ")
    assert kind == "Basic"
    return base64.b64decode(value).decode()


# --- SMS: the first provider takes it ---------------------------------------------------------


def test_sms_goes_to_the_first_provider_in_twilio_shape(
    settings: Any, twilio_api: Callable[..., FakeTwilio]
) -> None:
    first, second = twilio_api(), twilio_api()
    configure(settings, first.url, second.url)
    message = page_message()

    assert OutboxModule().tick(message.not_before) == 1

    message.refresh_from_db()
    assert message.state == OutboxState.SENT
    assert message.provider_message_id == f"SM{first.port}x1"
    assert second.requests == []
    [request] = first.requests
    assert request.path == "/2010-04-01/Accounts/AC1/Messages.json"
    assert basic_auth(request) == "AC1:token-1"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["Idempotency-Key"] == str(message.message_id)
    assert request.form["To"] == TO
    assert request.form["From"] == "+15005550001"
    assert request.form["Body"] == (
        "INC-42 P1: Card payments failing. Reply 4821 to acknowledge. "
        "https://tocsin.example.org/p/ack-token/"
    )


def test_a_messaging_service_sender_is_sent_as_one(
    settings: Any, twilio_api: Callable[..., FakeTwilio]
) -> None:
    first = twilio_api()
    configure(settings, first.url)
    settings.TOCSIN_SMS_PROVIDERS[0]["from"] = "MG0123456789abcdef"
    assert isinstance(sms_channel.send(page_message()), Sent)
    assert first.requests[0].form["MessagingServiceSid"] == "MG0123456789abcdef"
    assert "From" not in first.requests[0].form


# --- failover ---------------------------------------------------------------------------------


@pytest.mark.parametrize("failure", ["500", "429", "slow", "refused"])
def test_when_the_first_provider_fails_the_second_takes_it_in_the_same_send(
    settings: Any, twilio_api: Callable[..., FakeTwilio], failure: str
) -> None:
    second = twilio_api()
    if failure == "refused":
        first_url = f"http://127.0.0.1:{_closed_port()}"
        first = None
    else:
        first = twilio_api(failure)
        first_url = first.url
    configure(settings, first_url, second.url)
    message = page_message()

    result = sms_channel.send(message)

    assert result == Sent(provider_message_id=f"SM{second.port}x1")
    if first is not None:
        assert len(first.requests) == 1
    [request] = second.requests
    assert request.path == "/2010-04-01/Accounts/AC2/Messages.json"
    assert basic_auth(request) == "AC2:token-2"
    assert request.form["From"] == "+15005550002"
    assert request.headers["Idempotency-Key"] == str(message.message_id)


def test_credentials_refused_by_the_first_provider_fail_over_too(
    settings: Any, twilio_api: Callable[..., FakeTwilio]
) -> None:
    first, second = twilio_api("401"), twilio_api()
    configure(settings, first.url, second.url)
    assert sms_channel.send(page_message()) == Sent(provider_message_id=f"SM{second.port}x1")


def test_both_providers_down_is_temporary_and_the_outbox_retries(
    settings: Any, twilio_api: Callable[..., FakeTwilio]
) -> None:
    first = twilio_api("500")
    configure(settings, first.url, f"http://127.0.0.1:{_closed_port()}")
    message = page_message()

    result = sms_channel.send(message)
    assert isinstance(result, Temporary)
    assert "TOCSIN_SMS: HTTP 500" in result.reason and "TOCSIN_SMS2:" in result.reason

    OutboxModule().tick(message.not_before)
    message.refresh_from_db()
    assert message.state == OutboxState.QUEUED
    assert message.attempts == 1
    assert "HTTP 500" in message.last_error
    # the next attempt, once the first provider is back, is sent
    first.mode = "ok"
    with travel(message.not_before + dt.timedelta(seconds=1)):
        OutboxModule().tick(message.not_before)
    message.refresh_from_db()
    assert message.state == OutboxState.SENT
    assert message.provider_message_id == f"SM{first.port}x1"


def test_both_providers_throttling_waits_as_long_as_they_ask(
    settings: Any, twilio_api: Callable[..., FakeTwilio]
) -> None:
    first, second = twilio_api("429"), twilio_api("429")
    configure(settings, first.url, second.url)
    result = sms_channel.send(page_message())
    assert isinstance(result, Temporary)
    assert result.retry_after == dt.timedelta(seconds=7)


def test_an_invalid_number_is_permanent_and_not_tried_elsewhere(
    settings: Any, twilio_api: Callable[..., FakeTwilio]
) -> None:
    first, second = twilio_api("21211"), twilio_api()
    configure(settings, first.url, second.url)
    message = page_message()

    result = sms_channel.send(message)

    assert isinstance(result, Permanent)
    assert "error 21211" in result.reason and "not a valid phone number" in result.reason
    assert second.requests == []
    OutboxModule().tick(message.not_before)
    message.refresh_from_db()
    assert message.state == OutboxState.FAILED
    assert message.attempts == 1


def test_every_provider_refusing_our_credentials_is_permanent(
    settings: Any, twilio_api: Callable[..., FakeTwilio]
) -> None:
    first, second = twilio_api("401"), twilio_api("401")
    configure(settings, first.url, second.url)
    result = sms_channel.send(page_message())
    assert isinstance(result, Permanent)
    assert "TOCSIN_SMS: HTTP 401" in result.reason and "TOCSIN_SMS2: HTTP 401" in result.reason


def test_no_provider_configured_is_permanent(settings: Any) -> None:
    settings.TOCSIN_SMS_PROVIDERS = []
    message = page_message()
    assert sms_channel.send(message) == Permanent("no SMS provider configured")
    assert voice_channel.send(page_message("voice")) == Permanent("no SMS provider configured")
    OutboxModule().tick(message.not_before)
    message.refresh_from_db()
    assert message.state == OutboxState.FAILED
    assert message.last_error == "no SMS provider configured"


def test_the_provider_address_is_checked_like_any_outbound_call(
    settings: Any, twilio_api: Callable[..., FakeTwilio]
) -> None:
    first = twilio_api()
    configure(settings, first.url)
    settings.TOCSIN_OUTBOUND_ALLOW = []  # loopback is refused without it
    result = sms_channel.send(page_message())
    assert isinstance(result, Permanent)
    assert "loopback" in result.reason
    assert first.requests == []


def test_the_channels_are_registered() -> None:
    assert channel_for("sms") is sms_channel
    assert channel_for("voice") is voice_channel


# --- the text of an SMS -------------------------------------------------------------------------


def test_a_long_hostile_title_is_cut_and_kept_on_one_line(
    settings: Any, twilio_api: Callable[..., FakeTwilio]
) -> None:
    first = twilio_api()
    configure(settings, first.url)
    title = "Disk full\r\non db-1\rand\tdb-2\x07\u2028 " + "x" * 400
    assert isinstance(sms_channel.send(page_message(title=title)), Sent)
    body = first.requests[0].form["Body"]
    assert len(body) <= 300
    assert body.startswith("INC-42 P1: Disk full on db-1 and db-2 xxx")
    assert "..." in body
    assert body.endswith("Reply 4821 to acknowledge. https://tocsin.example.org/p/ack-token/")
    assert not any(ch in body for ch in "\r\n\t\x07\u2028")


def test_a_very_long_link_gives_way_to_the_reply_code() -> None:
    link = "https://tocsin.example.org/" + "p" * 290
    message = page_message(links={"acknowledge": link})
    text = sms_channel.sms_text(message)
    assert len(text) <= 300
    assert "Reply 4821 to acknowledge." in text
    assert "Card payments failing" in text


def test_a_test_message_sends_its_subject_and_body(
    settings: Any, twilio_api: Callable[..., FakeTwilio]
) -> None:
    first = twilio_api()
    configure(settings, first.url)
    message = outbox_enqueue(
        channel="sms",
        recipient=TO,
        subject="Tocsin test message",
        body="This is a test message\nfrom Tocsin to Rob.",
        purpose="test",
    )
    assert isinstance(sms_channel.send(message), Sent)
    assert first.requests[0].form["Body"] == (
        "Tocsin test message: This is a test message from Tocsin to Rob."
    )


# --- voice ----------------------------------------------------------------------------------------


def test_a_call_reads_the_page_and_gathers_a_key(
    settings: Any, twilio_api: Callable[..., FakeTwilio]
) -> None:
    first = twilio_api("500")
    second = twilio_api()
    configure(settings, first.url, second.url)
    message = page_message("voice")

    assert OutboxModule().tick(message.not_before) == 1

    message.refresh_from_db()
    assert message.state == OutboxState.SENT
    assert message.provider_message_id == f"CA{second.port}x1"
    assert first.requests[0].path == "/2010-04-01/Accounts/AC1/Calls.json"
    [request] = second.requests
    assert request.path == "/2010-04-01/Accounts/AC2/Calls.json"
    assert request.form["To"] == TO and request.form["From"] == "+15005550002"
    root = ET.fromstring(request.form["Twiml"])
    assert root.tag == "Response"
    gather = root.find("Gather")
    assert gather is not None
    assert gather.get("numDigits") == "1" and gather.get("method") == "POST"
    assert gather.get("action") == "https://tocsin.example.org/integrations/sms/reply?page=4821"
    said = gather.findtext("Say") or ""
    assert "INC-42, priority 1. Card payments failing." in said
    assert "Press 4 to acknowledge. Press 6 to resolve." in said


@pytest.mark.parametrize(
    "title",
    [
        "<script>alert(1)</script>",
        'Tom & Jerry\'s "cache" </Say><Hangup/><Say>',
        "]]><!-- <Dial>+15550100</Dial> -->",
    ],
)
def test_a_hostile_title_is_spoken_as_text_never_as_twiml(
    settings: Any, twilio_api: Callable[..., FakeTwilio], title: str
) -> None:
    first = twilio_api()
    configure(settings, first.url)
    assert isinstance(voice_channel.send(page_message("voice", title=title)), Sent)
    twiml = first.requests[0].form["Twiml"]
    assert "<script" not in twiml and "<Hangup" not in twiml and "<Dial" not in twiml
    root = ET.fromstring(twiml)  # well-formed
    assert [el.tag for el in root.iter()] == ["Response", "Gather", "Say", "Say"]
    said = root.find("Gather/Say")
    assert said is not None and title in (said.text or "")


def test_a_test_call_says_its_subject_and_body(
    settings: Any, twilio_api: Callable[..., FakeTwilio]
) -> None:
    first = twilio_api()
    configure(settings, first.url)
    message = outbox_enqueue(
        channel="voice",
        recipient=TO,
        subject="Tocsin test message",
        body="Hello & bye.",
        purpose="test",
    )
    assert isinstance(voice_channel.send(message), Sent)
    root = ET.fromstring(first.requests[0].form["Twiml"])
    assert [el.tag for el in root.iter()] == ["Response", "Say"]
    assert root.findtext("Say") == "Tocsin test message. Hello & bye."


# --- configuration ---------------------------------------------------------------------------


def test_providers_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from tocsin import settings as tocsin_settings

    for key in ("URL", "ACCOUNT", "TOKEN", "FROM"):
        monkeypatch.delenv(f"TOCSIN_SMS_{key}", raising=False)
    assert tocsin_settings._sms_provider("TOCSIN_SMS") is None
    monkeypatch.setenv("TOCSIN_SMS_ACCOUNT", "AC9")
    monkeypatch.setenv("TOCSIN_SMS_TOKEN", "t9")
    monkeypatch.setenv("TOCSIN_SMS_FROM", "+15005550009")
    assert tocsin_settings._sms_provider("TOCSIN_SMS") == {
        "name": "TOCSIN_SMS",
        "url": "https://api.twilio.com",
        "account": "AC9",
        "token": "t9",
        "from": "+15005550009",
    }
    monkeypatch.delenv("TOCSIN_SMS_TOKEN")
    with pytest.raises(ConfigError, match="TOCSIN_SMS_TOKEN must be set"):
        tocsin_settings._sms_provider("TOCSIN_SMS")
    monkeypatch.setenv("TOCSIN_SMS_TOKEN", "t9")
    monkeypatch.setenv("TOCSIN_SMS_URL", "ftp://example.org")
    with pytest.raises(ConfigError, match="TOCSIN_SMS_URL must be an http"):
        tocsin_settings._sms_provider("TOCSIN_SMS")


def test_a_bundle_says_how_many_more_in_the_sms_and_the_call() -> None:
    from tocsin.notify.channels.sms import sms_text
    from tocsin.notify.channels.voice import call_twiml
    from tocsin.notify.models import OutboxMessage

    message = OutboxMessage(
        channel="sms",
        subject="[P1] INC-7: Checkout down",
        body="",
        payload={
            "kind": "page",
            "page": 77,
            "incident": "INC-7",
            "priority": 1,
            "title": "Checkout down",
            "bundle": {"text": "12 more incidents for Payments"},
        },
    )
    assert "Reply 77 to acknowledge. 12 more incidents for Payments" in sms_text(message)
    assert "12 more incidents for Payments." in call_twiml(message)
