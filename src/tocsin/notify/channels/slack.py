"""The Slack channel: an incoming webhook (docs/channels.md, "Slack, Mattermost, Rocket.Chat").

The JSON has a `text` (the whole message, links included as plain URLs: what Mattermost,
Rocket.Chat and notifications show) and `blocks` for Slack (a header, the text, and the
page's links as buttons). User text is escaped for mrkdwn (`&`, `<`, `>`), so a title
cannot forge a link or a `<!channel>` mention, and `@channel`/`@here`/`@all`/`@everyone`
are broken with a zero-width space so Mattermost and Rocket.Chat do not notify everyone.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from tocsin.notify.channels import _http
from tocsin.notify.channels.base import PAGE_RETRY, Result, address_of

if TYPE_CHECKING:
    from tocsin.notify.models import OutboxMessage

kind = "slack"
policy = PAGE_RETRY
SEND_TIMEOUT = _http.SEND_TIMEOUT
TEXT_LIMIT = 3000  # a section's text and the recommended top-level text
HEADER_LIMIT = 150  # a header block's plain_text
BUTTONS = (
    ("acknowledge", "Acknowledge", "primary"),
    ("resolve", "Resolve", ""),
    ("open", "Open", ""),
)
_MENTION = re.compile(r"@(channel|here|all|everyone)\b", re.IGNORECASE)


def escape(text: str) -> str:
    """Text safe in Slack mrkdwn: the three control characters as entities, mass mentions
    broken."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MENTION.sub("@\u200b\\1", text)


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": _http.cut(_MENTION.sub("@\u200b\\1", text), limit)}


def body_of(message: OutboxMessage) -> dict[str, Any]:
    payload = message.payload if isinstance(message.payload, dict) else {}
    links = _http.links_of(payload)
    subject = message.subject or "Tocsin"
    text = _http.cut(escape(f"{subject}\n{message.body}".strip()), TEXT_LIMIT)
    blocks: list[dict[str, Any]] = [{"type": "header", "text": _plain(subject, HEADER_LIMIT)}]
    detail = _http.without_link_lines(message.body, links)
    if detail:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _http.cut(escape(detail), TEXT_LIMIT)},
            }
        )
    buttons: list[dict[str, Any]] = []
    for action, label, style in BUTTONS:
        if action not in links:
            continue
        button: dict[str, Any] = {
            "type": "button",
            "action_id": action,
            "text": {"type": "plain_text", "text": label},
            "url": links[action],
        }
        if style:
            button["style"] = style
        buttons.append(button)
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    return {"text": text, "blocks": blocks}


def send(message: OutboxMessage) -> Result:
    return _http.post_json(address_of(message), body_of(message), timeout=SEND_TIMEOUT)
