"""handoff: "you are on call from … to …" before a shift, a summary to the team at each
hand-off, and cover requests sent to the teammates who may cover.

- Notice: `User.handoff_notice_minutes` before each of their shifts (0: none), through
  the first step of their low-urgency notification rules (email to their address when
  they have none). Dedup key `handoff:<schedule>:<user>:<start>`.
- Summary: when a shift starts, an email to every member of the schedule's team: "Now on
  call for X: Alice until …; open incidents: n". Dedup key
  `handoff-summary:<schedule>:<start>:<user>`.
- Cover requests (made in the oncall app, which knows nothing of messages): each open
  request is sent once to every teammate who may cover it (the schedule's team members
  and the people in its layers, not the requester). Dedup key `cover:<request>:<user>`.

Durable correctness comes from the dedup keys on the outbox rows (unique): a second
worker, a restart or a repeated scan finds the row already there and adds nothing. The
module only remembers when it last scanned, to work the schedules out at most once a
minute per worker; a notice goes out within a minute of its time.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q

from tocsin.accounts.models import Urgency, User
from tocsin.accounts.permissions import Action, can
from tocsin.accounts.selectors import effective_rules_many
from tocsin.core.errors import Invalid
from tocsin.incidents.models import Incident, Status
from tocsin.notify.models import OutboxMessage
from tocsin.notify.services import outbox_enqueue
from tocsin.oncall import rules
from tocsin.oncall import selectors as oncall_selectors
from tocsin.oncall.models import CoverRequest, CoverState, LayerMember, Schedule
from tocsin.oncall.timeline import span_text

log = logging.getLogger("tocsin.escalation.handoff")

PURPOSE = "handoff"
COVER_PURPOSE = "cover"
SCAN_EVERY = dt.timedelta(minutes=1)
# A notice or summary still goes out this long after its moment (a worker that was down).
GRACE = dt.timedelta(minutes=10)
# The longest lead honoured (a person may ask for a day's notice, or a week's).
LEAD_MAX = dt.timedelta(days=7)
OPEN_STATUSES = (Status.NEW, Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.ON_HOLD)
COVER_BATCH = 200


@dataclass(frozen=True)
class Due:
    schedule: Schedule
    shift: rules.Shift


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%MZ")


def _zone(user: User) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(user.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _staff(users: Any) -> list[User]:
    """The active people among `users` who work incidents (not reporters)."""
    return [u for u in users.filter(is_active=True) if can(u, Action.DESK_VIEW)]


def _send_personal(
    *,
    user: User,
    key: str,
    subject: str,
    body: str,
    payload: dict[str, Any],
    at: dt.datetime,
    purpose: str,
    first_steps: dict[int, Any],
) -> bool:
    """One message to the person through the first step of their low-urgency cycle (else
    an email to their address); False when there is no way to reach them."""
    rule = first_steps.get(user.pk)
    if rule is not None:
        channel, method = rule.method.kind, rule.method
    elif user.email:
        channel, method = "email", None
    else:
        return False
    outbox_enqueue(
        channel=channel,
        recipient="" if method is not None else user.email,
        subject=subject,
        body=body,
        payload=payload,
        dedup_key=key[:200],
        person=user,
        contact_method=method,
        purpose=purpose,
        not_before=at,
    )
    return True


def _first_steps(users: list[User]) -> dict[int, Any]:
    cycles = effective_rules_many(users, Urgency.LOW)
    return {pk: cycle[0] for pk, cycle in cycles.items() if cycle}


def _existing(keys: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        rows = OutboxMessage.objects.filter(dedup_key__in=keys[start : start + 500])
        found.update(key for key in rows.values_list("dedup_key", flat=True) if key)
    return found


def _true_end(schedule: Schedule, shift: rules.Shift) -> dt.datetime | None:
    """When the person goes off call (the shift as computed may be cut at the window)."""
    return oncall_selectors.oncall(schedule, shift.start).until


# --- the scan ------------------------------------------------------------------------------


def _shifts(at: dt.datetime, lead: dt.timedelta) -> tuple[list[Due], list[Due]]:
    """Shifts starting in (at - GRACE, at + lead]: those are candidates for a notice;
    those starting in (at - GRACE, at] are hand-offs. A shift that only continues the
    same person's time on call (another layer, joined end to start) is neither."""
    since = at - GRACE - dt.timedelta(minutes=1)
    until = at + lead + dt.timedelta(minutes=1)
    schedules = list(Schedule.objects.filter(archived_at__isnull=True).select_related("team"))
    if not schedules:
        return [], []
    specs = oncall_selectors.rules_many(schedules, since, until)
    oncall_selectors.check_work(specs.values(), since, until)
    starting: list[Due] = []
    handoffs: list[Due] = []
    for schedule in schedules:
        previous: rules.Shift | None = None
        for shift in rules.final_shifts(specs[schedule.pk], since, until):
            continues = (
                previous is not None and previous.user == shift.user and previous.end == shift.start
            )
            previous = shift
            if shift.start <= since or continues:
                continue  # cut at the window's start, or no hand-off at all
            starting.append(Due(schedule, shift))
            if at - GRACE < shift.start <= at:
                handoffs.append(Due(schedule, shift))
    return starting, handoffs


def send_notices(at: dt.datetime, starting: list[Due]) -> int:
    if not starting:
        return 0
    people = {
        u.pk: u
        for u in _staff(
            User.objects.filter(
                pk__in={d.shift.user for d in starting}, handoff_notice_minutes__gt=0
            )
        )
    }
    due: list[tuple[Due, User, str]] = []
    for item in starting:
        user = people.get(item.shift.user)
        if user is None:
            continue
        lead = min(dt.timedelta(minutes=user.handoff_notice_minutes), LEAD_MAX)
        if item.shift.start - lead <= at < item.shift.start + GRACE:
            key = f"handoff:{item.schedule.pk}:{user.pk}:{_iso(item.shift.start)}"
            due.append((item, user, key))
    sent = _existing([key for _, _, key in due])
    due = [row for row in due if row[2] not in sent]
    if not due:
        return 0
    first = _first_steps(list({user.pk: user for _, user, _ in due}.values()))
    done = 0
    for item, user, key in due:
        end = _true_end(item.schedule, item.shift)
        zone = _zone(user)
        when = (
            span_text(item.shift.start, end, zone)
            if end is not None
            else f"{item.shift.start.astimezone(zone):%a %-d %b %H:%M} until further notice"
        )
        subject = f"On call: {item.schedule.name}, {when}"
        body = (
            f"You are on call for {item.schedule.name} from {when} "
            f"(your time, {user.time_zone}).\n\n"
            f"Schedule: {settings.BASE_URL}/schedules/{item.schedule.pk}/\n"
            f"Need someone else to take it? Ask for cover on the schedule's page."
        )
        payload = {
            "kind": "handoff",
            "schedule": item.schedule.pk,
            "start": item.shift.start.isoformat(),
            "end": end.isoformat() if end else None,
        }
        with transaction.atomic():
            if _send_personal(
                user=user,
                key=key,
                subject=subject,
                body=body,
                payload=payload,
                at=at,
                purpose=PURPOSE,
                first_steps=first,
            ):
                done += 1
    return done


def send_summaries(at: dt.datetime, handoffs: list[Due]) -> int:
    handoffs = [d for d in handoffs if d.schedule.team_id is not None]
    if not handoffs:
        return 0
    done = 0
    for item in handoffs:
        team = item.schedule.team
        members = _staff(team.members.exclude(email=""))  # type: ignore[union-attr]
        keys = {
            m.pk: f"handoff-summary:{item.schedule.pk}:{_iso(item.shift.start)}:{m.pk}"
            for m in members
        }
        sent = _existing(list(keys.values()))
        members = [m for m in members if keys[m.pk] not in sent]
        if not members:
            continue
        oncall_user = User.objects.filter(pk=item.shift.user).first()
        name = oncall_user.display_name if oncall_user else "someone"
        end = _true_end(item.schedule, item.shift)
        open_count = Incident.objects.filter(team_id=team.pk, status__in=OPEN_STATUSES).count()  # type: ignore[union-attr]
        with transaction.atomic():
            for member in members:
                zone = _zone(member)
                until = f" until {end.astimezone(zone):%a %-d %b %H:%M}" if end else ""
                subject = f"Now on call for {item.schedule.name}: {name}"
                body = (
                    f"Now on call for {item.schedule.name}: {name}{until} "
                    f"(your time, {member.time_zone}); open incidents: {open_count}.\n\n"
                    f"Schedule: {settings.BASE_URL}/schedules/{item.schedule.pk}/"
                )
                outbox_enqueue(
                    channel="email",
                    recipient=member.email,
                    subject=subject,
                    body=body,
                    payload={
                        "kind": "handoff-summary",
                        "schedule": item.schedule.pk,
                        "start": item.shift.start.isoformat(),
                    },
                    dedup_key=keys[member.pk][:200],
                    person=member,
                    purpose=PURPOSE,
                    not_before=at,
                )
                done += 1
    return done


def cover_recipients(request: CoverRequest) -> list[User]:
    """The teammates who may cover: the schedule's team members and the people in its
    layers, active staff, not the person asking."""
    schedule = request.schedule
    who = Q(pk__in=LayerMember.objects.filter(layer__schedule=schedule).values("user_id"))
    if schedule.team_id is not None:
        who |= Q(teams=schedule.team_id)
    return list(
        _staff(User.objects.filter(who).exclude(pk=request.requester_id).distinct().order_by("pk"))
    )


def send_cover_requests(at: dt.datetime) -> int:
    requests = list(
        CoverRequest.objects.filter(
            state=CoverState.OPEN, end__gt=at, schedule__archived_at__isnull=True
        )
        .select_related("schedule", "requester")
        .order_by("pk")[:COVER_BATCH]
    )
    done = 0
    for req in requests:
        people = cover_recipients(req)
        keys = {u.pk: f"cover:{req.pk}:{u.pk}" for u in people}
        sent = _existing(list(keys.values()))
        people = [u for u in people if keys[u.pk] not in sent]
        if not people:
            continue
        first = _first_steps(people)
        with transaction.atomic():
            for user in people:
                when = span_text(req.start, req.end, _zone(user))
                note = f"\n\n“{req.note}”" if req.note else ""
                subject = f"Cover request: {req.schedule.name}, {when}"
                body = (
                    f"{req.requester.display_name} asks for cover on {req.schedule.name} "
                    f"for {when} (your time, {user.time_zone}).{note}\n\n"
                    f"Cover it: {settings.BASE_URL}/schedules/{req.schedule.pk}/#cover"
                )
                if _send_personal(
                    user=user,
                    key=keys[user.pk],
                    subject=subject,
                    body=body,
                    payload={"kind": "cover", "schedule": req.schedule.pk, "cover": req.pk},
                    at=at,
                    purpose=COVER_PURPOSE,
                    first_steps=first,
                ):
                    done += 1
    return done


def handoff_scan(at: dt.datetime) -> int:
    """One scan: due notices, hand-off summaries, unannounced cover requests; how many
    messages were queued."""
    lead = User.objects.filter(is_active=True).aggregate(m=Max("handoff_notice_minutes"))["m"]
    lead_span = min(dt.timedelta(minutes=lead or 0), LEAD_MAX)
    done = 0
    try:
        starting, handoffs = _shifts(at, lead_span)
    except Invalid:
        log.warning("hand-off scan: too much schedule work for one scan; notices skipped")
        starting, handoffs = [], []
    done += send_notices(at, starting)
    done += send_summaries(at, handoffs)
    done += send_cover_requests(at)
    return done


class HandoffModule:
    name = "handoff"

    def __init__(self) -> None:
        self.last_scan: dt.datetime | None = None

    def tick(self, now: dt.datetime) -> int:
        last = self.last_scan
        if last is not None and last <= now < last + SCAN_EVERY:
            return 0
        self.last_scan = now
        return handoff_scan(now)
