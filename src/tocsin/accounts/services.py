"""Writes for people, teams and tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
import zoneinfo
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from tocsin.accounts.models import ApiToken, Role, Team, User
from tocsin.core.clock import now
from tocsin.core.errors import Conflict, Invalid

TOKEN_PREFIX = "tcn_"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


USERNAME_RE = re.compile(r"^[\w.@+-]{1,150}$")


def _check_email(value: str) -> str:
    value = (value or "").strip()
    try:
        validate_email(value)
    except ValidationError:
        raise Invalid("email", "must be an email address") from None
    return value


def _check_email_free(email: str, user: User | None = None) -> None:
    """One person per address, whatever its case (email intake finds people by it)."""
    others = User.objects.filter(email__iexact=email)
    if user is not None:
        others = others.exclude(pk=user.pk)
    if others.exists():
        raise Invalid("email", "another person already has this email address")


def _save_unique(user: User, **kwargs: Any) -> None:
    """Save; a concurrent save of the same address is the same 422 as the check above."""
    try:
        with transaction.atomic():
            user.save(**kwargs)
    except IntegrityError:
        if User.objects.filter(email__iexact=user.email).exclude(pk=user.pk).exists():
            raise Invalid("email", "another person already has this email address") from None
        raise


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
    if not USERNAME_RE.match(username):
        raise Invalid("username", "use 1–150 letters, digits and . @ + - _ (no spaces or symbols)")
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict(f"a person with username {username!r} already exists")
    email = _check_email(email)
    _check_email_free(email)
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
    _save_unique(user)
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
        user.email = _check_email(email)
        _check_email_free(user.email, user)
        fields.append("email")
    demoted = (role is not None and role != Role.ADMIN) or is_active is False
    if demoted and user.role == Role.ADMIN and user.is_active:
        others = User.objects.filter(role=Role.ADMIN, is_active=True).exclude(pk=user.pk)
        if not others.exists():
            raise Conflict(
                "this is the last active administrator; make someone else an administrator first"
            )
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
        _save_unique(user, update_fields=fields)
    return user


def _check_manager(manager: User | None) -> None:
    if manager is not None and (not manager.is_active or manager.role == Role.REPORTER):
        raise Invalid("manager", f"{manager.username!r} is not an active staff member")


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
    _check_manager(manager)
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
        _check_manager(manager)
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
