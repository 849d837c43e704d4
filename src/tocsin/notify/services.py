"""Queueing and cancelling outbound messages (inside the caller's transaction)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction

from tocsin.accounts.models import SECRET_CONTACT_KINDS, ContactMethod
from tocsin.accounts.services import contact_address
from tocsin.core.actors import Actor
from tocsin.core.audit import audit_record
from tocsin.core.clock import now
from tocsin.core.errors import Conflict
from tocsin.core.fastinsert import insert
from tocsin.core.wake import work_committed
from tocsin.notify.models import OutboxMessage, OutboxState


def outbox_enqueue(
    *,
    channel: str,
    recipient: str,
    subject: str = "",
    body: str = "",
    payload: dict[str, Any] | None = None,
    dedup_key: str | None = None,
    incident: Any | None = None,
    person: Any | None = None,
    contact_method: Any | None = None,
    purpose: str = "mail",
    not_before: dt.datetime | None = None,
    new_key: bool = False,
) -> OutboxMessage:
    """A queued message, sent by the worker after the caller's transaction commits.

    With a `dedup_key`, enqueueing again (a retry, a second worker) returns the row
    that already has that key instead of a second one. `new_key=True` is for a caller
    that knows the key is new (it holds the claim that makes it): no look-up first, and
    a clash is an IntegrityError that rolls the caller back.
    """
    at = now()
    fields: dict[str, Any] = {
        "channel": channel,
        "recipient": recipient,
        "subject": subject[:300],
        "body": body,
        "payload": payload or {},
        "created_at": at,
        "not_before": not_before or at,
        "incident": incident,
        "person": person,
        "contact_method": contact_method,
        "purpose": purpose,
    }
    if dedup_key is None:
        message = insert(OutboxMessage(**fields))
    elif new_key:
        message = insert(OutboxMessage(dedup_key=dedup_key, **fields))
    else:
        existing = OutboxMessage.objects.filter(dedup_key=dedup_key).first()
        if existing is not None:
            return existing
        try:
            with transaction.atomic():
                message = OutboxMessage.objects.create(dedup_key=dedup_key, **fields)
        except IntegrityError:  # enqueued at the same moment by someone else
            return OutboxMessage.objects.get(dedup_key=dedup_key)
    work_committed()
    return message


def outbox_enqueue_email(
    *,
    recipient: str,
    subject: str,
    body: str,
    incident: Any | None = None,
    person: Any | None = None,
    dedup_key: str | None = None,
) -> OutboxMessage:
    return outbox_enqueue(
        channel="email",
        recipient=recipient,
        subject=subject,
        body=body,
        incident=incident,
        person=person,
        dedup_key=dedup_key,
    )


def outbox_cancel(
    *,
    message_ids: Iterable[int] | None = None,
    incident: Any | None = None,
    dedup_key: str | None = None,
    reason: str = "",
) -> int:
    """Cancel messages still queued (selected by ids, incident or key); how many.

    A message already being sent (`sending`) or done is left alone: cancelling is a
    compare-and-set on `queued`, so it never races with a worker's claim.
    """
    if message_ids is None and incident is None and dedup_key is None:
        raise ValueError("outbox_cancel needs message_ids, incident or dedup_key")
    qs = OutboxMessage.objects.filter(state=OutboxState.QUEUED)
    if message_ids is not None:
        qs = qs.filter(pk__in=list(message_ids))
    if incident is not None:
        qs = qs.filter(incident=incident)
    if dedup_key is not None:
        qs = qs.filter(dedup_key=dedup_key)
    return qs.update(
        state=OutboxState.CANCELLED, lease_until=None, last_error=reason[:2000] or "cancelled"
    )


@transaction.atomic
def contact_method_test(*, method: ContactMethod, actor: Actor) -> OutboxMessage:
    """Queues one test message to this contact method.

    Kinds without a channel yet are queued anyway; the worker fails them as "no channel",
    which shows on the method (last_delivery_ok) once deliveries report back.
    """
    if method.disabled_at is not None:
        raise Conflict("This contact method is disabled.")
    message = outbox_enqueue(
        channel=method.kind,
        # Secret addresses (webhook, Apprise) stay encrypted on the method; the channel
        # reads them at send time (channels.base.address_of).
        recipient="" if method.kind in SECRET_CONTACT_KINDS else contact_address(method),
        subject="Tocsin test message",
        body=f"This is a test message from Tocsin to {method.user.display_name}.",
        person=method.user,
        contact_method=method,
        purpose="test",
    )
    audit_record(
        actor=actor,
        action="contact_method.test",
        obj=method,
        after={"user": method.user.username, "kind": method.kind, "outbox": message.pk},
    )
    return message
