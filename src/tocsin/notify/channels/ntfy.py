"""The ntfy channel: a POST to the topic URL, the message as the body and the rest in
headers (docs/channels.md, "ntfy").

`Title` (the subject), `Priority` (5 for a high-urgency page, 3 otherwise), `Tags`,
`Click` (the page's open link) and `Actions` (`view, Acknowledge, <url>; view, Resolve,
<url>`). Header values never carry CR/LF or other control characters (they are folded to
spaces); a value that is not ASCII is sent as RFC 2047 encoded-words
(`=?UTF-8?B?…?=`), which ntfy decodes.
"""

from __future__ import annotations

import base64
import re
from typing import TYPE_CHECKING

from tocsin.notify.channels import _http
from tocsin.notify.channels.base import PAGE_RETRY, Result, address_of

if TYPE_CHECKING:
    from tocsin.notify.models import OutboxMessage

kind = "ntfy"
policy = PAGE_RETRY
SEND_TIMEOUT = _http.SEND_TIMEOUT
BODY_LIMIT = 4000  # bytes; ntfy's default message limit is 4096 (more becomes an attachment)
TITLE_LIMIT = 250
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_TAG = re.compile(r"[^A-Za-z0-9_+\-]")
_WORD_BYTES = 45  # UTF-8 bytes per encoded-word: 60 base64 characters, inside RFC 2047's 75


def header_value(text: str) -> str:
    """`text` as a safe header value: one line, ASCII or RFC 2047 encoded-words."""
    flat = " ".join(_CONTROL.sub(" ", text).split())
    if flat.isascii():
        return flat
    words: list[str] = []
    chunk = ""
    for char in flat:
        if len((chunk + char).encode()) > _WORD_BYTES:
            words.append(chunk)
            chunk = ""
        chunk += char
    if chunk:
        words.append(chunk)
    return " ".join(f"=?UTF-8?B?{base64.b64encode(w.encode()).decode()}?=" for w in words)


def _action_url(url: str) -> str:
    url = header_value(url)
    return f'"{url}"' if any(c in url for c in ',;"') else url


def headers_of(message: OutboxMessage) -> dict[str, str]:
    payload = message.payload if isinstance(message.payload, dict) else {}
    links = _http.links_of(payload)
    is_page = payload.get("kind") == "page"
    high = payload.get("urgency") == "high"
    tags = ["rotating_light" if high else "warning"] if is_page else ["bell"]
    for extra in (
        f"P{payload['priority']}" if payload.get("priority") else "",
        payload.get("incident"),
    ):
        tag = _TAG.sub("", str(extra or ""))[:40]
        if tag:
            tags.append(tag)
    headers = {
        "Content-Type": "text/plain; charset=utf-8",
        "Title": header_value(_http.cut(message.subject or "Tocsin", TITLE_LIMIT)),
        "Priority": "5" if is_page and high else "3",
        "Tags": ",".join(tags),
    }
    if links.get("open"):
        headers["Click"] = header_value(links["open"])
    actions = [
        f"view, {label}, {_action_url(links[key])}"
        for key, label in (("acknowledge", "Acknowledge"), ("resolve", "Resolve"))
        if links.get(key)
    ]
    if actions:
        headers["Actions"] = "; ".join(actions)
    return headers


def text_of(message: OutboxMessage) -> str:
    """The body, less the lines with the page's links (they are the Click and Actions)."""
    payload = message.payload if isinstance(message.payload, dict) else {}
    text = _http.without_link_lines(message.body, _http.links_of(payload))
    return _http.cut_bytes(text or message.subject or "Tocsin", BODY_LIMIT)


def send(message: OutboxMessage) -> Result:
    content = text_of(message).encode()
    return _http.post(address_of(message), content, headers_of(message), timeout=SEND_TIMEOUT)
