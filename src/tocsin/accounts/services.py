"""Writes for people, teams and tokens."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from tocsin.accounts.models import (
    SECRET_CONTACT_KINDS,
    ApiToken,
    ContactKind,
    ContactMethod,
    NotificationRule,
    Role,
    Team,
    Urgency,
    User,
)
from tocsin.core.actors import Actor
from tocsin.core.audit import audit_record, snapshot
from tocsin.core.clock import is_zone, now
from tocsin.core.crypto import decrypt, encrypt, sha256_hex
from tocsin.core.errors import Conflict, Invalid
from tocsin.core.models import SignInThrottle
from tocsin.core.validators import username_valid

TOKEN_PREFIX = "tcn_"


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
    if not is_zone(value):
        raise Invalid("time_zone", f"{value!r} is not a known time zone (e.g. Europe/Berlin)")
    return value


def _check_role(value: str) -> str:
    if value not in Role.values:
        raise Invalid("role", f"must be one of {', '.join(Role.values)}")
    return value


USER_AUDIT_FIELDS = ("username", "email", "name", "role", "time_zone", "is_active")


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
    actor: Actor,
) -> User:
    username = username.strip()
    if not username_valid(username):
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
        date_joined=now(),
    )
    _sync_django_flags(user)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    _save_unique(user)
    audit_record(
        actor=actor, action="user.create", obj=user, after=snapshot(user, USER_AUDIT_FIELDS)
    )
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
    actor: Actor,
) -> User:
    before = snapshot(user, USER_AUDIT_FIELDS)
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
        audit_record(
            actor=actor,
            action="user.update",
            obj=user,
            before=before,
            after=snapshot(user, USER_AUDIT_FIELDS),
        )
    return user


TEAM_AUDIT_FIELDS = ("name", "description", "manager", "members")


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
    actor: Actor,
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
    audit_record(
        actor=actor, action="team.create", obj=team, after=snapshot(team, TEAM_AUDIT_FIELDS)
    )
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
    actor: Actor,
) -> Team:
    before = snapshot(team, TEAM_AUDIT_FIELDS)
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
    audit_record(
        actor=actor,
        action="team.update",
        obj=team,
        before=before,
        after=snapshot(team, TEAM_AUDIT_FIELDS),
    )
    return team


@transaction.atomic
def token_create(*, user: User, name: str = "", actor: Actor) -> tuple[ApiToken, str]:
    """Create a token and return it with its secret, which is never shown again."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=raw[: len(TOKEN_PREFIX) + 6], token_hash=sha256_hex(raw)
    )
    audit_record(
        actor=actor,
        action="token.create",
        obj=token,
        after={"owner": user.username, "name": name, "prefix": token.prefix},
    )
    return token, raw


@transaction.atomic
def token_revoke(*, token: ApiToken, actor: Actor) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = now()
        token.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor,
            action="token.revoke",
            obj=token,
            before={"revoked_at": None},
            after={"revoked_at": token.revoked_at},
        )
    return token


# --- sign-in throttling -----------------------------------------------------------------------
#
# Two counters of failed sign-ins, each with its own lock-out (docs/production.md):
# - per (username, address): after USER_IP_FREE failures, each further failure locks that
#   username *from that address* for BACKOFF_BASE doubling per failure (up to BACKOFF_MAX).
#   Someone guessing a victim's password from elsewhere never locks the victim out of
#   their own address. The count is forgotten WINDOW after the last failure (once no lock
#   runs), so a guesser who keeps going keeps the longer back-off.
# - per address: after IP_FREE failures (any usernames) within WINDOW of the first, the
#   address is locked the same way, so one address cannot try a few passwords on every
#   account. The count restarts WINDOW after its first failure (once no lock runs), so the
#   ordinary typos of many people behind one address (a NAT) do not add up all day.
# A successful sign-in clears the (username, address) counter. While locked, an attempt is
# refused before the password is checked and counts no further.

USER_IP_FREE = 5
IP_FREE = 50
WINDOW = dt.timedelta(minutes=15)
BACKOFF_BASE = dt.timedelta(minutes=1)
BACKOFF_MAX = dt.timedelta(hours=1)


@dataclass(frozen=True)
class SignInRefusal:
    """Why a sign-in attempt is refused without checking the password, and until when."""

    scope: str  # "user_ip" or "ip"
    until: dt.datetime

    @property
    def message(self) -> str:
        seconds = max(1, int((self.until - now()).total_seconds() + 0.999))
        wait = f"{seconds} seconds" if seconds < 120 else f"{(seconds + 59) // 60} minutes"
        if self.scope == "ip":
            return f"Too many failed sign-ins from your address. Try again in {wait}."
        return f"Too many failed sign-ins for this username. Try again in {wait}."


def _throttle_keys(username: str, ip: str | None) -> list[tuple[str, str]]:
    address = ip or "unknown"
    return [("user_ip", f"{username.strip().lower()[:150]}|{address}"), ("ip", address)]


def _locked_until(row: SignInThrottle, at: dt.datetime) -> dt.datetime | None:
    return row.locked_until if row.locked_until is not None and row.locked_until > at else None


def signin_refusal(*, username: str, ip: str | None) -> SignInRefusal | None:
    """The lock that refuses this attempt now, if any (the later one, if both apply)."""
    at = now()
    refusal: SignInRefusal | None = None
    for scope, key in _throttle_keys(username, ip):
        row = SignInThrottle.objects.filter(scope=scope, key=key).first()
        until = _locked_until(row, at) if row is not None else None
        if until is not None and (refusal is None or until > refusal.until):
            refusal = SignInRefusal(scope, until)
    return refusal


def _backoff(failures: int, free: int) -> dt.timedelta | None:
    if failures < free:
        return None
    return min(BACKOFF_MAX, BACKOFF_BASE * (2 ** min(failures - free, 20)))


@transaction.atomic
def signin_failed(*, username: str, actor: Actor) -> SignInRefusal | None:
    """Count a wrong password (per username+address and per address) and audit it; answer
    the lock it earned, if any."""
    at = now()
    refusal: SignInRefusal | None = None
    for scope, key in _throttle_keys(username, actor.ip):
        free = USER_IP_FREE if scope == "user_ip" else IP_FREE
        row, _ = SignInThrottle.objects.select_for_update().get_or_create(
            scope=scope,
            key=key,
            defaults={"failures": 0, "first_failure_at": at, "last_failure_at": at},
        )
        since = row.last_failure_at if scope == "user_ip" else row.first_failure_at
        if row.failures and since + WINDOW < at and not _locked_until(row, at):
            row.failures = 0
        if not row.failures:
            row.first_failure_at = at
        row.failures += 1
        row.last_failure_at = at
        delay = _backoff(row.failures, free)
        row.locked_until = at + delay if delay is not None else None
        row.save(update_fields=["failures", "first_failure_at", "last_failure_at", "locked_until"])
        if row.locked_until is not None and (refusal is None or row.locked_until > refusal.until):
            refusal = SignInRefusal(scope, row.locked_until)
    audit_record(
        actor=actor,
        action="signin.failed",
        object_type="user",
        object_label=username[:200],
        after={"locked_until": refusal.until} if refusal else None,
    )
    return refusal


@transaction.atomic
def signin_throttled(*, username: str, actor: Actor, refusal: SignInRefusal) -> None:
    """Audit an attempt refused by a lock (the password was not checked)."""
    audit_record(
        actor=actor,
        action="signin.throttled",
        object_type="user",
        object_label=username[:200],
        after={"scope": refusal.scope, "locked_until": refusal.until},
    )


@transaction.atomic
def signin_succeeded(*, user: User, actor: Actor) -> None:
    """Clear the (username, address) counter and audit the sign-in."""
    scope, key = _throttle_keys(user.username, actor.ip)[0]
    SignInThrottle.objects.filter(scope=scope, key=key).delete()
    audit_record(actor=actor, action="signin", obj=user)


# -- contact methods (paging, issue 10) ---------------------------------------

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_APPRISE = re.compile(r"^[a-z][a-z0-9+.-]{1,30}://\S+$")
_APPRISE_MAX = 2000


def _contact_address_clean(kind: str, address: str) -> str:
    """The address normalised for its kind; Invalid("address", …) when it does not fit."""
    address = (address or "").strip()
    if not address:
        raise Invalid("address", "Enter an address.")
    if kind == ContactKind.EMAIL:
        try:
            validate_email(address)
        except ValidationError:
            raise Invalid("address", "Enter a valid email address.") from None
        return address
    if kind in (ContactKind.SMS, ContactKind.VOICE):
        phone = re.sub(r"[\s()-]", "", address)
        if not _E164.match(phone):
            raise Invalid(
                "address", "Enter a phone number in international form, e.g. +441632960000."
            )
        return phone
    if kind in (ContactKind.SLACK, ContactKind.TEAMS, ContactKind.WEBHOOK, ContactKind.NTFY):
        parts = urlsplit(address)
        if parts.scheme not in ("http", "https") or not parts.hostname or len(address) > 2000:
            raise Invalid("address", "Enter an http(s) URL.")
        if kind == ContactKind.NTFY and parts.path.strip("/") == "":
            raise Invalid("address", "Enter an ntfy topic URL, e.g. https://ntfy.sh/my-topic.")
        return address
    if kind == ContactKind.APPRISE:
        if len(address) > _APPRISE_MAX or not _APPRISE.match(address):
            raise Invalid("address", "Enter an Apprise URL (scheme://…).")
        return address
    raise Invalid("kind", "Choose a known kind.")


def contact_address(method: ContactMethod) -> str:
    """The address in clear (decrypted for kinds that may carry secrets)."""
    if method.kind in SECRET_CONTACT_KINDS:
        return decrypt(method.address)
    return method.address


def contact_address_masked(method: ContactMethod) -> str:
    """What the API and pages show: webhooks as scheme://host/…, Apprise as scheme://…"""
    if method.kind not in SECRET_CONTACT_KINDS:
        return method.address
    parts = urlsplit(contact_address(method))
    if method.kind == ContactKind.APPRISE:  # Apprise puts tokens where a host would be
        return f"{parts.scheme}://…"
    return f"{parts.scheme}://{parts.hostname or ''}/…"


@transaction.atomic
def contact_method_add(
    *, user: User, kind: str, address: str, label: str = "", actor: Actor
) -> ContactMethod:
    if kind not in ContactKind.values:
        raise Invalid("kind", "Choose one of: " + ", ".join(ContactKind.values) + ".")
    clean = _contact_address_clean(kind, address)
    label = (label or "").strip()
    if len(label) > 100:
        raise Invalid("label", "At most 100 characters.")
    stored = encrypt(clean) if kind in SECRET_CONTACT_KINDS else clean
    method = ContactMethod.objects.create(user=user, kind=kind, address=stored, label=label)
    audit_record(
        actor=actor,
        action="contact_method.add",
        obj=method,
        after={"user": user.username, "kind": kind, "label": label},
    )
    return method


@transaction.atomic
def contact_method_remove(*, method: ContactMethod, actor: Actor) -> ContactMethod:
    """Disables (never deletes: outbox rows reference it). Removing again changes nothing."""
    method = ContactMethod.objects.select_for_update().get(pk=method.pk)
    if method.disabled_at is None:
        method.disabled_at = now()
        method.save(update_fields=["disabled_at"])
        audit_record(
            actor=actor,
            action="contact_method.remove",
            obj=method,
            after={"user": method.user.username, "kind": method.kind},
        )
    return method


RULE_MAX_DELAY = 1440  # minutes
RULES_MAX = 20  # per urgency


@transaction.atomic
def notification_rules_set(
    *, user: User, rules: dict[str, list[dict[str, Any]]], actor: Actor
) -> list[NotificationRule]:
    """Replace the person's stored rules for each urgency given (`{"high": [{"contact_method":
    id, "delay_minutes": n}, ...], "low": [...]}`); an urgency left out keeps its rules.
    An empty list for an urgency goes back to the defaults (`effective_rules`): nobody
    on call can opt out of being paged. Every method must be one of the person's enabled
    contact methods."""
    User.objects.select_for_update().filter(pk=user.pk).first()  # one writer per person
    methods = {m.pk: m for m in ContactMethod.objects.filter(user=user, disabled_at__isnull=True)}
    cleaned: dict[str, list[tuple[int, int]]] = {}
    for urgency, items in rules.items():
        if urgency not in Urgency.values:
            raise Invalid(urgency, "Urgency must be high or low.")
        if not isinstance(items, list) or len(items) > RULES_MAX:
            raise Invalid(urgency, f"A list of at most {RULES_MAX} rules.")
        seen: set[tuple[int, int]] = set()
        for index, item in enumerate(items):
            where = f"{urgency}[{index}]"
            method_id = item.get("contact_method") if isinstance(item, dict) else None
            delay = item.get("delay_minutes", 0) if isinstance(item, dict) else None
            if (
                not isinstance(method_id, int)
                or isinstance(method_id, bool)
                or (method_id not in methods)
            ):
                raise Invalid(
                    f"{where}.contact_method", "Not one of this person's contact methods."
                )
            if (
                not isinstance(delay, int)
                or isinstance(delay, bool)
                or not (0 <= delay <= RULE_MAX_DELAY)
            ):
                raise Invalid(f"{where}.delay_minutes", f"Whole minutes, 0 to {RULE_MAX_DELAY}.")
            if (method_id, delay) in seen:
                raise Invalid(where, "The same method and delay twice.")
            seen.add((method_id, delay))
        cleaned[urgency] = sorted(seen, key=lambda pair: (pair[1], pair[0]))
    before = {
        u: [
            (r.contact_method_id, r.delay_minutes)
            for r in user.notification_rules.filter(urgency=u)
        ]
        for u in cleaned
    }
    created: list[NotificationRule] = []
    for urgency, pairs in cleaned.items():
        NotificationRule.objects.filter(user=user, urgency=urgency).delete()
        created += NotificationRule.objects.bulk_create(
            NotificationRule(user=user, urgency=urgency, contact_method_id=m, delay_minutes=d)
            for m, d in pairs
        )
    audit_record(
        actor=actor,
        action="notification_rules.set",
        obj=user,
        before={u: [list(p) for p in v] for u, v in before.items()},
        after={u: [list(p) for p in v] for u, v in cleaned.items()},
    )
    return created


# --- paging preferences (people helper, issue 10) -------------------------------------------

HANDOFF_NOTICE_MAX = 7 * 24 * 60  # minutes: a week


@transaction.atomic
def paging_preferences_set(
    *,
    user: User,
    handoff_notice_minutes: int | None = None,
    low_urgency_working_hours: bool | None = None,
    actor: Actor,
) -> User:
    """Change how the person is paged: the hand-off notice's lead time (0: no notice) and
    whether low-urgency pages wait for their working hours. None leaves a field alone."""
    fields = ("handoff_notice_minutes", "low_urgency_working_hours")
    before = snapshot(user, fields)
    changed: list[str] = []
    if handoff_notice_minutes is not None:
        if (
            not isinstance(handoff_notice_minutes, int)
            or isinstance(handoff_notice_minutes, bool)
            or not 0 <= handoff_notice_minutes <= HANDOFF_NOTICE_MAX
        ):
            raise Invalid("handoff_notice_minutes", f"Whole minutes, 0 to {HANDOFF_NOTICE_MAX}.")
        user.handoff_notice_minutes = handoff_notice_minutes
        changed.append("handoff_notice_minutes")
    if low_urgency_working_hours is not None:
        user.low_urgency_working_hours = bool(low_urgency_working_hours)
        changed.append("low_urgency_working_hours")
    if changed:
        user.save(update_fields=changed)
        audit_record(
            actor=actor,
            action="paging_preferences.set",
            obj=user,
            before=before,
            after=snapshot(user, fields),
        )
    return user
