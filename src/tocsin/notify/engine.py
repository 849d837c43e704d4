"""outbox_manager: sends queued messages, at least once, doubled at most once per crash."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.db.models import F, Q

from tocsin.notify.models import OutboxMessage, OutboxState

log = logging.getLogger("tocsin.notify")

LEASE = dt.timedelta(seconds=60)
MAX_ATTEMPTS = 8


def _backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


class OutboxModule:
    name = "outbox"
    batch = 20

    def _claimable(self, at: dt.datetime) -> list[int]:
        qs = OutboxMessage.objects.filter(
            Q(state=OutboxState.QUEUED, not_before__lte=at)
            | Q(state=OutboxState.SENDING, lease_until__lt=at)
        ).order_by("not_before", "id")
        if connection.vendor == "postgresql":
            with transaction.atomic():
                return list(
                    qs.select_for_update(skip_locked=True).values_list("pk", flat=True)[
                        : self.batch
                    ]
                )
        return list(qs.values_list("pk", flat=True)[: self.batch])

    def _claim(self, pk: int, at: dt.datetime) -> bool:
        """Compare-and-set: queued (or an expired lease) -> sending, exactly one row."""
        return (
            OutboxMessage.objects.filter(pk=pk)
            .filter(
                Q(state=OutboxState.QUEUED, not_before__lte=at)
                | Q(state=OutboxState.SENDING, lease_until__lt=at)
            )
            .update(state=OutboxState.SENDING, lease_until=at + LEASE, attempts=F("attempts") + 1)
            == 1
        )

    def tick(self, now: dt.datetime) -> int:
        sent = 0
        for pk in self._claimable(now):
            if not self._claim(pk, now):
                continue  # another worker has it
            message = OutboxMessage.objects.get(pk=pk)
            try:
                self._send(message)
            except Exception as exc:  # a provider failure is recorded and retried
                failed = message.attempts >= MAX_ATTEMPTS
                OutboxMessage.objects.filter(pk=pk, state=OutboxState.SENDING).update(
                    state=OutboxState.FAILED if failed else OutboxState.QUEUED,
                    not_before=now + _backoff(message.attempts),
                    lease_until=None,
                    last_error=f"{exc.__class__.__name__}: {exc}"[:2000],
                )
                log.warning("outbox message %s failed (attempt %s): %s", pk, message.attempts, exc)
                continue
            OutboxMessage.objects.filter(pk=pk).update(
                state=OutboxState.SENT, sent_at=now, lease_until=None, last_error=""
            )
            sent += 1
        return sent

    def _send(self, message: OutboxMessage) -> None:
        if message.channel != "email":
            raise ValueError(f"unknown channel {message.channel!r}")
        mail = EmailMessage(
            subject=message.subject,
            body=message.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.recipient],
            headers={"Message-ID": f"<{message.message_id}@tocsin>"},
            connection=get_connection(timeout=10),
        )
        mail.send(fail_silently=False)
