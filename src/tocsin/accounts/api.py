"""REST API for people and teams. People are addressed by username."""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from tocsin.accounts import selectors, services
from tocsin.accounts.api_auth import user_from_request
from tocsin.accounts.models import Role, Team, User
from tocsin.accounts.permissions import Action, can
from tocsin.core.api import (
    ERRORS,
    Id,
    InSchema,
    Paging,
    Text,
    Username,
    actor_from_request,
    idempotent_create,
    lookup,
    one_of,
    page,
)
from tocsin.core.errors import Forbidden

router = Router(tags=["people"])

Name = Annotated[Text, Field(max_length=150)]
Email = Annotated[
    Text, Field(min_length=1, max_length=254, description="unique, whatever its case")
]
RoleName = Annotated[Text, one_of(Role.values)]
Zone = Annotated[Text, Field(max_length=64, description="IANA zone, e.g. Europe/Berlin")]


def _require(allowed: bool, what: str) -> None:
    if not allowed:
        raise Forbidden(f"your role may not {what}")


def _person(field: str, username: str | None) -> User | None:
    return lookup(field, selectors.user_by_username, username)


def _people(field: str, usernames: list[str]) -> list[User]:
    return [_person(field, name) for name in dict.fromkeys(usernames)]  # type: ignore[misc]


# --- people -----------------------------------------------------------------------------------


class UserOut(Schema):
    username: str
    name: str
    email: str
    role: Annotated[str, one_of(Role.values)]
    time_zone: str
    active: bool


class UserList(Schema):
    items: list[UserOut]
    count: int


class UserIn(InSchema):
    username: Username
    email: Email
    name: Name = ""
    role: RoleName = "reporter"
    time_zone: Zone = ""


class UserPatchIn(InSchema):
    """An administrator may change everything; a person may change their own name and zone."""

    name: Name | None = None
    time_zone: Zone | None = None
    email: Email | None = None
    role: RoleName | None = None
    active: bool | None = None


class UserQuery(Schema):
    role: RoleName | None = None
    active: bool | None = None


def user_json(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "name": user.name,
        "email": user.email,
        "role": user.role,
        "time_zone": user.time_zone,
        "active": user.is_active,
    }


@router.get("/users", response={200: UserList, **ERRORS})
def list_users(
    request: HttpRequest, filters: Query[UserQuery], paging: Query[Paging]
) -> dict[str, Any]:
    _require(can(user_from_request(request), Action.PEOPLE_VIEW), "list people")
    return page(selectors.user_list(role=filters.role, active=filters.active), paging, user_json)


@router.post("/users", response={201: UserOut, **ERRORS})
def create_user(request: HttpRequest, payload: UserIn) -> HttpResponse:
    _require(can(user_from_request(request), Action.PEOPLE_MANAGE), "manage people")
    return idempotent_create(
        request,
        lambda: user_json(
            services.user_create(
                username=payload.username,
                email=payload.email,
                name=payload.name,
                role=payload.role,
                time_zone=payload.time_zone,
                actor=actor_from_request(request),
            )
        ),
    )


@router.get("/users/me", response={200: UserOut, **ERRORS})
def get_me(request: HttpRequest) -> dict[str, Any]:
    return user_json(user_from_request(request))


@router.get("/users/{username}", response={200: UserOut, **ERRORS})
def get_user(request: HttpRequest, username: Username) -> dict[str, Any]:
    caller = user_from_request(request)
    _require(can(caller, Action.PEOPLE_VIEW) or caller.username == username, "read other people")
    return user_json(selectors.user_by_username(username))


@router.patch("/users/{username}", response={200: UserOut, **ERRORS})
def patch_user(request: HttpRequest, username: Username, payload: UserPatchIn) -> dict[str, Any]:
    caller = user_from_request(request)
    sent = payload.model_dump(exclude_unset=True)
    if not can(caller, Action.PEOPLE_MANAGE):
        _require(caller.username == username, "change other people")
        _require(
            set(sent) <= {"name", "time_zone"}, "change that; you may change your name and zone"
        )
    user = selectors.user_by_username(username)
    user = services.user_update(
        user=user,
        email=sent.get("email"),
        name=sent.get("name"),
        role=sent.get("role"),
        time_zone=sent.get("time_zone"),
        is_active=sent.get("active"),
        actor=actor_from_request(request),
    )
    return user_json(user)


# --- teams ------------------------------------------------------------------------------------


class TeamOut(Schema):
    id: int
    name: str
    description: str
    manager: str | None = Field(description="username")
    members: list[str] = Field(description="usernames")


class TeamList(Schema):
    items: list[TeamOut]
    count: int


TeamName = Annotated[Text, Field(min_length=1, max_length=100)]
Description = Annotated[Text, Field(max_length=10_000)]


class TeamIn(InSchema):
    name: TeamName
    description: Description = ""
    members: list[Username] = Field(default_factory=list, max_length=1000)
    manager: Username | None = None


class TeamPatchIn(InSchema):
    name: TeamName | None = None
    description: Description | None = None
    members: list[Username] | None = Field(None, max_length=1000)
    manager: Username | None = Field(None, description="null removes the manager")


def team_json(team: Team) -> dict[str, Any]:
    return {
        "id": team.pk,
        "name": team.name,
        "description": team.description,
        "manager": team.manager.username if team.manager_id else None,  # type: ignore[union-attr]
        "members": sorted(member.username for member in team.members.all()),
    }


@router.get("/teams", response={200: TeamList, **ERRORS})
def list_teams(request: HttpRequest, paging: Query[Paging]) -> dict[str, Any]:
    _require(can(user_from_request(request), Action.TEAM_VIEW), "list teams")
    return page(selectors.team_list(), paging, team_json)


@router.post("/teams", response={201: TeamOut, **ERRORS})
def create_team(request: HttpRequest, payload: TeamIn) -> HttpResponse:
    _require(can(user_from_request(request), Action.TEAM_MANAGE), "manage teams")
    return idempotent_create(
        request,
        lambda: team_json(
            services.team_create(
                name=payload.name,
                description=payload.description,
                members=_people("members", payload.members),
                manager=_person("manager", payload.manager),
                actor=actor_from_request(request),
            )
        ),
    )


@router.get("/teams/{team_id}", response={200: TeamOut, **ERRORS})
def get_team(request: HttpRequest, team_id: Id) -> dict[str, Any]:
    _require(can(user_from_request(request), Action.TEAM_VIEW), "read teams")
    return team_json(selectors.team_get(team_id))


@router.patch("/teams/{team_id}", response={200: TeamOut, **ERRORS})
def patch_team(request: HttpRequest, team_id: Id, payload: TeamPatchIn) -> dict[str, Any]:
    _require(can(user_from_request(request), Action.TEAM_MANAGE), "manage teams")
    team = selectors.team_get(team_id)
    sent = payload.model_dump(exclude_unset=True)
    team = services.team_update(
        team=team,
        name=sent.get("name"),
        description=sent.get("description"),
        members=_people("members", sent["members"]) if sent.get("members") is not None else None,
        manager=_person("manager", sent.get("manager")),
        clear_manager="manager" in sent and sent["manager"] is None,
        actor=actor_from_request(request),
    )
    return team_json(team)
