"""SSRF-safe outbound client against real loopback receivers (no mocks)."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings

from tocsin.core.outbound import OutboundError, OutboundRefused, post_json, request

LOOPBACK = override_settings(TOCSIN_OUTBOUND_ALLOW=["127.0.0.1/32"])


class Handler(http.server.BaseHTTPRequestHandler):
    seen: list[tuple[str, str]] = []
    paths: list[str] = []

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode()
        Handler.seen.append((self.headers.get("Host", ""), body))
        Handler.paths.append(self.path)
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/huge":
            self.send_response(200)
            self.send_header("Content-Length", str(1_000_000))
            self.end_headers()
            self.wfile.write(b"x" * 1_000_000)
        elif self.path == "/hang":
            time.sleep(5)
        elif self.path == "/base64":
            reply = "ok déjà".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=base64")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)
        elif self.path == "/latin1":
            reply = "Échec : numéro refusé".encode("latin-1")
            self.send_response(400)
            self.send_header("Content-Type", "text/plain; charset=ISO-8859-1")
            self.send_header("Content-Length", str(len(reply)))
            self.send_header("X-Note", "one")
            self.send_header("X-Note", "two")
            self.end_headers()
            self.wfile.write(reply)
        else:
            reply = b'{"ok": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)


@pytest.fixture
def receiver() -> Iterator[int]:
    Handler.seen = []
    Handler.paths = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def answers(*addresses: str) -> Any:
    def resolve(host: str, port: int, *args: Any) -> list[Any]:
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    return resolve


def test_allowed_loopback_receiver_gets_the_json(receiver: int) -> None:
    with LOOPBACK:
        result = post_json(f"http://127.0.0.1:{receiver}/hook", {"a": 1})
    assert result.status == 200
    assert '"ok"' in result.text
    assert Handler.seen == [(f"127.0.0.1:{receiver}", '{"a": 1}')]


def test_loopback_refused_without_the_setting(receiver: int) -> None:
    with override_settings(TOCSIN_OUTBOUND_ALLOW=[]), pytest.raises(OutboundRefused):
        post_json(f"http://127.0.0.1:{receiver}/hook", {})
    assert Handler.seen == []


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "224.0.0.1",
        "0.0.0.0",
        "240.0.0.1",
        "255.255.255.255",
        "[::1]",
        "[::]",
        "[fc00::1]",
        "[fd12:3456::1]",
        "[fe80::1]",
        "[ff02::1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:169.254.169.254]",
        "[64:ff9b::7f00:1]",
        "[64:ff9b::a9fe:a9fe]",
        "[2002:7f00:1::]",
    ],
)
def test_literal_non_public_addresses_refused(host: str) -> None:
    with override_settings(TOCSIN_OUTBOUND_ALLOW=[]), pytest.raises(OutboundRefused):
        post_json(f"http://{host}/hook", {})


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "file:///etc/passwd",
        "gopher://example.com/",
        "http://user:pw@example.com/",
        "http://example.com:22/",
        "http://example.com:99999/",
        "http:///nohost",
    ],
)
def test_bad_urls_refused(url: str) -> None:
    with pytest.raises(OutboundRefused):
        post_json(url, {}, resolver=answers("93.184.216.34"))


@pytest.mark.parametrize(
    "address", ["10.0.0.5", "169.254.169.254", "::ffff:127.0.0.1", "fd00::1", "127.0.0.1"]
)
def test_name_resolving_to_a_private_address_refused(address: str) -> None:
    with override_settings(TOCSIN_OUTBOUND_ALLOW=[]), pytest.raises(OutboundRefused):
        post_json("http://hooks.example.com/x", {}, resolver=answers(address))


def test_one_private_answer_among_public_ones_refuses() -> None:
    with pytest.raises(OutboundRefused):
        post_json("http://hooks.example.com/x", {}, resolver=answers("93.184.216.34", "10.0.0.5"))


def test_localhost_refused() -> None:
    with override_settings(TOCSIN_OUTBOUND_ALLOW=[]), pytest.raises(OutboundRefused):
        post_json("http://localhost:8080/x", {})


def test_connection_goes_to_the_checked_address_with_the_original_host(receiver: int) -> None:
    calls: list[str] = []

    def rebinding(host: str, port: int, *args: Any) -> list[Any]:
        calls.append(host)
        address = "127.0.0.1" if len(calls) == 1 else "10.0.0.5"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    with LOOPBACK:
        result = post_json(
            f"http://hooks.example.com:{receiver}/hook", {"b": 2}, resolver=rebinding
        )
    assert result.status == 200
    assert calls == ["hooks.example.com"]  # resolved once; the request went to the checked address
    assert Handler.seen == [(f"hooks.example.com:{receiver}", '{"b": 2}')]


def test_rebinding_to_private_after_public_check_cannot_reach_private() -> None:
    # First answer public (checked, connected to), second private: never looked up again.
    calls: list[str] = []

    def rebinding(host: str, port: int, *args: Any) -> list[Any]:
        calls.append(host)
        address = "192.0.2.1" if len(calls) == 1 else "127.0.0.1"  # TEST-NET: not public either
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    with pytest.raises(OutboundRefused):
        post_json("http://hooks.example.com/x", {}, resolver=rebinding)
    assert calls == ["hooks.example.com"]


def test_redirect_is_returned_not_followed(receiver: int) -> None:
    with LOOPBACK:
        result = post_json(f"http://127.0.0.1:{receiver}/redirect", {})
    assert result.status == 302
    assert result.headers["location"].startswith("http://169.254.169.254")
    assert len(Handler.seen) == 1


def test_silent_receiver_times_out_within_the_bound(receiver: int) -> None:
    started = time.monotonic()
    with LOOPBACK, pytest.raises(OutboundError):
        post_json(f"http://127.0.0.1:{receiver}/hang", {}, timeout=0.5)
    assert time.monotonic() - started < 2.0


def test_huge_response_is_truncated(receiver: int) -> None:
    with LOOPBACK:
        result = request("POST", f"http://127.0.0.1:{receiver}/huge", content=b"")
    assert result.status == 200
    assert result.truncated
    assert len(result.text) == 64 * 1024


def test_connection_refused_is_an_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with LOOPBACK, pytest.raises(OutboundError):
        post_json(f"http://127.0.0.1:{port}/x", {}, timeout=2)


def test_answer_text_in_its_charset_and_headers_lower_cased_and_joined(receiver: int) -> None:
    """A provider's error text reaches the delivery log readable (its charset honoured),
    and its headers are read by lower-case name, repeated ones joined."""
    with LOOPBACK:
        result = post_json(f"http://127.0.0.1:{receiver}/latin1", {"a": 1})
    assert result.status == 400
    assert result.text == "Échec : numéro refusé"
    assert result.headers["x-note"] == "one, two"
    assert result.headers["content-type"].startswith("text/plain")
    # the body was framed with its length: the receiver read exactly the JSON sent
    assert Handler.seen[-1][1] == '{"a": 1}'


def test_a_path_and_query_beyond_ascii_go_out_percent_encoded(receiver: int) -> None:
    """A webhook URL typed with accents still reaches its receiver (UTF-8, percent-encoded
    as a browser sends it); what was already encoded stays as it was."""
    with LOOPBACK:
        result = post_json(f"http://127.0.0.1:{receiver}/hooks/équipe?nom=café&x=a%20b", {})
    assert result.status == 200
    assert Handler.paths == ["/hooks/%C3%A9quipe?nom=caf%C3%A9&x=a%20b"]


def test_a_header_value_beyond_ascii_is_refused_not_raised(receiver: int) -> None:
    with LOOPBACK, pytest.raises(OutboundRefused, match="not sent"):
        post_json(f"http://127.0.0.1:{receiver}/hook", {}, headers={"X-Title": "Panne réseau"})
    assert Handler.seen == []


def test_an_international_host_name_is_sent_as_its_a_label(receiver: int) -> None:
    with LOOPBACK:
        result = post_json(
            f"http://alertes.bücher.example:{receiver}/hook", {}, resolver=answers("127.0.0.1")
        )
    assert result.status == 200
    assert Handler.seen == [(f"alertes.xn--bcher-kva.example:{receiver}", "{}")]


def test_a_charset_that_is_no_text_encoding_falls_back_to_utf8(receiver: int) -> None:
    """A receiver naming "base64" (a codec, not a text encoding) gets its answer read as
    UTF-8, not an exception out of the call."""
    with LOOPBACK:
        result = post_json(f"http://127.0.0.1:{receiver}/base64", {})
    assert result.status == 200
    assert result.text == "ok déjà"
