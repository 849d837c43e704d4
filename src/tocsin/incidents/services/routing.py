"""Who works on an incident: assignment and functional escalation."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from tocsin.accounts.models import HANDOFF_TEMPLATE_DEFAULT, Team, User
from tocsin.accounts.permissions import Action, require_for
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.core.errors import Conflict, Invalid
from tocsin.incidents import hooks
from tocsin.incidents.models import (
    EntryKind,
    Incident,
    Status,
)
from tocsin.incidents.services._common import (
    NOTE_MAX,
    _check_assignee,
    _clean_text,
    _display,
    _lock,
)
from tocsin.incidents.timeline import timeline_append


@transaction.atomic
def incident_assign(
    *,
    incident: Incident,
    actor: Actor,
    assignee: User | None = None,
    team: Team | None = None,
    set_assignee: bool = True,
    set_team: bool = False,
    note: str = "",
) -> Incident:
    require_for(actor, Action.INCIDENT_ASSIGN, what="assign incidents")
    incident = _lock(incident)
    if incident.status == Status.CLOSED:
        raise Conflict("a closed incident cannot be reassigned")
    _check_assignee(assignee)
    data: dict[str, Any] = {}
    if set_assignee and incident.assignee_id != (assignee.pk if assignee else None):
        data["assignee"] = {"old": _display(incident.assignee), "new": _display(assignee)}
        incident.assignee = assignee
    if set_team and incident.team_id != (team.pk if team else None):
        data["team"] = {"old": _display(incident.team), "new": _display(team)}
        incident.team = team
    if not data:
        return incident
    incident.updated_at = now()
    incident.save(update_fields=["assignee", "team", "updated_at"])
    timeline_append(incident=incident, kind=EntryKind.ASSIGNMENT, actor=actor, text=note, data=data)
    return incident


@transaction.atomic
def incident_escalate(
    *,
    incident: Incident,
    actor: Actor,
    support_level: int | None = None,
    team: Team | None = None,
    note: str = "",
) -> Incident:
    """Functional escalation: raise the support level and/or hand to another team."""
    require_for(actor, Action.INCIDENT_ESCALATE, what="escalate incidents")
    note = _clean_text("note", note, required=True, limit=NOTE_MAX)
    _check_filled_in(note, team)
    incident = _lock(incident)
    old_level, old_team_id = incident.support_level, incident.team_id
    if not incident.is_open:
        raise Conflict(f"only open incidents can be escalated; this one is {incident.status}")
    if support_level is None and team is None:
        raise Invalid("support_level", "give a higher support level, a team, or both")
    data: dict[str, Any] = {}
    if support_level is not None:
        if support_level not in (1, 2, 3):
            raise Invalid("support_level", "must be 1, 2 or 3")
        if support_level < incident.support_level:
            raise Invalid(
                "support_level",
                f"escalation raises the level; it is already {incident.support_level}",
            )
        if support_level != incident.support_level:
            data["support_level"] = {"old": incident.support_level, "new": support_level}
            incident.support_level = support_level
    if team is not None and team.pk != incident.team_id:
        data["team"] = {"old": _display(incident.team), "new": team.name}
        incident.team = team
        if incident.assignee_id and not team.members.filter(pk=incident.assignee_id).exists():
            data["assignee"] = {"old": _display(incident.assignee), "new": None}
            incident.assignee = None
    if not data:
        raise Conflict("the incident is already at that level and team")
    incident.updated_at = incident.escalated_at = now()
    incident.save(update_fields=["support_level", "team", "assignee", "updated_at", "escalated_at"])
    timeline_append(incident=incident, kind=EntryKind.ESCALATION, actor=actor, text=note, data=data)
    hooks.run_escalated(
        incident=incident, old_level=old_level, old_team_id=old_team_id, actor=actor
    )
    return incident


def _squash(text: str) -> str:
    return " ".join(text.split())


def _check_filled_in(note: str, team: Team | None) -> None:
    """The hand-off note starts as the receiving team's template (issue 11); sent back
    untouched, it says nothing, so it is refused like an empty note."""
    templates = {_squash(HANDOFF_TEMPLATE_DEFAULT)}
    if team is not None and team.handoff_template.strip():
        templates.add(_squash(team.handoff_template))
    if _squash(note) in templates:
        raise Invalid("note", "fill in the hand-off note; it is still the template")
