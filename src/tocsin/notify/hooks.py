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

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from tocsin.accounts.models import User
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


# --- sections of a person's page (the paging profile, /people/<username>/paging/) -------
#
# A higher app that shows something about a person on their page (the learning app: their
# overdue action items) appends a function from its register(). Each is called by the
# page's view with the viewing person and the person shown, and returns a section to
# show (a template included with `context` added to the page's) or None.


@dataclass(frozen=True)
class PersonSection:
    template: str
    context: Mapping[str, Any] = field(default_factory=dict)


PersonSectionHook = Callable[["User | None", "User"], "PersonSection | None"]

person_page_sections: list[PersonSectionHook] = []


def register_person_section(hook: PersonSectionHook) -> None:
    """Append `hook` once (an app's ready() may run more than once in tests)."""
    if hook not in person_page_sections:
        person_page_sections.append(hook)


def person_sections(viewer: User | None, person: User) -> list[PersonSection]:
    return [s for hook in person_page_sections if (s := hook(viewer, person)) is not None]
