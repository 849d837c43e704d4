"""What the HTTP channels share: one POST through tocsin.core.outbound, and the mapping of
its outcome to Sent / Temporary / Permanent (docs/channels.md, "Outcomes").

- 2xx: Sent, with the provider's id for the message when the answer carries one;
- 429 (and 503) with Retry-After (seconds or an HTTP date): Temporary after that long,
  capped at MAX_RETRY_AFTER so a page is never parked for an hour;
- 408, 425, 429, 5xx, timeouts, connection errors, names that do not resolve: Temporary;
- 3xx (redirects are never followed), other 4xx, and a refused URL or address: Permanent.

Reasons name the host, never the URL: webhook URLs carry secrets in their paths.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from tocsin.core import outbound
from tocsin.core.clock import now as clock_now
from tocsin.notify.channels.base import Permanent, Result, Sent, Temporary

SEND_TIMEOUT = 10.0  # seconds for the whole call; PAGE_RETRY's lease is 60 s
MAX_RETRY_AFTER = dt.timedelta(minutes=5)
RETRYABLE_4XX = frozenset({408, 425, 429})
_PROVIDER_ID_HEADERS = (
    "x-request-id",
    "request-id",
    "x-ms-workflow-run-id",
    "x-ms-request-id",
    "x-message-id",
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def host_of(url: str) -> str:
    try:
        return urlsplit(url).hostname or "(no host)"
    except ValueError:
        return "(malformed URL)"


def one_line(text: str, limit: int = 200) -> str:
    """Text for a reason: control characters (CR, LF, ...) folded to spaces, cut short."""
    flat = _CONTROL.sub(" ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _scrub(reason: str, url: str) -> str:
    """A reason without the URL's path or query (they may hold the webhook's token)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return reason
    for secret in (url, parts.path + ("?" + parts.query if parts.query else ""), parts.query):
        if len(secret) > 1:
            reason = reason.replace(secret, "…")
    return reason


def retry_after(value: str | None, *, now: dt.datetime | None = None) -> dt.timedelta | None:
    """A Retry-After header (delta-seconds or an HTTP date) as a wait, at least 1 s and at
    most MAX_RETRY_AFTER; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    seconds: float
    if value.isdigit():
        seconds = float(int(value[:9]))
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - (now or clock_now())).total_seconds()
    return min(max(dt.timedelta(seconds=seconds), dt.timedelta(seconds=1)), MAX_RETRY_AFTER)


def provider_id(result: outbound.OutboundResult) -> str:
    """The provider's id for the message: a JSON answer's `id`, else a request-id header."""
    text = result.text.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict):
            value = data.get("id")
            if isinstance(value, str | int) and not isinstance(value, bool):
                return one_line(str(value), 300)
    headers = {k.lower(): v for k, v in result.headers.items()}
    for name in _PROVIDER_ID_HEADERS:
        if headers.get(name):
            return one_line(headers[name], 300)
    return ""


def outcome(result: outbound.OutboundResult, url: str) -> Result:
    """Sent / Temporary / Permanent for an HTTP answer."""
    status = result.status
    if 200 <= status < 300:
        return Sent(provider_message_id=provider_id(result))
    host = host_of(url)
    said = one_line(_scrub(result.text, url))
    reason = f"{host} answered HTTP {status}" + (f": {said}" if said else "")
    if status == 429 or status == 503:
        headers = {k.lower(): v for k, v in result.headers.items()}
        wait = retry_after(headers.get("retry-after"))
        if wait is not None:
            reason += f" (Retry-After {int(wait.total_seconds())}s)"
        return Temporary(reason, retry_after=wait)
    if status >= 500 or status in RETRYABLE_4XX:
        return Temporary(reason)
    if 300 <= status < 400:
        location = {k.lower(): v for k, v in result.headers.items()}.get("location", "")
        moved = f" to {host_of(location)}" if location else ""
        return Permanent(
            f"{host} answered HTTP {status} (a redirect{moved}); redirects are not "
            "followed: update the contact method to the final URL"
        )
    return Permanent(reason)


def post(
    url: str,
    content: bytes,
    headers: Mapping[str, str],
    *,
    timeout: float = SEND_TIMEOUT,
    on_reply: Callable[[outbound.OutboundResult], object] | None = None,
) -> Result:
    """POST `content` to `url` through the SSRF-safe client; never raises. `on_reply`
    is given the answer, when there is one (the webhook channel keeps an excerpt)."""
    if not url:
        return Permanent("no address: the contact method has no URL")
    try:
        result = outbound.request("POST", url, content=content, headers=headers, timeout=timeout)
    except outbound.OutboundRefused as exc:
        return Permanent(f"refused before sending: {one_line(_scrub(exc.reason, url), 300)}")
    except outbound.OutboundError as exc:
        return Temporary(f"{host_of(url)}: {one_line(_scrub(str(exc), url), 300)}")
    if on_reply is not None:
        on_reply(result)
    return outcome(result, url)


def post_json(
    url: str,
    body: object,
    headers: Mapping[str, str] | None = None,
    *,
    timeout: float = SEND_TIMEOUT,
) -> Result:
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    merged = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
    return post(url, content, merged, timeout=timeout)


def without_link_lines(body: str, links: Mapping[str, str]) -> str:
    """The body less the lines that carry the page's links (shown as buttons instead)."""
    urls = [u for u in links.values() if u]
    kept = [line for line in body.splitlines() if not any(u in line for u in urls)]
    return "\n".join(kept).strip()


def links_of(payload: Mapping[str, object]) -> dict[str, str]:
    links = payload.get("links")
    if not isinstance(links, Mapping):
        return {}
    return {str(k): str(v) for k, v in links.items() if isinstance(v, str) and v}


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def cut_bytes(text: str, limit: int) -> str:
    """At most `limit` bytes of UTF-8, never splitting a character."""
    raw = text.encode()
    if len(raw) <= limit:
        return text
    return raw[: limit - 3].decode("utf-8", "ignore") + "…"
