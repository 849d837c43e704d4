"""Reads for people, teams and tokens."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import QuerySet

from tocsin.accounts.models import ApiToken, Team, User
from tocsin.core.clock import now
from tocsin.core.crypto import sha256_hex
from tocsin.core.errors import NotFound


def user_by_username(username: str, *, active_only: bool = False) -> User:
    qs = User.objects.all()
    if active_only:
        qs = qs.filter(is_active=True)
    try:
        return qs.get(username__iexact=username)
    except User.DoesNotExist:
        raise NotFound(f"no person with username {username!r}") from None


def user_list(*, role: str | None = None, active: bool | None = None) -> QuerySet[User]:
    qs = User.objects.order_by("username")
    if role:
        qs = qs.filter(role=role)
    if active is not None:
        qs = qs.filter(is_active=active)
    return qs


def team_get(team_id: int) -> Team:
    try:
        return Team.objects.select_related("manager").get(pk=team_id)
    except Team.DoesNotExist:
        raise NotFound(f"no team with id {team_id}") from None


def team_by_name(name: str) -> Team:
    try:
        return Team.objects.get(name__iexact=name)
    except Team.DoesNotExist:
        raise NotFound(f"no team named {name!r}") from None


def token_authenticate(raw: str) -> ApiToken | None:
    """The live token with this secret, or None. Touches last_used_at at most once a minute."""
    if not raw:
        return None
    try:
        token = ApiToken.objects.select_related("user").get(
            token_hash=sha256_hex(raw), revoked_at__isnull=True
        )
    except ApiToken.DoesNotExist:
        return None
    if not token.user.is_active:
        return None
    current = now()
    if token.last_used_at is None or current - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=current)
    return token


def team_list() -> QuerySet[Team]:
    return Team.objects.select_related("manager").prefetch_related("members").order_by("name")
