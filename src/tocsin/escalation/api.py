"""REST API for escalation policies, and the service fields that attach one to a service
(`PATCH /api/v1/services/{id}` with `escalation_policy`, `high_urgency_priorities`,
registered in the catalog's service API through `catalog.hooks.add_service_field`).

Staff read policies; for anyone else every route here answers 404. Managers and
administrators create them; a team's manager (and administrators) change and archive
that team's policies. Targets name people by username, schedules and teams by id.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router
from ninja import Schema as NinjaSchema
from pydantic import Field, StrictInt

from tocsin.accounts.api_auth import user_from_request
from tocsin.accounts.models import Team
from tocsin.accounts.permissions import Action, can, require
from tocsin.accounts.selectors import team_get
from tocsin.catalog.models import Service
from tocsin.core.actors import Actor
from tocsin.core.api import (
    ERRORS,
    ID_MAX,
    BodyId,
    Id,
    InSchema,
    Paging,
    Ref,
    Text,
    actor_from_request,
    idempotent_create,
    lookup,
    ref,
)
from tocsin.core.clock import now
from tocsin.core.errors import Conflict, Invalid, NotFound
from tocsin.escalation import policies, selectors
from tocsin.escalation.models import EscalationPolicy

router = Router(tags=["escalation"])

Name = Annotated[Text, Field(min_length=1, max_length=100)]
Description = Annotated[Text, Field(max_length=5000)]


# --- input -------------------------------------------------------------------------------


class TargetIn(InSchema):
    type: Literal["user", "schedule", "team"]
    id: Annotated[StrictInt, Field(ge=1, le=ID_MAX)] | Annotated[Text, Field(max_length=150)] = (
        Field(description="a username, or a schedule's or team's id")
    )


class LevelIn(InSchema):
    delay_minutes: StrictInt = Field(15, description="minutes before the next level (1–1440)")
    mode: Literal["all", "round_robin"] = Field(
        "all", description="all: page every target; round_robin: one target in turn"
    )
    targets: list[TargetIn] = Field(description="people, schedules, teams' on-call (1–20)")


class PolicyIn(InSchema):
    name: Name
    description: Description = ""
    repeat: StrictInt = Field(0, description="how many more times the whole policy runs (0–9)")
    team: BodyId | None = Field(
        None, description="the owning team's id (its manager edits it); administrators: none"
    )
    levels: list[LevelIn] = Field(description="in order (1–20)")


class PolicyPatchIn(InSchema):
    name: Name | None = None
    description: Description | None = None
    repeat: StrictInt | None = None
    team: BodyId | None = Field(None, description="null removes the team (administrators)")
    levels: list[LevelIn] | None = Field(None, description="replaces every level")


class PolicyQuery(NinjaSchema):
    include_archived: bool = False


# --- output ------------------------------------------------------------------------------


class Person(NinjaSchema):
    username: str
    name: str


class Target(NinjaSchema):
    type: str
    id: str | int
    name: str
    oncall: list[Person] = Field(description="schedules and teams: who is on call now")
    gap: bool = Field(description="a schedule or team with nobody on call now")
    inactive: bool = Field(description="a deactivated person or an archived schedule")


class Level(NinjaSchema):
    position: int = Field(description="1 is the first level")
    delay_minutes: int
    mode: str
    targets: list[Target]


class PolicyWarning(NinjaSchema):
    kind: Literal["person", "gap"]
    user: str | None = Field(description="username of a person who cannot be paged")
    target: str
    message: str


class Policy(NinjaSchema):
    id: int
    name: str
    description: str
    team: Ref | None
    repeat: int
    levels: list[Level]
    services: list[Ref]
    warnings: list[PolicyWarning] = Field(
        description="people named (directly or on call now) who cannot be paged at high "
        "urgency, and targets that name nobody right now"
    )
    archived: bool
    archived_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class PolicyList(NinjaSchema):
    items: list[Policy]
    count: int


# --- helpers -----------------------------------------------------------------------------


def _person(user: Any) -> dict[str, str]:
    return {"username": user.username, "name": user.display_name or user.username}


def policy_json(policy: EscalationPolicy) -> dict[str, Any]:
    view = selectors.policy_view(policy, now())
    return {
        "id": policy.pk,
        "name": policy.name,
        "description": policy.description,
        "team": ref(policy.team),
        "repeat": policy.repeat,
        "levels": [
            {
                "position": level.number,
                "delay_minutes": level.delay_minutes,
                "mode": level.mode,
                "targets": [
                    {
                        "type": t.kind,
                        "id": t.ident,
                        "name": t.name,
                        "oncall": [_person(u) for u in t.oncall],
                        "gap": t.gap,
                        "inactive": t.inactive,
                    }
                    for t in level.targets
                ],
            }
            for level in view.levels
        ],
        "services": [{"id": s.pk, "name": s.name} for s in view.services],
        "warnings": [
            {
                "kind": w.kind,
                "user": w.user.username if w.user is not None else None,
                "target": w.target,
                "message": w.message,
            }
            for w in view.warnings
        ],
        "archived": policy.archived_at is not None,
        "archived_at": policy.archived_at,
        "created_at": policy.created_at,
        "updated_at": policy.updated_at,
    }


def _staff(request: HttpRequest) -> Any:
    user = user_from_request(request)
    if not selectors.may_view(user):
        raise NotFound("not found")
    return user


def _team(user: Any, team_id: int | None) -> Team | None:
    """The owning team sent; one this person may not give a policy to is refused."""
    team = lookup("team", team_get, team_id)
    if not selectors.may_own(user, team):
        raise Invalid(
            "team",
            "give one of the teams you manage" if team is None else "you do not manage this team",
        )
    return team


def _levels(levels: list[LevelIn]) -> list[dict[str, Any]]:
    return [level.model_dump() for level in levels]


# --- routes ------------------------------------------------------------------------------


@router.get("/escalation-policies", response={200: PolicyList, **ERRORS})
def list_policies(
    request: HttpRequest, filters: Query[PolicyQuery], paging: Query[Paging]
) -> dict[str, Any]:
    """Policies by name (archived ones only with include_archived). Staff only."""
    user = _staff(request)
    qs = selectors.policy_list(user=user, include_archived=filters.include_archived)
    window = list(qs[paging.offset : paging.offset + paging.limit])
    return {"items": [policy_json(p) for p in window], "count": qs.count()}


@router.post("/escalation-policies", response={201: Policy, **ERRORS})
def create_policy(request: HttpRequest, payload: PolicyIn) -> HttpResponse:
    """Managers (for a team they manage) and administrators (any team or none)."""
    user = _staff(request)
    require(user, Action.POLICY_CREATE, what="create escalation policies")

    def create() -> dict[str, Any]:
        policy = policies.policy_create(
            actor=actor_from_request(request),
            name=payload.name,
            description=payload.description,
            repeat=payload.repeat,
            team=_team(user, payload.team),
            levels=_levels(payload.levels),
        )
        return policy_json(policy)

    return idempotent_create(request, create)


@router.get("/escalation-policies/{policy_id}", response={200: Policy, **ERRORS})
def get_policy(request: HttpRequest, policy_id: Id) -> dict[str, Any]:
    """The levels with their targets and who they name now, the warnings, the services."""
    return policy_json(selectors.policy_get(policy_id, user=_staff(request)))


@router.patch("/escalation-policies/{policy_id}", response={200: Policy, **ERRORS})
def patch_policy(request: HttpRequest, policy_id: Id, payload: PolicyPatchIn) -> dict[str, Any]:
    """Change the fields sent (`levels` replaces every level). The owning team's manager
    and administrators may; an archived policy answers 409."""
    user = _staff(request)
    policy = selectors.policy_get(policy_id, user=user)
    require(user, Action.POLICY_EDIT, policy, what="edit this escalation policy")
    if policy.archived_at is not None:
        raise Conflict("this escalation policy is archived; archived policies do not change")
    sent = payload.model_dump(exclude_unset=True)
    changes: dict[str, Any] = {}
    for name in ("name", "description", "repeat"):
        if name in sent:
            if sent[name] is None:
                raise Invalid(name, "must not be null")
            changes[name] = sent[name]
    if "levels" in sent:
        if payload.levels is None:
            raise Invalid("levels", "must not be null")
        changes["levels"] = _levels(payload.levels)
    if "team" in sent:
        changes["team"] = _team(user, sent["team"])
    policy = policies.policy_update(
        policy=policy, actor=actor_from_request(request), changes=changes
    )
    return policy_json(policy)


@router.delete("/escalation-policies/{policy_id}", response={200: Policy, **ERRORS})
def archive_policy(request: HttpRequest, policy_id: Id) -> dict[str, Any]:
    """Archive (kept for the record, pages nobody new). 409 while a service uses it."""
    user = _staff(request)
    policy = selectors.policy_get(policy_id, user=user)
    require(user, Action.POLICY_EDIT, policy, what="archive this escalation policy")
    policy = policies.policy_archive(policy=policy, actor=actor_from_request(request))
    return policy_json(policy)


# --- the service fields (registered in catalog.hooks by views.register_catalog) ------------


PolicyField = Annotated[
    BodyId | None,
    Field(description="the escalation policy's id; null: the service pages nobody"),
]
Priorities = Annotated[
    list[Annotated[StrictInt, Field(ge=1, le=4)]],
    Field(max_length=4, description="priorities that page at high urgency (default [1, 2])"),
]


class ServicePolicyOut(NinjaSchema):
    id: int
    name: str


def read_service_policy(user: Any, services: Sequence[Service]) -> dict[int, Any]:
    """Each service's policy ({id, name}); null for those who may not see policies."""
    if not selectors.may_view(user):
        return {}
    return {
        pk: {"id": row.policy.pk, "name": row.policy.name}
        for pk, row in selectors.service_paging_of(services).items()
        if row.policy is not None
    }


def read_service_priorities(user: Any, services: Sequence[Service]) -> dict[int, Any]:
    rows = selectors.service_paging_of(services)
    return {s.pk: rows[s.pk].high_urgency_priorities if s.pk in rows else [1, 2] for s in services}


def apply_service_policy(service: Service, value: Any, actor: Actor) -> None:
    policy = selectors.policy_for_service_field(value, user=actor.user)
    policies.service_paging_set(service=service, actor=actor, policy=policy)


def apply_service_priorities(service: Service, value: Any, actor: Actor) -> None:
    if value is None:
        raise Invalid("high_urgency_priorities", "give a list of priorities from 1 to 4")
    policies.service_paging_set(
        service=service, actor=actor, high_urgency_priorities=value, set_policy=False
    )


def may_change_service_paging(user: Any, service: Service) -> bool:
    return can(user, Action.SERVICE_PAGING, service)
