"""Subscriptions to the public status page (docs/status-page.md, "Subscriptions").

- Email, per component or all: double opt-in. `subscribe()` stores an unconfirmed
  subscriber and queues a confirmation mail with a signed link (valid CONFIRM_DAYS); the
  link's page asks to confirm with a button (a POST: no GET changes anything).
- Webhook: a URL (checked as outbound calls are: http(s), no private, loopback or
  metadata address) with an email address that confirms it, as above. Each public update
  is a signed POST through the outbox (the webhook channel's signature; its secret is
  shown once on confirmation).
- Every mail carries RFC 8058 one-click unsubscription: `List-Unsubscribe:
  <…/status/unsubscribe/<token>>` and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`;
  a POST to that URL unsubscribes.
- Subscribe requests are throttled per client address and per email address, so the
  form cannot bomb a mailbox with confirmation mail.

The listener of `comms.events` "public_update" queues one message per confirmed
subscriber of the affected components (dedup key per update and subscriber), in the
caller's transaction; the worker sends them after it commits.
"""

from __future__ import annotations

import datetime as dt
import secrets
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q

from tocsin.comms import events
from tocsin.comms.models import (
    Component,
    PublicUpdate,
    StatusSubscriber,
    SubscriberKind,
    SubscribeThrottle,
)
from tocsin.comms.public import base_url
from tocsin.comms.services import status_page
from tocsin.core import outbound
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.core.crypto import decrypt, encrypt
from tocsin.incidents.models import Incident
from tocsin.notify import hooks as notify_hooks
from tocsin.notify.channels.webhook import body_of
from tocsin.notify.hooks import WebhookTarget
from tocsin.notify.models import OutboxMessage
from tocsin.notify.services import outbox_enqueue

CONFIRM_DAYS = 7
_SALT = "tocsin.comms.subscribe-confirm"
# (scope, requests allowed, per window)
LIMITS = {"ip": (10, dt.timedelta(hours=1)), "email": (3, dt.timedelta(days=1))}


class SubscribeError(ValueError):
    """Bad input: `field` names the form field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class Throttled(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__("too many subscribe requests")
        self.retry_after = retry_after


def unsubscribe_url(sub: StatusSubscriber) -> str:
    return f"{base_url()}/status/unsubscribe/{sub.token}"


def confirm_url(sub: StatusSubscriber) -> str:
    signed = signing.TimestampSigner(salt=_SALT).sign(sub.token)
    return f"{base_url()}/status/subscribe/confirm/{signed}/"


def check_webhook_url(url: str) -> str:
    """The URL, if Tocsin may call it: http(s), a public address (TOCSIN_OUTBOUND_ALLOW
    aside). The same check runs again at every send (core/outbound.py)."""
    url = url.strip()
    if not url:
        raise SubscribeError("url", "Enter the webhook URL.")
    if len(url) > 500:
        raise SubscribeError("url", "The URL is longer than 500 characters.")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise SubscribeError("url", "This URL is malformed.") from None
    if "#" in url or parts.username is not None or parts.password is not None:
        raise SubscribeError("url", "This URL cannot be used: no #fragment and no user name.")
    try:
        outbound._check(url, socket.getaddrinfo)  # the outbound guard's own check
    except (outbound.OutboundRefused, outbound.OutboundError):
        # The reason stays here: told to an anonymous visitor it would map the internal
        # network ("db.corp: 10.1.2.3 is a private address").
        raise SubscribeError(
            "url", "This URL cannot be used: it must be http(s) on a public address."
        ) from None
    return url


def _throttle(scope: str, key: str, at: dt.datetime) -> None:
    allowed, window = LIMITS[scope]
    row, _ = SubscribeThrottle.objects.select_for_update().get_or_create(
        scope=scope, key=key[:300], defaults={"window_start": at, "count": 0}
    )
    if row.window_start + window <= at:
        row.window_start, row.count = at, 0
    if row.count >= allowed:
        raise Throttled(max(1, int((row.window_start + window - at).total_seconds())))
    row.count += 1
    row.save(update_fields=["window_start", "count"])


def subscribe(
    *, kind: str, email: str, url: str = "", component_ids: list[int], ip: str | None
) -> StatusSubscriber:
    """Store an unconfirmed subscription and queue its confirmation mail. Raises
    SubscribeError (bad input, nothing stored) or Throttled."""
    if kind not in SubscriberKind.values:
        raise SubscribeError("kind", "Choose email or webhook.")
    email = email.strip()
    try:
        validate_email(email)
    except ValidationError:
        raise SubscribeError("email", "Enter a valid email address.") from None
    comps = list(
        Component.objects.filter(pk__in=component_ids, archived_at__isnull=True, showcase=True)
    )
    if len(comps) != len(set(component_ids)):
        raise SubscribeError("components", "Choose components from the list.")
    at = now()
    with transaction.atomic():
        # the throttle counts in its own rows: a refused request changes nothing else;
        # it comes before the URL's look-up, which must not be free to repeat
        _throttle("ip", ip or "unknown", at)
    url = check_webhook_url(url) if kind == SubscriberKind.WEBHOOK else ""
    with transaction.atomic():
        _throttle("email", email.lower(), at)
    secret = f"whsec_{secrets.token_urlsafe(32)}" if kind == SubscriberKind.WEBHOOK else ""
    with transaction.atomic():
        sub = StatusSubscriber.objects.create(
            kind=kind,
            email=email,
            url=url,
            token=secrets.token_urlsafe(32),
            secret_encrypted=encrypt(secret) if secret else "",
            created_at=at,
        )
        sub.components.set(comps)
        page = status_page()
        # the URL stays out of the mail: a stranger's text in a mail from the organisation
        what = "a webhook" if url else "email updates"
        scope = ", ".join(c.name for c in comps) if comps else "all components"
        outbox_enqueue(
            channel="email",
            recipient=email,
            subject=" ".join(f"Confirm your subscription to {page.name}".split()),
            body=(
                f"Someone (hopefully you) asked for {what} from {page.name} "
                f"({scope}).\n\nTo confirm, open this link and press Confirm:\n"
                f"{confirm_url(sub)}\n\nThe link works for {CONFIRM_DAYS} days. If you did "
                "not ask for this, ignore this message: nothing will be sent."
            ),
            purpose="status-subscribe",
            dedup_key=f"status-confirm:{sub.pk}",
        )
    return sub


def subscriber_for_confirmation(signed: str) -> StatusSubscriber | None:
    """The subscriber a confirmation link names, if the link is genuine and fresh."""
    try:
        token = signing.TimestampSigner(salt=_SALT).unsign(
            signed, max_age=dt.timedelta(days=CONFIRM_DAYS)
        )
    except signing.BadSignature:
        return None
    return StatusSubscriber.objects.filter(token=token, unsubscribed_at__isnull=True).first()


@transaction.atomic
def subscription_confirm(*, sub: StatusSubscriber) -> StatusSubscriber:
    """Confirm; older subscriptions of the same address (and URL) end, so confirming
    again replaces the components rather than doubling the mail."""
    at = now()
    if sub.confirmed_at is None:
        StatusSubscriber.objects.filter(pk=sub.pk).update(confirmed_at=at)
        sub.confirmed_at = at
        StatusSubscriber.objects.filter(
            kind=sub.kind,
            email__iexact=sub.email,
            url=sub.url,
            confirmed_at__isnull=False,
            unsubscribed_at__isnull=True,
        ).exclude(pk=sub.pk).update(unsubscribed_at=at)
    return sub


def webhook_secret(sub: StatusSubscriber) -> str:
    """The subscriber's own signing secret (random at subscription; never the secret
    Tocsin derives for a URL, which signs every other webhook to that URL)."""
    if not sub.secret_encrypted:
        return ""
    try:
        return decrypt(sub.secret_encrypted)
    except ValueError:
        return ""


def resolve(*, message: OutboxMessage) -> WebhookTarget | str:
    """The notify webhook channel asks this at send time for a status-update webhook:
    the subscriber's URL, its own secret, and the usual body."""
    parts = (message.dedup_key or "").split(":")
    sub = None
    if len(parts) == 3 and parts[0] == "status-update" and parts[2].isdigit():
        sub = StatusSubscriber.objects.filter(pk=int(parts[2])).first()
    if sub is None or sub.kind != SubscriberKind.WEBHOOK:
        return "the status-page subscriber is gone"
    if sub.unsubscribed_at is not None:
        return "the status-page subscriber unsubscribed"
    secret = webhook_secret(sub)
    if not secret:
        return "the status-page subscriber has no signing secret"
    return WebhookTarget(url=sub.url, secret=secret, document=body_of(message))


@transaction.atomic
def unsubscribe(*, token: str) -> StatusSubscriber | None:
    sub = StatusSubscriber.objects.filter(token=token).first()
    if sub is not None and sub.unsubscribed_at is None:
        sub.unsubscribed_at = now()
        sub.save(update_fields=["unsubscribed_at"])
    return sub


# --- delivery of public updates -------------------------------------------------------------


@dataclass(frozen=True)
class _Subject:
    kind: str  # "incident" or "maintenance"
    title: str
    link: str
    component_ids: list[int]
    document: dict[str, Any]


def _subject_of(update: PublicUpdate) -> _Subject | None:
    from tocsin.comms.public import EventView, maintenance_status
    from tocsin.comms.statuspage_json import event_json, page_json

    parent = update.public_incident or update.maintenance
    if parent is None or parent.published_at is None:
        return None  # a draft never leaves
    comps = list(parent.components.filter(archived_at__isnull=True, showcase=True))
    updates = list(parent.updates.order_by("-created_at", "-id"))
    if update.public_incident is not None:
        view = EventView(parent, "incident", parent.status, updates, comps)
        link = f"{base_url()}/status/incidents/{parent.pk}/"
        key = "incident"
    else:
        view = EventView(
            parent,
            "maintenance",
            maintenance_status(update.maintenance, now()),  # type: ignore[arg-type]
            updates,
            comps,
        )
        link = f"{base_url()}/status/#maintenance-{parent.pk}"
        key = "scheduled_maintenance"

    return _Subject(
        kind=view.kind,
        title=parent.title,
        link=link,
        component_ids=[c.pk for c in comps],
        document={key: event_json(view), "page": page_json(status_page())},
    )


def recipients(component_ids: list[int]) -> list[StatusSubscriber]:
    """Confirmed subscribers of any of these components, or of all."""
    return list(
        StatusSubscriber.objects.filter(confirmed_at__isnull=False, unsubscribed_at__isnull=True)
        .filter(Q(components__isnull=True) | Q(components__in=component_ids))
        .distinct()
        .order_by("pk")
    )


def public_update_enqueue(*, update_id: int) -> int:
    """Queue one message per subscriber for this public update; the number queued."""
    update = (
        PublicUpdate.objects.select_related("public_incident", "maintenance")
        .filter(pk=update_id)
        .first()
    )
    if update is None:
        return 0
    subject = _subject_of(update)
    if subject is None:
        return 0
    page = status_page()
    count = 0
    status = update.status.replace("_", " ").capitalize()
    for sub in recipients(subject.component_ids):
        dedup = f"status-update:{update.pk}:{sub.pk}"
        if sub.kind == SubscriberKind.WEBHOOK:
            payload = {
                "meta": {"unsubscribe": unsubscribe_url(sub), "documentation": base_url()},
                **subject.document,
            }
            outbox_enqueue(
                channel="webhook",
                recipient=sub.url,
                subject=" ".join(f"{subject.title}: {status}".split()),
                body=update.body,
                payload=payload,
                purpose="status-update",
                dedup_key=dedup,
            )
        else:
            outbox_enqueue(
                channel="email",
                recipient=sub.email,
                subject=" ".join(f"[{page.name}] {subject.title}: {status}".split()),
                body=(
                    f"{status}: {update.body}\n\nDetails: {subject.link}\n\n"
                    f"You receive this because you subscribed to {page.name}. "
                    f"Unsubscribe: {unsubscribe_url(sub)}"
                ),
                payload={
                    "headers": {
                        "List-Unsubscribe": f"<{unsubscribe_url(sub)}>",
                        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                        "List-Id": f"{page.name} status <status.tocsin>",
                    }
                },
                purpose="status-update",
                dedup_key=dedup,
            )
        count += 1
    return count


def on_event(*, event: str, incident: Incident | None, actor: Actor, data: dict[str, Any]) -> None:
    if event != "public_update":
        return
    update_id = data.get("update_id")
    if isinstance(update_id, int):
        public_update_enqueue(update_id=update_id)


def register() -> None:
    events.listen(on_event)
    notify_hooks.register_webhook_resolver("status-update", resolve)
