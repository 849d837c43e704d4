"""The generic webhook channel: a signed JSON POST (docs/channels.md, "Generic webhook").

Headers: `Idempotency-Key: <message_id>` (the outbox row's uuid, the same on every retry
and after a crash, so a receiver drops repeats), `X-Tocsin-Timestamp: <unix seconds>` and
`X-Tocsin-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`.

The signing secret is the URL's own when its fragment says `#secret=<at least 16
characters>` (the fragment is never sent), else one derived for this URL from
TOCSIN_SECRET_KEY (`signing_secret(url)`). While TOCSIN_SECRET_KEY_FALLBACKS holds old keys,
a derived secret's signature is repeated under each of them (`v1=<new>,v1=<old>`), so
receivers keep verifying during a rotation.

A message whose `purpose` has a resolver registered in `notify.hooks.webhook_resolvers`
(the comms app's automation webhooks, purpose "automation") is sent where the resolver
says, signed with the secret it gives, and its body is the document it gives instead of
the generic body above (docs/automation-webhooks.md). Headers and outcomes are the same.
A resolver that sets `keep_reply` gets the answer's status and a capped excerpt of its
body back through `reply_of(message)` in its outcome hook (runbook steps record them).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from tocsin.core import outbound
from tocsin.notify import hooks
from tocsin.notify.channels import _http
from tocsin.notify.channels.base import PAGE_RETRY, Permanent, Result, address_of

if TYPE_CHECKING:
    from tocsin.notify.models import OutboxMessage

kind = "webhook"
policy = PAGE_RETRY
SEND_TIMEOUT = _http.SEND_TIMEOUT
BODY_VERSION = 1
MIN_OWN_SECRET = 16
_INFO = b"tocsin:webhook-signing:v1"


REPLY_EXCERPT = 1000  # characters of a reply's body kept for the outcome hooks
_REPLIES_KEPT = 256  # replies not yet read are forgotten beyond this many


class SecretTooShort(ValueError):
    pass


@dataclass(frozen=True)
class Reply:
    """What the receiver answered: its HTTP status and the start of its body (plain text,
    control characters but newlines and tabs removed; escape it wherever it is shown)."""

    status: int
    excerpt: str


_replies: OrderedDict[str, Reply] = OrderedDict()
_replies_lock = threading.Lock()


def _keep(message_id: str, result: outbound.OutboundResult) -> None:
    text = "".join(c for c in result.text[: REPLY_EXCERPT + 1] if c.isprintable() or c in "\n\t")
    if len(text) > REPLY_EXCERPT or result.truncated:
        text = text[: REPLY_EXCERPT - 1] + "…"
    with _replies_lock:
        _replies[message_id] = Reply(status=result.status, excerpt=text)
        _replies.move_to_end(message_id)
        while len(_replies) > _REPLIES_KEPT:
            _replies.popitem(last=False)


def reply_of(message: OutboxMessage) -> Reply | None:
    """The latest reply to `message` (sent by this process, with `keep_reply`), if any."""
    with _replies_lock:
        return _replies.get(str(message.message_id))


def _own_secret(url: str) -> str | None:
    fragment = urlsplit(url).fragment
    if not fragment:
        return None
    values = parse_qs(fragment, keep_blank_values=True).get("secret")
    if not values:
        return None
    secret = values[0]
    if len(secret) < MIN_OWN_SECRET:
        raise SecretTooShort(
            f"the webhook URL's #secret= is shorter than {MIN_OWN_SECRET} characters"
        )
    return secret


def target(url: str) -> str:
    """The URL that is called: the address without its fragment."""
    return urlsplit(url)._replace(fragment="").geturl()


def _derived(url: str, secret_key: str) -> str:
    root = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        secret_key.encode()
    )
    return "whsec_" + hmac.new(root, target(url).encode(), hashlib.sha256).hexdigest()


def signing_secret(url: str) -> str:
    """The secret a receiver of `url` verifies signatures with (docs/channels.md)."""
    return _own_secret(url) or _derived(url, settings.SECRET_KEY)


def _secrets(url: str) -> list[str]:
    own = _own_secret(url)
    if own:
        return [own]
    keys = [settings.SECRET_KEY, *(getattr(settings, "SECRET_KEY_FALLBACKS", ()) or ())]
    return [_derived(url, key) for key in keys]


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return mac.hexdigest()


def body_of(message: OutboxMessage) -> dict[str, Any]:
    """The JSON document sent (the same bytes on every attempt of one message)."""
    payload = message.payload if isinstance(message.payload, dict) else {}
    incident = payload.get("incident")
    if not incident and message.incident_id is not None and message.incident is not None:
        incident = message.incident.ref
    return {
        "version": BODY_VERSION,
        "message_id": str(message.message_id),
        "purpose": message.purpose,
        "created_at": message.created_at.isoformat(),
        "person": message.person.username if message.person is not None else None,
        "incident": incident or None,
        "subject": message.subject,
        "body": message.body,
        "links": _http.links_of(payload),
        "payload": payload,
    }


def send(message: OutboxMessage) -> Result:
    resolver = hooks.webhook_resolvers.get(message.purpose)
    keep = False
    if resolver is not None:
        resolved = resolver(message=message)
        if isinstance(resolved, str):
            return Permanent(resolved)
        called, secrets, document = resolved.url, [resolved.secret], resolved.document
        keep = resolved.keep_reply
    else:
        url = address_of(message)
        if not url:
            return Permanent("no address: the contact method has no URL")
        try:
            secrets = _secrets(url)
            called = target(url)
        except SecretTooShort as exc:
            return Permanent(str(exc))
        except ValueError:
            return Permanent("the webhook URL is malformed")
        document = body_of(message)
    content = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    signature = ",".join(f"v1={sign(s, timestamp, content)}" for s in secrets)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Tocsin-Webhook/1",
        "Idempotency-Key": str(message.message_id),
        "X-Tocsin-Timestamp": timestamp,
        "X-Tocsin-Signature": signature,
    }
    if keep:
        with _replies_lock:
            _replies.pop(str(message.message_id), None)  # no stale reply from a try before

        def on_reply(result: outbound.OutboundResult) -> None:
            _keep(str(message.message_id), result)

        return _http.post(called, content, headers, timeout=SEND_TIMEOUT, on_reply=on_reply)
    return _http.post(called, content, headers, timeout=SEND_TIMEOUT)
