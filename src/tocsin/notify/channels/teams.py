"""The Microsoft Teams channel: a Workflows webhook ("Post to a channel when a webhook
request is received") given one Adaptive Card (docs/channels.md, "Microsoft Teams").

User text goes into RichTextBlock/TextRun elements, which Adaptive Cards never read as
Markdown, so a title cannot add links or formatting; the page's links are
Action.OpenUrl buttons.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tocsin.notify.channels import _http
from tocsin.notify.channels.base import PAGE_RETRY, Result, address_of

if TYPE_CHECKING:
    from tocsin.notify.models import OutboxMessage

kind = "teams"
policy = PAGE_RETRY
SEND_TIMEOUT = _http.SEND_TIMEOUT
CARD_VERSION = "1.4"
MAX_LINES = 30
LINE_LIMIT = 1000
TITLE_LIMIT = 300
ACTIONS = (("acknowledge", "Acknowledge"), ("resolve", "Resolve"), ("open", "Open in Tocsin"))


def _run(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": text, **style}]}


def card_of(message: OutboxMessage) -> dict[str, Any]:
    payload = message.payload if isinstance(message.payload, dict) else {}
    links = _http.links_of(payload)
    high = payload.get("urgency") == "high"
    title = _http.cut(message.subject or "Tocsin", TITLE_LIMIT)
    body: list[dict[str, Any]] = [
        _run(title, weight="Bolder", size="Medium", color="Attention" if high else "Default")
    ]
    lines = [ln for ln in _http.without_link_lines(message.body, links).splitlines() if ln.strip()]
    for line in lines[:MAX_LINES]:
        body.append(_run(_http.cut(line, LINE_LIMIT)))
    if len(lines) > MAX_LINES:
        body.append(_run(f"({len(lines) - MAX_LINES} more lines)", isSubtle=True))
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": body,
        "msteams": {"width": "Full"},
    }
    actions = [
        {"type": "Action.OpenUrl", "title": label, "url": links[key]}
        for key, label in ACTIONS
        if key in links
    ]
    if actions:
        card["actions"] = actions
    return card


def body_of(message: OutboxMessage) -> dict[str, Any]:
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card_of(message),
            }
        ],
    }


def send(message: OutboxMessage) -> Result:
    return _http.post_json(address_of(message), body_of(message), timeout=SEND_TIMEOUT)
