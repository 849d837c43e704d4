"""outbox_manager: sends queued messages, at least once, doubled at most once per crash.

A message is claimed with a compare-and-set (queued, or `sending` with an expired lease
-> `sending`, attempts + 1) whose lease runs from the clock at the moment of the claim,
one message at a time just before it is sent; the outcome (sent, queued again, failed) is
written only by the holder of that claim (`state=sending AND attempts=n`). A turn stops
claiming when its time budget is spent (tocsin.core.budget), so a slow provider
delays the other modules by at most one send. Without a crash no message goes out
twice: another worker may take a message only after its lease has run out, and a
lease outlasts the longest a channel's `send` can take.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import F, Q

from tocsin.accounts.models import ContactMethod
from tocsin.core.budget import budget_spent
from tocsin.core.clock import now as clock_now
from tocsin.notify import hooks
from tocsin.notify.channels import Permanent, Result, Sent, Temporary, channel_for
from tocsin.notify.channels.base import MAIL_RETRY, RetryPolicy
from tocsin.notify.hooks import Outcome
from tocsin.notify.models import OutboxMessage, OutboxState

log = logging.getLogger("tocsin.notify")

# The lease of a channel that has no policy of its own (an unknown channel is failed
# at once, so this only bounds how long such a claim could stay `sending`).
LEASE = MAIL_RETRY.lease


def _due(at: dt.datetime) -> Q:
    return Q(state=OutboxState.QUEUED, not_before__lte=at) | Q(
        state=OutboxState.SENDING, lease_until__lt=at
    )


class OutboxModule:
    name = "outbox"
    batch = 20

    def _claimable(self, at: dt.datetime) -> list[tuple[int, str]]:
        qs = OutboxMessage.objects.filter(_due(at)).order_by("not_before", "id")
        return list(qs.values_list("pk", "channel")[: self.batch])

    def _claim(self, pk: int, at: dt.datetime, lease: dt.timedelta = LEASE) -> int | None:
        """Compare-and-set: queued (or an expired lease) -> sending, exactly one row.

        Returns the attempt number this claim holds, or None if another worker has it.
        """
        qs = OutboxMessage.objects.filter(_due(at), pk=pk)
        if (
            qs.update(state=OutboxState.SENDING, lease_until=at + lease, attempts=F("attempts") + 1)
            != 1
        ):
            return None
        return OutboxMessage.objects.filter(pk=pk).values_list("attempts", flat=True).get()

    def tick(self, now: dt.datetime) -> int:
        done = 0
        for pk, kind in self._claimable(clock_now()):
            if budget_spent():
                # The rest is claimed next turn, with leases of their own; a positive
                # count brings the worker back at once.
                return max(done, 1)
            channel = channel_for(kind)
            policy = channel.policy if channel is not None else MAIL_RETRY
            attempts = self._claim(pk, clock_now(), policy.lease)
            if attempts is None:
                continue  # another worker has it
            message = OutboxMessage.objects.get(pk=pk)
            if channel is None:
                result: Result = Permanent(f"unknown channel {message.channel!r}")
            else:
                try:
                    result = channel.send(message)
                except Exception as exc:  # a channel bug is retried like a provider failure
                    log.exception("channel %s raised on message %s", message.channel, pk)
                    result = Temporary(f"{exc.__class__.__name__}: {exc}")
            if self._finish(message, attempts, result, policy):
                done += 1
        return done

    def _finish(
        self, message: OutboxMessage, attempts: int, result: Result, policy: RetryPolicy
    ) -> bool:
        """Record the outcome, only if this worker still holds the claim; the contact
        method's delivery status and the `notify.hooks.on_outcome` hooks go in the same
        transaction."""
        with transaction.atomic():
            return self._record(message, attempts, result, policy)

    def _record(
        self, message: OutboxMessage, attempts: int, result: Result, policy: RetryPolicy
    ) -> bool:
        at = clock_now()
        outcome: Outcome
        mine = OutboxMessage.objects.filter(
            pk=message.pk, state=OutboxState.SENDING, attempts=attempts
        )
        if isinstance(result, Sent):
            updated = mine.update(
                state=OutboxState.SENT,
                sent_at=at,
                lease_until=None,
                last_error="",
                provider_message_id=result.provider_message_id[:300],
            )
            outcome = "sent"
        elif isinstance(result, Temporary) and attempts < policy.max_attempts:
            retry_after = result.retry_after or policy.delay(attempts)
            updated = mine.update(
                state=OutboxState.QUEUED,
                not_before=at + retry_after,
                lease_until=None,
                last_error=result.reason[:2000],
            )
            outcome = "retry"
            log.warning(
                "outbox message %s: attempt %s failed, retry in %ss: %s",
                message.pk,
                attempts,
                int(retry_after.total_seconds()),
                result.reason,
            )
        else:
            updated = mine.update(
                state=OutboxState.FAILED, lease_until=None, last_error=result.reason[:2000]
            )
            outcome = "failed"
            log.error("outbox message %s failed for good: %s", message.pk, result.reason)
        if not updated:
            log.error(
                "outbox message %s: the claim (attempt %s) was lost before its outcome "
                "was recorded; the lease is too short for this channel",
                message.pk,
                attempts,
            )
        else:
            reason = "" if isinstance(result, Sent) else result.reason
            if message.contact_method_id is not None and outcome != "retry":
                ContactMethod.objects.filter(pk=message.contact_method_id).update(
                    last_delivery_at=at,
                    last_delivery_ok=outcome == "sent",
                    last_error=reason[:2000],
                )
            hooks.run_outcome(message=message, outcome=outcome, reason=reason)
        return bool(updated) and isinstance(result, Sent)
