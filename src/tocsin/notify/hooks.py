"""What apps above notify ask to happen when a delivery ends, without notify importing them.

`on_outcome` hooks are called by the outbox INSIDE the transaction that records a
message's outcome, only by the worker that holds the claim, and only for outcomes that
end an attempt for good or for now:

- `outcome="sent"`: the provider took it;
- `outcome="failed"`: failed for good (a permanent failure, or the last retry);
- `outcome="retry"`: a temporary failure, queued again.

The escalation app registers one: a failed page is written on the incident's timeline
and the person's next method is brought forward (issue 10, N4). An exception in a hook
rolls the outcome back; the message stays `sending` until its lease runs out and is then
retried, so a hook must not fail on ordinary data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from tocsin.notify.models import OutboxMessage

Outcome = Literal["sent", "failed", "retry"]


class OutcomeHook(Protocol):
    def __call__(self, *, message: OutboxMessage, outcome: Outcome, reason: str) -> object: ...


on_outcome: list[OutcomeHook] = []


def register(hook: OutcomeHook) -> None:
    if hook not in on_outcome:
        on_outcome.append(hook)


def run_outcome(*, message: OutboxMessage, outcome: Outcome, reason: str = "") -> None:
    for hook in on_outcome:
        hook(message=message, outcome=outcome, reason=reason)


# --- webhooks that sign with a secret of their own (comms automation webhooks) ----------
#
# A higher app that sends through the generic webhook channel with its own signing secret
# registers a resolver for its message `purpose`. At send time (outside any transaction)
# the channel asks it where the message goes, with which secret, and which JSON document
# to send as the body: the address, secret and body are read from the app's own rows, so
# an edited URL, a rotated secret or a disabled webhook applies to messages still queued.
# The resolver answers a string instead to fail the message for good with that reason.


@dataclass(frozen=True)
class WebhookTarget:
    url: str
    secret: str
    document: dict[str, Any]
    # keep the reply's status and a capped excerpt of its body for the outcome hooks
    # (`tocsin.notify.channels.webhook.reply_of`): the learning app's runbook steps
    keep_reply: bool = False


class WebhookResolver(Protocol):
    def __call__(self, *, message: OutboxMessage) -> WebhookTarget | str: ...


webhook_resolvers: dict[str, WebhookResolver] = {}


def register_webhook_resolver(purpose: str, resolver: WebhookResolver) -> None:
    webhook_resolvers[purpose] = resolver
