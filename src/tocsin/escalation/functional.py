"""Functional escalation (issue 11, point 4): the hand-off note template of a team, and
the receiving team's on-call paged when an incident is handed to it.

`incidents.services.incident_escalate` raises the support level and/or hands the incident
to another team, writes an ESCALATION timeline entry and calls the `on_escalated` hooks
inside its transaction. `page_receiving_team` (registered in escalation/wiring.py) then,
when the team changed, starts a climb that pages the new team's on-call (whoever is on
call on the team's schedules, as escalation/targets.py reads them) and says on the
timeline who is paged, or that nobody is on call. The page goes out through the engine
and the outbox like any page, at the incident's urgency.

The hand-off template is `accounts.Team.handoff_template`; the escalate form's note starts
as it. The team's manager or an administrator edits it (`Action.TEAM_HANDOFF_EDIT`).
"""

from __future__ import annotations

from django.db import transaction

from tocsin.accounts.models import HANDOFF_TEMPLATE_MAX, Team
from tocsin.accounts.permissions import Action, require_for
from tocsin.core.actors import Actor
from tocsin.core.audit import audit_record
from tocsin.core.clock import now
from tocsin.core.errors import Invalid
from tocsin.escalation import targets
from tocsin.escalation.services import climb_start
from tocsin.incidents.models import EntryKind, Incident
from tocsin.incidents.timeline import timeline_append


def page_receiving_team(
    *, incident: Incident, old_level: int, old_team_id: int | None, actor: Actor
) -> None:
    """`incidents.hooks.on_escalated`: a hand-off to another team pages its on-call.
    A support-level change alone pages nobody (the same team works on)."""
    if incident.team_id is None or incident.team_id == old_team_id:
        return
    team = Team.objects.get(pk=incident.team_id)
    at = now()
    found, _missed = targets.resolve(teams=[team], at=at)
    label = f"L{incident.support_level} {team.name}"
    if not found:
        timeline_append(
            incident=incident,
            kind=EntryKind.PAGE,
            actor=actor,
            text=f"Escalated to {label}: nobody is on call for team {team.name}; nobody was paged.",
            data={"handoff": team.pk, "paged": []},
        )
        return
    climb = climb_start(
        incident=incident,
        actor=actor,
        team=team,
        reason=f"escalated to {label}"[:200],
        at=at,
    )
    who = ", ".join(f"{f.user.display_name} ({f.via})" for f in found)
    timeline_append(
        incident=incident,
        kind=EntryKind.PAGE,
        actor=actor,
        text=f"Escalated to {label}: paging the team's on-call, {who}.",
        data={
            "handoff": team.pk,
            "climb": climb.pk,
            "paged": [f.user.username for f in found],
        },
    )


@transaction.atomic
def handoff_template_set(*, team: Team, text: str, actor: Actor) -> Team:
    """Set the note an escalation to `team` starts with (empty: the built-in one)."""
    require_for(actor, Action.TEAM_HANDOFF_EDIT, team, what="edit this team's hand-off template")
    if not isinstance(text, str) or "\x00" in text:
        raise Invalid("text", "must be text without NUL characters")
    # blank lines around it go; a space after "Circuit ID:" stays (the cursor lands there)
    text = text.replace("\r\n", "\n").strip("\n")
    if not text.strip():
        text = ""
    if len(text) > HANDOFF_TEMPLATE_MAX:
        raise Invalid("text", f"must be at most {HANDOFF_TEMPLATE_MAX} characters")
    team = Team.objects.select_for_update().get(pk=team.pk)
    before = {"handoff_template": team.handoff_template}
    team.handoff_template = text
    team.save(update_fields=["handoff_template"])
    audit_record(
        actor=actor,
        action="team.handoff_template",
        obj=team,
        before=before,
        after={"handoff_template": text},
    )
    return team
