"""Who is sending: the integration key (path, body, GenieKey, Bearer or Basic) and its secret.

An integration is found by its key (tocsin.catalog.selectors.integration_by_key). When it
also has a secret (integration.secret_encrypted), the request must prove it:

- Grafana, by default: the HMAC-SHA256 signature header (hex) of the body, or of
  "<timestamp>:<body>" when the timestamp header is sent, the timestamp within ±5 minutes.
  The signature header is options `hmac_header` when set; else X-Grafana-Alerting-Signature
  (Grafana's documented default) or X-Grafana-Alert-Signature (what Grafana's signing code
  sends when the header field is left blank). The timestamp header is options
  `hmac_timestamp_header` (default X-Grafana-Alerting-Timestamp); option
  `hmac_require_timestamp: true` refuses signatures without a timestamp. A verified
  signature is returned so the endpoint can refuse it a second time (replay guard,
  alerts/ingest.py).
- every other kind, and Grafana with options `auth` = "basic" or "bearer": the secret as
  `Authorization: Bearer <secret>` or as the password of Basic auth (any user name, or the
  one in options `basic_username`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from tocsin.catalog.models import Integration
from tocsin.catalog.selectors import integration_by_key
from tocsin.core.clock import now
from tocsin.core.crypto import decrypt

SIGNATURE_HEADER = "X-Grafana-Alerting-Signature"
SIGNATURE_HEADERS = (SIGNATURE_HEADER, "X-Grafana-Alert-Signature")
TIMESTAMP_HEADER = "X-Grafana-Alerting-Timestamp"
TIMESTAMP_WINDOW_SECONDS = 300


class AuthFailed(Exception):
    """The key is known but the proof of its secret is missing or wrong (401)."""


class SecretUnreadable(Exception):
    """The stored secret cannot be decrypted (server misconfiguration: 503)."""


@dataclass(frozen=True)
class Signature:
    """A verified signature: its hex value and whether it covered a timestamp."""

    value: str
    timestamped: bool


@dataclass(frozen=True)
class Credentials:
    scheme: str  # "" | "bearer" | "basic" | "geniekey"
    username: str
    secret: str


def credentials(request: HttpRequest) -> Credentials:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.strip().partition(" ")
    scheme = scheme.lower()
    value = value.strip()
    if scheme in ("bearer", "geniekey") and value:
        return Credentials(scheme, "", value)
    if scheme == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return Credentials("", "", "")
        username, sep, password = decoded.partition(":")
        if sep:
            return Credentials("basic", username, password)
    return Credentials("", "", "")


def header_key(request: HttpRequest) -> str:
    """A key sent in a header instead of the path: Bearer, GenieKey or Basic's password."""
    return credentials(request).secret


def find_integration(key: str | None, kinds: tuple[str, ...]) -> Integration | None:
    if not key:
        return None
    return integration_by_key(key, kinds)


def _secret(integration: Integration) -> str:
    if not integration.secret_encrypted:
        return ""
    try:
        return decrypt(integration.secret_encrypted)
    except ValueError as exc:
        raise SecretUnreadable(str(exc)) from None


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def _signature_header(request: HttpRequest, options: dict[str, Any]) -> tuple[str, str]:
    """(the header's name, its value) of the signature; the value is "" when absent."""
    configured = str(options.get("hmac_header") or "")
    names = (configured,) if configured else SIGNATURE_HEADERS
    for name in names:
        value = request.headers.get(name, "").strip().lower()
        if value:
            return name, value
    return " or ".join(names), ""


def _check_grafana_signature(
    request: HttpRequest, integration: Integration, secret: str, body: bytes
) -> Signature:
    options = integration.options or {}
    timestamp_header = str(options.get("hmac_timestamp_header") or TIMESTAMP_HEADER)
    signature_header, signature = _signature_header(request, options)
    if not signature:
        raise AuthFailed(f"the {signature_header} header is missing")
    timestamp = request.headers.get(timestamp_header, "").strip()
    if timestamp:
        try:
            seconds = int(timestamp)
        except ValueError:
            raise AuthFailed(f"the {timestamp_header} header is not a unix time") from None
        if abs(now().timestamp() - seconds) > TIMESTAMP_WINDOW_SECONDS:
            raise AuthFailed(f"the {timestamp_header} header is outside the 5 minute window")
        message = timestamp.encode() + b":" + body
    elif options.get("hmac_require_timestamp"):
        raise AuthFailed(f"the {timestamp_header} header is missing")
    else:
        message = body
    expected = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    if not _same(signature, expected):
        raise AuthFailed("the signature does not match")
    return Signature(expected, bool(timestamp))


def check_secret(request: HttpRequest, integration: Integration, body: bytes) -> Signature | None:
    """Raise AuthFailed unless the request proves the integration's secret (when it has one);
    a verified HMAC signature is returned (None for the other ways, or no secret)."""
    secret = _secret(integration)
    if not secret:
        return None
    options = integration.options or {}
    if integration.kind == "grafana" and options.get("auth") not in ("basic", "bearer"):
        return _check_grafana_signature(request, integration, secret, body)
    given = credentials(request)
    if given.scheme not in ("bearer", "basic"):
        raise AuthFailed("this integration needs its secret as Bearer or Basic authorization")
    expected_user = str(options.get("basic_username") or "")
    user_ok = given.scheme != "basic" or not expected_user or _same(given.username, expected_user)
    if not (_same(given.secret, secret) and user_ok):
        raise AuthFailed("the secret does not match")
    return None
