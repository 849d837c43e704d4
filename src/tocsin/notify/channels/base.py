"""The one interface every delivery channel implements.

A channel is a module `tocsin/notify/channels/<kind>.py` with a `kind`, a retry `policy`
and `send(message) -> Sent | Temporary | Permanent`. `send` never raises on a provider's
answer: it says what happened, and the outbox records it (sent, queued again after a
back-off, or failed for good). An exception that escapes anyway counts as temporary.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from tocsin.notify.models import OutboxMessage


@dataclass(frozen=True)
class Sent:
    """The provider took the message; its own id for it, if it gives one."""

    provider_message_id: str = ""


@dataclass(frozen=True)
class Temporary:
    """Try again later (after `retry_after`, else the channel's back-off)."""

    reason: str
    retry_after: dt.timedelta | None = None


@dataclass(frozen=True)
class Permanent:
    """Never try again (a refused address, an unknown channel, a bad payload)."""

    reason: str


Result = Sent | Temporary | Permanent


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how soon a channel retries a temporary failure.

    `delays[i]` is the wait after the (i+1)-th failed attempt; the last one repeats.
    `lease` is how long a claimed message is held before another worker may take it
    (it must exceed the longest a single `send` can take).
    """

    max_attempts: int
    delays: tuple[int, ...]
    lease: dt.timedelta = dt.timedelta(seconds=60)

    def delay(self, attempts: int) -> dt.timedelta:
        index = min(max(attempts - 1, 0), len(self.delays) - 1)
        return dt.timedelta(seconds=self.delays[index])


# Pages (SMS, voice, push): seconds, doubling, within about five minutes.
PAGE_RETRY = RetryPolicy(max_attempts=8, delays=(5, 10, 20, 40, 60, 60, 60))
# Mail: longer, but never an hour before the first retry.
MAIL_RETRY = RetryPolicy(max_attempts=8, delays=(30, 60, 120, 300, 600, 1200, 1800))


class Channel(Protocol):
    kind: str
    policy: RetryPolicy

    def send(self, message: OutboxMessage) -> Result: ...


def address_of(message: OutboxMessage) -> str:
    """Where the message goes: its recipient, else its contact method's address (read
    and decrypted at send time, so secret addresses never sit in the outbox). A method
    the person has removed since the message was queued has no address: the message
    fails for good and a page moves on to the person's next method."""
    if message.recipient:
        return message.recipient
    if message.contact_method_id is None:
        return ""
    from tocsin.accounts.services import contact_address

    method = message.contact_method
    if method is None or method.disabled_at is not None:
        return ""
    return contact_address(method)
