"""The SMS channel: a short text through the provider adapter (_twilio, with failover).

A page reads, in at most 300 characters (docs/channels-sms.md):

    INC-42 P1: Card payments failing. Reply 4821 to acknowledge. https://…/p/…/

`4821` is the page's code (its id, `payload["page"]`): replying with it, or with
"ack 4821" / "resolve 4821", acts on the incident through `POST /integrations/sms/reply`.
The link is the page's signed acknowledge link. The title is cut to fit; line breaks and
control characters become spaces. Other messages (a test, a notice) send their subject
and body, cut to the same length.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, Any

from tocsin.notify.channels import _twilio
from tocsin.notify.channels.base import PAGE_RETRY, Permanent, Result, address_of

if TYPE_CHECKING:
    from tocsin.notify.models import OutboxMessage

kind = "sms"
policy = PAGE_RETRY
MAX_LENGTH = 300
ELLIPSIS = "..."  # plain ASCII: keeps the text in the GSM alphabet where it was


def one_line(text: str) -> str:
    """`text` on one line: CR/LF, tabs and other control characters become spaces,
    runs of white space one space."""
    cleaned = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in text or ""
    )
    return " ".join(cleaned.split())


def cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    if limit <= len(ELLIPSIS):
        return text[: max(limit, 0)]
    return text[: limit - len(ELLIPSIS)].rstrip() + ELLIPSIS


def page_code(payload: Any) -> int | None:
    """The code a reply names: the page's id, when the message is a page."""
    if not isinstance(payload, dict) or payload.get("kind") != "page":
        return None
    code = payload.get("page")
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def sms_text(message: OutboxMessage) -> str:
    payload = message.payload if isinstance(message.payload, dict) else {}
    code = page_code(payload)
    if code is None:
        text = one_line(message.subject)
        body = one_line(message.body)
        if body:
            text = f"{text}: {body}" if text else body
        return cut(text, MAX_LENGTH)
    ref = one_line(str(payload.get("incident") or ""))[:30]
    priority = payload.get("priority")
    head = f"{ref} P{priority}: " if isinstance(priority, int) else f"{ref}: "
    reply = f" Reply {code} to acknowledge."
    bundle = payload.get("bundle")
    if isinstance(bundle, dict) and bundle.get("text"):  # a storm: "12 more incidents for …"
        reply += " " + one_line(str(bundle["text"]))[:80]
    links = payload.get("links")
    link = one_line(str(links.get("acknowledge") or "")) if isinstance(links, dict) else ""
    title = one_line(str(payload.get("title") or message.subject))
    room = MAX_LENGTH - len(head) - len(reply) - (len(link) + 1 if link else 0)
    if link and room < 20:  # a very long base URL: the code alone must do
        room += len(link) + 1
        link = ""
    shown = cut(title, max(room - 1, 0))
    if not shown.endswith(ELLIPSIS):
        shown = shown.rstrip(".") + "."
    text = head + shown + reply
    if link:
        text += " " + link
    return cut(text, MAX_LENGTH)


def send(message: OutboxMessage) -> Result:
    to = address_of(message)
    if not to:
        return Permanent("no phone number")
    return _twilio.send_sms(to=to, body=sms_text(message), key=str(message.message_id))
