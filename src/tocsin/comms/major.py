"""Major incidents (issue 11, point 2): the settings, the automatic declaration, what a
declaration does, the checklist, the commander deadline and the banner's read.

Declaring and standing down are `incidents.services.major_declare` / `major_stand_down`
(they set `Incident.major_declared_at` and write the timeline); this module reacts:

- `declare_on_created` / `declare_on_priority_changed` (incident hooks, inside the
  incident's transaction) declare a P1, and a P2 on a service with a `ServiceMajorRule`,
  as the system;
- `on_declared` (hook `on_major_declared`, same transaction) pages the major-incident
  policy (a climb at high urgency, fired by the escalation engine), opens the checklist
  from the template (once per incident), writes the commander deadline and emits
  `major_declared` on the comms event bus;
- `commander_deadline_settle` (the engine's `MajorModule`) settles a due deadline once
  (a compare-and-set on its state): a commander in time, or the commander rota paged.

Reads for the pages and the API are here too (`major_state`, `open_majors`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from tocsin.accounts.models import Urgency
from tocsin.accounts.permissions import Action, require_for
from tocsin.catalog.models import Service
from tocsin.comms import events
from tocsin.comms.models import (
    CommanderDeadline,
    DeadlineState,
    MajorChecklistItem,
    MajorIncidentSettings,
    ServiceMajorRule,
    default_major_checklist,
)
from tocsin.core.actors import Actor
from tocsin.core.audit import audit_record
from tocsin.core.clock import now
from tocsin.core.errors import Conflict, Invalid, NotFound
from tocsin.core.fastinsert import insert, insert_many
from tocsin.core.memo import memo
from tocsin.escalation.models import Escalation, EscalationPolicy
from tocsin.escalation.services import climb_start
from tocsin.incidents import hooks as incident_hooks
from tocsin.incidents.models import OPEN_STATUSES, EntryKind, Incident, RoleAssignment, Status
from tocsin.incidents.services import major_declare
from tocsin.incidents.services.response import role_holder
from tocsin.incidents.timeline import timeline_append
from tocsin.oncall.models import Schedule

SYSTEM = Actor.system("major incidents")
CHECKLIST_MAX_ITEMS = 30
CHECKLIST_ITEM_MAX = 200
MINUTES_MAX = 24 * 60
REASON_MAX = 500


# --- settings ------------------------------------------------------------------------------


def major_settings() -> MajorIncidentSettings:
    """The settings (created on first use). Read once per engine batch (core.memo): the
    object is shared there, so callers only read it."""
    return memo("major_settings", _major_settings)


def _major_settings() -> MajorIncidentSettings:
    found = MajorIncidentSettings.objects.select_related("policy", "commander_schedule").first()
    if found is not None:
        return found
    MajorIncidentSettings.objects.get_or_create(pk=1)
    return MajorIncidentSettings.objects.select_related("policy", "commander_schedule").get(pk=1)


def p2_rule_services() -> list[Service]:
    return list(
        Service.objects.filter(
            pk__in=ServiceMajorRule.objects.values_list("service_id", flat=True)
        ).order_by("name")
    )


def clean_checklist(items: list[str]) -> list[str]:
    cleaned = [" ".join(str(item).split()) for item in items]
    cleaned = [item for item in cleaned if item]
    if not cleaned:
        raise Invalid("checklist", "List at least one checklist item.")
    if len(cleaned) > CHECKLIST_MAX_ITEMS:
        raise Invalid("checklist", f"List at most {CHECKLIST_MAX_ITEMS} items.")
    for item in cleaned:
        if len(item) > CHECKLIST_ITEM_MAX:
            raise Invalid(
                "checklist", f"Each item has at most {CHECKLIST_ITEM_MAX} characters: {item[:40]}…"
            )
    return cleaned


@transaction.atomic
def major_settings_set(
    *,
    actor: Actor,
    policy: EscalationPolicy | None,
    commander_schedule: Schedule | None,
    commander_minutes: int,
    checklist: list[str],
    p2_services: list[Service],
) -> MajorIncidentSettings:
    """Replace the settings (administrators). Incidents already declared keep the
    checklist and commander deadline they have."""
    require_for(actor, Action.CONFIG_MANAGE, what="change the major-incident settings")
    if policy is not None and policy.archived_at is not None:
        raise Invalid("policy", "This escalation policy is archived.")
    if policy is not None and not policy.levels.exists():
        raise Invalid("policy", "This escalation policy has no levels.")
    if commander_schedule is not None and commander_schedule.archived_at is not None:
        raise Invalid("commander_schedule", "This schedule is archived.")
    if not 1 <= commander_minutes <= MINUTES_MAX:
        raise Invalid("commander_minutes", f"Choose from 1 to {MINUTES_MAX} minutes.")
    items = clean_checklist(checklist)
    current = major_settings()
    before = _settings_json(current, p2_rule_services())
    current.policy = policy
    current.commander_schedule = commander_schedule
    current.commander_minutes = commander_minutes
    current.checklist = items
    current.updated_at = now()
    current.updated_by = actor.user
    current.save()
    wanted = {s.pk for s in p2_services}
    ServiceMajorRule.objects.exclude(service_id__in=wanted).delete()
    have = set(ServiceMajorRule.objects.values_list("service_id", flat=True))
    ServiceMajorRule.objects.bulk_create(
        [ServiceMajorRule(service_id=pk) for pk in sorted(wanted - have)]
    )
    audit_record(
        actor=actor,
        action="major_settings.update",
        obj=current,
        before=before,
        after=_settings_json(current, p2_rule_services()),
    )
    return current


def _settings_json(current: MajorIncidentSettings, services: list[Service]) -> dict[str, Any]:
    return {
        "policy": current.policy_id,
        "commander_schedule": current.commander_schedule_id,
        "commander_minutes": current.commander_minutes,
        "checklist": list(current.checklist),
        "p2_services": [s.pk for s in services],
    }


# --- declaring automatically -----------------------------------------------------------------


def _automatic_reason(incident: Incident) -> str | None:
    """Why this incident is major by the rules, or None."""
    if incident.priority == 1:
        return "Declared automatically: the incident is P1."
    if (
        incident.priority == 2
        and incident.service_id is not None
        and ServiceMajorRule.objects.filter(service_id=incident.service_id).exists()
    ):
        name = Service.objects.filter(pk=incident.service_id).values_list("name", flat=True)
        return (
            f"Declared automatically: P2 on {name.first()}, which the major-incident rule covers."
        )
    return None


def _declare_if_due(incident: Incident) -> None:
    if incident.major_declared_at is not None or not incident.is_open:
        return
    reason = _automatic_reason(incident)
    if reason is not None:
        major_declare(incident=incident, actor=SYSTEM, reason=reason)


def declare_on_created(*, incident: Incident, actor: Actor) -> None:
    _declare_if_due(incident)


def declare_on_priority_changed(*, incident: Incident, old: int, actor: Actor) -> None:
    if incident.priority < old:  # raised (P1 is the highest)
        _declare_if_due(incident)


def declare_on_service_changed(
    *, incident: Incident, old_service_id: int | None, actor: Actor
) -> None:
    """A P2 moved to a service whose rule makes its P2s major (a P1 was declared when it
    became P1; if someone stood it down, a new service does not undo that)."""
    if incident.priority == 2:
        _declare_if_due(incident)


# --- what a declaration does ----------------------------------------------------------------------


def on_declared(*, incident: Incident, actor: Actor, reason: str) -> None:
    """Inside the declaration's transaction: page the policy, open the checklist, set the
    commander deadline, tell the comms listeners."""
    current = major_settings()
    at = incident.major_declared_at or now()
    policy = current.policy
    if policy is not None and policy.archived_at is None and policy.levels.exists():
        climb = climb_start(
            incident=incident, actor=SYSTEM, policy=policy, reason="major incident", at=at
        )
        # a major incident pages at high urgency, whatever its priority
        Escalation.objects.filter(pk=climb.pk).update(urgency=Urgency.HIGH)
        timeline_append(
            incident=incident,
            kind=EntryKind.MAJOR,
            actor=SYSTEM,
            text=f"Paging the major-incident policy {policy.name}.",
            data={"policy": policy.pk, "climb": climb.pk},
        )
    fresh = incident_hooks.being_created(incident)  # no checklist or deadline yet
    if fresh or not MajorChecklistItem.objects.filter(incident=incident).exists():
        template = list(current.checklist) or default_major_checklist()
        # (one multi-row INSERT built once: every P1 of a storm gets its checklist)
        insert_many(
            [
                MajorChecklistItem(
                    incident=incident,
                    position=i,
                    text=text[:CHECKLIST_ITEM_MAX],
                    # the first step is the declaration itself
                    done_at=at if i == 0 else None,
                    done_by=actor.user if i == 0 else None,
                )
                for i, text in enumerate(template)
            ]
        )
    due_at = at + dt.timedelta(minutes=current.commander_minutes)
    if fresh:
        insert(CommanderDeadline(incident=incident, declared_at=at, due_at=due_at))
    else:
        CommanderDeadline.objects.get_or_create(
            incident=incident, declared_at=at, defaults={"due_at": due_at}
        )
    events.emit(
        "major_declared",
        incident=incident,
        actor=actor,
        data={"reason": reason, "declared_at": at.isoformat()},
    )


# --- the commander deadline (engine) -------------------------------------------------------------


def deadlines_due(at: dt.datetime, limit: int) -> list[int]:
    return list(
        CommanderDeadline.objects.filter(state=DeadlineState.PENDING, due_at__lte=at)
        .order_by("due_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


@transaction.atomic
def commander_deadline_settle(deadline_id: int, *, at: dt.datetime) -> bool:
    """Settle one due deadline; False when another worker already did. Locks the incident
    first (the order of every incident change), then claims the row with a compare-and-set,
    so two workers never page the rota twice."""
    incident_id = (
        CommanderDeadline.objects.filter(pk=deadline_id).values_list("incident_id", flat=True)
    ).first()
    if incident_id is None:
        return False
    incident = Incident.objects.select_for_update(no_key=True).get(pk=incident_id)
    deadline = CommanderDeadline.objects.get(pk=deadline_id)
    if deadline.state != DeadlineState.PENDING:
        return False
    current = major_settings()
    rota = current.commander_schedule
    commander = role_holder(incident, "commander")
    if incident.major_declared_at != deadline.declared_at or not incident.is_open:
        state = DeadlineState.DROPPED
    elif commander is not None:
        state = DeadlineState.MET
    elif rota is None or rota.archived_at is not None:
        state = DeadlineState.MISSED
    else:
        state = DeadlineState.PAGED
    claimed = CommanderDeadline.objects.filter(pk=deadline_id, state=DeadlineState.PENDING).update(
        state=state, settled_at=at
    )
    if claimed != 1:
        return False
    minutes = round((deadline.due_at - deadline.declared_at).total_seconds() / 60)
    if state == DeadlineState.PAGED:
        assert rota is not None
        climb = climb_start(
            incident=incident,
            actor=SYSTEM,
            schedule=rota,
            reason="no incident commander",
            at=at,
        )
        Escalation.objects.filter(pk=climb.pk).update(urgency=Urgency.HIGH)
        timeline_append(
            incident=incident,
            kind=EntryKind.MAJOR,
            actor=SYSTEM,
            text=(
                f"No incident commander {minutes} minutes after the declaration: "
                f"paging the commander rota {rota.name}."
            ),
            data={"deadline": deadline.pk, "schedule": rota.pk, "climb": climb.pk},
        )
    elif state == DeadlineState.MISSED:
        timeline_append(
            incident=incident,
            kind=EntryKind.MAJOR,
            actor=SYSTEM,
            text=(
                f"No incident commander {minutes} minutes after the declaration, and no "
                "commander rota is set in the major-incident settings."
            ),
            data={"deadline": deadline.pk},
        )
    return True


# --- the checklist -----------------------------------------------------------------------------


@transaction.atomic
def checklist_tick(
    *, incident: Incident, position: int, done: bool, actor: Actor
) -> MajorChecklistItem:
    """Tick (or untick) one checklist item, on the timeline."""
    require_for(actor, Action.MAJOR_RESPOND, incident, what="tick the major-incident checklist")
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if incident.status == Status.CLOSED:
        raise Conflict(f"{incident.ref} is closed; reopen it to change its checklist.")
    item = MajorChecklistItem.objects.filter(incident=incident, position=position).first()
    if item is None:
        raise NotFound(f"{incident.ref} has no checklist item {position + 1}")
    if (item.done_at is not None) == done:
        return item
    at = now()
    item.done_at = at if done else None
    item.done_by = actor.user if done else None
    item.save(update_fields=["done_at", "done_by"])
    timeline_append(
        incident=incident,
        kind=EntryKind.MAJOR,
        actor=actor,
        text=f"Checklist: {'done' if done else 'not done'} — {item.text}.",
        data={"checklist": position + 1, "done": done},
    )
    Incident.objects.filter(pk=incident.pk).update(updated_at=at)
    return item


# --- reads -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MajorState:
    incident: Incident
    commander: RoleAssignment | None
    checklist: list[MajorChecklistItem]
    deadline: CommanderDeadline | None

    @property
    def done(self) -> int:
        return sum(1 for item in self.checklist if item.done_at is not None)


def major_state(incident: Incident) -> MajorState:
    deadline = (
        CommanderDeadline.objects.filter(
            incident=incident, declared_at=incident.major_declared_at
        ).first()
        if incident.major_declared_at is not None
        else None
    )
    return MajorState(
        incident=incident,
        commander=role_holder(incident, "commander"),
        checklist=list(
            MajorChecklistItem.objects.filter(incident=incident)
            .select_related("done_by")
            .order_by("position")
        ),
        deadline=deadline,
    )


@dataclass(frozen=True)
class OpenMajor:
    ref: str
    number: int
    title: str
    declared_at: dt.datetime
    commander: str | None


def open_majors() -> list[OpenMajor]:
    """The open major incidents, oldest declaration first, with their commanders: one
    query on the indexed `major_declared_at` (and one more only when there are some)."""
    rows = list(
        Incident.objects.filter(major_declared_at__isnull=False, status__in=OPEN_STATUSES)
        .order_by("major_declared_at", "pk")
        .values_list("pk", "number", "title", "major_declared_at")
    )
    if not rows:
        return []
    commanders = {
        a.incident_id: a.user.display_name
        for a in RoleAssignment.objects.filter(
            incident_id__in=[r[0] for r in rows], role__key="commander", ended_at__isnull=True
        ).select_related("user")
    }
    return [
        OpenMajor(
            ref=f"INC-{number}",
            number=number,
            title=title,
            declared_at=declared,
            commander=commanders.get(pk) or None,
        )
        for pk, number, title, declared in rows
        if declared is not None  # (the filter says so; for the type checker)
    ]
