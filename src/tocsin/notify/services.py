"""Queueing outbound messages (inside the caller's transaction)."""

from __future__ import annotations

from tocsin.core.clock import now
from tocsin.notify.models import OutboxMessage


def outbox_enqueue_email(
    *, recipient: str, subject: str, body: str, incident: object | None = None
) -> OutboxMessage:
    at = now()
    return OutboxMessage.objects.create(
        channel="email",
        recipient=recipient,
        subject=subject[:300],
        body=body,
        created_at=at,
        not_before=at,
        incident=incident,  # type: ignore[misc]
    )
