"""The SMS and voice provider adapter: Twilio's REST shape, with a failover provider.

One module speaks to every provider the SMS and voice channels use
(docs/channels-sms.md). A provider is a base URL (Twilio's by default), an account id, an
auth token and a sender; `settings.TOCSIN_SMS_PROVIDERS` lists them in order (the first
from TOCSIN_SMS_*, the failover from TOCSIN_SMS2_*). A send tries the first provider
and, when it is down (5xx, 429, a timeout, a refused connection) or refuses our
credentials, the next one at once, in the same send. A refusal about the number
itself (Twilio's 21211 "invalid To" and its kin) ends the send: the next provider
would say the same.

- SMS: `POST {base}/2010-04-01/Accounts/{account}/Messages.json`, form To, From
  (or MessagingServiceSid when the sender is one, "MG…"), Body.
- Voice: `POST {base}/2010-04-01/Accounts/{account}/Calls.json`, form To, From, Twiml.

Both with HTTP basic auth (account:token), through tocsin.core.outbound (SSRF-safe: the
provider's base URL is checked like any other). The provider's `sid` becomes the outbox
message's provider message id.

Inbound (`POST /integrations/sms/reply`): the provider signs what it forwards as Twilio
does, X-Twilio-Signature = base64(HMAC-SHA1(token, URL + sorted name+value pairs));
`signature_valid` checks it against every configured provider's token.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from django.conf import settings

from tocsin.core import outbound
from tocsin.notify.channels.base import Permanent, Result, Sent, Temporary

log = logging.getLogger("tocsin.notify.sms")

API_VERSION = "2010-04-01"
DEFAULT_URL = "https://api.twilio.com"
DEFAULT_TIMEOUT = 6.0  # seconds per provider phase; two providers stay inside the lease

# Twilio error codes that are about the number (or the person's consent), not the
# provider: a second provider would refuse it too, so the send fails for good.
NUMBER_ERRORS = frozenset(
    {
        13223,  # voice: invalid phone number format
        13224,  # voice: invalid phone number
        13227,  # voice: no international permission for this number
        21211,  # invalid 'To' phone number
        21214,  # 'To' phone number cannot be reached
        21215,  # geographic permission for this number is not enabled
        21217,  # phone number does not appear to be valid
        21219,  # 'To' not verified (trial account)
        21401,  # invalid phone number
        21407,  # this phone number type does not support SMS
        21408,  # permission to send an SMS to this region is not enabled
        21421,  # phone number is invalid
        21610,  # the recipient replied STOP: unsubscribed
        21612,  # the 'To' number is not reachable via SMS
        21614,  # 'To' number is not a valid mobile number
    }
)


@dataclass(frozen=True)
class Provider:
    name: str  # "TOCSIN_SMS", "TOCSIN_SMS2": the prefix of its settings, for messages
    url: str
    account: str
    token: str
    sender: str

    def endpoint(self, resource: str) -> str:
        account = quote(self.account, safe="")
        return f"{self.url.rstrip('/')}/{API_VERSION}/Accounts/{account}/{resource}.json"


def providers() -> list[Provider]:
    """The configured providers, in the order they are tried."""
    found: list[Provider] = []
    for item in getattr(settings, "TOCSIN_SMS_PROVIDERS", None) or []:
        if not isinstance(item, Mapping):
            continue
        account, token, sender = (str(item.get(k) or "") for k in ("account", "token", "from"))
        if not (account and token and sender):
            continue
        found.append(
            Provider(
                name=str(item.get("name") or f"provider {len(found) + 1}"),
                url=str(item.get("url") or DEFAULT_URL),
                account=account,
                token=token,
                sender=sender,
            )
        )
    return found


def _timeout() -> float:
    return float(getattr(settings, "TOCSIN_SMS_TIMEOUT", DEFAULT_TIMEOUT) or DEFAULT_TIMEOUT)


# --- sending ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Down:
    """This provider could not take it now (5xx, 429, timeout, connection): try the next."""

    reason: str
    retry_after: dt.timedelta | None = None


@dataclass(frozen=True)
class _Refused:
    """This provider refused us (credentials, account, a bad request): try the next."""

    reason: str


_Attempt = Sent | Permanent | _Down | _Refused


def _error(text: str) -> tuple[int | None, str]:
    """Twilio's error body {"code": 21211, "message": "..."}, as far as it is one."""
    try:
        data = json.loads(text)
    except ValueError:
        return None, text.strip()[:200]
    if not isinstance(data, dict):
        return None, text.strip()[:200]
    code = data.get("code")
    message = str(data.get("message") or data.get("detail") or "")[:200]
    return (code if isinstance(code, int) else None), message


def _retry_after(headers: Mapping[str, str]) -> dt.timedelta | None:
    raw = {k.lower(): v for k, v in headers.items()}.get("retry-after", "")
    try:
        seconds = int(raw.strip())
    except ValueError:
        return None
    return dt.timedelta(seconds=min(max(seconds, 1), 600))


def _post(provider: Provider, resource: str, form: dict[str, str], key: str) -> _Attempt:
    auth = base64.b64encode(f"{provider.account}:{provider.token}".encode()).decode()
    headers = {
        "Authorization": f"Basic {auth}",
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
        "Idempotency-Key": key,
        "User-Agent": "Tocsin",
    }
    try:
        answer = outbound.request(
            "POST",
            provider.endpoint(resource),
            content=urlencode(form).encode(),
            headers=headers,
            timeout=_timeout(),
        )
    except outbound.OutboundRefused as exc:
        return _Refused(f"{provider.name}: address refused: {exc.reason}")
    except outbound.OutboundError as exc:
        return _Down(f"{provider.name}: {exc}")
    status = answer.status
    if 200 <= status < 300:
        sid = ""
        try:
            data = json.loads(answer.text)
            if isinstance(data, dict):
                sid = str(data.get("sid") or "")
        except ValueError:
            pass
        return Sent(provider_message_id=sid)
    code, text = _error(answer.text)
    described = f"{provider.name}: HTTP {status}" + (f" error {code}" if code else "")
    described += f": {text}" if text else ""
    if status == 429:
        return _Down(described, _retry_after(answer.headers))
    if status >= 500 or status in (408, 425):
        return _Down(described, _retry_after(answer.headers))
    if code in NUMBER_ERRORS:
        return Permanent(described)
    return _Refused(described)


def send(resource: str, form_for: Any, key: str) -> Result:
    """Try each provider in turn until one takes the message.

    `form_for(provider)` builds the form for that provider (its sender differs). The
    result: Sent from the first that takes it; Permanent at once when a provider refuses
    the number; else Temporary when any provider was only down (retry soon), Permanent
    when every provider refused us (a configuration to fix; the person's next method
    should not wait for it)."""
    configured = providers()
    if not configured:
        return Permanent("no SMS provider configured")
    downs: list[_Down] = []
    reasons: list[str] = []
    for provider in configured:
        attempt = _post(provider, resource, form_for(provider), key)
        if isinstance(attempt, Sent):
            if reasons:
                log.warning("sent through %s after: %s", provider.name, "; ".join(reasons))
            return attempt
        if isinstance(attempt, Permanent):
            return Permanent("; ".join([*reasons, attempt.reason]))
        reasons.append(attempt.reason)
        if isinstance(attempt, _Down):
            downs.append(attempt)
    reason = "; ".join(reasons)[:1000]
    if downs:
        waits = [d.retry_after for d in downs if d.retry_after is not None]
        return Temporary(reason, retry_after=max(waits) if waits else None)
    return Permanent(reason)


def send_sms(*, to: str, body: str, key: str) -> Result:
    def form(provider: Provider) -> dict[str, str]:
        sender = provider.sender
        if sender.startswith("MG"):  # a Messaging Service picks the number itself
            return {"To": to, "MessagingServiceSid": sender, "Body": body}
        return {"To": to, "From": sender, "Body": body}

    return send("Messages", form, key)


def place_call(*, to: str, twiml: str, key: str) -> Result:
    return send("Calls", lambda provider: {"To": to, "From": provider.sender, "Twiml": twiml}, key)


# --- inbound: the provider's signature -------------------------------------------------------


def signature(token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """Twilio's request signature: base64(HMAC-SHA1(token, URL + sorted name+value))."""
    grouped: dict[str, set[str]] = {}
    for name, value in params:
        grouped.setdefault(name, set()).add(value)
    text = url + "".join(
        name + value for name in sorted(grouped) for value in sorted(grouped[name])
    )
    digest = hmac.new(token.encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _url_variants(url: str) -> list[str]:
    """The URL as given, and with its default port added or removed (Twilio signs
    either form, as its own validator accepts)."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    variants = [url]
    if parts.hostname and default is not None:
        host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        if parts.port is None:
            other = parts._replace(netloc=f"{host}:{default}")
        elif parts.port == default:
            other = parts._replace(netloc=host)
        else:
            return variants
        variants.append(urlunsplit(other))
    return variants


def signature_valid(url: str, params: list[tuple[str, str]], given: str) -> bool:
    """True when `given` is the signature of one configured provider over this request."""
    given = (given or "").strip()
    if not given:
        return False
    for provider in providers():
        for variant in _url_variants(url):
            expected = signature(provider.token, variant, params).encode()
            if hmac.compare_digest(expected, given.encode("utf-8", "replace")):
                return True
    return False
