"""The outbox sends each message once, retries failures, and resends after a crash."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from tocsin.core.clock import now
from tocsin.notify.engine import LEASE, OutboxModule
from tocsin.notify.models import OutboxMessage, OutboxState
from tocsin.notify.services import outbox_enqueue_email

pytestmark = pytest.mark.django_db


def test_queued_mail_is_delivered_once_over_smtp(smtp_server) -> None:
    message = outbox_enqueue_email(recipient="rita@example.com", subject="Hello", body="Body")
    module = OutboxModule()
    assert module.tick(now()) == 1
    assert module.tick(now()) == 0  # nothing sent twice
    assert len(smtp_server.messages) == 1
    mail = smtp_server.messages[0]
    assert mail["To"] == "rita@example.com"
    assert mail["Subject"] == "Hello"
    assert str(message.message_id) in mail["Message-ID"]
    message.refresh_from_db()
    assert message.state == OutboxState.SENT
    assert message.attempts == 1


def test_failed_send_is_recorded_and_retried_later(closed_smtp_port, settings) -> None:
    message = outbox_enqueue_email(recipient="rita@example.com", subject="Hi", body="x")
    start = now()
    assert OutboxModule().tick(start) == 0
    message.refresh_from_db()
    assert message.state == OutboxState.QUEUED
    assert message.attempts == 1
    assert "Error" in message.last_error or "refused" in message.last_error.lower()
    assert message.not_before > start
    # Not retried before its back-off ...
    assert OutboxModule().tick(start + dt.timedelta(seconds=1)) == 0
    message.refresh_from_db()
    assert message.attempts == 1


def test_expired_lease_is_sent_again_with_the_same_message_id(smtp_server) -> None:
    """A worker that died mid-send leaves `sending`; after the lease the mail goes again."""
    message = outbox_enqueue_email(recipient="rob@example.com", subject="Page", body="x")
    start = now()
    module = OutboxModule()
    assert module._claim(message.pk, start)  # the crashed worker's claim
    assert module.tick(start + dt.timedelta(seconds=5)) == 0  # lease still held
    with time_machine.travel(start + LEASE + dt.timedelta(seconds=1), tick=False):
        assert module.tick(now()) == 1
    assert len(smtp_server.messages) == 1
    assert str(message.message_id) in smtp_server.messages[0]["Message-ID"]
    assert OutboxMessage.objects.get(pk=message.pk).attempts == 2
