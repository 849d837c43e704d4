"""Writing escalation policies (create, replace, archive) and attaching them to services.

`levels` is the API's shape: `[{"delay_minutes": 15, "mode": "all" | "round_robin",
"targets": [{"type": "user" | "schedule" | "team", "id": <username or integer id>}]}]`.
Bad input raises Invalid naming the field (`levels[1].targets[0].id`).
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from tocsin.accounts.models import Team, User
from tocsin.accounts.permissions import Action, can, require_for
from tocsin.catalog.models import Service
from tocsin.core.actors import Actor
from tocsin.core.audit import audit_record
from tocsin.core.clock import now
from tocsin.core.errors import Conflict, Invalid
from tocsin.escalation.models import (
    DELAY_MAX_MINUTES,
    LEVELS_MAX,
    REPEAT_MAX,
    TARGETS_MAX,
    EscalationLevel,
    EscalationPolicy,
    EscalationTarget,
    LevelMode,
    ServicePaging,
    TargetKind,
)
from tocsin.oncall.models import Schedule


def _int(where: str, value: Any, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise Invalid(where, f"A whole number from {low} to {high}.")
    return value


def parse_levels(levels: Any) -> list[dict[str, Any]]:
    """Check the levels and look up their targets; the cleaned levels, in order."""
    if not isinstance(levels, list) or not levels:
        raise Invalid("levels", "At least one level.")
    if len(levels) > LEVELS_MAX:
        raise Invalid("levels", f"At most {LEVELS_MAX} levels.")
    cleaned: list[dict[str, Any]] = []
    for index, level in enumerate(levels):
        where = f"levels[{index}]"
        if not isinstance(level, dict):
            raise Invalid(where, "An object with delay_minutes and targets.")
        delay = _int(f"{where}.delay_minutes", level.get("delay_minutes", 15), 1, DELAY_MAX_MINUTES)
        mode = level.get("mode", LevelMode.ALL)
        if mode not in LevelMode.values:
            raise Invalid(f"{where}.mode", "all or round_robin.")
        raw = level.get("targets")
        if not isinstance(raw, list) or not raw:
            raise Invalid(f"{where}.targets", "At least one target.")
        if len(raw) > TARGETS_MAX:
            raise Invalid(f"{where}.targets", f"At most {TARGETS_MAX} targets.")
        found: list[dict[str, Any]] = []
        seen: set[tuple[str, int]] = set()
        for t_index, target in enumerate(raw):
            t_where = f"{where}.targets[{t_index}]"
            if not isinstance(target, dict):
                raise Invalid(t_where, "An object with type and id.")
            kind, ident = target.get("type"), target.get("id")
            obj: Any
            if isinstance(ident, int) and not isinstance(ident, bool) and not (0 < ident < 2**63):
                raise Invalid(f"{t_where}.id", "No such id.")
            if kind == TargetKind.USER:
                obj = (
                    User.objects.filter(username=ident, is_active=True).first()
                    if isinstance(ident, str)
                    else None
                )
                if obj is None or not can(obj, Action.INCIDENT_BE_ASSIGNED):
                    raise Invalid(f"{t_where}.id", "No active staff member has this username.")
            elif kind == TargetKind.SCHEDULE:
                obj = (
                    Schedule.objects.filter(pk=ident, archived_at__isnull=True).first()
                    if isinstance(ident, int) and not isinstance(ident, bool)
                    else None
                )
                if obj is None:
                    raise Invalid(f"{t_where}.id", "No live schedule has this id.")
            elif kind == TargetKind.TEAM:
                obj = (
                    Team.objects.filter(pk=ident).first()
                    if isinstance(ident, int) and not isinstance(ident, bool)
                    else None
                )
                if obj is None:
                    raise Invalid(f"{t_where}.id", "No team has this id.")
            else:
                raise Invalid(f"{t_where}.type", "user, schedule or team.")
            if (kind, obj.pk) in seen:
                raise Invalid(t_where, "The same target twice on one level.")
            seen.add((kind, obj.pk))
            found.append({"kind": kind, kind: obj})
        cleaned.append({"delay_minutes": delay, "mode": mode, "targets": found})
    return cleaned


def _write_levels(policy: EscalationPolicy, levels: list[dict[str, Any]]) -> None:
    """Replace the levels; a round-robin level keeps its turn where it stays round-robin
    at the same position."""
    turns = dict(policy.levels.values_list("position", "rr_next"))
    policy.levels.all().delete()
    for position, level in enumerate(levels):
        row = EscalationLevel.objects.create(
            policy=policy,
            position=position,
            delay_minutes=level["delay_minutes"],
            mode=level["mode"],
            rr_next=turns.get(position, 0) if level["mode"] == LevelMode.ROUND_ROBIN else 0,
        )
        EscalationTarget.objects.bulk_create(
            EscalationTarget(level=row, position=t_position, **target)
            for t_position, target in enumerate(level["targets"])
        )


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid("name", "Enter a name.")
    name = " ".join(value.split())
    if len(name) > 100:
        raise Invalid("name", "At most 100 characters.")
    return name


def _check_owner(actor: Actor, team: Team | None) -> None:
    """A manager may give a policy only to a team they manage; administrators any team or
    none."""
    if team is None:
        require_for(actor, Action.POLICY_EDIT, None, what="own policies without a team")
    else:
        require_for(actor, Action.POLICY_EDIT, team, what="own policies for this team")


def _snapshot(policy: EscalationPolicy) -> dict[str, Any]:
    return {
        "name": policy.name,
        "repeat": policy.repeat,
        "team": policy.team_id,
        "levels": [
            {
                "delay_minutes": level.delay_minutes,
                "mode": level.mode,
                "targets": [
                    f"{t.kind}:{t.user_id or t.schedule_id or t.team_id}"
                    for t in level.targets.all()
                ],
            }
            for level in policy.levels.all()
        ],
    }


@transaction.atomic
def policy_create(
    *,
    actor: Actor,
    name: Any,
    levels: Any,
    repeat: Any = 0,
    description: str = "",
    team: Team | None = None,
) -> EscalationPolicy:
    require_for(actor, Action.POLICY_CREATE, what="create escalation policies")
    _check_owner(actor, team)
    clean_name = _name(name)
    repeat = _int("repeat", repeat, 0, REPEAT_MAX)
    cleaned = parse_levels(levels)
    if EscalationPolicy.objects.filter(name__iexact=clean_name, archived_at__isnull=True).exists():
        raise Invalid("name", "Another escalation policy already has this name.")
    try:
        with transaction.atomic():
            policy = EscalationPolicy.objects.create(
                name=clean_name, repeat=repeat, description=(description or "")[:5000], team=team
            )
    except IntegrityError:
        raise Invalid("name", "Another escalation policy already has this name.") from None
    _write_levels(policy, cleaned)
    audit_record(
        actor=actor, action="escalation_policy.create", obj=policy, after=_snapshot(policy)
    )
    return policy


@transaction.atomic
def policy_update(
    *, policy: EscalationPolicy, actor: Actor, changes: dict[str, Any]
) -> EscalationPolicy:
    """Change any of name, description, repeat, team, levels (levels replace the old
    ones; climbs under way read the new levels at their next step)."""
    require_for(actor, Action.POLICY_EDIT, policy, what="edit escalation policies")
    policy = EscalationPolicy.objects.select_for_update().get(pk=policy.pk)
    if policy.archived_at is not None:
        raise Conflict("This escalation policy is archived.")
    before = _snapshot(policy)
    if "name" in changes:
        name = _name(changes["name"])
        clash = EscalationPolicy.objects.filter(name__iexact=name, archived_at__isnull=True)
        if clash.exclude(pk=policy.pk).exists():
            raise Invalid("name", "Another escalation policy already has this name.")
        policy.name = name
    if "description" in changes:
        policy.description = str(changes["description"] or "")[:5000]
    if "repeat" in changes:
        policy.repeat = _int("repeat", changes["repeat"], 0, REPEAT_MAX)
    if "team" in changes:
        _check_owner(actor, changes["team"])
        policy.team = changes["team"]
    levels = parse_levels(changes["levels"]) if "levels" in changes else None
    policy.updated_at = now()
    policy.save()
    if levels is not None:
        _write_levels(policy, levels)
    audit_record(
        actor=actor,
        action="escalation_policy.update",
        obj=policy,
        before=before,
        after=_snapshot(policy),
    )
    return policy


@transaction.atomic
def policy_archive(*, policy: EscalationPolicy, actor: Actor) -> EscalationPolicy:
    """Archived policies page nobody new; services using one must be moved first."""
    require_for(actor, Action.POLICY_EDIT, policy, what="archive escalation policies")
    policy = EscalationPolicy.objects.select_for_update().get(pk=policy.pk)
    in_use = list(
        ServicePaging.objects.filter(policy=policy).values_list("service__name", flat=True)
    )
    if in_use:
        raise Conflict(
            "This policy pages for " + ", ".join(sorted(in_use)[:5]) + "; give them another first."
        )
    if policy.archived_at is None:
        policy.archived_at = now()
        policy.save(update_fields=["archived_at"])
        audit_record(actor=actor, action="escalation_policy.archive", obj=policy)
    return policy


@transaction.atomic
def service_paging_set(
    *,
    service: Service,
    actor: Actor,
    policy: EscalationPolicy | None = None,
    high_urgency_priorities: list[int] | None = None,
    set_policy: bool = True,
) -> ServicePaging:
    """Attach (or detach, with None) a service's escalation policy; optionally which
    priorities page at high urgency."""
    require_for(actor, Action.SERVICE_PAGING, service, what="change how a service pages")
    if set_policy and policy is not None and policy.archived_at is not None:
        raise Invalid("escalation_policy", "This escalation policy is archived.")
    row, _ = ServicePaging.objects.select_for_update().get_or_create(service=service)
    before = {"policy": row.policy_id, "high_urgency_priorities": row.high_urgency_priorities}
    if set_policy:
        row.policy = policy
    if high_urgency_priorities is not None:
        if not isinstance(high_urgency_priorities, list) or any(
            p not in (1, 2, 3, 4) or isinstance(p, bool) for p in high_urgency_priorities
        ):
            raise Invalid("high_urgency_priorities", "A list of priorities from 1 to 4.")
        row.high_urgency_priorities = sorted(set(high_urgency_priorities))
    row.save()
    audit_record(
        actor=actor,
        action="service.paging",
        obj=service,
        before=before,
        after={"policy": row.policy_id, "high_urgency_priorities": row.high_urgency_priorities},
    )
    return row
