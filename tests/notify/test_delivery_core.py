"""The delivery core: channels behind one interface, what a message row carries, retries
per channel, cancelling, and what happens to a message no channel can send."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from aiosmtpd.controller import Controller

from tocsin.accounts.services import contact_method_add
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.notify.channels import MAIL_RETRY, PAGE_RETRY, Permanent, Sent, channel_for
from tocsin.notify.engine import OutboxModule
from tocsin.notify.models import OutboxMessage, OutboxState
from tocsin.notify.services import outbox_cancel, outbox_enqueue, outbox_enqueue_email

from .conftest import Inbox

pytestmark = pytest.mark.django_db


class Refusing(Inbox):
    """An SMTP server that answers RCPT TO with a fixed code."""

    def __init__(self, answer: str) -> None:
        super().__init__()
        self.answer = answer

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        return self.answer


def _smtp(settings: Any, handler: Inbox) -> Iterator[Inbox]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def rejecting_smtp(settings: Any) -> Iterator[Inbox]:
    yield from _smtp(settings, Refusing("550 5.1.1 No such user"))


@pytest.fixture
def deferring_smtp(settings: Any) -> Iterator[Inbox]:
    yield from _smtp(settings, Refusing("451 4.3.0 Try again later"))


def test_the_same_dedup_key_enqueued_twice_is_one_message(smtp_server) -> None:
    first = outbox_enqueue_email(
        recipient="rita@example.com", subject="P1", body="x", dedup_key="page:7:1"
    )
    again = outbox_enqueue_email(
        recipient="rita@example.com", subject="P1", body="x", dedup_key="page:7:1"
    )
    other = outbox_enqueue_email(recipient="rita@example.com", subject="P1", body="x")
    assert again.pk == first.pk != other.pk
    assert OutboxMessage.objects.count() == 2
    assert OutboxModule().tick(now()) == 2
    assert len(smtp_server.messages) == 2


def test_a_message_carries_payload_person_and_contact_method(agent, smtp_server) -> None:
    method = contact_method_add(
        user=agent, kind="email", address=agent.email, actor=Actor.system("test setup")
    )
    message = outbox_enqueue(
        channel="email",
        recipient=agent.email,
        subject="Page",
        body="Disk full",
        payload={"urgency": "high", "incident": 7},
        person=agent,
        contact_method=method,
    )
    message.refresh_from_db()
    assert (message.payload, message.person, message.contact_method_id) == (
        {"urgency": "high", "incident": 7},
        agent,
        method.pk,
    )
    OutboxModule().tick(now())
    message.refresh_from_db()
    assert message.state == OutboxState.SENT
    # The provider's id for it: for mail, the Message-ID the receiver saw.
    assert message.provider_message_id == smtp_server.messages[0]["Message-ID"]
    # and the contact method shows its last delivery worked
    method.refresh_from_db()
    assert method.last_delivery_ok is True and method.last_delivery_at is not None


def test_a_working_method_shows_its_last_delivery_to_the_minute_and_a_failure_at_once(
    agent, smtp_server, settings: Any
) -> None:
    """A storm's pages to one person do not rewrite the method's row on every send: the
    time of the last working delivery moves at most once a minute (the profile shows it
    to the minute), while a failure is written the moment it happens."""
    method = contact_method_add(
        user=agent, kind="email", address=agent.email, actor=Actor.system("test setup")
    )
    start = dt.datetime(2026, 3, 4, 12, 0, tzinfo=dt.UTC)

    def page_at(at: dt.datetime) -> None:
        with time_machine.travel(at, tick=False):
            outbox_enqueue(
                channel="email",
                recipient=agent.email,
                subject="Page",
                body="x",
                person=agent,
                contact_method=method,
            )
            OutboxModule().tick(now())
        method.refresh_from_db()

    page_at(start)
    assert (method.last_delivery_ok, method.last_delivery_at) == (True, start)
    page_at(start + dt.timedelta(seconds=30))
    assert method.last_delivery_at == start  # the same minute as far as anyone sees
    page_at(start + dt.timedelta(seconds=61))
    assert method.last_delivery_at == start + dt.timedelta(seconds=61)
    # a refused address ten seconds later is written at once, with its error
    refusing = _smtp(settings, Refusing("550 5.1.1 No such user"))
    next(refusing)
    try:
        page_at(start + dt.timedelta(seconds=71))
    finally:
        refusing.close()
    assert (method.last_delivery_ok, method.last_delivery_at) == (
        False,
        start + dt.timedelta(seconds=71),
    )
    assert "550" in method.last_error


def test_cancelled_messages_are_never_sent(smtp_server) -> None:
    keep = outbox_enqueue_email(recipient="a@example.com", subject="Keep", body="x")
    drop = outbox_enqueue_email(recipient="b@example.com", subject="Drop", body="x")
    assert outbox_cancel(message_ids=[drop.pk], reason="incident acknowledged") == 1
    assert outbox_cancel(message_ids=[drop.pk]) == 0  # already cancelled
    assert OutboxModule().tick(now()) == 1
    assert [m["Subject"] for m in smtp_server.messages] == ["Keep"]
    drop.refresh_from_db()
    assert (drop.state, drop.attempts, drop.last_error) == (
        OutboxState.CANCELLED,
        0,
        "incident acknowledged",
    )
    # A message already sent is not "cancelled" after the fact.
    assert outbox_cancel(message_ids=[keep.pk]) == 0
    keep.refresh_from_db()
    assert keep.state == OutboxState.SENT


def test_an_unknown_channel_fails_once_and_for_good() -> None:
    message = outbox_enqueue(channel="pigeon", recipient="loft 3", subject="Coo", body="x")
    module = OutboxModule()
    assert module.tick(now()) == 0
    message.refresh_from_db()
    assert message.state == OutboxState.FAILED
    assert message.attempts == 1
    assert "unknown channel 'pigeon'" in message.last_error
    with time_machine.travel(now() + dt.timedelta(hours=2), tick=False):
        assert module.tick(now()) == 0
    message.refresh_from_db()
    assert message.attempts == 1


def test_a_refused_recipient_is_a_permanent_failure(rejecting_smtp) -> None:
    message = outbox_enqueue_email(recipient="nobody@example.com", subject="Hi", body="x")
    assert OutboxModule().tick(now()) == 0
    message.refresh_from_db()
    assert message.state == OutboxState.FAILED
    assert message.attempts == 1
    assert "550" in message.last_error


def test_a_deferral_is_retried_after_the_channels_back_off(deferring_smtp) -> None:
    message = outbox_enqueue_email(recipient="busy@example.com", subject="Hi", body="x")
    before = now()
    assert OutboxModule().tick(before) == 0
    message.refresh_from_db()
    assert message.state == OutboxState.QUEUED
    assert "451" in message.last_error
    wait = message.not_before - before
    assert dt.timedelta(seconds=30) <= wait < dt.timedelta(seconds=60)


def test_every_channel_is_behind_one_interface() -> None:
    email = channel_for("email")
    assert email is not None and email.kind == "email"
    assert channel_for("pigeon") is None
    assert isinstance(Sent(), Sent) and Permanent("x").reason == "x"


def test_retry_policies_page_in_seconds_and_mail_within_minutes() -> None:
    page = [PAGE_RETRY.delay(n).total_seconds() for n in range(1, 5)]
    assert page == [5, 10, 20, 40]
    assert MAIL_RETRY.delay(1) <= dt.timedelta(minutes=1)
    assert MAIL_RETRY.delay(50) < dt.timedelta(hours=1)  # the last delay repeats
    assert PAGE_RETRY.lease > dt.timedelta(seconds=10)  # longer than a send can take


def test_a_message_to_a_removed_contact_method_fails_without_being_sent(agent, smtp_server) -> None:
    from tocsin.accounts.services import contact_method_remove

    method = contact_method_add(
        user=agent, kind="email", address=agent.email, actor=Actor.system("test setup")
    )
    message = outbox_enqueue(
        channel="email", recipient="", subject="Page", body="x", person=agent, contact_method=method
    )
    contact_method_remove(method=method, actor=Actor.system("test setup"))
    OutboxModule().tick(now())
    message.refresh_from_db()
    assert message.state == OutboxState.FAILED
    assert message.last_error == "the contact method was removed"
    assert smtp_server.messages == []
