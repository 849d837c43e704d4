"""Reads for people, teams and tokens."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import QuerySet

from tocsin.accounts.models import (
    ApiToken,
    ContactKind,
    ContactMethod,
    NotificationRule,
    Team,
    Urgency,
    User,
)
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


# --- notification rules (issue 10) -----------------------------------------------------

# Default delays by kind when a person has stored no rule for an urgency: pushes, chats,
# webhooks and mail at once, SMS after 2 minutes, a call after 5 (shifted so the first
# of them goes at once when the person has no instant kind). Low urgency never calls.
_DEFAULT_DELAY = {"sms": 2, "voice": 5}
_INSTANT = 0


@dataclass(frozen=True)
class EffectiveRule:
    """One step of a person's notification cycle: this method, this long after the page."""

    method: ContactMethod
    delay_minutes: int
    rule_id: int | None  # None: a default, not stored


def _defaults(methods: list[ContactMethod], urgency: str) -> list[EffectiveRule]:
    usable = [m for m in methods if urgency == Urgency.HIGH or m.kind != ContactKind.VOICE]
    if not usable:
        return []
    delays = [_DEFAULT_DELAY.get(m.kind, _INSTANT) for m in usable]
    shift = min(delays)
    return sorted(
        (
            EffectiveRule(method=m, delay_minutes=d - shift, rule_id=None)
            for m, d in zip(usable, delays, strict=True)
        ),
        key=lambda r: (r.delay_minutes, r.method.pk),
    )


def effective_rules_many(users: Iterable[User], urgency: str) -> dict[int, list[EffectiveRule]]:
    """Each person's notification cycle for `urgency` (stored rules, else the defaults),
    over enabled contact methods only; two queries whatever the number of people."""
    ids = [u.pk for u in users]
    methods: dict[int, list[ContactMethod]] = {pk: [] for pk in ids}
    by_id: dict[int, ContactMethod] = {}
    for method in ContactMethod.objects.filter(user_id__in=ids, disabled_at__isnull=True):
        methods[method.user_id].append(method)
        by_id[method.pk] = method
    stored: dict[int, list[EffectiveRule]] = {}
    rules = NotificationRule.objects.filter(user_id__in=ids, urgency=urgency).order_by(
        "delay_minutes", "pk"
    )
    has_rules: set[int] = set()
    for rule in rules.values_list("pk", "user_id", "contact_method_id", "delay_minutes"):
        pk, user_id, method_id, delay = rule
        has_rules.add(user_id)
        found = by_id.get(method_id)
        if found is not None:  # a rule on a disabled method is skipped
            stored.setdefault(user_id, []).append(
                EffectiveRule(method=found, delay_minutes=delay, rule_id=pk)
            )
    return {
        pk: stored.get(pk, []) if pk in has_rules else _defaults(methods[pk], urgency) for pk in ids
    }


def effective_rules(user: User, urgency: str) -> list[EffectiveRule]:
    return effective_rules_many([user], urgency)[user.pk]


def stored_rules(user: User) -> QuerySet[NotificationRule]:
    return NotificationRule.objects.filter(user=user).select_related("contact_method")


def paging_problems(users: Iterable[User]) -> dict[int, str]:
    """People whose high-urgency paging has a problem, with what it is: none of it can
    work ("no working high-urgency contact method", "every high-urgency contact method
    failed its last delivery"), or one of its methods failed its last delivery ("SMS
    (Work phone) failed its last delivery"). People without a problem are absent."""
    users = list(users)
    problems: dict[int, str] = {}
    for user_id, cycle in effective_rules_many(users, Urgency.HIGH).items():
        failed = list(dict.fromkeys(r.method for r in cycle if r.method.last_delivery_ok is False))
        if not cycle:
            problems[user_id] = "no working high-urgency contact method"
        elif len(failed) == len({r.method for r in cycle}):
            problems[user_id] = "every high-urgency contact method failed its last delivery"
        elif failed:
            names = ", ".join(
                m.get_kind_display() + (f" ({m.label})" if m.label else "") for m in failed
            )
            problems[user_id] = f"{names} failed its last delivery"
    return problems


# --- contact methods and rules: who may manage whose (people helper, issue 10) ---------


def contact_owner(viewer: object, username: str) -> User:
    """The person whose contact methods, rules and paging preferences `viewer` may manage
    (themself if staff; anyone for an administrator). Anyone else, and a person who does
    not exist, is NotFound: whether someone has contact methods does not leak."""
    from tocsin.accounts.permissions import Action, can

    try:
        owner = user_by_username(username)
    except NotFound:
        owner = None
    if owner is None or not can(viewer, Action.CONTACT_MANAGE, owner):
        raise NotFound(f"no person with username {username!r}")
    return owner


def contact_methods(owner: User, *, include_disabled: bool = False) -> QuerySet[ContactMethod]:
    qs = ContactMethod.objects.filter(user=owner).order_by("created_at", "pk")
    if not include_disabled:
        qs = qs.filter(disabled_at__isnull=True)
    return qs


def contact_method_get(owner: User, method_id: int) -> ContactMethod:
    """One of the owner's contact methods (disabled ones too); NotFound otherwise."""
    try:
        return ContactMethod.objects.get(user=owner, pk=method_id)
    except ContactMethod.DoesNotExist:
        raise NotFound(f"no contact method with id {method_id}") from None
