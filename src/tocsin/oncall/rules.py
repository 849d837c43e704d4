"""The time rules of on-call schedules: pure functions over plain data, no database.

The one rule set (docs/oncall.md explains it with examples). Intervals are half-open,
``[start, end)``, and every instant is an aware UTC ``datetime``.

R1  A rotation of ``days`` or ``weeks`` hands off at the same local wall-clock time on
    both sides of a daylight-saving change: hand-off *k* is the layer's local start plus
    *k* × N days (weeks: 7N days), resolved to an instant by R3.
R2  A rotation of ``hours`` hands off every N elapsed hours after its start instant.
R3  Resolving a local date-time: one that does not exist (spring forward) is the first
    instant after the gap; one that occurs twice (fall back) is its first occurrence.
R4  A restriction window begins at the first occurrence of its local start and ends at
    the last occurrence of its local end (an end that does not exist: the first instant
    after the gap), so a change never opens a gap between adjacent windows.
R5  Layers are in priority order, the first the highest. A layer covers an instant when
    its rotation has begun and not ended and, if it has restrictions, a window holds the
    instant; the highest covering layer's person is on call.
R6  Overrides: one over the whole schedule puts its person on call for its span; one in
    place of a named person puts its person on call where R5 gives that person. Where
    overrides overlap, the one made last wins. An instant nobody covers is a gap.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

UTC = dt.UTC
DAY = dt.timedelta(days=1)
UNITS = ("hours", "days", "weeks")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# --- resolving local times (R3, R4) -------------------------------------------------------


def _exists(naive: dt.datetime, tz: ZoneInfo) -> bool:
    aware = naive.replace(tzinfo=tz, fold=0)
    return aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive


def _gap_end(naive: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """The first instant after the gap that swallows the non-existent ``naive``."""
    # With fold=1 the offset after the change applies (the earlier instant), with fold=0
    # the offset before it (the later one): the change lies between the two.
    lo = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    hi = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if lo > hi:
        lo, hi = hi, lo
    after = hi.astimezone(tz).utcoffset()
    # Binary search, to the second, for the first instant with the offset after the change.
    lo_s, hi_s = math.floor(lo.timestamp()), math.ceil(hi.timestamp())
    while lo_s < hi_s:
        mid = (lo_s + hi_s) // 2
        if dt.datetime.fromtimestamp(mid, UTC).astimezone(tz).utcoffset() == after:
            hi_s = mid
        else:
            lo_s = mid + 1
    return dt.datetime.fromtimestamp(lo_s, UTC)


# Resolving is pure, and the same local times come back on every call for a schedule (its
# hand-offs, its windows' days): remembered per process. An entry is about 300 bytes.
@functools.lru_cache(maxsize=1 << 16)
def _resolve(naive: dt.datetime, tz: ZoneInfo, fold: int) -> dt.datetime:
    if not _exists(naive, tz):
        return _gap_end(naive, tz)
    return naive.replace(tzinfo=tz, fold=fold).astimezone(UTC)


def resolve_first(naive: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """R3: a local date-time as an instant; skipped → first instant after the gap,
    repeated → first occurrence."""
    return _resolve(naive.replace(fold=0), tz, 0)


def resolve_last(naive: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """R4's end: a repeated local time is its last occurrence; skipped as R3."""
    return _resolve(naive.replace(fold=0), tz, 1)


def local(instant: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """The naive local wall-clock time of an instant."""
    return instant.astimezone(tz).replace(tzinfo=None)


# --- the data ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Window:
    """A restriction window: begins on each local weekday in ``days`` (0 = Monday) at
    ``start`` and ends ``span_days`` local days later at ``end``."""

    days: frozenset[int]
    start: dt.time
    end: dt.time
    span_days: int  # 0: ends the same local day (end > start)

    @classmethod
    def daily(cls, start: dt.time, end: dt.time, days: Iterable[int] = range(7)) -> Window:
        """Every listed day from ``start`` to ``end``; ``end <= start`` crosses midnight."""
        return cls(frozenset(days), start, end, 0 if end > start else 1)

    @classmethod
    def span(cls, start_day: int, start: dt.time, end_day: int, end: dt.time) -> Window:
        """Once a week from ``start_day start`` to ``end_day end`` (up to seven days)."""
        span = (end_day - start_day) % 7
        if span == 0 and end <= start:
            span = 7
        return cls(frozenset({start_day}), start, end, span)

    def occurrence(self, day: dt.date, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
        """The instants of the window that begins on local date ``day``."""
        begin = resolve_first(dt.datetime.combine(day, self.start), tz)
        finish = resolve_last(dt.datetime.combine(day + self.span_days * DAY, self.end), tz)
        return begin, finish


@dataclass(frozen=True, slots=True)
class Layer:
    id: int
    start: dt.datetime  # naive local date-time: the first hand-off
    every: int
    unit: str  # hours | days | weeks
    users: tuple[int, ...]
    end: dt.datetime | None = None  # naive local date-time
    windows: tuple[Window, ...] = ()


@dataclass(frozen=True, slots=True)
class Override:
    id: int
    user: int
    start: dt.datetime
    end: dt.datetime
    replaces: int | None = None  # None: over the whole schedule


@dataclass(frozen=True, slots=True)
class Schedule:
    time_zone: str
    layers: tuple[Layer, ...]  # the first is the highest
    overrides: tuple[Override, ...] = ()
    tz: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tz", ZoneInfo(self.time_zone))


@dataclass(frozen=True, slots=True)
class Shift:
    """A span with one person on call, and where it comes from: ``layer`` (an id) or
    ``override`` (an id); in a layer's own shifts ``override`` is always None."""

    user: int
    start: dt.datetime
    end: dt.datetime
    layer: int | None = None
    override: int | None = None


# --- one layer -----------------------------------------------------------------------------


def _period_days(layer: Layer) -> int:
    return layer.every * (7 if layer.unit == "weeks" else 1)


def handoff(layer: Layer, k: int, tz: ZoneInfo) -> dt.datetime:
    """The instant of hand-off ``k`` (k = 0 is the layer's start): R1, R2, R3."""
    if layer.unit == "hours":
        return resolve_first(layer.start, tz) + dt.timedelta(hours=layer.every * k)
    return resolve_first(layer.start + dt.timedelta(days=_period_days(layer) * k), tz)


def _index_at(layer: Layer, at: dt.datetime, tz: ZoneInfo) -> int:
    """The hand-off in force at ``at`` (may be negative: before the start)."""
    if layer.unit == "hours":
        seconds = (at - resolve_first(layer.start, tz)).total_seconds()
        return math.floor(seconds / (layer.every * 3600))
    days = _period_days(layer)
    k = math.floor((local(at, tz) - layer.start) / dt.timedelta(days=days))
    while handoff(layer, k, tz) > at:
        k -= 1
    while handoff(layer, k + 1, tz) <= at:
        k += 1
    return k


def _windows(
    layer: Layer, tz: ZoneInfo, since: dt.datetime, until: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The union of the layer's restriction windows that touch [since, until), sorted."""
    longest = max(w.span_days for w in layer.windows) + 1
    first = local(since, tz).date() - dt.timedelta(days=longest + 1)
    last = local(until, tz).date() + DAY
    spans: list[tuple[dt.datetime, dt.datetime]] = []
    day = first
    while day <= last:
        weekday = day.weekday()
        for window in layer.windows:
            if weekday in window.days:
                begin, finish = window.occurrence(day, tz)
                if finish > since and begin < until and finish > begin:
                    spans.append((max(begin, since), min(finish, until)))
        day += DAY
    spans.sort()
    merged: list[tuple[dt.datetime, dt.datetime]] = []
    for begin, finish in spans:
        if merged and begin <= merged[-1][1]:
            if finish > merged[-1][1]:
                merged[-1] = (merged[-1][0], finish)
        else:
            merged.append((begin, finish))
    return merged


def layer_shifts(layer: Layer, tz: ZoneInfo, since: dt.datetime, until: dt.datetime) -> list[Shift]:
    """The layer's own shifts within [since, until), after its restrictions."""
    if not layer.users or until <= since:
        return []
    lo = max(since, resolve_first(layer.start, tz))
    hi = until if layer.end is None else min(until, resolve_first(layer.end, tz))
    if hi <= lo:
        return []
    rotation: list[Shift] = []
    k = _index_at(layer, lo, tz)
    begin = handoff(layer, k, tz)
    while begin < hi:
        finish = handoff(layer, k + 1, tz)
        if finish > begin:
            user = layer.users[k % len(layer.users)]
            rotation.append(Shift(user, max(begin, lo), min(finish, hi), layer=layer.id))
        begin = finish
        k += 1
    if not layer.windows:
        return rotation
    out: list[Shift] = []
    windows = _windows(layer, tz, lo, hi)
    i = 0
    for shift in rotation:
        while i < len(windows) and windows[i][1] <= shift.start:
            i += 1
        j = i
        while j < len(windows) and windows[j][0] < shift.end:
            begin, finish = max(shift.start, windows[j][0]), min(shift.end, windows[j][1])
            if finish > begin:
                out.append(Shift(shift.user, begin, finish, layer=layer.id))
            j += 1
    return out


# --- the final schedule ------------------------------------------------------------------


def final_shifts(schedule: Schedule, since: dt.datetime, until: dt.datetime) -> list[Shift]:
    """The final schedule within [since, until) as contiguous shifts (R5, R6): one person
    at a time; consecutive spans of one person from one source are one shift."""
    if until <= since:
        return []
    tz = schedule.tz
    # A lower layer only matters where the layers above leave the instant uncovered (R5;
    # an override in place of someone looks at the highest covering layer alone), so each
    # is worked out only between the first and the last instant still uncovered.
    per_layer: list[list[Shift]] = []
    uncovered = _minus([(since, until)], _whole_cover(schedule.overrides, since, until))
    for layer in schedule.layers:
        if not uncovered:
            per_layer.append([])
            continue
        shifts = layer_shifts(layer, tz, uncovered[0][0], uncovered[-1][1])
        per_layer.append(shifts)
        uncovered = _minus(uncovered, shifts)
    overrides = sorted(
        (o for o in schedule.overrides if o.end > since and o.start < until and o.end > o.start),
        key=lambda o: o.start,
    )
    points = {since, until}
    for shifts in per_layer:
        for shift in shifts:
            points.add(shift.start)
            points.add(shift.end)
    for o in overrides:
        if o.start > since:
            points.add(o.start)
        if o.end < until:
            points.add(o.end)
    cuts = sorted(points)
    cursors = [0] * len(per_layer)
    active: list[Override] = []  # the overrides in force, the one made last first
    next_override = 0
    out: list[Shift] = []
    # the shift being built: (user, layer, override, start, end)
    run: tuple[int, int | None, int | None, dt.datetime, dt.datetime] | None = None
    for a, b in itertools.pairwise(cuts):
        base: Shift | None = None
        for n, shifts in enumerate(per_layer):
            c = cursors[n]
            while c < len(shifts) and shifts[c].end <= a:
                c += 1
            cursors[n] = c
            if base is None and c < len(shifts) and shifts[c].start <= a:
                base = shifts[c]
        if next_override < len(overrides) and overrides[next_override].start <= a:
            while next_override < len(overrides) and overrides[next_override].start <= a:
                active.append(overrides[next_override])
                next_override += 1
            active.sort(key=lambda o: o.id, reverse=True)
        if active:
            active = [o for o in active if o.end > a]
        user: int | None = None
        layer_id: int | None = None
        override_id: int | None = None
        for o in active:
            if o.replaces is None or (base is not None and base.user == o.replaces):
                user, override_id = o.user, o.id
                break
        if user is None and base is not None:
            user, layer_id = base.user, base.layer
        if user is None:
            continue
        if run is not None and run[4] == a and run[:3] == (user, layer_id, override_id):
            run = (user, layer_id, override_id, run[3], b)
            continue
        if run is not None:
            out.append(Shift(run[0], run[3], run[4], layer=run[1], override=run[2]))
        run = (user, layer_id, override_id, a, b)
    if run is not None:
        out.append(Shift(run[0], run[3], run[4], layer=run[1], override=run[2]))
    return out


def _whole_cover(
    overrides: Sequence[Override], since: dt.datetime, until: dt.datetime
) -> list[Shift]:
    """The spans that overrides over the whole schedule decide alone (R6), sorted and
    merged: no layer needs working out there. An override over the whole schedule that a
    later override in place of someone overlaps is left out, since that one looks at the
    layers beneath."""
    inside = [o for o in overrides if o.end > since and o.start < until and o.end > o.start]
    replacing = [o for o in inside if o.replaces is not None]
    spans = sorted(
        (max(o.start, since), min(o.end, until))
        for o in inside
        if o.replaces is None
        and not any(r.id > o.id and r.start < o.end and r.end > o.start for r in replacing)
    )
    merged: list[Shift] = []
    for begin, finish in spans:
        if merged and begin <= merged[-1].end:
            if finish > merged[-1].end:
                merged[-1] = Shift(0, merged[-1].start, finish)
        else:
            merged.append(Shift(0, begin, finish))
    return merged


def _minus(
    spans: list[tuple[dt.datetime, dt.datetime]], shifts: Sequence[Shift]
) -> list[tuple[dt.datetime, dt.datetime]]:
    """Sorted disjoint ``spans`` less the sorted disjoint ``shifts``."""
    out: list[tuple[dt.datetime, dt.datetime]] = []
    i = 0
    for begin, finish in spans:
        while i < len(shifts) and shifts[i].end <= begin:
            i += 1
        cursor = begin
        j = i
        while j < len(shifts) and shifts[j].start < finish:
            if shifts[j].start > cursor:
                out.append((cursor, shifts[j].start))
            cursor = max(cursor, shifts[j].end)
            j += 1
        if cursor < finish:
            out.append((cursor, finish))
    return out


def gaps(
    shifts: Sequence[Shift], since: dt.datetime, until: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The spans of [since, until) that no shift covers."""
    out: list[tuple[dt.datetime, dt.datetime]] = []
    cursor = since
    for shift in shifts:
        if shift.start > cursor:
            out.append((cursor, shift.start))
        cursor = max(cursor, shift.end)
    if cursor < until:
        out.append((cursor, until))
    return out


@dataclass(frozen=True, slots=True)
class OnCall:
    """Who is on call at an instant: ``shift`` (None in a gap), and ``until`` — when that
    person goes off call (None: not within the horizon looked at)."""

    at: dt.datetime
    shift: Shift | None
    until: dt.datetime | None


def oncall_at(
    schedule: Schedule, at: dt.datetime, *, horizon: dt.timedelta = dt.timedelta(days=400)
) -> OnCall:
    """The person on call at ``at``, from the same computation as `final_shifts` (so the
    two always agree), looking ahead only as far as needed to say ``until``: in growing
    steps, each one continuing where the last ended (`final_shifts` over [a, c) is the
    one over [a, b) followed by the one over [b, c), joined at b)."""
    limit = at + horizon
    step = dt.timedelta(hours=6)
    begin = at
    shift: Shift | None = None
    end = at
    while True:
        finish = min(begin + step, limit)
        shifts = final_shifts(schedule, begin, finish)
        if shift is None:
            if not shifts or shifts[0].start > at:
                return OnCall(at, None, None)
            shift = shifts[0]
            end = shift.end
            shifts = shifts[1:]
        elif shifts and shifts[0].start == end == shift.end and _same_source(shifts[0], shift):
            # the shift itself goes on into this step
            shift = Shift(shift.user, shift.start, shifts[0].end, shift.layer, shift.override)
        for following in shifts:
            if following.start == end and following.user == shift.user:
                end = following.end
            else:
                break
        if end < finish:
            return OnCall(at, shift, end)
        if finish >= limit:
            return OnCall(at, shift, None)
        begin = finish
        step *= 4


def _same_source(a: Shift, b: Shift) -> bool:
    return (a.user, a.layer, a.override) == (b.user, b.layer, b.override)
