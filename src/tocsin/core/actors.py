"""Who made a change: a person, an API token (and its owner), an integration, or the system.

Every service that changes configuration takes an `Actor` and hands it to the audit log
(`tocsin.core.audit.audit_record`); every incident change writes it on the timeline.
An actor also carries where the request came from (request id, client address), so the
audit log can say it without the service knowing about HTTP.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from django.core.exceptions import ImproperlyConfigured
from django.db import models

if TYPE_CHECKING:
    from django.http import HttpRequest


class ActorKind(models.TextChoices):
    USER = "user", "Person"
    TOKEN = "token", "API token"
    INTEGRATION = "integration", "Integration"
    SYSTEM = "system", "System"
    ANONYMOUS = "anonymous", "Not signed in"


# `core` names no app: a person is whatever `settings.AUTH_USER_MODEL` is, and what an
# actor needs of a person, an API token or an integration is spelled out here.


class _PersonLike(Protocol):
    @property
    def pk(self) -> Any: ...
    @property
    def username(self) -> str: ...


class _TokenLike(Protocol):
    @property
    def pk(self) -> Any: ...
    @property
    def name(self) -> str: ...
    @property
    def prefix(self) -> str: ...
    @property
    def user(self) -> Any: ...  # the token's owner, a person


class _IntegrationLike(Protocol):
    pk: Any
    kind: str
    name: str


@dataclass(frozen=True)
class Actor:
    kind: str  # an ActorKind value
    user: Any = None  # the person (an accounts User), or None
    token: Any = None  # the API token (an accounts ApiToken), or None
    label: str = ""
    request_id: str = ""
    ip: str | None = None
    integration_id: int | None = None
    integration_name: str = ""

    @classmethod
    def for_user(cls, user: _PersonLike, request_id: str = "", ip: str | None = None) -> Actor:
        return cls(
            kind=ActorKind.USER, user=user, label=user.username, request_id=request_id, ip=ip
        )

    @classmethod
    def for_token(cls, token: _TokenLike, request_id: str = "", ip: str | None = None) -> Actor:
        return cls(
            kind=ActorKind.TOKEN,
            user=token.user,
            token=token,
            label=f"{token.user.username} (token {token.name or token.prefix})",
            request_id=request_id,
            ip=ip,
        )

    @classmethod
    def for_request(cls, request: HttpRequest) -> Actor:
        """The actor of a web request: its signed-in person, or an anonymous visitor."""
        user = getattr(request, "user", None)
        request_id = str(getattr(request, "request_id", ""))
        if user is not None and user.is_authenticated:
            return cls.for_user(user, request_id, client_ip(request))
        return cls.anonymous("", request_id=request_id, ip=client_ip(request))

    @classmethod
    def anonymous(cls, label: str, *, request_id: str = "", ip: str | None = None) -> Actor:
        """Someone not signed in (e.g. a failed sign-in; the label is the name they gave)."""
        return cls(kind=ActorKind.ANONYMOUS, label=label[:200], request_id=request_id, ip=ip)

    @classmethod
    def system(cls, label: str) -> Actor:
        return cls(kind=ActorKind.SYSTEM, label=label)

    @classmethod
    def integration(cls, label: str) -> Actor:
        """Something that came in from outside without a configured integration (email
        intake, a confirmation link); use `for_integration` when there is one."""
        return cls(kind=ActorKind.INTEGRATION, label=label)

    @classmethod
    def for_integration(cls, integration: _IntegrationLike) -> Actor:
        return cls(
            kind=ActorKind.INTEGRATION,
            label=f"{integration.kind}:{integration.name}",
            integration_id=integration.pk,
            integration_name=integration.name,
        )

    def timeline_fields(self) -> dict[str, Any]:
        return {
            "actor_kind": str(self.kind),
            "actor_user": self.user,
            "actor_token": self.token,
            "actor_label": self.label,
            "request_id": self.request_id[:64],
        }


TRUSTED_PROXIES_DEFAULT = ("127.0.0.0/8", "::1/128")


def client_ip(request: HttpRequest) -> str | None:
    """The address the request came from.

    REMOTE_ADDR, unless that is a trusted proxy (TOCSIN_TRUSTED_PROXIES; loopback by
    default): then the nearest address in X-Forwarded-For that is not itself a trusted
    proxy. A client cannot choose its address by sending the header, since only a trusted
    proxy's header is read.
    """
    remote = str(request.META.get("REMOTE_ADDR") or "").strip()
    networks = _trusted_networks()
    if remote and _in(remote, networks):
        forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR") or "")
        for hop in reversed([part.strip() for part in forwarded.split(",") if part.strip()]):
            if _parse(hop) is None:
                break
            remote = hop
            if not _in(hop, networks):
                break
    return remote[:45] or None


def _parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _in(value: str, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    address = _parse(value)
    return address is not None and any(address in network for network in networks)


def _trusted_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    from django.conf import settings

    names = getattr(settings, "TRUSTED_PROXIES", TRUSTED_PROXIES_DEFAULT)
    try:
        return [ipaddress.ip_network(name, strict=False) for name in names]
    except ValueError as exc:
        raise ImproperlyConfigured(f"TOCSIN_TRUSTED_PROXIES: {exc}") from None
