"""What the runbook tests share: a small organisation, a runbook maker, and a real HTTP
receiver on 127.0.0.1 that records what reached it and answers what a test scripts."""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tocsin.accounts.models import Role, User
from tocsin.catalog.models import Category, Service
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.learning import runbooks
from tocsin.learning.models import Runbook
from tocsin.notify.engine import OutboxModule

SETUP = Actor.system("test setup")


@dataclass
class Org:
    admin: User
    manager: User
    agent: User
    responder: User
    reporter: User
    service: Service
    other_service: Service
    category: Category


@pytest.fixture(name="org")
def org_fixture(make_user: Callable[..., User]) -> Org:
    return Org(
        admin=make_user(Role.ADMIN, username="ada"),
        manager=make_user(Role.MANAGER, username="maya"),
        agent=make_user(Role.AGENT, username="alice"),
        responder=make_user(Role.RESPONDER, username="rob"),
        reporter=make_user(Role.REPORTER, username="rita"),
        service=Service.objects.create(name="Payments API"),
        other_service=Service.objects.create(name="Search"),
        category=Category.objects.create(name="Network"),
    )


def make_runbook(
    name: str = "Card payments failing",
    *,
    service: Service | None = None,
    category: Category | None = None,
    run_on_open: bool = False,
    steps: list[runbooks.StepSpec] | None = None,
) -> Runbook:
    return runbooks.runbook_create(
        actor=SETUP,
        name=name,
        description="When **card payments** fail.",
        service=service,
        category=category,
        run_on_open=run_on_open,
        steps=steps
        if steps is not None
        else [
            runbooks.StepSpec(title="Check the processor status page"),
            runbooks.StepSpec(title="Restart the gateway", body="`systemctl restart gw`"),
            runbooks.StepSpec(title="Tell the stakeholders"),
        ],
    )


def tick(at: Any = None) -> int:
    return OutboxModule().tick(at or now())


@dataclass
class Got:
    path: str
    headers: dict[str, str]
    raw: bytes


@dataclass
class Receiver:
    """A real HTTP endpoint on loopback: every request it got, and what it answers."""

    status: int = 200
    reply: bytes = b'{"ok": true}'
    content_type: str = "application/json"
    requests: list[Got] = field(default_factory=list)
    port: int = 0
    server: Any = None

    def url(self, path: str = "/diagnose") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


DOCS = Path(__file__).resolve().parents[2] / "docs" / "runbooks.md"


def _documented_verify() -> Callable[[str, dict[str, str], bytes], bool]:
    """The receiver's check as docs/runbooks.md shows it, executed as it stands there."""
    text = DOCS.read_text()
    after = text[text.index("### Verifying the signature") :]
    match = re.search(r"```python\n(.*?)```", after, re.S)
    assert match, "no python block under 'Verifying the signature' in docs/runbooks.md"
    scope: dict[str, Any] = {}
    exec(match.group(1), scope)
    return scope["verify"]  # type: ignore[no-any-return]


_VERIFY = _documented_verify()


def verify(secret: str, got: Got) -> bool:
    """The signature check a receiver does (the docs' own code)."""
    headers = {
        "X-Tocsin-Timestamp": got.headers["x-tocsin-timestamp"],
        "X-Tocsin-Signature": got.headers["x-tocsin-signature"],
    }
    return _VERIFY(secret, headers, got.raw)


@pytest.fixture(name="receiver")
def receiver_fixture(settings: Any) -> Iterator[Receiver]:
    settings.TOCSIN_OUTBOUND_ALLOW = ["127.0.0.1/32"]
    rec = Receiver()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            rec.requests.append(
                Got(self.path, {k.lower(): v for k, v in self.headers.items()}, raw)
            )
            self.send_response(rec.status)
            self.send_header("Content-Type", rec.content_type)
            self.send_header("Content-Length", str(len(rec.reply)))
            self.end_headers()
            self.wfile.write(rec.reply)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    rec.server = server
    rec.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield rec
    server.shutdown()
    server.server_close()
