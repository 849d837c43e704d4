"""Who may do what (the role table of the foundation issue), in one place.

Services and selectors call these, so the API and the UI agree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tocsin.accounts.models import CLOSE_ROLES, STAFF_ROLES, Role
from tocsin.core.errors import Forbidden

if TYPE_CHECKING:
    from tocsin.accounts.models import User
    from tocsin.core.actors import Actor
    from tocsin.incidents.models import Incident

WORK_ACTIONS = frozenset({"acknowledge", "unacknowledge", "start", "hold", "resume", "resolve"})


def is_staff(user: User | None) -> bool:
    return bool(user and user.is_active and user.role in STAFF_ROLES)


def can_view(user: User | None, incident: Incident) -> bool:
    if user is None or not user.is_active:
        return False
    return is_staff(user) or incident.reporter_id == user.pk


def can_triage(user: User | None) -> bool:
    return is_staff(user)


def can_work(user: User | None) -> bool:
    return is_staff(user)


def can_close(user: User | None) -> bool:
    return bool(user and user.is_active and user.role in CLOSE_ROLES)


def can_merge(user: User | None) -> bool:
    return can_close(user)


def can_administer(user: User | None) -> bool:
    return bool(user and user.is_active and user.role == Role.ADMIN)


def is_reporter_of(user: User | None, incident: Incident) -> bool:
    return bool(user and user.is_active and incident.reporter_id == user.pk)


def can_act(user: User | None, incident: Incident, action: str) -> bool:
    if action in WORK_ACTIONS:
        return can_work(user)
    if action == "close":
        return can_close(user)
    if action == "reopen":
        return can_work(user) or is_reporter_of(user, incident)
    return False


def require(allowed: bool, actor: Actor, what: str) -> None:
    """Raise Forbidden unless allowed; the system and integrations always may."""
    if actor.kind in ("system", "integration"):
        return
    if not allowed:
        raise Forbidden(f"your role may not {what}")


def caller_actions(user: User | None, incident: Incident) -> list[str]:
    """The actions this person may take on the incident now (API: paths under /incidents/{ref}/)."""
    from tocsin.incidents.lifecycle import allowed_actions
    from tocsin.incidents.models import Status

    actions = [a for a in allowed_actions(incident.status) if can_act(user, incident, a)]
    if incident.is_open and can_triage(user):
        actions.append("escalate")
    if incident.is_open and can_merge(user):
        actions.append("merge")
    if incident.status == Status.RESOLVED and is_reporter_of(user, incident):
        actions.append("confirm")
    return actions
