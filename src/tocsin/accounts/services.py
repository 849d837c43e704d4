"""Writes for people, teams and tokens."""

from __future__ import annotations

import hashlib
import secrets
import zoneinfo

from django.conf import settings
from django.db import transaction

from tocsin.accounts.models import ApiToken, Role, Team, User
from tocsin.core.clock import now
from tocsin.core.errors import Conflict, Invalid

TOKEN_PREFIX = "tcn_"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _check_time_zone(value: str) -> str:
    if value not in zoneinfo.available_timezones():
        raise Invalid("time_zone", f"{value!r} is not a known time zone (e.g. Europe/Berlin)")
    return value


def _check_role(value: str) -> str:
    if value not in Role.values:
        raise Invalid("role", f"must be one of {', '.join(Role.values)}")
    return value


def _sync_django_flags(user: User) -> None:
    user.is_staff = user.role == Role.ADMIN
    user.is_superuser = user.role == Role.ADMIN


@transaction.atomic
def user_create(
    *,
    username: str,
    email: str,
    name: str = "",
    role: str = Role.REPORTER,
    time_zone: str = "",
    password: str | None = None,
) -> User:
    username = username.strip()
    if not username:
        raise Invalid("username", "must not be empty")
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict(f"a person with username {username!r} already exists")
    if not email or "@" not in email:
        raise Invalid("email", "must be an email address")
    user = User(
        username=username,
        email=email.strip(),
        name=name.strip(),
        role=_check_role(role),
        time_zone=_check_time_zone(time_zone or settings.TIME_ZONE),
    )
    _sync_django_flags(user)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    return user


@transaction.atomic
def user_update(
    *,
    user: User,
    email: str | None = None,
    name: str | None = None,
    role: str | None = None,
    time_zone: str | None = None,
    is_active: bool | None = None,
) -> User:
    fields: list[str] = []
    if email is not None:
        if "@" not in email:
            raise Invalid("email", "must be an email address")
        user.email = email.strip()
        fields.append("email")
    if name is not None:
        user.name = name.strip()
        fields.append("name")
    if role is not None:
        user.role = _check_role(role)
        _sync_django_flags(user)
        fields += ["role", "is_staff", "is_superuser"]
    if time_zone is not None:
        user.time_zone = _check_time_zone(time_zone)
        fields.append("time_zone")
    if is_active is not None:
        user.is_active = is_active
        fields.append("is_active")
    if fields:
        user.save(update_fields=fields)
    return user


@transaction.atomic
def team_create(
    *,
    name: str,
    members: list[User] | None = None,
    manager: User | None = None,
    description: str = "",
) -> Team:
    name = name.strip()
    if not name:
        raise Invalid("name", "must not be empty")
    if Team.objects.filter(name__iexact=name).exists():
        raise Conflict(f"a team named {name!r} already exists")
    team = Team.objects.create(name=name, manager=manager, description=description)
    if members:
        team.members.set(members)
    return team


@transaction.atomic
def team_update(
    *,
    team: Team,
    name: str | None = None,
    members: list[User] | None = None,
    manager: User | None = None,
    clear_manager: bool = False,
    description: str | None = None,
) -> Team:
    if name is not None:
        name = name.strip()
        if not name:
            raise Invalid("name", "must not be empty")
        if Team.objects.filter(name__iexact=name).exclude(pk=team.pk).exists():
            raise Conflict(f"a team named {name!r} already exists")
        team.name = name
    if manager is not None or clear_manager:
        team.manager = manager
    if description is not None:
        team.description = description
    team.save()
    if members is not None:
        team.members.set(members)
    return team


@transaction.atomic
def token_create(*, user: User, name: str = "") -> tuple[ApiToken, str]:
    """Create a token and return it with its secret, which is never shown again."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=raw[: len(TOKEN_PREFIX) + 6], token_hash=hash_token(raw)
    )
    return token, raw


@transaction.atomic
def token_revoke(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = now()
        token.save(update_fields=["revoked_at"])
    return token
