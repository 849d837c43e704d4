"""What the automation webhook tests share: the receiver from docs/automation-webhooks.md
run as it stands there on loopback, the engine tick, and a small organisation (two teams
with their managers and services)."""

from __future__ import annotations

import http.server
import io
import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tocsin.accounts.models import Role, Team, User
from tocsin.catalog.models import Service
from tocsin.comms import automation
from tocsin.comms.models import AutomationDelivery, AutomationWebhook
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.notify.engine import OutboxModule
from tocsin.notify.models import OutboxMessage

DOCS = Path(__file__).resolve().parents[2] / "docs" / "automation-webhooks.md"


def doc_block(heading: str, language: str = "python") -> str:
    text = DOCS.read_text()
    after = text[text.index(heading) :]
    match = re.search(rf"```{language}\n(.*?)```", after, re.S)
    assert match, f"no {language} block after {heading!r} in {DOCS.name}"
    return match.group(1)


# The documented verification and receiver, executed as they stand in the docs.
RECIPE: dict[str, Any] = {}
exec(doc_block("### Verifying a request (Python)"), RECIPE)
exec(doc_block("### A receiver (Python, standard library only)"), RECIPE)
verify: Callable[[str, dict[str, str], bytes], bool] = RECIPE["verify"]


@dataclass
class Got:
    headers: dict[str, str]
    raw: bytes

    def json(self) -> Any:
        return json.loads(self.raw)


@dataclass
class Hook:
    """The documented receiver on 127.0.0.1: what reached it (every request), which
    events it handled (after the signature check and the Idempotency-Key drop), and a
    script of failures to answer first (500, ...)."""

    secret: str = ""
    requests: list[Got] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    fail_with: list[int] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # what it answered, in order
    port: int = 0
    server: Any = None

    def url(self, path: str = "/tocsin") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def names(self) -> list[str]:
        return [e["event"] for e in self.events]


def start_hook() -> Hook:
    hook = Hook()
    documented = RECIPE["Receiver"]

    class Handler(documented):  # type: ignore[misc, valid-type]
        handled: set[str] = set()

        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.secret = hook.secret
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            hook.requests.append(Got({k.lower(): v for k, v in self.headers.items()}, raw))
            if hook.fail_with:
                self.answer(hook.fail_with.pop(0))
                return
            self.rfile = io.BytesIO(raw)  # the documented handler reads the body itself
            super().do_POST()

        def answer(self, status: int) -> None:
            hook.statuses.append(status)
            super().answer(status)

        def on_event(self, event: dict[str, Any]) -> None:
            hook.events.append(event)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    hook.server = server
    hook.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return hook


@pytest.fixture(name="hook")
def hook_fixture(settings: Any) -> Iterator[Hook]:
    settings.TOCSIN_OUTBOUND_ALLOW = ["127.0.0.1/32"]
    h = start_hook()
    yield h
    h.server.shutdown()
    h.server.server_close()


def tick(at: Any = None) -> int:
    return OutboxModule().tick(at or now())


def automation_messages(webhook: AutomationWebhook | None = None) -> list[OutboxMessage]:
    qs = AutomationDelivery.objects.select_related("message").order_by("message__id")
    if webhook is not None:
        qs = qs.filter(webhook=webhook)
    return [d.message for d in qs]


SETUP = Actor.system("test setup")


@dataclass
class Org:
    admin: User
    manager: User  # manages team A (Payments)
    other_manager: User  # manages team B (Search)
    agent: User
    reporter: User
    team: Team
    other_team: Team
    service: Service
    other_service: Service


@pytest.fixture(name="org")
def org_fixture(make_user: Callable[..., User]) -> Org:
    admin = make_user(Role.ADMIN, username="ada")
    manager = make_user(Role.MANAGER, username="maya")
    other_manager = make_user(Role.MANAGER, username="otto")
    agent = make_user(Role.AGENT, username="alice")
    reporter = make_user(Role.REPORTER, username="rita")
    team = Team.objects.create(name="Payments team", manager=manager)
    other_team = Team.objects.create(name="Search team", manager=other_manager)
    service = Service.objects.create(name="Payments API", team=team)
    other_service = Service.objects.create(name="Search", team=other_team)
    return Org(
        admin, manager, other_manager, agent, reporter, team, other_team, service, other_service
    )


def make_webhook(
    url: str,
    *,
    service: Service | None,
    events: list[str] | None = None,
    name: str = "Hook",
    by: User | None = None,
) -> tuple[AutomationWebhook, str]:
    return automation.automation_webhook_create(
        actor=Actor.for_user(by) if by is not None else SETUP,
        name=name,
        service=service,
        url=url,
        events=list(events or automation.EVENTS),
    )
