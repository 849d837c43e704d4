"""A real `tocsin smtp` server (tocsin.incidents.smtp.serve) on a free loopback port, in a
thread of this process, so it shares the test database (tests use
django_db(transaction=True) so that the server's thread sees their rows)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tocsin.catalog.models import Integration, IntegrationKind, Service
from tocsin.catalog.services import integration_create, service_create
from tocsin.core.actors import Actor
from tocsin.incidents import smtp


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    host: str
    port: int


@pytest.fixture
def intake(settings: Any, tmp_path: Path) -> Iterator[Server]:
    settings.MEDIA_ROOT = tmp_path / "attachments"
    port = free_port()
    started = threading.Event()
    holder: dict[str, Any] = {}

    def run() -> None:
        loop = asyncio.new_event_loop()
        holder["loop"] = loop

        async def main() -> None:
            ready = asyncio.Event()
            task = asyncio.ensure_future(smtp.serve("127.0.0.1", port, ready=ready))
            holder["task"] = task
            waiter = asyncio.ensure_future(ready.wait())
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
            started.set()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        try:
            loop.run_until_complete(main())
        except BaseException as exc:  # reported to the test below
            holder["error"] = exc
            started.set()
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="tocsin-smtp-test", daemon=True)
    thread.start()
    assert started.wait(10), "the smtp server did not start"
    task = holder.get("task")
    if task is not None and task.done() and task.exception() is not None:
        raise task.exception()
    try:
        yield Server("127.0.0.1", port)
    finally:
        loop = holder["loop"]
        if not loop.is_closed():
            loop.call_soon_threadsafe(holder["task"].cancel)
        thread.join(10)


@dataclass
class EmailIntegration:
    service: Service
    integration: Integration
    key: str

    def address(self, domain: str = "tocsin.example.com") -> str:
        return f"{self.key}@{domain}"


@pytest.fixture
def mailbox(db: None) -> EmailIntegration:
    service = service_create(name="Payroll", actor=Actor.system("test setup"))
    integration, key = integration_create(
        service=service,
        kind=IntegrationKind.EMAIL,
        name="Service desk mailbox",
        actor=Actor.system("test setup"),
    )
    return EmailIntegration(service, integration, key)
