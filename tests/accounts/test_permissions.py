"""`can(user, action, obj)`: every role × action × kind of object, from a table written
here by hand (the role table of issue 2, plus issue 7's team rule), not from the module."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser

from tocsin.accounts.models import Role, Team, User
from tocsin.accounts.permissions import Action, can, require, require_for
from tocsin.accounts.services import team_create
from tocsin.catalog.models import Service
from tocsin.catalog.services import service_create
from tocsin.core.actors import Actor
from tocsin.core.errors import Forbidden
from tocsin.incidents.models import Incident

pytestmark = pytest.mark.django_db

ROLES = [Role.REPORTER, Role.AGENT, Role.RESPONDER, Role.MANAGER, Role.ADMIN]
EVERYONE = frozenset(ROLES)
STAFF = frozenset({Role.AGENT, Role.RESPONDER, Role.MANAGER, Role.ADMIN})
CLOSERS = frozenset({Role.AGENT, Role.MANAGER, Role.ADMIN})
INTEGRATORS = frozenset({Role.MANAGER, Role.ADMIN})
ADMINS = frozenset({Role.ADMIN})

# The kinds of object an action is asked about, as seen from the person asking.
KINDS = [
    "none",  # every object of the kind
    "own_incident",  # an incident they reported
    "other_incident",  # someone else's incident
    "self",  # their own account
    "other_person",
    "managed_team",  # a team they manage
    "other_team",  # a team someone else manages
    "managed_team_service",  # a service owned by a team they manage
    "other_team_service",  # a service owned by a team someone else manages
    "unowned_service",  # a service no team owns
    "public_article",  # a knowledge article reporters may read (issue 12)
    "internal_article",  # one for staff alone
]

# Actions whose answer is the role alone, whatever the object.
BY_ROLE: dict[str, frozenset[str]] = {
    Action.DESK_VIEW: STAFF,
    Action.INCIDENT_CREATE: EVERYONE,
    Action.INCIDENT_TRIAGE: STAFF,
    Action.INCIDENT_ASSIGN: STAFF,
    Action.INCIDENT_BE_ASSIGNED: STAFF,
    Action.INCIDENT_ACKNOWLEDGE: STAFF,
    Action.INCIDENT_UNACKNOWLEDGE: STAFF,
    Action.INCIDENT_START: STAFF,
    Action.INCIDENT_HOLD: STAFF,
    Action.INCIDENT_RESUME: STAFF,
    Action.INCIDENT_RESOLVE: STAFF,
    Action.INCIDENT_ESCALATE: STAFF,
    Action.INCIDENT_CLOSE: CLOSERS,
    Action.INCIDENT_MERGE: CLOSERS,
    Action.INCIDENT_REDACT: ADMINS,
    Action.INCIDENT_MITIGATE: STAFF,
    Action.TIMELINE_INTERNAL_VIEW: STAFF,
    Action.TIMELINE_INTERNAL_ADD: STAFF,
    Action.ALERTS_VIEW: STAFF,
    Action.WINDOW_MANAGE: STAFF,
    Action.SILENCE_MANAGE: STAFF,
    Action.ALERT_ACT: STAFF,
    Action.INTEGRATION_MANAGE: INTEGRATORS,
    Action.SERVICE_EDIT: ADMINS,
    Action.PEOPLE_MANAGE: ADMINS,
    Action.TEAM_VIEW: STAFF,
    Action.TEAM_MANAGE: ADMINS,
    Action.CONFIG_MANAGE: ADMINS,
    Action.AUDIT_VIEW: ADMINS,
    Action.SCHEDULE_VIEW: STAFF,
    Action.SCHEDULE_CREATE: INTEGRATORS,
    Action.ONCALL_HOURS_ALL: INTEGRATORS,
    Action.POLICY_VIEW: STAFF,
    Action.POLICY_CREATE: INTEGRATORS,
    Action.SERVICE_PAGING: INTEGRATORS,
    Action.PAGE_SEND: STAFF,
    Action.DELIVERY_LOG_VIEW: ADMINS,
    # issue 11, escalation
    Action.MANAGEMENT_NOTIFY: STAFF,
    Action.EXECUTIVES_NOTIFY: INTEGRATORS,
    Action.EXECUTIVES_MANAGE: ADMINS,
    Action.UPDATE_POST: STAFF,
    Action.UPDATE_SUBSCRIBE: STAFF,
    Action.UPDATE_TEMPLATE_MANAGE: ADMINS,
    # the status page's administration (issue 11)
    Action.STATUS_VIEW: STAFF,
    Action.STATUS_PUBLISH: STAFF,
    Action.STATUS_MANAGE: INTEGRATORS,
    Action.STATUS_CONFIGURE: ADMINS,
    Action.RESPONDER_ADD: STAFF,
    Action.MAJOR_RESPOND: STAFF,
    # learning (issue 12)
    Action.POSTMORTEM_VIEW: STAFF,
    Action.POSTMORTEM_EDIT: STAFF,
    Action.POSTMORTEM_PUBLISH: STAFF,
    Action.POSTMORTEM_CONFIGURE: ADMINS,
    Action.ACTION_ITEM_VIEW: STAFF,
    Action.ACTION_ITEM_EDIT: STAFF,
    Action.ACTION_ITEM_ACCEPT_RISK: INTEGRATORS,
    Action.PROBLEM_VIEW: STAFF,
    Action.PROBLEM_EDIT: STAFF,
    Action.ARTICLE_EDIT: STAFF,
    Action.RUNBOOK_VIEW: STAFF,
    Action.RUNBOOK_RUN: STAFF,
    Action.RUNBOOK_MANAGE: INTEGRATORS,
    Action.REPORT_VIEW: STAFF,
    Action.REPORT_ONCALL_ALL: INTEGRATORS,
}


def expected(role: str, action: str, kind: str) -> bool:
    if action in BY_ROLE:
        return role in BY_ROLE[action]
    if action in (Action.INCIDENT_VIEW, Action.INCIDENT_REOPEN, Action.INCIDENT_COMMENT):
        return role in STAFF or kind == "own_incident"  # staff, or the incident's reporter
    if action == Action.INCIDENT_CONFIRM:
        return kind == "own_incident"  # the reporter alone, whatever their role
    if action == Action.PEOPLE_VIEW:
        return role in STAFF or kind == "self"
    if action == Action.CONTACT_MANAGE:
        return role in ADMINS or (role in STAFF and kind == "self")
    if action in (
        Action.SCHEDULE_EDIT,
        Action.POLICY_EDIT,
        Action.TEAM_HANDOFF_EDIT,
        Action.AUTOMATION_MANAGE,
        Action.SCHEDULE_OVERRIDE,
        Action.SCHEDULE_COVER,
    ):
        # (participants of a schedule: tests/oncall)
        # administrators; and the manager of the owning team (while staff)
        return role in ADMINS or (
            role in STAFF and kind in ("managed_team", "managed_team_service")
        )
    if action == Action.ARTICLE_VIEW:
        return role in STAFF or kind == "public_article"  # reporters: public articles
    if action == Action.RESPONDER_ANSWER:
        # administrators; and the person asked (tests/escalation/test_responders_api.py)
        return role in ADMINS
    raise AssertionError(f"the table has no row for {action}")


def test_the_table_covers_every_action() -> None:
    for action in Action.values:
        expected(Role.ADMIN, action, "none")


@pytest.fixture
def objects_for(make_user: Callable[..., User]) -> Callable[[User], dict[str, Any]]:
    """Each kind of object, from `user`'s side (teams and services are stored)."""

    def build(user: User) -> dict[str, Any]:
        someone = make_user(Role.MANAGER)
        team = Team.objects.create(name=f"Team of {user.username}", manager=user)
        other_team = team_create(
            name=f"Team of {someone.username}", manager=someone, actor=Actor.system("test setup")
        )
        return {
            "none": None,
            "own_incident": Incident(number=1, title="mine", reporter=user),
            "other_incident": Incident(number=2, title="theirs", reporter=someone),
            "self": user,
            "other_person": someone,
            "managed_team": team,
            "other_team": other_team,
            # fetched again so that the owning team is looked up, not taken from memory
            "managed_team_service": Service.objects.get(
                pk=service_create(
                    name=f"S1 {user.username}", team=team, actor=Actor.system("test setup")
                ).pk
            ),
            "other_team_service": service_create(
                name=f"S2 {user.username}", team=other_team, actor=Actor.system("test setup")
            ),
            "unowned_service": service_create(
                name=f"S3 {user.username}", actor=Actor.system("test setup")
            ),
            "public_article": SimpleNamespace(visibility="public"),
            "internal_article": SimpleNamespace(visibility="internal"),
        }

    return build


@pytest.mark.parametrize("role", ROLES)
def test_every_action_on_every_kind_of_object(
    make_user: Callable[..., User], objects_for: Callable[[User], dict[str, Any]], role: str
) -> None:
    user = make_user(role)
    objects = objects_for(user)
    wrong = [
        (action, kind, can(user, action, objects[kind]))
        for action in Action.values
        for kind in KINDS
        if can(user, action, objects[kind]) != expected(role, action, kind)
    ]
    assert wrong == [], f"{role}: (action, object, answer) that differ from the table"


@pytest.mark.parametrize("role", ROLES)
def test_an_inactive_person_may_do_nothing(
    make_user: Callable[..., User], objects_for: Callable[[User], dict[str, Any]], role: str
) -> None:
    user = make_user(role)
    objects = objects_for(user)
    user.is_active = False
    allowed = [
        (action, kind)
        for action in Action.values
        for kind in KINDS
        if can(user, action, objects[kind])
    ]
    assert allowed == []


@pytest.mark.parametrize("anonymous", [None, AnonymousUser()], ids=["none", "anonymous"])
def test_nobody_signed_in_may_do_nothing(
    make_user: Callable[..., User], objects_for: Callable[[User], dict[str, Any]], anonymous: Any
) -> None:
    objects = objects_for(make_user(Role.ADMIN))
    allowed = [
        (action, kind)
        for action in Action.values
        for kind in KINDS
        if can(anonymous, action, objects[kind])
    ]
    assert allowed == []


def test_a_team_manager_demoted_to_reporter_no_longer_edits_the_team(
    make_user: Callable[..., User],
) -> None:
    person = make_user(Role.MANAGER)
    team = team_create(name="Network", manager=person, actor=Actor.system("test setup"))
    service = service_create(name="VPN", team=team, actor=Actor.system("test setup"))
    assert can(person, Action.SCHEDULE_EDIT, team)
    assert can(person, Action.POLICY_EDIT, service)
    person.role = Role.REPORTER
    assert not can(person, Action.SCHEDULE_EDIT, team)
    assert not can(person, Action.POLICY_EDIT, service)


def test_a_team_member_is_not_its_manager(make_user: Callable[..., User]) -> None:
    member = make_user(Role.MANAGER)
    team = team_create(
        name="Network",
        manager=make_user(Role.AGENT),
        members=[member],
        actor=Actor.system("test setup"),
    )
    assert not can(member, Action.SCHEDULE_EDIT, team)
    assert not can(
        member,
        Action.SCHEDULE_EDIT,
        service_create(name="VPN", team=team, actor=Actor.system("test setup")),
    )


def test_an_unknown_action_is_a_programming_error(admin: User) -> None:
    with pytest.raises(ValueError, match="unknown action"):
        can(admin, "incident.teleport")


def test_require_answers_403_naming_the_action(reporter: User, agent: User) -> None:
    with pytest.raises(Forbidden, match="your role may not manage people"):
        require(agent, Action.PEOPLE_MANAGE)
    with pytest.raises(Forbidden, match="your role may not triage incidents"):
        require_for(Actor.for_user(reporter), Action.INCIDENT_TRIAGE)
    require_for(Actor.system("engine"), Action.INCIDENT_TRIAGE)  # the system always may
    require_for(Actor.integration("grafana"), Action.INCIDENT_CLOSE)
