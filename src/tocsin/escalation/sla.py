"""Hierarchical escalation by SLA (issue 10, point 8): warnings at 75 %, the manager at breach.

The incident stores its SLA due times (tocsin.incidents.sla). Every tick the
`SlaWarningModule` looks for running incidents whose response or resolution target is
75 % used (working time, on the target's calendar) and warns the assignee, or when
nobody is assigned, whoever is on call on the schedules of the incident's team (else the
service's team), through the first step of their LOW-urgency notification rules. When a
target's due time passes, the manager of that team is notified through the first step of
their rules at the incident's urgency (P1-P2 high, P3-P4 low, unless the service says
otherwise).

Exactly once each: a `SlaNotice` row (unique per incident, target, kind and due time)
is written in the same transaction as the outbox messages (each with a unique dedup key
`sla-warn:<incident>:<target>:<due iso>:<person>:<method>`) and the timeline entry; of two
workers, one inserts the row and the other's insert fails and changes nothing. A new due
time (the priority changed, the clock was held and resumed) is a new target to watch.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef

from tocsin.accounts.models import Team, Urgency, User
from tocsin.accounts.selectors import effective_rules_many
from tocsin.core.actors import Actor
from tocsin.core.budget import budget_spent
from tocsin.escalation import hierarchy, targets
from tocsin.escalation.messages import next_working_moment
from tocsin.escalation.models import SlaNotice
from tocsin.escalation.services import urgency_for
from tocsin.incidents.models import EntryKind, Incident
from tocsin.incidents.sla import RUNNING_STATUSES, Targets, working_seconds
from tocsin.incidents.timeline import timeline_append
from tocsin.notify.services import outbox_enqueue

log = logging.getLogger("tocsin.escalation.sla")

SLA_ACTOR = Actor.system("sla")
WARN_AT = 0.75  # of the target's working time
TARGET_NAMES = ("response", "resolution")
WARNING, BREACH = "warning", "breach"
PURPOSES = {WARNING: "sla-warning", BREACH: "sla-breach"}
DEDUP = {WARNING: "sla-warn", BREACH: "sla-breach"}


# --- who is told ---------------------------------------------------------------------------


def _team_of(incident: Incident) -> Team | None:
    if incident.team_id is not None:
        return incident.team
    service = incident.service if incident.service_id else None
    return service.team if service is not None and service.team_id else None


def warning_recipients(incident: Incident, at: dt.datetime) -> tuple[list[User], str]:
    """The assignee, or the on-call of the team's schedules; and how they were chosen."""
    assignee = incident.assignee if incident.assignee_id else None
    if assignee is not None and assignee.is_active:
        return [assignee], "assignee"
    team = _team_of(incident)
    if team is None:
        return [], "no assignee and no team"
    found, _missed = targets.resolve(teams=[team], at=at)
    if not found:
        return [], f"no assignee and nobody on call for team {team.name}"
    return [f.user for f in found], f"on call for team {team.name}"


def breach_recipients(incident: Incident) -> tuple[list[User], str]:
    team = _team_of(incident)
    if team is None:
        return [], "no team"
    manager = team.manager if team.manager_id else None
    if manager is None or not manager.is_active:
        return [], f"team {team.name} has no manager"
    return [manager], f"manager of team {team.name}"


# --- one notice ------------------------------------------------------------------------------


def _content(
    incident: Incident, name: str, kind: str, due_at: dt.datetime
) -> tuple[str, str, dict[str, Any]]:
    link = f"{settings.BASE_URL.rstrip('/')}/incidents/{incident.ref}/"
    due = due_at.astimezone(dt.UTC).strftime("%d %b %H:%M UTC")
    if kind == WARNING:
        what = f"{name} target 75 % used (due {due})"
    else:
        what = f"{name} target breached (was due {due})"
    subject = f"[P{incident.priority}] {incident.ref}: {what}"
    body = "\n".join(
        [
            f"{incident.ref} · P{incident.priority}",
            incident.title,
            "",
            what[0].upper() + what[1:] + ".",
            "",
            f"Open: {link}",
        ]
    )
    payload = {
        "kind": PURPOSES[kind],
        "incident": incident.ref,
        "title": incident.title,
        "priority": incident.priority,
        "target": name,
        "due_at": due_at.isoformat(),
        "links": {"open": link},
    }
    return subject[:300], body, payload


def _send(
    incident: Incident,
    people: list[User],
    *,
    name: str,
    kind: str,
    due_at: dt.datetime,
    urgency: str,
    at: dt.datetime,
) -> list[str]:
    """Queue the first step of each person's notification cycle; whom it reached."""
    subject, body, payload = _content(incident, name, kind, due_at)
    cycles = effective_rules_many(people, urgency)
    reached: list[str] = []
    for person in people:
        cycle = cycles.get(person.pk, [])
        if not cycle:
            continue
        first = min(rule.delay_minutes for rule in cycle)
        when = at
        if urgency == Urgency.LOW and person.low_urgency_working_hours:
            when = next_working_moment(at, person.time_zone)
        for rule in (r for r in cycle if r.delay_minutes == first):
            outbox_enqueue(
                channel=rule.method.kind,
                recipient="",  # the channel reads the address from the contact method
                subject=subject,
                body=body,
                payload={**payload, "urgency": urgency},
                dedup_key=(
                    f"{DEDUP[kind]}:{incident.pk}:{name}:{due_at.isoformat()}:"
                    f"{person.pk}:{rule.method.pk}"
                ),
                incident=incident,
                person=person,
                contact_method=rule.method,
                purpose=PURPOSES[kind],
                not_before=when,
            )
        reached.append(person.username)
    return reached


def used_fraction(incident: Incident, name: str, at: dt.datetime, table: Targets) -> float | None:
    """How much of target `name`'s working time is used at `at` (1.0 at the due time);
    None when the clock is not running or the target is met."""
    due = getattr(incident, f"{name}_due_at")
    if (
        due is None
        or getattr(incident, f"{name}_met_at") is not None
        or incident.sla_running_since is None
    ):
        return None
    target = table[incident.priority]
    total = getattr(target, f"{name}_seconds")
    if total <= 0:
        return None
    if at >= due:
        return 1.0
    # the due time is the moment the target's working time runs out, so what is left is
    # the working time between now and then (24x7: wall-clock time)
    remaining = working_seconds(target.calendar, at, due)
    return 1.0 - remaining / total


@transaction.atomic
def sla_notice(
    *, incident_id: int, name: str, kind: str, due_at: dt.datetime, at: dt.datetime
) -> bool:
    """Send the warning or breach notice for this due time, once: the marker, the outbox
    messages and the timeline entry commit together. False when it is not due any more
    or another worker sent it."""
    incident = (
        Incident.objects.select_related("assignee", "team__manager", "service__team__manager")
        .filter(pk=incident_id, status__in=RUNNING_STATUSES, **{f"{name}_due_at": due_at})
        .first()
    )
    if incident is None or getattr(incident, f"{name}_met_at") is not None:
        return False
    if kind == WARNING:
        fraction = used_fraction(incident, name, at, Targets())
        if fraction is None or fraction < WARN_AT or fraction >= 1.0:
            return False
    elif at < due_at:
        return False
    try:
        with transaction.atomic():
            notice = SlaNotice.objects.create(
                incident=incident, target=name, kind=kind, due_at=due_at, created_at=at
            )
    except IntegrityError:
        return False  # another worker sent it
    urgency: str
    if kind == WARNING:
        people, how = warning_recipients(incident, at)
        urgency = Urgency.LOW
    else:
        people, how = breach_recipients(incident)
        urgency = urgency_for(incident)
        # the manager hears of each target's breach once per incident, unless turned off
        # (issue 11: hierarchical escalation; escalation/hierarchy.py)
        blocked = hierarchy.sla_breach_blocked(incident=incident, target=name) if people else ""
        if blocked:
            people, how = [], blocked
    reached = _send(incident, people, name=name, kind=kind, due_at=due_at, urgency=urgency, at=at)
    notice.notified = reached
    notice.save(update_fields=["notified"])
    due_text = due_at.astimezone(dt.UTC).strftime("%d %b %H:%M UTC")
    names = {p.username: p.display_name for p in people}
    if kind == WARNING:
        head = f"{name.capitalize()} target 75 % used (due {due_text})"
    else:
        head = f"{name.capitalize()} target breached (was due {due_text})"
    if reached:
        verb = "warned" if kind == WARNING else "notified"
        who = ", ".join(names[u] for u in reached)
        text = f"{head}: {verb} {who} ({how})."
    elif people:
        text = f"{head}: {', '.join(names.values())} ({how}) has no contact method to notify."
    else:
        text = f"{head}: nobody to notify ({how})."
    timeline_append(
        incident=incident,
        kind=EntryKind.PAGE,
        actor=SLA_ACTOR,
        text=text,
        data={
            "notice": kind,
            "target": name,
            "due_at": due_at.isoformat(),
            "notified": reached,
        },
    )
    if kind == BREACH and reached:
        hierarchy.sla_breach_record(
            incident=incident,
            target=name,
            due_at=due_at,
            recipients=reached,
            how=", ".join(names[u] for u in reached) + f" ({how})",
            actor=SLA_ACTOR,
            at=at,
        )
    return True


# --- the engine module -------------------------------------------------------------------------


def _due_candidates(name: str, kind: str, at: dt.datetime, table: Targets, limit: int) -> list[Any]:
    due_field = f"{name}_due_at"
    sent = SlaNotice.objects.filter(
        incident=OuterRef("pk"), target=name, kind=kind, due_at=OuterRef(due_field)
    )
    qs = Incident.objects.filter(
        status__in=RUNNING_STATUSES,
        sla_running_since__isnull=False,
        **{f"{name}_met_at__isnull": True, f"{due_field}__isnull": False},
    ).filter(~Exists(sent))
    if kind == BREACH:
        qs = qs.filter(**{f"{due_field}__lte": at})
        return list(qs.order_by(due_field, "pk").values_list("pk", due_field)[:limit])
    qs = qs.filter(**{f"{due_field}__gt": at})
    found: list[Any] = []
    for priority in (1, 2, 3, 4):
        target = table[priority]
        total = getattr(target, f"{name}_seconds")
        per = qs.filter(priority=priority).order_by(due_field, "pk")
        if target.calendar is None:
            # 24x7: 75 % used exactly when the due time is within the last quarter
            edge = at + dt.timedelta(seconds=total * (1 - WARN_AT))
            found.extend(
                per.filter(**{f"{due_field}__lte": edge}).values_list("pk", due_field)[:limit]
            )
            continue
        # business hours: the working time left grows with the due time, so the incidents
        # 75 % used are the first ones in order of due time
        for pk, due_at in per.values_list("pk", due_field)[:limit]:
            if working_seconds(target.calendar, at, due_at) > total * (1 - WARN_AT):
                break
            found.append((pk, due_at))
    return found


class SlaWarningModule:
    """Warns at 75 % of a response or resolution target; tells the manager at breach."""

    name = "sla_warnings"
    batch = 100
    # A warning a few seconds late is still in time: the module looks at most this often
    # (about ten queries a look), not on every tick of the worker.
    interval = dt.timedelta(seconds=5)

    def __init__(self) -> None:
        self._last: dt.datetime | None = None

    def tick(self, now: dt.datetime) -> int:
        if self._last is not None and self._last <= now < self._last + self.interval:
            return 0
        self._last = now
        table = Targets()
        done = 0
        for name in TARGET_NAMES:
            for kind in (WARNING, BREACH):
                for pk, due_at in _due_candidates(name, kind, now, table, self.batch):
                    if budget_spent():
                        self._last = None  # the rest next turn, at once
                        return max(done, 1)
                    if sla_notice(incident_id=pk, name=name, kind=kind, due_at=due_at, at=now):
                        done += 1
        return done
