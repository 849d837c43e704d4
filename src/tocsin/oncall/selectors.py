"""Reads and access gates for schedules: who is on call, shifts, gaps."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from tocsin.accounts.models import User
from tocsin.accounts.permissions import Action, can
from tocsin.core.clock import now
from tocsin.core.errors import Invalid, NotFound
from tocsin.oncall import rules, specs
from tocsin.oncall.models import (
    CalendarFeed,
    CoverRequest,
    CoverState,
    Layer,
    LayerMember,
    Override,
    Schedule,
)

MAX_SPAN = dt.timedelta(days=400)
# Instants far outside these overflow the date range in the rules or the database adapter.
EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(3000, 1, 1, tzinfo=dt.UTC)
# The most work one request may ask of the time rules: hand-offs plus restriction windows
# to work out, summed over the schedules read (`work`). At most 2-3 s of CPU; a year of a
# dozen ordinary schedules is a tenth of it.
MAX_WORK = 150_000
# oncall_at looks this far ahead for overrides first (then, if the shift runs on, further)
_NEAR = dt.timedelta(days=35)


def schedule_list(*, user: Any, include_archived: bool = False) -> QuerySet[Schedule]:
    if not can(user, Action.SCHEDULE_VIEW):
        return Schedule.objects.none()
    qs = Schedule.objects.select_related("team").order_by("name", "id")
    return qs if include_archived else qs.filter(archived_at__isnull=True)


def schedule_get(schedule_id: int, *, user: Any) -> Schedule:
    """A schedule this person may see (archived ones too); 404 otherwise."""
    schedule = None
    if can(user, Action.SCHEDULE_VIEW):
        schedule = Schedule.objects.select_related("team").filter(pk=schedule_id).first()
    if schedule is None:
        raise NotFound(f"no schedule with id {schedule_id}")
    return schedule


def layers_of(schedule: Schedule) -> list[tuple[Layer, list[User]]]:
    """The layers, highest first, each with its people in order (repeats kept)."""
    layers = list(schedule.layers.order_by("position"))
    places = (
        LayerMember.objects.filter(layer__in=layers)
        .select_related("user")
        .order_by("layer_id", "position")
    )
    people: dict[int, list[User]] = {}
    for place in places:
        people.setdefault(place.layer_id, []).append(place.user)
    return [(layer, people.get(layer.pk, [])) for layer in layers]


def check_span(since: dt.datetime, until: dt.datetime) -> None:
    if since.tzinfo is None or until.tzinfo is None:
        raise Invalid("since", "give instants with an offset, e.g. 2026-03-01T00:00:00Z")
    for name, value in (("since", since), ("until", until)):
        if not EARLIEST <= value <= LATEST:
            raise Invalid(name, "must lie between the years 1900 and 3000")
    if until <= since:
        raise Invalid("until", "must be after since")
    if until - since > MAX_SPAN:
        raise Invalid("until", f"a span of at most {MAX_SPAN.days} days")


def work(spec: rules.Schedule, since: dt.datetime, until: dt.datetime) -> float:
    """How many hand-offs and window occurrences [since, until) asks for (an upper bound:
    every layer counted, as if none above covered it)."""
    days = max((until - since).total_seconds(), 0) / 86400
    per_day = 0.0
    for layer in spec.layers:
        hours = layer.every * {"hours": 1, "days": 24, "weeks": 168}.get(layer.unit, 24)
        per_day += 24 / hours + sum(len(w.days) for w in layer.windows) / 7
    return days * per_day


def check_work(
    plans: Iterable[rules.Schedule], since: dt.datetime, until: dt.datetime, field: str = "until"
) -> None:
    """Refuse (422 naming ``field``) a span whose schedules would take too long to work
    out: a bound on the CPU one request can use."""
    plans = list(plans)
    asked = sum(work(plan, since, until) for plan in plans)
    if asked > MAX_WORK:
        per_day = asked / max((until - since).total_seconds() / 86400, 1 / 24)
        raise Invalid(
            field,
            "too much to work out at once for these schedules: ask for a shorter span "
            f"(at most {max(int(MAX_WORK / per_day), 0)} days here)",
        )


def _overrides(
    schedule_ids: Sequence[int], since: dt.datetime, until: dt.datetime | None
) -> dict[int, list[rules.Override]]:
    qs = Override.objects.filter(schedule_id__in=schedule_ids, end__gt=since)
    if until is not None:
        qs = qs.filter(start__lt=until)
    out: dict[int, list[rules.Override]] = {}
    # plain rows, not model instances: `oncall` reads about fifty on every call
    rows = qs.order_by("start", "id").values_list(
        "schedule_id", "id", "user_id", "start", "end", "replaces_id"
    )
    for schedule_id, pk, user_id, start, end, replaces_id in rows:
        out.setdefault(schedule_id, []).append(rules.Override(pk, user_id, start, end, replaces_id))
    return out


def rules_many(
    schedules: Sequence[Schedule], since: dt.datetime, until: dt.datetime | None
) -> dict[int, rules.Schedule]:
    ids = [s.pk for s in schedules]
    # the layers and their places in one statement (a round trip fewer on every `oncall`)
    rows = (
        Layer.objects.filter(schedule_id__in=ids)
        .order_by("schedule_id", "position", "members__position")
        .values_list(
            "schedule_id",
            "id",
            "start_date",
            "start_time",
            "end_date",
            "end_time",
            "every",
            "unit",
            "restrictions",
            "members__user_id",
        )
    )
    fields: dict[int, tuple[Any, ...]] = {}
    places: dict[int, list[int]] = {}
    order: dict[int, list[int]] = {}
    for row in rows:
        layer_id = row[1]
        if layer_id not in fields:
            fields[layer_id] = row
            places[layer_id] = []
            order.setdefault(row[0], []).append(layer_id)
        if row[9] is not None:
            places[layer_id].append(row[9])
    built: dict[int, rules.Layer] = {}
    for layer_id, row in fields.items():
        _, _, start_date, start_time, end_date, end_time, every, unit, restrictions, _ = row
        built[layer_id] = rules.Layer(
            id=layer_id,
            start=dt.datetime.combine(start_date, start_time),
            end=(
                dt.datetime.combine(end_date, end_time or dt.time(0))
                if end_date is not None
                else None
            ),
            every=every,
            unit=unit,
            users=tuple(places[layer_id]),
            windows=tuple(specs.window_of(r) for r in restrictions),
        )
    overrides = _overrides(ids, since, until)
    return {
        s.pk: rules.Schedule(
            s.time_zone,
            tuple(built[layer_id] for layer_id in order.get(s.pk, [])),
            tuple(overrides.get(s.pk, [])),
        )
        for s in schedules
    }


def rules_for(schedule: Schedule, since: dt.datetime, until: dt.datetime | None) -> rules.Schedule:
    """The schedule as `rules` data, with the overrides that touch [since, until)."""
    return rules_many([schedule], since, until)[schedule.pk]


def shifts(
    schedule: Schedule,
    since: dt.datetime,
    until: dt.datetime,
    *,
    layer_id: int | None = None,
) -> list[rules.Shift]:
    """The final schedule (or one layer's own shifts) within [since, until)."""
    check_span(since, until)
    spec = rules_for(schedule, since, until)
    check_work([spec], since, until)
    if layer_id is None:
        return rules.final_shifts(spec, since, until)
    for layer in spec.layers:
        if layer.id == layer_id:
            return rules.layer_shifts(layer, spec.tz, since, until)
    raise NotFound(f"schedule {schedule.pk} has no layer with id {layer_id}")


def gaps(schedule: Schedule, since: dt.datetime, until: dt.datetime) -> list[tuple[Any, Any]]:
    return rules.gaps(shifts(schedule, since, until), since, until)


def oncall(schedule: Schedule, at: dt.datetime | None = None) -> rules.OnCall:
    at = at or now()
    return _oncall(rules_for(schedule, at, at + _NEAR), schedule, at)


def _oncall(spec: rules.Schedule, schedule: Schedule, at: dt.datetime) -> rules.OnCall:
    answer = rules.oncall_at(spec, at, horizon=_NEAR)
    if answer.shift is not None and answer.until is None:
        # the shift runs past the overrides loaded: look further with all of them
        answer = rules.oncall_at(rules_for(schedule, at, None), at)
    return answer


@dataclass(frozen=True)
class ScheduleOnCall:
    schedule: Schedule
    oncall: rules.OnCall
    user: User | None


def organisation_oncall(*, user: Any, at: dt.datetime | None = None) -> list[ScheduleOnCall]:
    """Every live schedule and who is on it at ``at`` (the organisation's answer)."""
    at = at or now()
    schedules = list(schedule_list(user=user))
    specs_by_id = rules_many(schedules, at, at + _NEAR)
    answers = {s.pk: rules.oncall_at(specs_by_id[s.pk], at, horizon=_NEAR) for s in schedules}
    # as `_oncall`, for those whose shift runs past the overrides loaded, read together
    longer = [s for s in schedules if answers[s.pk].shift and answers[s.pk].until is None]
    if longer:
        whole = rules_many(longer, at, None)
        answers.update({s.pk: rules.oncall_at(whole[s.pk], at) for s in longer})
    people = users_by_id(a.shift.user for a in answers.values() if a.shift is not None)
    return [
        ScheduleOnCall(
            s,
            answers[s.pk],
            people.get(answers[s.pk].shift.user) if answers[s.pk].shift else None,  # type: ignore[union-attr]
        )
        for s in schedules
    ]


def users_by_id(ids: Iterable[int]) -> dict[int, User]:
    wanted = set(ids)
    if not wanted:
        return {}
    return {u.pk: u for u in User.objects.filter(pk__in=wanted)}


def schedules_of_user(target: User) -> QuerySet[Schedule]:
    """Live schedules where the person holds a place or an override (or is replaced)."""
    return (
        Schedule.objects.filter(archived_at__isnull=True)
        .filter(
            Q(layers__members__user=target)
            | Q(overrides__user=target)
            | Q(overrides__replaces=target)
        )
        .distinct()
        .order_by("name", "id")
    )


def user_shifts(
    target: User, since: dt.datetime, until: dt.datetime
) -> list[tuple[Schedule, rules.Shift]]:
    """The person's shifts in the final schedules of every schedule, by start."""
    check_span(since, until)
    schedules = list(schedules_of_user(target))
    specs_by_id = rules_many(schedules, since, until)
    check_work(specs_by_id.values(), since, until)
    out = [
        (s, shift)
        for s in schedules
        for shift in rules.final_shifts(specs_by_id[s.pk], since, until)
        if shift.user == target.pk
    ]
    out.sort(key=lambda pair: (pair[1].start, pair[0].name))
    return out


def override_list(
    schedule: Schedule, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> QuerySet[Override]:
    qs = schedule.overrides.select_related("user", "replaces", "created_by")
    if since is not None:
        qs = qs.filter(end__gt=since)
    if until is not None:
        qs = qs.filter(start__lt=until)
    return qs.order_by("start", "id")


def override_get(schedule: Schedule, override_id: int) -> Override:
    o = schedule.overrides.select_related("user", "replaces").filter(pk=override_id).first()
    if o is None:
        raise NotFound(f"schedule {schedule.pk} has no override with id {override_id}")
    return o


def cover_requests(
    *, schedule: Schedule | None = None, states: Sequence[str] = (CoverState.OPEN,)
) -> QuerySet[CoverRequest]:
    qs = CoverRequest.objects.select_related("schedule", "requester", "accepted_by")
    if schedule is not None:
        qs = qs.filter(schedule=schedule)
    if states:
        qs = qs.filter(state__in=list(states))
    return qs.order_by("start", "id")


def cover_request_get(schedule: Schedule, request_id: int) -> CoverRequest:
    req = cover_requests(schedule=schedule, states=()).filter(pk=request_id).first()
    if req is None:
        raise NotFound(f"schedule {schedule.pk} has no cover request with id {request_id}")
    return req


def feed_by_token(token_hash: str) -> CalendarFeed | None:
    """A live feed by its token's hash (None for an unknown or revoked token)."""
    return (
        CalendarFeed.objects.select_related("owner", "schedule")
        .filter(token_hash=token_hash, revoked_at__isnull=True, owner__is_active=True)
        .first()
    )
