"""Reading escalation policies: lists and one policy behind the access gate, each level's
targets with who they name right now, and the warnings a policy deserves (people who
cannot be paged at high urgency, schedules with nobody on call now).

Staff may read policies (Action.POLICY_VIEW); for anyone else a policy does not exist
(NotFound, a 404).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, QuerySet

from tocsin.accounts.models import Team, User
from tocsin.accounts.permissions import Action, can, people_who_may
from tocsin.accounts.selectors import paging_problems
from tocsin.catalog.models import Service
from tocsin.core.errors import Invalid, NotFound
from tocsin.escalation.models import (
    EscalationLevel,
    EscalationPolicy,
    EscalationTarget,
    LevelMode,
    ServicePaging,
    TargetKind,
)
from tocsin.escalation.targets import oncall_user_ids, team_schedules
from tocsin.oncall.models import Schedule

# --- the gate -------------------------------------------------------------------------


def may_view(user: Any) -> bool:
    return can(user, Action.POLICY_VIEW)


def policy_list(*, user: Any, include_archived: bool = False) -> QuerySet[EscalationPolicy]:
    """Policies by name, with `level_count` and `service_count`; none for non-staff."""
    if not may_view(user):
        return EscalationPolicy.objects.none()
    qs = (
        EscalationPolicy.objects.select_related("team")
        .annotate(
            level_count=Count("levels", distinct=True),
            service_count=Count("services", distinct=True),
        )
        .order_by("name", "pk")
    )
    return qs if include_archived else qs.filter(archived_at__isnull=True)


def policy_get(policy_id: int, *, user: Any) -> EscalationPolicy:
    """A policy this person may see (archived ones too); NotFound otherwise."""
    policy = None
    if may_view(user):
        policy = EscalationPolicy.objects.select_related("team").filter(pk=policy_id).first()
    if policy is None:
        raise NotFound(f"no escalation policy with id {policy_id}")
    return policy


def live_policies() -> QuerySet[EscalationPolicy]:
    return EscalationPolicy.objects.filter(archived_at__isnull=True).order_by("name", "pk")


def policy_for_service_field(value: int | None, *, user: Any) -> EscalationPolicy | None:
    """The policy a service is given (`escalation_policy`): a live one this person may
    see; anything else is refused naming the field."""
    if value is None:
        return None
    policy = live_policies().filter(pk=value).first() if may_view(user) else None
    if policy is None:
        raise Invalid("escalation_policy", f"no live escalation policy with id {value}")
    return policy


def may_own(user: Any, team: Team | None) -> bool:
    """May this person give a policy to `team` (None: no team)? Administrators any team
    or none; a manager only a team they manage (then they can edit it afterwards)."""
    if team is None:
        return can(user, Action.CONFIG_MANAGE)
    return can(user, Action.POLICY_EDIT, team)


def owning_teams(user: Any, current: Team | None = None) -> list[Team]:
    """The teams this person may give a policy to (plus the policy's current team)."""
    teams = [t for t in Team.objects.order_by("name") if may_own(user, t)]
    if current is not None and current.pk not in {t.pk for t in teams}:
        teams.append(current)
    return teams


# --- targets and who they name now ------------------------------------------------------


@dataclass
class TargetView:
    """One target as shown: what it is, and who it names right now."""

    kind: str
    ident: str | int  # a username, or a schedule's or team's id
    name: str
    oncall: list[User] = field(default_factory=list)  # schedules and teams: on call now
    gap: bool = False  # a schedule or team with nobody on call now
    inactive: bool = False  # a deactivated person, an archived schedule
    problem: str = ""  # "cannot be paged: …" (the person, or someone on call through it)

    @property
    def kind_label(self) -> str:
        return str(TargetKind(self.kind).label)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.ident}"

    @property
    def now_text(self) -> str:
        if self.kind == TargetKind.USER:
            return "deactivated" if self.inactive else ""
        if self.inactive:
            return "archived"
        if self.gap:
            return "nobody is on call now"
        return "on call now: " + ", ".join(u.display_name or u.username for u in self.oncall)


@dataclass
class LevelView:
    position: int  # 0 is the first level
    delay_minutes: int
    mode: str
    targets: list[TargetView]

    @property
    def number(self) -> int:
        return self.position + 1

    @property
    def mode_label(self) -> str:
        return str(LevelMode(self.mode).label)


@dataclass
class Warning:
    """Something that would stop a page reaching a person: `user` set for a person who
    cannot be paged, None for a target naming nobody right now."""

    message: str
    user: User | None = None
    target: str = ""  # "schedule Payments primary"

    @property
    def kind(self) -> str:
        return "person" if self.user is not None else "gap"


@dataclass
class PolicyView:
    policy: EscalationPolicy
    levels: list[LevelView]
    warnings: list[Warning]
    services: list[Service]


TargetRef = tuple[str, Any]
"""(kind, the user / schedule / team object)."""


def describe_targets(
    refs: Sequence[TargetRef], at: dt.datetime
) -> tuple[list[TargetView], list[Warning]]:
    """Each target with who it names at `at`, and the warnings about them (each person
    once): deactivated people, schedules and teams with nobody on call, and people
    (named or on call) who cannot be paged at high urgency."""
    schedules = [obj for kind, obj in refs if kind == TargetKind.SCHEDULE]
    teams = [obj for kind, obj in refs if kind == TargetKind.TEAM]
    by_team = team_schedules(teams)
    every_schedule = schedules + [s for ss in by_team.values() for s in ss]
    oncall = oncall_user_ids(every_schedule, at) if every_schedule else {}
    people = User.objects.in_bulk({pk for pk in oncall.values() if pk is not None})
    views: list[TargetView] = []
    warnings: list[Warning] = []
    pageable: dict[int, tuple[User, str]] = {}
    for kind, obj in refs:
        if kind == TargetKind.USER:
            label = obj.display_name or obj.username
            view = TargetView(kind, obj.username, label, inactive=not obj.is_active)
            if obj.is_active:
                pageable.setdefault(obj.pk, (obj, f"person {label}"))
            else:
                warnings.append(Warning(f"{label} is deactivated", target=f"person {label}"))
        elif kind == TargetKind.SCHEDULE:
            user = people.get(oncall.get(obj.pk) or 0)
            view = TargetView(kind, obj.pk, obj.name, inactive=obj.archived_at is not None)
            if user is not None:
                view.oncall = [user]
                pageable.setdefault(user.pk, (user, f"schedule {obj.name}"))
            else:
                view.gap = True
                why = "is archived" if view.inactive else "has nobody on call right now"
                warnings.append(
                    Warning(f"Schedule {obj.name} {why}", target=f"schedule {obj.name}")
                )
        else:
            view = TargetView(kind, obj.pk, obj.name)
            for schedule in by_team.get(obj.pk, []):
                user = people.get(oncall.get(schedule.pk) or 0)
                if user is not None and user not in view.oncall:
                    view.oncall.append(user)
                    pageable.setdefault(user.pk, (user, f"team {obj.name} ({schedule.name})"))
            if not view.oncall:
                view.gap = True
                why = (
                    "has no schedule"
                    if not by_team.get(obj.pk)
                    else "has nobody on call on its schedules right now"
                )
                warnings.append(Warning(f"Team {obj.name} {why}", target=f"team {obj.name}"))
        views.append(view)
    problems = paging_problems(u for u, _ in pageable.values())
    for user_id, why in problems.items():
        user, via = pageable[user_id]
        name = user.display_name or user.username
        warnings.append(Warning(f"{name} cannot be paged: {why}", user=user, target=via))
    for view, (kind, obj) in zip(views, refs, strict=True):
        if kind == TargetKind.USER:
            if obj.pk in problems:
                view.problem = "cannot be paged: " + problems[obj.pk]
        else:
            stuck = [u.display_name or u.username for u in view.oncall if u.pk in problems]
            if stuck:
                view.problem = ", ".join(stuck) + " cannot be paged"
    return views, warnings


def _targets_of(levels: Sequence[EscalationLevel]) -> list[list[EscalationTarget]]:
    rows = EscalationTarget.objects.filter(level__in=levels).select_related(
        "user", "schedule", "team"
    )
    by_level: dict[int, list[EscalationTarget]] = {level.pk: [] for level in levels}
    for row in rows.order_by("level_id", "position"):
        by_level[row.level_id].append(row)
    return [by_level[level.pk] for level in levels]


def _ref(target: EscalationTarget) -> TargetRef:
    return (target.kind, getattr(target, target.kind))


def policy_view(policy: EscalationPolicy, at: dt.datetime) -> PolicyView:
    """The policy's levels with their targets as they are at `at`, the warnings (each
    person once) and the services that page through it."""
    levels = list(policy.levels.order_by("position"))
    targets = _targets_of(levels)
    refs = [_ref(t) for level_targets in targets for t in level_targets]
    views, warnings = describe_targets(refs, at)
    out: list[LevelView] = []
    index = 0
    for level, level_targets in zip(levels, targets, strict=True):
        out.append(
            LevelView(
                position=level.position,
                delay_minutes=level.delay_minutes,
                mode=level.mode,
                targets=views[index : index + len(level_targets)],
            )
        )
        index += len(level_targets)
    return PolicyView(
        policy=policy, levels=out, warnings=_unique(warnings), services=services_using(policy)
    )


def _unique(warnings: Iterable[Warning]) -> list[Warning]:
    seen: set[str] = set()
    out = []
    for warning in warnings:
        if warning.message not in seen:
            seen.add(warning.message)
            out.append(warning)
    return out


def services_using(policy: EscalationPolicy) -> list[Service]:
    return list(
        Service.objects.filter(paging__policy=policy).select_related("team").order_by("name")
    )


# --- what the editor offers ----------------------------------------------------------


@dataclass(frozen=True)
class TargetChoice:
    key: str  # "user:ann", "schedule:3", "team:2"
    label: str
    now: str  # "on call now: Ann Archer", "nobody is on call now", ""


def target_choices(at: dt.datetime) -> dict[str, list[TargetChoice]]:
    """Everything a level may name, by group (People, Schedules, Teams), each schedule
    and team with who is on call now."""
    people = list(people_who_may(Action.INCIDENT_BE_ASSIGNED).order_by("name", "username"))
    schedules = list(Schedule.objects.filter(archived_at__isnull=True).order_by("name", "pk"))
    teams = list(Team.objects.order_by("name", "pk"))
    refs: list[TargetRef] = [(TargetKind.SCHEDULE, s) for s in schedules]
    refs += [(TargetKind.TEAM, t) for t in teams]
    views, _ = describe_targets(refs, at)
    return {
        "People": [
            TargetChoice(
                f"user:{u.username}",
                f"{u.display_name} ({u.username})" if u.display_name else u.username,
                "",
            )
            for u in people
        ],
        "Schedules": [
            TargetChoice(v.key, v.name, v.now_text) for v in views if v.kind == TargetKind.SCHEDULE
        ],
        "Teams": [
            TargetChoice(v.key, f"{v.name} (on call)", v.now_text)
            for v in views
            if v.kind == TargetKind.TEAM
        ],
    }


def target_objects(keys: Sequence[str]) -> dict[str, Any]:
    """ "user:ann" / "schedule:3" / "team:2" -> the object (missing keys left out)."""
    wanted: dict[str, set[str]] = {"user": set(), "schedule": set(), "team": set()}
    for key in keys:
        kind, _, ident = key.partition(":")
        if kind in wanted and ident:
            wanted[kind].add(ident)
    found: dict[str, Any] = {}
    for u in User.objects.filter(username__in=wanted["user"]):
        found[f"user:{u.username}"] = u
    ids = {
        k: [int(i) for i in v if i.isascii() and i.isdigit() and len(i) < 16]
        for k, v in wanted.items()
    }
    for s in Schedule.objects.filter(pk__in=ids["schedule"]):
        found[f"schedule:{s.pk}"] = s
    for t in Team.objects.filter(pk__in=ids["team"]):
        found[f"team:{t.pk}"] = t
    return found


# --- services ---------------------------------------------------------------------------


def service_paging_of(services: Sequence[Service]) -> dict[int, ServicePaging]:
    """Each service's paging row (services without one are absent)."""
    rows = ServicePaging.objects.filter(service__in=services).select_related("policy")
    return {row.service_id: row for row in rows}


def policy_warning_counts(policies: Sequence[EscalationPolicy], at: dt.datetime) -> dict[int, int]:
    """How many warnings each policy has now (the list page)."""
    return {p.pk: len(policy_view(p, at).warnings) for p in policies}
