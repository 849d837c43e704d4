"""A test double of Tocsin's own webhook-style channel, and loopback receivers for it.

The channel POSTs each message as JSON through tocsin.core.outbound (SSRF-safe; tests
allow loopback with TOCSIN_OUTBOUND_ALLOW) with the message id as `Idempotency-Key`, to
the URL that is the message's address, or, for an address that is not a URL (an SMS
number), to SMS_URL as an SMS provider would be called. Tests register it for a kind with
`CHANNELS[kind] = "tests.notify.outbox_testchannel"` (in-process with monkeypatch; in a
`tocsin worker` child with the WORKER wrapper below).

Receivers are real HTTP servers on 127.0.0.1 recording every request; the tarpit is a
listening socket that never accepts, so a connection is made and never answered.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tocsin.core import outbound
from tocsin.notify.channels.base import (
    Permanent,
    Result,
    RetryPolicy,
    Sent,
    Temporary,
    address_of,
)

kind = "testhook"
policy = RetryPolicy(max_attempts=8, delays=(1, 2, 4), lease=dt.timedelta(seconds=30))
TIMEOUT = float(os.environ.get("TOCSIN_TEST_CHANNEL_TIMEOUT", "5"))
SMS_URL = os.environ.get("TOCSIN_TEST_SMS_URL", "")


def send(message: Any) -> Result:
    address = address_of(message)
    url = address if "://" in address else SMS_URL
    body = {
        "message_id": str(message.message_id),
        "to": address,
        "subject": message.subject,
        "body": message.body,
        "payload": message.payload,
    }
    try:
        answer = outbound.post_json(
            url, body, headers={"Idempotency-Key": str(message.message_id)}, timeout=TIMEOUT
        )
    except outbound.OutboundRefused as exc:
        return Permanent(exc.reason)
    except outbound.OutboundError as exc:
        return Temporary(str(exc))
    if 200 <= answer.status < 300:
        return Sent(f"test:{message.message_id}")
    if answer.status == 429 or answer.status >= 500:
        return Temporary(f"HTTP {answer.status}")
    return Permanent(f"HTTP {answer.status}: {answer.text[:200]}")


# A `tocsin worker` with this channel registered for the kinds in TOCSIN_TEST_CHANNEL_KINDS
# (run as `python -c WORKER`).
WORKER = """
import os, sys
from tocsin.notify import channels
for kind in os.environ.get("TOCSIN_TEST_CHANNEL_KINDS", "webhook").split(","):
    channels.CHANNELS[kind] = "tests.notify.outbox_testchannel"
from tocsin.cli import main
sys.exit(main(["worker"]))
"""


@dataclass
class Request:
    began: float
    at: float
    path: str
    key: str
    body: dict[str, Any]


@dataclass
class Receiver:
    """An HTTP server on loopback that records every request and answers `status` after
    `delay` seconds."""

    delay: float = 0.0
    status: int = 200
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                began = time.monotonic()
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {}
                if receiver.delay:
                    time.sleep(receiver.delay)
                with receiver.lock:
                    receiver.requests.append(
                        Request(
                            began,
                            time.monotonic(),
                            self.path,
                            self.headers.get("Idempotency-Key", ""),
                            body,
                        )
                    )
                    status = receiver.status
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def idempotency_keys(self) -> list[str]:
        with self.lock:
            return [r.key for r in self.requests]

    def intervals(self) -> list[tuple[float, float]]:
        with self.lock:
            return [(r.began, r.at) for r in self.requests]

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


class Tarpit:
    """Accepts TCP connections (the kernel completes the handshake) and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


def most_at_once(intervals: list[tuple[float, float]]) -> int:
    """The most requests being answered at the same moment."""
    return max((sum(1 for b, e in intervals if b <= t < e) for t, _ in intervals), default=0)
