from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any, TypeVar

import pytest
from aiosmtpd.controller import Controller


@dataclass
class Inbox:
    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


InboxT = TypeVar("InboxT", bound=Inbox)


def _serve(settings: Any, inbox: InboxT) -> Iterator[InboxT]:
    """Run `inbox` as a real SMTP server (aiosmtpd) on loopback; Django's mail goes to it."""
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[Inbox]:
    """A real SMTP server (aiosmtpd) on loopback; Django's mail goes to it."""
    yield from _serve(settings, Inbox())


@pytest.fixture
def closed_smtp_port(settings: Any) -> int:
    port = _free_port()  # nothing listens there
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    return port


@dataclass
class SlowInbox(Inbox):
    """Takes `delay` seconds to answer each DATA, like a slow or distant provider."""

    delay: float = 0.2

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def slow_smtp_server(settings: Any) -> Iterator[SlowInbox]:
    """A real SMTP server on loopback that answers each message after a delay."""
    yield from _serve(settings, SlowInbox())
