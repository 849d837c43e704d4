"""Every write of the escalation app: climbs started, stepped, stopped; pages written.

The engine module (escalation/engine.py) calls `climb_step`; the incident hooks
(escalation/wiring.py) call `climbs_on_created` and `climbs_on_transition` inside the
incident's own transaction; the API and pages call `page_now`, `escalate_now` and
`climb_reassign`. Policies are written by `policies.py`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Prefetch, QuerySet

from tocsin.accounts.models import Team, Urgency, User
from tocsin.accounts.permissions import Action, require_for
from tocsin.accounts.selectors import effective_rules_many
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.core.errors import Conflict, Invalid
from tocsin.core.fastinsert import insert
from tocsin.core.memo import batch_memo, memo
from tocsin.core.wake import work_committed
from tocsin.escalation import targets
from tocsin.escalation.messages import next_working_moment, page_content
from tocsin.escalation.models import (
    ClimbState,
    Escalation,
    EscalationLevel,
    EscalationPolicy,
    EscalationTarget,
    LevelMode,
    Page,
    PageState,
    ServicePaging,
)
from tocsin.incidents.models import EntryKind, Incident, Status
from tocsin.incidents.timeline import timeline_append
from tocsin.notify.engine import crash_point
from tocsin.notify.models import OutboxMessage, OutboxState
from tocsin.notify.services import outbox_cancel, outbox_enqueue
from tocsin.oncall.models import Schedule

log = logging.getLogger("tocsin.escalation")

ENGINE = Actor.system("escalation")
PAGE_PURPOSE = "page"
# Statuses in which someone has taken the incident: no climb runs.
TAKEN = (Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.ON_HOLD)
ENDED = (Status.RESOLVED, Status.CLOSED)


# --- reading a service's paging set-up --------------------------------------------------


def service_paging(service_id: int | None) -> ServicePaging | None:
    if service_id is None:
        return None
    return memo(  # once per engine batch (core.memo); callers only read it
        ("service_paging", service_id),
        lambda: (
            ServicePaging.objects.select_related("policy").filter(service_id=service_id).first()
        ),
    )


def prime_service_paging(service_ids: list[int]) -> dict[Hashable, Any]:
    """service_paging() of many services in one query (core.memo.prime_services)."""
    rows: dict[int, ServicePaging] = {}
    for row in ServicePaging.objects.select_related("policy").filter(service_id__in=service_ids):
        rows.setdefault(row.service_id, row)  # as .first(): one row a service (one-to-one)
    return {("service_paging", sid): rows.get(sid) for sid in service_ids}


def urgency_for(incident: Incident, paging: ServicePaging | None = None) -> str:
    """High for P1-P2 unless the service says otherwise (DESIGN.md, model decisions)."""
    paging = paging if paging is not None else service_paging(incident.service_id)
    high = paging.high_urgency_priorities if paging is not None else [1, 2]
    return Urgency.HIGH if incident.priority in high else Urgency.LOW


# --- starting, stopping and moving climbs ------------------------------------------------


def _timeline(incident: Incident, actor: Actor, text: str, **data: Any) -> None:
    timeline_append(incident=incident, kind=EntryKind.PAGE, actor=actor, text=text, data=data)


def climb_start(
    *,
    incident: Incident,
    actor: Actor,
    policy: EscalationPolicy | None = None,
    user: User | None = None,
    schedule: Schedule | None = None,
    team: Team | None = None,
    level: int = 0,
    reason: str = "",
    at: dt.datetime | None = None,
    paging: ServicePaging | None = None,
) -> Escalation:
    """A new climb whose first step fires at once (the engine is woken on commit).
    Call inside the transaction of the change that causes it; `paging`: the service's
    paging settings, when the caller has read them already."""
    at = at or now()
    if policy is not None and paging is not None and level == 0:
        # The service's own policy from its first level (an alert's incident): no count
        # here; a policy left without levels ends the climb at its first step, on the
        # timeline ("the escalation policy has no levels"), rather than fail the alert.
        pass
    elif policy is not None:
        count = policy.levels.count()
        if count == 0:
            raise Invalid("policy", "This escalation policy has no levels.")
        if not 0 <= level < count:
            raise Invalid("level", f"Choose a level from 1 to {count}.")
    elif sum(x is not None for x in (user, schedule, team)) != 1:
        raise Invalid("target", "Page a policy, a schedule, a team or a person.")
    climb = insert(
        Escalation(
            incident=incident,
            policy=policy,
            target_user=user,
            target_schedule=schedule,
            target_team=team,
            urgency=urgency_for(incident, paging),
            level=level,
            next_at=at,
            started_at=at,
            reason=reason[:200],
        )
    )
    work_committed()
    return climb


def _stop(incident: Incident, state: str, reason: str, *, keep: int | None = None) -> int:
    """End the incident's active climbs, close its open pages and cancel their queued
    messages; how many climbs ended."""
    at = now()
    climbs = Escalation.objects.filter(incident=incident, state=ClimbState.ACTIVE)
    if keep is not None:
        climbs = climbs.exclude(pk=keep)
    ended = climbs.update(state=state, next_at=None, ended_at=at)
    page_state = PageState.ACKNOWLEDGED if state == ClimbState.ACKNOWLEDGED else PageState.CANCELLED
    pages = Page.objects.filter(incident=incident, state=PageState.OPEN)
    if keep is not None:
        pages = pages.exclude(escalation_id=keep)
    queued = OutboxMessage.objects.filter(
        incident=incident, purpose=PAGE_PURPOSE, state=OutboxState.QUEUED
    )
    if keep is not None:
        queued = queued.exclude(payload__escalation=keep)
    if state != ClimbState.RESOLVED:
        # responder requests (escalation/responders.py) wait for their answer: only the
        # incident's end stops them
        pages = pages.exclude(escalation__state=ClimbState.RESPONDERS)
        queued = queued.exclude(payload__has_key="responder")
    pages.update(state=page_state)
    outbox_cancel(message_ids=list(queued.values_list("pk", flat=True)), reason=reason)
    return ended


def climbs_on_created(*, incident: Incident, actor: Actor) -> None:
    """A new incident on a service with a policy starts its climb."""
    paging = service_paging(incident.service_id)
    if paging is None or paging.policy is None or paging.policy.archived_at is not None:
        return
    if incident.status != Status.NEW:
        return
    climb_start(
        incident=incident,
        actor=actor,
        policy=paging.policy,
        reason="service policy",
        paging=paging,
    )


def climbs_on_transition(
    *, incident: Incident, action: str, old: str, new: str, actor: Actor
) -> None:
    """Acknowledge (or any move that takes the incident) stops the climb; resolve and
    close cancel every pending page; back to new (acknowledgement taken back, the ack
    timeout, a reopen) restarts the service's policy from its first level."""
    if new in ENDED:
        if _stop(incident, ClimbState.RESOLVED, f"incident {new}"):
            _timeline(incident, actor, "Paging stopped: the incident was resolved.")
    elif new in TAKEN and old == Status.NEW:
        if _stop(incident, ClimbState.ACKNOWLEDGED, "acknowledged"):
            _timeline(incident, actor, "Paging stopped: the incident was acknowledged.")
    elif new == Status.NEW and old != Status.NEW:
        paging = service_paging(incident.service_id)
        if paging is None or paging.policy is None or paging.policy.archived_at is not None:
            return
        _stop(incident, ClimbState.REPLACED, "restarted")
        why = {
            "unacknowledge": "acknowledgement taken back",
            "reopen": "reopened",
        }.get(action, action)
        climb_start(
            incident=incident, actor=actor, policy=paging.policy, reason=f"restarted: {why}"
        )
        _timeline(
            incident,
            actor,
            f"Paging restarted at level 1 of {paging.policy.name} ({why}).",
            policy=paging.policy.pk,
        )


def _require_open(incident: Incident) -> None:
    if incident.status in ENDED:
        raise Conflict(f"{incident.ref} is {incident.status}; reopen it to page anyone.")


@transaction.atomic
def page_now(
    *,
    incident: Incident,
    actor: Actor,
    policy: EscalationPolicy | None = None,
    user: User | None = None,
    schedule: Schedule | None = None,
    team: Team | None = None,
    note: str = "",
) -> Escalation:
    """Page a policy, a schedule, a team's on-call or a person now, by hand. Runs beside
    any climb already under way."""
    require_for(actor, Action.PAGE_SEND, incident, what="page people")
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    _require_open(incident)
    if policy is not None and policy.archived_at is not None:
        raise Invalid("policy", "This escalation policy is archived.")
    if schedule is not None and schedule.archived_at is not None:
        raise Invalid("schedule", "This schedule is archived.")
    if user is not None and not user.is_active:
        raise Invalid("user", "This person is deactivated.")
    what = (
        f"policy {policy.name}"
        if policy
        else f"schedule {schedule.name}"
        if schedule
        else f"team {team.name}"
        if team
        else f"{user.display_name}"  # type: ignore[union-attr]
    )
    climb = climb_start(
        incident=incident,
        actor=actor,
        policy=policy,
        user=user,
        schedule=schedule,
        team=team,
        reason=f"page now: {what}"[:200],
    )
    _timeline(incident, actor, f"Page now: {what}." + (f" {note}" if note else ""), climb=climb.pk)
    return climb


@transaction.atomic
def escalate_now(*, incident: Incident, actor: Actor) -> Escalation:
    """Fire the next level of the incident's climb at once."""
    require_for(actor, Action.PAGE_SEND, incident, what="escalate paging")
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    _require_open(incident)
    climb = (
        Escalation.objects.filter(incident=incident, state=ClimbState.ACTIVE, policy__isnull=False)
        .order_by("-started_at", "-pk")
        .first()
    )
    if climb is None:
        raise Conflict(
            f"{incident.ref} has no escalation under way; page a policy, schedule or person."
        )
    if climb.next_at is None:
        raise Conflict(
            f"Every level of {climb.policy.name} has been paged; "  # type: ignore[union-attr]
            "page a policy, schedule or person again."
        )
    Escalation.objects.filter(pk=climb.pk, state=ClimbState.ACTIVE).update(next_at=now())
    _timeline(incident, actor, f"Escalate now: level {climb.level + 1} is paged at once.")
    work_committed()
    climb.refresh_from_db()
    return climb


@transaction.atomic
def climb_reassign(
    *, incident: Incident, actor: Actor, policy: EscalationPolicy, level: int = 0
) -> Escalation:
    """Hand the incident's paging to `policy`, starting at `level` (0-based); any climb
    under way ends (replaced)."""
    require_for(actor, Action.PAGE_SEND, incident, what="reassign paging")
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    _require_open(incident)
    if policy.archived_at is not None:
        raise Invalid("policy", "This escalation policy is archived.")
    _stop(incident, ClimbState.REPLACED, "reassigned")
    climb = climb_start(
        incident=incident, actor=actor, policy=policy, level=level, reason="reassigned"
    )
    _timeline(
        incident,
        actor,
        f"Paging reassigned to {policy.name}, starting at level {level + 1}.",
        policy=policy.pk,
        level=level + 1,
    )
    return climb


# --- the engine's step ---------------------------------------------------------------------


def _levels(climb: Escalation) -> list[EscalationLevel]:
    if climb.policy_id is None:
        return []
    return levels_of_policies([climb.policy_id]).get(climb.policy_id, [])


def levels_of_policies(policy_ids: Iterable[int]) -> dict[int, list[EscalationLevel]]:
    """The levels (in order, their targets prefetched) of several policies in two queries:
    a batch of steps (`climb_steps`) reads each policy once."""
    found: dict[int, list[EscalationLevel]] = {pk: [] for pk in policy_ids}
    if not found:
        return found
    for level in (
        EscalationLevel.objects.filter(policy_id__in=list(found))
        .prefetch_related(
            Prefetch(
                "targets",
                queryset=EscalationTarget.objects.select_related("user", "schedule", "team"),
            )
        )
        .order_by("policy_id", "position")
    ):
        found[level.policy_id].append(level)
    return found


def _level_targets(
    climb: Escalation, level: EscalationLevel | None
) -> tuple[list[User], list[Schedule], list[Team]]:
    if level is None:  # an ad-hoc climb: its one target
        return (
            [climb.target_user] if climb.target_user else [],
            [climb.target_schedule] if climb.target_schedule else [],
            [climb.target_team] if climb.target_team else [],
        )
    chosen = list(level.targets.all())
    if level.mode == LevelMode.ROUND_ROBIN and chosen:
        # the counter moves with a compare-and-set, so two climbs never take one turn
        while True:
            turn = (
                EscalationLevel.objects.filter(pk=level.pk).values_list("rr_next", flat=True).get()
            )
            if EscalationLevel.objects.filter(pk=level.pk, rr_next=turn).update(
                rr_next=F("rr_next") + 1
            ):
                break
        chosen = [chosen[turn % len(chosen)]]
    return (
        [t.user for t in chosen if t.user is not None],
        [t.schedule for t in chosen if t.schedule is not None],
        [t.team for t in chosen if t.team is not None],
    )


def _lock_incident(incident_id: int) -> None:
    """Lock the incident row before the climb's rows, the order of every service that
    changes an incident (it locks the incident, then stops or moves its climbs and
    cancels their messages). The other order deadlocked on PostgreSQL, whose foreign-key
    checks run at commit and take a KEY SHARE lock on the incident: a person's
    acknowledgement waited for the climb while the engine's step, at its commit, waited
    for the incident, and PostgreSQL aborted one of them. FOR NO KEY UPDATE: it does
    not block other transactions' foreign-key checks. (SQLite: its IMMEDIATE
    transactions already run one at a time, and Django drops FOR UPDATE there: the read
    would lock nothing, so it is not made.)"""
    _lock_incident_or_skip(incident_id, skip_locked=False)


def _lock_incident_or_skip(incident_id: int, *, skip_locked: bool) -> bool:
    """`_lock_incident`; with `skip_locked` (a batch of steps on PostgreSQL) an incident
    another transaction holds is skipped (False) rather than waited for: its step stays
    due and is fired next turn, and a second worker's batch does not queue behind the
    first one's."""
    if connection.vendor == "sqlite":
        return True
    return bool(
        list(
            Incident.objects.select_for_update(no_key=True, skip_locked=skip_locked)
            .filter(pk=incident_id)
            .values_list("pk", flat=True)
        )
    )


@transaction.atomic
def climb_step(climb_id: int, *, at: dt.datetime) -> int:
    """Fire the climb's due step: page the level's targets and move to the next level
    (or the next pass, or the end). A compare-and-set on `step`: of two workers, one
    fires it. Returns the number of pages written (0 when there was nothing to do)."""
    incident_id = (
        Escalation.objects.filter(pk=climb_id, state=ClimbState.ACTIVE, next_at__lte=at)
        .values_list("incident_id", flat=True)
        .first()
    )
    if incident_id is None:
        return 0
    _lock_incident(incident_id)
    climb = _read_climb(climb_id, at)
    return 0 if climb is None else _climb_step(climb, at=at, levels_of=None)


# Steps per transaction in `climb_steps` at most, and the time one transaction may take
# (SQLite: short, the web's inserts wait for the one write lock; PostgreSQL: longer, each
# commit is a WAL flush and nobody waits for the batch but the incidents it locked).
STEPS_MAX = {"sqlite": 50}
STEPS_MAX_OTHER = 100
STEPS_TARGET = {"sqlite": 0.05}
STEPS_TARGET_OTHER = 0.15


def climb_steps(due: Sequence[tuple[int, int, int | None]], *, at: dt.datetime) -> tuple[int, int]:
    """Fire several due steps in ONE transaction, in the order given: `due` holds
    (climb id, incident id, policy id) of climbs due at `at`, oldest first. Each step is
    exactly `climb_step`'s (the same compare-and-set on `step`, its pages, messages and
    timeline entry together), in a savepoint of its own so that a step that fails is
    logged and rolled back alone; the policies' levels are read once for the batch. On
    PostgreSQL an incident locked by another transaction is skipped (it stays due).
    Stops early once the steps have taken STEPS_TARGET seconds of this thread's CPU time
    (CPU rather than wall time: on a machine short of CPU a wall-time limit shrank the
    batches to one step each, just when their savings mattered most).

    Returns (steps looked at, steps fired); the caller passes the rest next time."""
    import time

    if not due:
        return 0, 0
    vendor = connection.vendor
    target = STEPS_TARGET.get(vendor, STEPS_TARGET_OTHER)
    began = time.thread_time()
    looked = fired = 0
    with transaction.atomic(), batch_memo():  # settings read once per batch (core.memo)
        levels_of = levels_of_policies({p for _, _, p in due if p is not None})
        climbs: dict[int, Escalation] | None = None
        if vendor == "sqlite":
            # the batch holds the one write lock from its first statement: nobody else can
            # change a climb before its step, so they are read together (a read each was
            # the step's costliest statement); the step's compare-and-set still guards
            climbs = {c.pk: c for c in _due_climb(at).filter(pk__in=[c for c, _, _ in due])}
        for climb_id, incident_id, _policy_id in due:
            looked += 1
            try:
                with transaction.atomic():
                    if _lock_incident_or_skip(incident_id, skip_locked=True):
                        climb = (
                            climbs.get(climb_id)
                            if climbs is not None
                            else _read_climb(climb_id, at)
                        )
                        if climb is not None:
                            fired += 1 if _climb_step(climb, at=at, levels_of=levels_of) else 0
            except (OperationalError, InterfaceError):
                raise  # the database itself: the whole batch again, next turn
            except Exception:
                log.exception("escalation step of climb %s failed; retried next turn", climb_id)
            if time.thread_time() - began >= target:
                break
    return looked, fired


def _due_climb(at: dt.datetime) -> QuerySet[Escalation]:
    """Active climbs due at `at`, with what a step reads of them (locked on PostgreSQL).
    Not their one target (person, schedule, team): only an ad-hoc climb ("page now") has
    one, and it is read when its step needs it; joined, the three made PostgreSQL plan a
    seven-table join for every step (about 0.4 ms of the read; docs/benchmarks.md,
    session 18)."""
    return (
        Escalation.objects.select_for_update(of=("self",))
        .select_related("incident", "incident__service", "policy")
        .filter(state=ClimbState.ACTIVE, next_at__lte=at)
    )


def _read_climb(climb_id: int, at: dt.datetime) -> Escalation | None:
    return _due_climb(at).filter(pk=climb_id).first()


def _climb_step(
    climb: Escalation, *, at: dt.datetime, levels_of: dict[int, list[EscalationLevel]] | None
) -> int:
    """The step itself, inside the caller's transaction, the incident already locked,
    the climb read in it (`_due_climb`)."""
    incident = climb.incident
    if levels_of is not None and climb.policy_id in levels_of:
        levels = levels_of[climb.policy_id]
    else:
        levels = _levels(climb)
    if climb.policy_id is not None and not levels:
        Escalation.objects.filter(pk=climb.pk, step=climb.step).update(
            state=ClimbState.EXHAUSTED, next_at=None, ended_at=at
        )
        _timeline(incident, ENGINE, "Paging stopped: the escalation policy has no levels.")
        return 0
    level = levels[min(climb.level, len(levels) - 1)] if levels else None
    # where the climb goes next
    fields: dict[str, Any] = {"step": climb.step + 1}
    if level is not None and climb.level + 1 < len(levels):
        fields.update(level=climb.level + 1, next_at=at + dt.timedelta(minutes=level.delay_minutes))
    elif level is not None and climb.cycle < climb.policy.repeat:  # type: ignore[union-attr]
        fields.update(
            level=0, cycle=climb.cycle + 1, next_at=at + dt.timedelta(minutes=level.delay_minutes)
        )
    else:
        # every level paged: the climb stays active (its pages' later messages still go
        # out) with nothing more to fire, until acknowledged or resolved
        fields.update(next_at=None)
    if not Escalation.objects.filter(pk=climb.pk, state=ClimbState.ACTIVE, step=climb.step).update(
        **fields
    ):
        return 0  # another worker fired it
    users, schedules, teams = _level_targets(climb, level)
    found, missed = targets.resolve(users=users, schedules=schedules, teams=teams, at=at)
    pages = _page_people(climb, incident, found, at=at)
    where = f"level {climb.level + 1}" if level is not None else "page now"
    if climb.cycle:
        where += f", repeat {climb.cycle}"
    names = ", ".join(f.user.display_name for f in found) or "nobody"
    text = f"Paged {names} ({where})."
    if missed:
        text += " " + "; ".join(f"{m.via}: {m.why}" for m in missed) + "."
    data: dict[str, Any] = {
        "climb": climb.pk,
        "level": climb.level + 1,
        "cycle": climb.cycle,
        "paged": [f.user.username for f in found],
    }
    if not found and fields["next_at"] is not None:
        # nobody to page at this level (a gap, an empty team): waiting out its delay would
        # page nobody for that long, so the next level (or pass) goes at once
        Escalation.objects.filter(pk=climb.pk, state=ClimbState.ACTIVE, step=climb.step + 1).update(
            next_at=at
        )
        text += " Nobody to page here, so the next level is paged at once."
        work_committed()
    elif fields["next_at"] is None and level is not None:
        text += " That was the last level."
    _timeline(incident, ENGINE, text, **data)
    crash_point("climb_step")  # test hook (TOCSIN_TEST_CRASH_AT): killed before the commit
    return max(pages, 1)


def _rules_of(users: list[User], urgency: str) -> dict[int, list[Any]]:
    """Each person's notification cycle; one person's (the usual step) is read once per
    batch of steps (core.memo): a storm pages the same on-call person again and again."""
    if len(users) == 1:
        user = users[0]
        return {
            user.pk: memo(
                ("paging_rules", user.pk, urgency),
                lambda: effective_rules_many([user], urgency)[user.pk],
            )
        }
    return effective_rules_many(users, urgency)


def _page_people(
    climb: Escalation, incident: Incident, found: list[targets.Found], *, at: dt.datetime
) -> int:
    """One Page per person and one queued message per notification rule."""
    if not found:
        return 0
    cycles = _rules_of([f.user for f in found], climb.urgency)
    written = 0
    for item in found:
        # new for certain: this worker holds the step (the compare-and-set above), and
        # targets.resolve names each person once; the unique constraint still guards it
        page = insert(
            Page(
                escalation=climb,
                step=climb.step,
                person=item.user,
                incident=incident,
                level=climb.level,
                cycle=climb.cycle,
                urgency=climb.urgency,
                via=item.via[:200],
                created_at=at,
            )
        )
        written += 1
        subject, body, payload = page_content(page=page, incident=incident)
        payload["escalation"] = climb.pk
        cycle = cycles.get(item.user.pk, [])
        if not cycle:
            _timeline(
                incident,
                ENGINE,
                f"{item.user.display_name} has no contact method to be paged through "
                f"at {climb.urgency} urgency.",
                person=item.user.username,
            )
        # Low urgency for someone who asked to wait for working hours: the whole cycle
        # starts at their next working moment (each method's delay kept), rather than
        # every method that falls outside them going off together at 09:00.
        start = at
        if climb.urgency == Urgency.LOW and item.user.low_urgency_working_hours:
            start = next_working_moment(at, item.user.time_zone)
        for rule in cycle:
            when = start + dt.timedelta(minutes=rule.delay_minutes)
            outbox_enqueue(
                channel=rule.method.kind,
                recipient="",  # the channel reads the address from the contact method
                subject=subject,
                body=body,
                payload={**payload, "delay_minutes": rule.delay_minutes},
                dedup_key=f"page:{page.pk}:{rule.method.pk}:{rule.delay_minutes}",
                incident=incident,
                person=item.user,
                contact_method=rule.method,
                purpose=PAGE_PURPOSE,
                not_before=when,
                new_key=True,
            )
    return written


# --- delivery outcomes (notify.hooks.on_outcome) -------------------------------------------


def page_delivery_outcome(*, message: OutboxMessage, outcome: str, reason: str) -> None:
    """A page that failed for good is written on the incident, and the person's next
    method is brought forward so the cycle does not wait on a dead channel (N4)."""
    if message.purpose != PAGE_PURPOSE or outcome != "failed" or message.incident_id is None:
        return
    page_id = message.payload.get("page") if isinstance(message.payload, dict) else None
    _lock_incident(message.incident_id)  # before the page's messages (see _lock_incident)
    incident = Incident.objects.filter(pk=message.incident_id).first()
    if incident is None:
        return
    person = message.person.display_name if message.person_id else "someone"  # type: ignore[union-attr]
    _timeline(
        incident,
        ENGINE,
        f"Page to {person} by {message.channel} failed: {reason[:300]}",
        outbox=message.pk,
        channel=message.channel,
    )
    if page_id is None:
        return
    at = now()
    later = (
        OutboxMessage.objects.filter(
            incident_id=message.incident_id,
            purpose=PAGE_PURPOSE,
            state=OutboxState.QUEUED,
            payload__page=page_id,
            not_before__gt=at,
        )
        .order_by("not_before", "pk")
        .values_list("pk", flat=True)
        .first()
    )
    if later is not None:
        OutboxMessage.objects.filter(pk=later, state=OutboxState.QUEUED).update(not_before=at)
        work_committed()


# --- acting on a page (signed links, SMS replies) --------------------------------------------


@transaction.atomic
def _climb_acknowledged(*, page: Page, person: User, actor: Actor) -> None:
    """The paged person acknowledged a page on an incident someone had already taken (a
    "page now" beside the work): the incident stays as it is, but that page's climb
    stops and its queued messages are cancelled, so the person's later methods (a call
    in five minutes) and the climb's next levels do not go on until the incident ends."""
    incident = Incident.objects.select_for_update().get(pk=page.incident_id)
    stopped = Escalation.objects.filter(pk=page.escalation_id, state=ClimbState.ACTIVE).update(
        state=ClimbState.ACKNOWLEDGED, next_at=None, ended_at=now()
    )
    Page.objects.filter(escalation_id=page.escalation_id, state=PageState.OPEN).update(
        state=PageState.ACKNOWLEDGED
    )
    queued = OutboxMessage.objects.filter(
        incident=incident,
        purpose=PAGE_PURPOSE,
        state=OutboxState.QUEUED,
        payload__escalation=page.escalation_id,
    )
    outbox_cancel(message_ids=list(queued.values_list("pk", flat=True)), reason="acknowledged")
    if stopped:
        _timeline(
            incident,
            actor,
            f"{person.display_name} acknowledged the page; this paging stopped.",
            climb=page.escalation_id,
        )


def page_act(*, page: Page, action: str, actor: Actor | None = None) -> Incident:
    """Acknowledge or resolve the page's incident as the paged person (a signed link or
    an SMS reply is the person's own answer). Acknowledging an incident someone already
    took, or resolving a resolved one, changes nothing and is not an error."""
    from tocsin.escalation import responders
    from tocsin.incidents import services as incident_services

    incident = Incident.objects.get(pk=page.incident_id)
    person = User.objects.get(pk=page.person_id)
    actor = actor or Actor.for_user(person)
    if responders.is_responder_page(page):  # acknowledging a responder page accepts it
        return responders.page_answer(page=page, action=action, actor=actor)
    if action == "acknowledge":
        if incident.status == Status.NEW:
            return incident_services.incident_acknowledge(incident=incident, actor=actor)
        _climb_acknowledged(page=page, person=person, actor=actor)
        return incident
    if action == "resolve":
        if incident.status in ENDED:
            return incident
        return incident_services.incident_resolve(
            incident=incident,
            actor=actor,
            resolution_code="fixed",
            resolution_notes=f"Resolved from a page by {person.display_name}.",
        )
    raise Invalid("action", "acknowledge or resolve.")
