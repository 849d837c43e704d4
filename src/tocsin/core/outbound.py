"""SSRF-safe outbound HTTP for webhook-style channels (docs/outbound.md).

The host name is resolved once; every address is checked; the request goes to
the checked address (no second lookup, so DNS rebinding cannot redirect it),
with the Host header and the TLS name check kept on the original host name.
Redirects are never followed, the response read is bounded, proxies from the
environment are ignored.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import httpcore
import httpx
from django.conf import settings

MAX_BODY = 64 * 1024
DEFAULT_TIMEOUT = 10.0
# 80/443 plus unprivileged ports; other privileged ports (22, 25, 6379 is fine) are refused.
ALLOWED_LOW_PORTS = frozenset({80, 443})

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[..., Any]

# What a path and query keep as they are (RFC 3986's reserved and unreserved characters,
# and "%" of what is already percent-encoded); anything else is percent-encoded.
URL_SAFE = "/?#[]@!$&'()*+,;=:%-._~"

NAT64 = ipaddress.ip_network("64:ff9b::/96")
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


class OutboundRefused(Exception):
    """The request was not sent: the URL or its address is not allowed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class OutboundError(Exception):
    """The request was sent (or tried) and failed: timeout, connection error."""


@dataclass(frozen=True)
class OutboundResult:
    status: int
    headers: dict[str, str]
    text: str
    truncated: bool


def _embedded(ip: IPAddress) -> IPAddress | None:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in NAT64 or ip in NAT64_LOCAL:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip.teredo is not None:
            return ip.teredo[1]
    return None


def _allowed_by_setting(ip: IPAddress) -> bool:
    for text in getattr(settings, "TOCSIN_OUTBOUND_ALLOW", []) or []:
        try:
            net = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            continue
        if ip.version == net.version and ip in net:
            return True
    return False


def address_refusal(ip: IPAddress) -> str | None:
    """Why this address may not be contacted, or None when it may."""
    if _allowed_by_setting(ip):
        return None
    inner = _embedded(ip)
    if inner is not None:
        why = address_refusal(inner)
        return f"{ip} embeds {why}" if why else None
    if ip.is_loopback:
        return f"{ip} is a loopback address"
    if ip.is_link_local:
        return f"{ip} is a link-local address"
    if ip.is_multicast:
        return f"{ip} is a multicast address"
    if ip.is_unspecified:
        return f"{ip} is the unspecified address"
    if ip.is_private:
        return f"{ip} is a private address"
    if ip.is_reserved:
        return f"{ip} is a reserved address"
    if not ip.is_global:
        return f"{ip} is not a public address"
    return None


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write waits at most until one deadline, so a
    receiver that drips its answer a byte at a time cannot stretch the call (httpx's
    timeouts are per operation)."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: float) -> None:
        self._inner = inner
        self._deadline = deadline

    def _left(self, timeout: float | None) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout("the call's time is spent")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._left(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, self._left(timeout))
        return _DeadlineStream(inner, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.SyncBackend):
    def __init__(self, deadline: float) -> None:
        self._deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        left = max(self._deadline - time.monotonic(), 0.001)
        timeout = left if timeout is None else min(timeout, left)
        stream = super().connect_tcp(host, port, timeout, local_address, socket_options)
        return _DeadlineStream(stream, self._deadline)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every call: building one loads the CA bundle, about
    16 ms a time, which was most of what a page to a webhook cost. An SSLContext may be
    shared between threads; it is never changed after this."""
    return httpx.create_ssl_context(trust_env=False)


def _pool(deadline: float) -> httpcore.ConnectionPool:
    """One connection for one call. httpcore (httpx's transport) rather than an
    `httpx.Client`, whose client and request models cost a third of each call's CPU
    (1.0–1.3 ms a call against 0.8–1.0 on loopback; docs/benchmarks.md), and a page
    storm makes a thousand calls. httpcore follows no redirects, reads no proxy settings
    from the environment and asks for no compressed answer."""
    return httpcore.ConnectionPool(
        ssl_context=_tls_context(),
        max_connections=1,
        network_backend=_DeadlineBackend(deadline),
    )


def _text(body: bytes, headers: list[tuple[bytes, bytes]]) -> str:
    """The answer's body in the charset its Content-Type names, else UTF-8 (also when the
    name is unknown or is not a text encoding: a receiver may name "base64")."""
    charset = "utf-8"
    for name, value in headers:
        if name.lower() == b"content-type":
            for part in value.decode("latin-1").split(";")[1:]:
                key, _, val = part.partition("=")
                val = val.strip().strip('"')
                if key.strip().lower() == "charset" and val:
                    charset = val
    try:
        return body.decode(charset, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


def _header_dict(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Lower-case names; repeated names joined with ", " (as httpx's Headers did)."""
    out: dict[str, str] = {}
    for raw_name, raw_value in headers:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    address: IPAddress
    path: str


def _check(url: str, resolver: Resolver) -> _Target:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise OutboundRefused(f"malformed URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise OutboundRefused(f"scheme {scheme or '(none)'!r} is not allowed; use http or https")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise OutboundRefused("user info in the URL is not allowed")
    host = parts.hostname
    if not host:
        raise OutboundRefused("the URL has no host")
    if port is None:
        port = 443 if scheme == "https" else 80
    if port < 1024 and port not in ALLOWED_LOW_PORTS:
        raise OutboundRefused(f"port {port} is not allowed (80, 443 or 1024-65535)")
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = resolver(host, port, 0, socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise OutboundError(f"cannot resolve {host}: {exc}") from None
        addresses = []
        for info in infos:
            text = str(info[4][0]).split("%", 1)[0]
            try:
                addresses.append(ipaddress.ip_address(text))
            except ValueError:
                raise OutboundRefused(f"{host} resolved to an unreadable address") from None
        if not addresses:
            raise OutboundError(f"{host} has no address") from None
    for ip in addresses:
        why = address_refusal(ip)
        if why:
            raise OutboundRefused(f"{host}: {why}")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return _Target(scheme, host, port, addresses[0], path)


def check_url(url: str, *, resolver: Resolver = socket.getaddrinfo) -> None:
    """The checks `request` makes before it sends, for a URL being saved (an automation
    webhook): OutboundRefused says why it may never be called; OutboundError that its
    name does not resolve now (the check runs again at every send)."""
    _check(url, resolver)


def request(
    method: str,
    url: str,
    *,
    content: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_body: int = MAX_BODY,
    resolver: Resolver = socket.getaddrinfo,
) -> OutboundResult:
    target = _check(url, resolver)
    literal = f"[{target.address}]" if target.address.version == 6 else str(target.address)
    # A path or query typed with other than ASCII goes out percent-encoded (UTF-8), and a
    # host name in the Host header as its A-label (IDNA), as browsers and httpx send them.
    path = quote(target.path, safe=URL_SAFE)
    send_url = f"{target.scheme}://{literal}:{target.port}{path}"
    default_port = 443 if target.scheme == "https" else 80
    host = target.host
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise OutboundRefused(f"the host name {target.host!r} is not valid: {exc}") from None
    host_header = host if ":" not in host else f"[{host}]"
    if target.port != default_port:
        host_header += f":{target.port}"
    all_headers = {
        k: v for k, v in (headers or {}).items() if k.lower() not in ("host", "content-length")
    }
    all_headers["Host"] = host_header
    if content is not None:
        all_headers["Content-Length"] = str(len(content))
    for name, value in all_headers.items():
        if not (name.isascii() and value.isascii()):
            raise OutboundRefused(f"not sent: the header {name!r} is not ASCII")
    extensions: dict[str, Any] = {
        "timeout": {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
    }
    if target.scheme == "https":
        extensions["sni_hostname"] = host
    deadline = time.monotonic() + timeout
    try:
        with (
            _pool(deadline) as pool,
            pool.stream(
                method,
                send_url,
                headers=list(all_headers.items()),
                content=content,
                extensions=extensions,
            ) as response,
        ):
            body = b""
            truncated = False
            for chunk in response.iter_stream():
                if time.monotonic() > deadline:
                    raise OutboundError(f"timed out after {timeout:g}s: slow response")
                body += chunk
                if len(body) > max_body:
                    body = body[:max_body]
                    truncated = True
                    break
            return OutboundResult(
                status=response.status,
                headers=_header_dict(response.headers),
                text=_text(body, response.headers),
                truncated=truncated,
            )
    except httpcore.TimeoutException as exc:
        raise OutboundError(f"timed out after {timeout:g}s: {type(exc).__name__}") from None
    except (
        httpcore.NetworkError,
        httpcore.ProtocolError,
        httpcore.UnsupportedProtocol,
        httpcore.ConnectionNotAvailable,
    ) as exc:
        raise OutboundError(f"{type(exc).__name__}: {exc}") from None


def post_json(
    url: str,
    body: Any,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    resolver: Resolver = socket.getaddrinfo,
) -> OutboundResult:
    import json

    merged = {"Content-Type": "application/json", **(headers or {})}
    return request(
        "POST",
        url,
        content=json.dumps(body).encode(),
        headers=merged,
        timeout=timeout,
        resolver=resolver,
    )
