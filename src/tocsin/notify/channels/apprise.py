"""The Apprise channel: the long tail (Telegram, Discord, Matrix, Signal, Pushover, Gotify,
...) through the `apprise` package (docs/channels.md, "Apprise").

Apprise makes its own connections (requests, smtplib, ...), so tocsin.core.outbound
cannot carry them. Instead, for the length of one send and in this thread only, every
name lookup Python makes (`socket.getaddrinfo`, which requests/urllib3, smtplib and
paho-mqtt use, and which redirects go through too) is checked with outbound's
`address_refusal`: a private, loopback, link-local, metadata or otherwise non-public
address (outside TOCSIN_OUTBOUND_ALLOW) makes the lookup fail, nothing is sent, and the
message fails for good with the reason. Since the connection is made to an address the
check returned, a name that changes its answer between lookups does not get past it
either. The remaining gaps are in docs/channels.md.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings

from tocsin.core.outbound import address_refusal
from tocsin.notify.channels import _http
from tocsin.notify.channels.base import (
    PAGE_RETRY,
    Permanent,
    Result,
    Sent,
    Temporary,
    address_of,
)

if TYPE_CHECKING:
    from tocsin.notify.models import OutboxMessage

kind = "apprise"
policy = PAGE_RETRY
# Apprise's connect and read timeouts (each, per request): a URL's own cto=/rto= are
# capped to these, so one send stays well inside PAGE_RETRY's 60 s lease.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 5.0
# Schemes whose plugins reach their host without Python's getaddrinfo (raw UDP sendto),
# so the address check cannot see them: refused.
REFUSED_SCHEMES = frozenset({"rsyslog", "syslog"})
_HTTP_ERROR = re.compile(r"error=(\d{3})")

_local = threading.local()
_original_getaddrinfo = socket.getaddrinfo
_install_lock = threading.Lock()
_installed = False


class _Refused(socket.gaierror):
    pass


def _checked_getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
    infos = _original_getaddrinfo(host, port, *args, **kwargs)
    if not getattr(_local, "active", False):
        return infos
    for info in infos:
        text = str(info[4][0]).split("%", 1)[0]
        try:
            why = address_refusal(ipaddress.ip_address(text))
        except ValueError:
            why = f"unreadable address {text!r}"
        if why:
            name = host.decode() if isinstance(host, bytes) else str(host)
            reason = why if why.startswith(name) else f"{name}: {why}"
            _local.refused = reason
            raise _Refused(socket.EAI_NONAME, f"refused by Tocsin: {reason}")
    return infos


def _install() -> None:
    """Put the checking lookup in place once per process. Outside a send (any other
    thread, or this one between sends) it answers exactly like the original."""
    global _installed
    with _install_lock:
        if not _installed:
            socket.getaddrinfo = _checked_getaddrinfo
            _installed = True


@contextmanager
def checked_lookups() -> Iterator[list[str]]:
    """Within the block, lookups in this thread refuse non-public addresses; the list
    it yields receives the refusal, if one happened."""
    _install()
    refusals: list[str] = []
    _local.active, _local.refused = True, None
    try:
        yield refusals
    finally:
        if _local.refused:
            refusals.append(_local.refused)
        _local.active, _local.refused = False, None


class _Capture(logging.Handler):
    """Apprise's warnings and errors from this thread (its only account of a failure)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.thread = threading.get_ident()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            try:
                self.lines.append(record.getMessage())
            except Exception:  # a bad format string in a plugin's log call
                self.lines.append(str(record.msg))


def _literal_refusal(url: str) -> str | None:
    """A refusal for a URL whose host is an IP literal (before Apprise is even loaded)."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return None
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    return address_refusal(ip)


def _notify_type(payload: dict[str, Any]) -> str:
    if payload.get("kind") != "page":
        return "info"
    return "failure" if payload.get("urgency") == "high" else "warning"


def send(message: OutboxMessage) -> Result:
    url = address_of(message)
    if not url:
        return Permanent("no address: the contact method has no Apprise URL")
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in REFUSED_SCHEMES:
        return Permanent(
            f"Apprise scheme {scheme!r} is not allowed (its address cannot be checked)"
        )
    why = _literal_refusal(url)
    if why:
        return Permanent(f"refused before sending: {why}")

    import apprise

    asset = apprise.AppriseAsset(storage_mode="memory")
    asset.app_id = asset.app_desc = "Tocsin"
    asset.app_url = settings.BASE_URL
    plugin = apprise.Apprise.instantiate(url, asset=asset)
    if plugin is None:
        return Permanent(f"not an Apprise URL that this installation can use (scheme {scheme!r})")
    plugin.socket_connect_timeout = min(float(plugin.socket_connect_timeout), CONNECT_TIMEOUT)
    plugin.socket_read_timeout = min(float(plugin.socket_read_timeout), READ_TIMEOUT)

    payload = message.payload if isinstance(message.payload, dict) else {}
    capture = _Capture()
    apprise_log = logging.getLogger("apprise")
    apprise_log.addHandler(capture)
    try:
        with checked_lookups() as refusals:
            ok = plugin.notify(
                body=message.body or message.subject or "Tocsin",
                title=message.subject,
                notify_type=_notify_type(payload),
                body_format="text",
            )
    finally:
        apprise_log.removeHandler(capture)
    service = str(getattr(plugin, "service_name", scheme) or scheme)
    if refusals:
        return Permanent(f"refused before sending: {refusals[0]}")
    if ok:
        return Sent()
    said = _http.one_line(capture.lines[-1]) if capture.lines else "no detail given"
    codes = [int(c) for line in capture.lines for c in _HTTP_ERROR.findall(line)]
    if codes and all(
        (400 <= c < 500 and c not in _http.RETRYABLE_4XX) or 300 <= c < 400 for c in codes
    ):
        return Permanent(f"{service} refused the message: {said}")
    return Temporary(f"{service} could not deliver: {said}")
