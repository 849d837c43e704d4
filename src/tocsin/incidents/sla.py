"""SLA clocks: targets per priority, 24x7 or business-hours calendars, pause and resume.

Each incident stores, for the response and the resolution target, the working seconds
already consumed and the due time. The clock runs while the incident is new,
acknowledged or in progress; it pauses on hold and stops at resolve (reopen resumes it).
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from tocsin.core.actors import Actor
from tocsin.core.audit import audit_record, snapshot
from tocsin.core.errors import Invalid
from tocsin.core.memo import has_memo, memo
from tocsin.incidents.models import BusinessCalendar, Incident, Priority, SlaTarget, Status

log = logging.getLogger("tocsin.sla")

DEFAULT_TARGETS: dict[int, tuple[int, int]] = {
    1: (15, 4 * 60),
    2: (30, 8 * 60),
    3: (2 * 60, 3 * 24 * 60),
    4: (8 * 60, 7 * 24 * 60),
}

RUNNING_STATUSES = (Status.NEW, Status.ACKNOWLEDGED, Status.IN_PROGRESS)


@dataclass(frozen=True)
class Target:
    response_seconds: float
    resolution_seconds: float
    calendar: BusinessCalendar | None


def target_for(priority: int) -> Target:
    """The targets of a priority; inside an engine batch every priority's are read at once,
    once (core.memo), elsewhere only this one's."""
    if has_memo():
        return memo("sla_targets", _targets_all)[priority]
    return _target_for(priority)


def _target(row: SlaTarget | None, priority: int) -> Target:
    if row is None:
        response, resolution = DEFAULT_TARGETS[priority]
        return Target(response * 60.0, resolution * 60.0, None)
    return Target(row.response_minutes * 60.0, row.resolution_minutes * 60.0, row.calendar)


def _target_for(priority: int) -> Target:
    row = SlaTarget.objects.select_related("calendar").filter(priority=priority).first()
    return _target(row, priority)


def _targets_all() -> dict[int, Target]:
    rows: dict[int, SlaTarget] = {}
    for row in SlaTarget.objects.select_related("calendar").order_by("pk"):
        rows.setdefault(row.priority, row)  # as .first() of each priority
    return {priority: _target(rows.get(priority), priority) for priority in DEFAULT_TARGETS}


class Targets(dict[int, Target]):
    """Targets by priority, each read once: pass one to sla_state() for a whole list."""

    def __missing__(self, priority: int) -> Target:
        self[priority] = target_for(priority)
        return self[priority]


SLA_AUDIT_FIELDS = ("response_minutes", "resolution_minutes", "calendar")
SLA_MINUTES_MAX = 366 * 24 * 60


@transaction.atomic
def sla_target_set(
    *,
    priority: int,
    response_minutes: int,
    resolution_minutes: int,
    calendar: BusinessCalendar | None = None,
    actor: Actor,
) -> SlaTarget:
    """Set the response and resolution targets of one priority (recorded in the audit log
    when they change). Incidents already open keep the due times they have."""
    if priority not in Priority.values:
        raise Invalid("priority", f"must be one of {', '.join(map(str, Priority.values))}")
    for field, value in (
        ("response_minutes", response_minutes),
        ("resolution_minutes", resolution_minutes),
    ):
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or not 1 <= value <= SLA_MINUTES_MAX
        ):
            raise Invalid(field, f"must be a whole number of minutes from 1 to {SLA_MINUTES_MAX}")
    target = SlaTarget.objects.select_for_update().filter(priority=priority).first()
    if target is None:
        response, resolution = DEFAULT_TARGETS[priority]
        before = {"response_minutes": response, "resolution_minutes": resolution, "calendar": None}
        target = SlaTarget(priority=priority)
    else:
        before = snapshot(target, SLA_AUDIT_FIELDS)
    target.response_minutes = response_minutes
    target.resolution_minutes = resolution_minutes
    target.calendar = calendar
    target.save()
    audit_record(
        actor=actor,
        action="sla_target.update",
        obj=target,
        before=before,
        after=snapshot(target, SLA_AUDIT_FIELDS),
    )
    return target


# --- calendars ---------------------------------------------------------------

CALENDAR_FIELDS = ("name", "time_zone", "weekdays", "day_start", "day_end", "holidays")


@transaction.atomic
def business_calendar_save(
    *, calendar: BusinessCalendar | None, values: dict[str, Any], actor: Actor
) -> BusinessCalendar:
    """Create a calendar (`calendar` None) or change the given fields of one (recorded in
    the audit log). Incidents already open keep the due times they have."""
    unknown = sorted(set(values) - set(CALENDAR_FIELDS))
    if unknown:
        raise Invalid(unknown[0], "is not a calendar field")
    if calendar is None:
        target, before = BusinessCalendar(), None
    else:
        target = BusinessCalendar.objects.select_for_update().get(pk=calendar.pk)
        before = snapshot(target, CALENDAR_FIELDS)
    for name, value in values.items():
        setattr(target, name, value)
    try:
        target.full_clean()
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise Invalid(field if field != "__all__" else "calendar", messages[0]) from None
    target.save()
    audit_record(
        actor=actor,
        action="business_calendar.create" if before is None else "business_calendar.update",
        obj=target,
        before=before,
        after=snapshot(target, CALENDAR_FIELDS),
    )
    return target


def _working_windows(
    calendar: BusinessCalendar, start: dt.datetime, days: int
) -> list[tuple[dt.datetime, dt.datetime]]:
    """Working windows (UTC) on the `days` local dates from `start`'s local date on."""
    zone = zoneinfo.ZoneInfo(calendar.time_zone)
    weekdays = {int(d) for d in calendar.weekdays.split(",") if d.strip().isdigit()}
    holidays = {str(h) for h in calendar.holidays or []}
    local_day = start.astimezone(zone).date()
    windows = []
    for offset in range(days):
        day = local_day + dt.timedelta(days=offset)
        if day.weekday() not in weekdays or day.isoformat() in holidays:
            continue
        begin = dt.datetime.combine(day, calendar.day_start, tzinfo=zone)
        end = dt.datetime.combine(day, calendar.day_end, tzinfo=zone)
        if end > begin:
            windows.append((begin.astimezone(dt.UTC), end.astimezone(dt.UTC)))
    return windows


def working_seconds(
    calendar: BusinessCalendar | None, start: dt.datetime, end: dt.datetime
) -> float:
    if end <= start:
        return 0.0
    if calendar is None:
        return (end - start).total_seconds()
    days = (end - start).days + 2
    total = 0.0
    for begin, finish in _working_windows(calendar, start, days):
        lo, hi = max(begin, start), min(finish, end)
        if hi > lo:
            total += (hi - lo).total_seconds()
    return total


def add_working(
    calendar: BusinessCalendar | None, start: dt.datetime, seconds: float
) -> dt.datetime:
    """The moment when `seconds` of working time after `start` have passed."""
    if calendar is None or seconds <= 0:
        return start + dt.timedelta(seconds=seconds)
    zone = zoneinfo.ZoneInfo(calendar.time_zone)
    remaining = seconds
    horizon = 14
    # Walk local dates in chunks; each chunk starts where the last one ended (local
    # midnight in the calendar's zone), so no day is counted twice or skipped.
    cursor = start
    for _ in range(60):  # at most ~840 days ahead: enough for any sane target
        for begin, finish in _working_windows(calendar, cursor, horizon):
            lo = max(begin, cursor)
            if finish <= lo:
                continue
            span = (finish - lo).total_seconds()
            if span >= remaining:
                return lo + dt.timedelta(seconds=remaining)
            remaining -= span
        next_day = cursor.astimezone(zone).date() + dt.timedelta(days=horizon)
        cursor = dt.datetime.combine(next_day, dt.time(0), tzinfo=zone)
    # The calendar has (almost) no working time: never fail the incident for it. The
    # admin form refuses such targets (SlaTarget.clean); this is the last resort.
    log.warning("calendar %r cannot fit %.0f s of working time", calendar.name, seconds)
    return cursor + dt.timedelta(seconds=remaining)


# --- the clock on one incident ---------------------------------------------------


def _recompute_due(incident: Incident, at: dt.datetime) -> None:
    target = target_for(incident.priority)
    if incident.response_met_at is None:
        incident.response_due_at = add_working(
            target.calendar, at, target.response_seconds - incident.response_consumed
        )
    if incident.resolution_met_at is None:
        incident.resolution_due_at = add_working(
            target.calendar, at, target.resolution_seconds - incident.resolution_consumed
        )


def _accumulate(incident: Incident, at: dt.datetime, *, priority: int | None = None) -> None:
    """Add the working time since the clock last started to the unmet targets.

    `priority` is the one whose calendar measured that time (default: the current one;
    a priority change passes the old one).
    """
    if incident.sla_running_since is None:
        return
    calendar = target_for(priority if priority is not None else incident.priority).calendar
    spent = working_seconds(calendar, incident.sla_running_since, at)
    if incident.response_met_at is None:
        incident.response_consumed += spent
    if incident.resolution_met_at is None:
        incident.resolution_consumed += spent
    incident.sla_running_since = at


SLA_FIELDS = [
    "sla_running_since",
    "sla_paused_at",
    "response_consumed",
    "resolution_consumed",
    "response_due_at",
    "response_met_at",
    "response_breached_at",
    "resolution_due_at",
    "resolution_met_at",
    "resolution_breached_at",
]

# Float seconds: a met target counts as late only beyond this tolerance.
_EPSILON = 1e-3


def sla_start(incident: Incident, at: dt.datetime) -> None:
    incident.sla_running_since = at
    incident.sla_paused_at = None
    incident.response_consumed = 0
    incident.resolution_consumed = 0
    _recompute_due(incident, at)


def sla_pause(incident: Incident, at: dt.datetime) -> None:
    """Hold: freeze the consumed time; nothing comes due while paused (resume sets new
    due times from what is left), so a held incident does not look overdue."""
    _accumulate(incident, at)
    incident.sla_running_since = None
    incident.sla_paused_at = at
    for name in ("response", "resolution"):
        due = getattr(incident, f"{name}_due_at")
        # A deadline already passed stays: the breach is a fact of the record.
        if getattr(incident, f"{name}_met_at") is None and (due is None or due > at):
            setattr(incident, f"{name}_due_at", None)


def sla_resume(incident: Incident, at: dt.datetime) -> None:
    """The clock runs again; due times move so that the paused time does not count."""
    incident.sla_running_since = at
    incident.sla_paused_at = None
    _recompute_due(incident, at)


def _met(incident: Incident, name: str, at: dt.datetime) -> None:
    """Mark target `name` met at `at`, recording a breach if it was met late.

    While the clock runs, late means after the stored due time; while it is paused
    (resolve from on hold) the stored due time is stale, so late means more working
    time consumed than the target allows.
    """
    running = incident.sla_running_since is not None
    due = getattr(incident, f"{name}_due_at")
    _accumulate(incident, at)
    if running:
        late = due is not None and at > due
    else:
        total = getattr(target_for(incident.priority), f"{name}_seconds")
        late = getattr(incident, f"{name}_consumed") > total + _EPSILON
    setattr(incident, f"{name}_met_at", at)
    if late and getattr(incident, f"{name}_breached_at") is None:
        setattr(incident, f"{name}_breached_at", due if due is not None and due <= at else at)


def sla_meet_response(incident: Incident, at: dt.datetime) -> None:
    if incident.response_met_at is not None:
        return
    _met(incident, "response", at)


def sla_stop(incident: Incident, at: dt.datetime) -> None:
    """Resolve: the resolution target is met (or late) and the clock stops."""
    sla_meet_response(incident, at)
    if incident.resolution_met_at is None:
        _met(incident, "resolution", at)
    incident.sla_running_since = None
    incident.sla_paused_at = None


def sla_reopen(incident: Incident, at: dt.datetime) -> None:
    """Reopen: the resolution clock runs again from what it had consumed at resolve."""
    incident.resolution_met_at = None
    sla_resume(incident, at)


def sla_reprioritise(
    incident: Incident, at: dt.datetime, *, old_priority: int | None = None
) -> None:
    """The targets changed: recompute due times from what was consumed so far.

    Pass `old_priority` when the priority has already been changed on `incident`: the
    time since the clock last started is measured on the old priority's calendar.
    While the clock is paused nothing moves; resume computes the due times.
    """
    if incident.sla_running_since is not None:
        _accumulate(incident, at, priority=old_priority)
        _recompute_due(incident, at)


def sla_state(
    incident: Incident, at: dt.datetime, targets: Targets | None = None
) -> dict[str, dict[str, Any]]:
    """What the API and the UI show for both targets.

    `remaining_seconds` is working time left (24x7: wall-clock time to the due time);
    negative once breached; frozen while paused; None once met.
    """
    target = (targets if targets is not None else Targets())[incident.priority]
    paused = incident.status == Status.ON_HOLD
    result: dict[str, dict[str, Any]] = {}
    for name, total in (
        ("response", target.response_seconds),
        ("resolution", target.resolution_seconds),
    ):
        due = getattr(incident, f"{name}_due_at")
        met = getattr(incident, f"{name}_met_at")
        consumed = getattr(incident, f"{name}_consumed")
        breached_at = getattr(incident, f"{name}_breached_at")
        if met is not None:
            remaining = None
            breached = breached_at is not None
        elif incident.sla_running_since is None:
            remaining = total - consumed
            breached = remaining < 0
        elif due is None:
            remaining = None
            breached = False
        else:
            breached = at > due
            if target.calendar is None or breached:
                remaining = (due - at).total_seconds()
            else:
                remaining = (
                    total
                    - consumed
                    - working_seconds(target.calendar, incident.sla_running_since, at)
                )
        result[name] = {
            "due_at": due,
            "met_at": met,
            "breached": bool(breached or breached_at),
            "remaining_seconds": None if remaining is None else int(remaining),
            "paused": paused and met is None,
        }
    return result


@transaction.atomic
def sla_targets_set_many(
    *,
    changes: Iterable[tuple[int, int, int, BusinessCalendar | None]],
    actor: Actor,
) -> None:
    """Set several priorities' targets (priority, response, resolution, calendar) at
    once: all of them or none."""
    for priority, response, resolution, calendar in changes:
        sla_target_set(
            priority=priority,
            response_minutes=response,
            resolution_minutes=resolution,
            calendar=calendar,
            actor=actor,
        )
