"""Hierarchical escalation (issue 11, point 4): "notify management".

A person sends a reason to the manager of the incident's team (`to="team_manager"`; any
staff member may) or to the executive list (`to="executives"`; managers and
administrators may). Administrators keep the executive list (`ExecutiveMember`). Each
notice is a `ManagementNotice` row, a MANAGEMENT timeline entry and, per recipient,
outbox messages, all in one transaction:

- the first step of the person's notification rules at the incident's urgency (P1-P2
  high, P3-P4 low unless the service says otherwise), and
- email in any case: the person's first email contact method when that first step has
  none, else the address on their account.

The SLA module (escalation/sla.py) also calls `sla_breach_notice` when a response or
resolution target is breached: one automatic notice to the team's manager per incident
and target (a unique constraint guards it), unless `SLA_NOTIFY_MANAGEMENT` is off.

Reports count hierarchical escalations as ManagementNotice rows (functional ones as
timeline entries of kind ESCALATION); see docs/escalation-functional-hierarchical.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from tocsin.accounts.models import ContactKind, ContactMethod, Team, User
from tocsin.accounts.permissions import Action, can, require_for
from tocsin.accounts.selectors import effective_rules_many
from tocsin.core.actors import Actor
from tocsin.core.audit import audit_record
from tocsin.core.clock import now
from tocsin.core.errors import Conflict, Invalid
from tocsin.escalation.models import (
    ExecutiveMember,
    ManagementNotice,
    ManagementTo,
    ManagementTrigger,
)
from tocsin.escalation.services import urgency_for
from tocsin.incidents.models import EntryKind, Incident, Status
from tocsin.incidents.timeline import timeline_append
from tocsin.notify.services import outbox_enqueue

PURPOSE = "management"
REASON_MAX = 2000
EXECUTIVES_MAX = 50
TO_CHOICES = tuple(ManagementTo.values)


# --- who is told -----------------------------------------------------------------------------


def team_of(incident: Incident) -> Team | None:
    """The incident's team, else its service's team (as the SLA notices read it)."""
    if incident.team_id is not None:
        return incident.team
    service = incident.service if incident.service_id else None
    return service.team if service is not None and service.team_id else None


def executives() -> list[User]:
    return [
        m.user for m in ExecutiveMember.objects.select_related("user").order_by("added_at", "pk")
    ]


def recipients_for(incident: Incident, to: str) -> tuple[list[User], str]:
    """Whom a notice to `to` reaches, and how to say it ("Maya, manager of team Network").
    Conflict when there is nobody to tell."""
    if to == ManagementTo.TEAM_MANAGER:
        team = team_of(incident)
        if team is None:
            raise Conflict(
                f"{incident.ref} has no team (nor does its service), so it has no team "
                "manager; notify the executives or set a team first"
            )
        manager = team.manager if team.manager_id else None
        if manager is None:
            raise Conflict(f"team {team.name} has no manager; notify the executives instead")
        if not manager.is_active:
            raise Conflict(f"{manager.display_name}, manager of team {team.name}, is deactivated")
        return [manager], f"{manager.display_name}, manager of team {team.name}"
    if to == ManagementTo.EXECUTIVES:
        people = [p for p in executives() if p.is_active]
        if not people:
            raise Conflict("the executive list is empty; an administrator fills it in Settings")
        return people, "the executive list (" + ", ".join(p.display_name for p in people) + ")"
    raise Invalid("to", f"must be one of: {', '.join(TO_CHOICES)}")


# --- sending ----------------------------------------------------------------------------------


def _content(
    notice: ManagementNotice, incident: Incident, by: str
) -> tuple[str, str, dict[str, Any]]:
    link = f"{settings.BASE_URL.rstrip('/')}/incidents/{incident.ref}/"
    team = team_of(incident)
    subject = f"[P{incident.priority}] {incident.ref}: management notified: {incident.title}"
    lines = [
        f"{incident.ref} · P{incident.priority} · {incident.get_status_display()}",
        incident.title,
    ]
    if team is not None:
        lines.append(f"Team: {team.name} (support level {incident.support_level})")
    lines += ["", f"{by} notified management:", "", notice.reason, "", f"Open: {link}"]
    payload = {
        "kind": PURPOSE,
        "notice": notice.pk,
        "to": notice.to,
        "trigger": notice.trigger,
        "incident": incident.ref,
        "title": incident.title,
        "priority": incident.priority,
        "reason": notice.reason,
        "links": {"open": link},
    }
    return subject[:300], "\n".join(lines), payload


def _send(
    notice: ManagementNotice, incident: Incident, people: Sequence[User], *, by: str, urgency: str
) -> tuple[list[str], list[str]]:
    """Queue each person's messages; (who was reached, who had no way to be reached)."""
    subject, body, payload = _content(notice, incident, by)
    payload["urgency"] = urgency
    cycles = effective_rules_many(people, urgency)
    emails: dict[int, ContactMethod] = {}
    for method in ContactMethod.objects.filter(
        user_id__in=[p.pk for p in people], kind=ContactKind.EMAIL, disabled_at__isnull=True
    ).order_by("created_at", "pk"):
        emails.setdefault(method.user_id, method)
    reached: list[str] = []
    unreachable: list[str] = []
    for person in people:
        cycle = cycles.get(person.pk, [])
        first = min((r.delay_minutes for r in cycle), default=0)
        methods = [r.method for r in cycle if r.delay_minutes == first]
        if not any(m.kind == ContactKind.EMAIL for m in methods) and person.pk in emails:
            methods.append(emails[person.pk])
        sent = False
        for method in methods:
            outbox_enqueue(
                channel=method.kind,
                recipient="",  # the channel reads the address from the contact method
                subject=subject,
                body=body,
                payload=payload,
                dedup_key=f"{PURPOSE}:{notice.pk}:{person.pk}:{method.pk}",
                incident=incident,
                person=person,
                contact_method=method,
                purpose=PURPOSE,
            )
            sent = True
        if not any(m.kind == ContactKind.EMAIL for m in methods) and person.email:
            outbox_enqueue(
                channel=ContactKind.EMAIL,
                recipient=person.email,
                subject=subject,
                body=body,
                payload=payload,
                dedup_key=f"{PURPOSE}:{notice.pk}:{person.pk}:account-email",
                incident=incident,
                person=person,
                purpose=PURPOSE,
            )
            sent = True
        (reached if sent else unreachable).append(person.username)
    return reached, unreachable


def _record(
    *,
    incident: Incident,
    to: str,
    trigger: str,
    reason: str,
    actor: Actor,
    people: list[User],
    how: str,
    at: dt.datetime,
) -> ManagementNotice:
    """The notice, its messages and its timeline entry (inside the caller's transaction)."""
    by_user = actor.user if actor.kind in ("user", "token") else None
    by = by_user.display_name if by_user is not None else f"Tocsin · {actor.label}"
    notice = ManagementNotice.objects.create(
        incident=incident,
        to=to,
        trigger=trigger,
        reason=reason,
        by=by_user,
        by_label=by[:200],
        at=at,
    )
    reached, unreachable = _send(notice, incident, people, by=by, urgency=urgency_for(incident))
    notice.recipients = reached
    notice.save(update_fields=["recipients"])
    text = f"Management notified: {how}."
    if unreachable:
        names = {p.username: p.display_name for p in people}
        text += " No way to reach " + ", ".join(names[u] for u in unreachable) + "."
    timeline_append(
        incident=incident,
        kind=EntryKind.MANAGEMENT,
        actor=actor,
        text=f"{text}\n{reason}",
        data={
            "notice": notice.pk,
            "to": to,
            "trigger": trigger,
            "recipients": reached,
        },
    )
    return notice


@transaction.atomic
def management_notify(
    *, incident: Incident, to: str, reason: str, actor: Actor
) -> ManagementNotice:
    """Send `reason` to the incident team's manager or to the executive list."""
    if to not in TO_CHOICES:
        raise Invalid("to", f"must be one of: {', '.join(TO_CHOICES)}")
    action = Action.EXECUTIVES_NOTIFY if to == ManagementTo.EXECUTIVES else Action.MANAGEMENT_NOTIFY
    require_for(actor, action, incident, what=Action(action).label)
    if not isinstance(reason, str) or "\x00" in reason:
        raise Invalid("reason", "must be text without NUL characters")
    reason = reason.strip()
    if not reason:
        raise Invalid("reason", "must not be empty: say why management should know")
    if len(reason) > REASON_MAX:
        raise Invalid("reason", f"must be at most {REASON_MAX} characters")
    incident = (
        Incident.objects.select_for_update(of=("self",))
        .select_related("team__manager", "service__team__manager")
        .get(pk=incident.pk)
    )
    if incident.status == Status.CLOSED:
        raise Conflict(f"{incident.ref} is closed; reopen it to notify management")
    people, how = recipients_for(incident, to)
    return _record(
        incident=incident,
        to=to,
        trigger=ManagementTrigger.MANUAL,
        reason=reason,
        actor=actor,
        people=people,
        how=how,
        at=now(),
    )


def _sla_trigger(target: str) -> str:
    if target == "response":
        return ManagementTrigger.SLA_RESPONSE
    return ManagementTrigger.SLA_RESOLUTION


def sla_breach_blocked(*, incident: Incident, target: str) -> str:
    """Why a breach of `target` must not notify the team's manager ("" when it may): the
    setting is off, or management was already told of this target's breach."""
    if not settings.SLA_NOTIFY_MANAGEMENT:
        return "the automatic management notice is turned off"
    if ManagementNotice.objects.filter(incident=incident, trigger=_sla_trigger(target)).exists():
        return "management was already notified of this target's breach"
    return ""


def sla_breach_record(
    *,
    incident: Incident,
    target: str,
    due_at: dt.datetime,
    recipients: list[str],
    how: str,
    actor: Actor,
    at: dt.datetime,
) -> ManagementNotice | None:
    """Called by the SLA module inside its breach transaction, after it queued the breach
    messages to the team's manager: the automatic ManagementNotice for them and its
    MANAGEMENT timeline entry, once per incident and target (None if one exists)."""
    due = due_at.astimezone(dt.UTC).strftime("%d %b %H:%M UTC")
    reason = f"The {target} target was breached (it was due {due})."
    try:
        with transaction.atomic():
            notice = ManagementNotice.objects.create(
                incident=incident,
                to=ManagementTo.TEAM_MANAGER,
                trigger=_sla_trigger(target),
                reason=reason,
                recipients=recipients,
                by=None,
                by_label=f"Tocsin · {actor.label}"[:200],
                at=at,
            )
    except IntegrityError:
        return None
    timeline_append(
        incident=incident,
        kind=EntryKind.MANAGEMENT,
        actor=actor,
        text=f"Management notified: {how} (SLA breach).\n{reason}",
        data={
            "notice": notice.pk,
            "to": notice.to,
            "trigger": notice.trigger,
            "recipients": recipients,
        },
    )
    return notice


# --- the executive list -------------------------------------------------------------------------


@transaction.atomic
def executives_set(*, people: Sequence[User], actor: Actor) -> list[User]:
    """Replace the executive list (administrators)."""
    require_for(actor, Action.EXECUTIVES_MANAGE, what="edit the executive list")
    if len(people) > EXECUTIVES_MAX:
        raise Invalid("people", f"at most {EXECUTIVES_MAX} people")
    for person in people:
        if not person.is_active:
            raise Invalid("people", f"{person.username} is deactivated")
        if not can(person, Action.DESK_VIEW):
            raise Invalid("people", f"{person.username} is a reporter, not staff")
    before = sorted(u.username for u in executives())
    wanted = {p.pk: p for p in people}
    ExecutiveMember.objects.exclude(user_id__in=wanted).delete()
    have = set(ExecutiveMember.objects.values_list("user_id", flat=True))
    at = now()
    ExecutiveMember.objects.bulk_create(
        [ExecutiveMember(user=p, added_at=at) for pk, p in wanted.items() if pk not in have]
    )
    after = executives()
    audit_record(
        actor=actor,
        action="escalation.executives",
        object_type="executive list",
        before={"people": before},
        after={"people": sorted(u.username for u in after)},
    )
    return after


def notices_for(incident: Incident) -> list[ManagementNotice]:
    return list(ManagementNotice.objects.filter(incident=incident).select_related("by"))


def notice_json(notice: ManagementNotice) -> dict[str, Any]:
    return {
        "id": notice.pk,
        "incident": notice.incident.ref,
        "to": notice.to,
        "trigger": notice.trigger,
        "reason": notice.reason,
        "recipients": list(notice.recipients),
        "by": notice.by.username if notice.by_id else None,  # type: ignore[union-attr]
        "by_label": notice.by_label,
        "at": notice.at.isoformat(),
    }
