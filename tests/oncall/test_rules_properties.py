"""Properties of the time rules over random schedules (Hypothesis, derandomized).

Random zones (with 30- and 45-minute offsets, both hemispheres, no DST), random local
starts (often inside a skipped or repeated hour), lengths, 1–4 layers of 1–4 people with
repeats, daily / weekly / span restrictions (often touching a change), overrides over the
whole schedule or in place of one person. Each property is checked against a pointwise
oracle written here from the rule set: the person on call at an instant is worked out
from the hand-off instants (`handoff`, tested by tables in test_rules_dst.py) and the
windows' occurrences, without the interval sweeps of `layer_shifts` / `final_shifts`.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tocsin.oncall import rules
from tocsin.oncall.rules import Layer, Override, Schedule, Shift, Window

UTC = dt.UTC
SECOND = dt.timedelta(seconds=1)
ZONES = (
    "Europe/Berlin",
    "America/Chicago",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Asia/Kathmandu",
    "UTC",
    "America/Sao_Paulo",
    "Pacific/Chatham",
    "Europe/London",
)
PEOPLE = (1, 2, 3, 4, 5)
YEAR_START = dt.datetime(2026, 1, 1, tzinfo=UTC)


def bounded(examples: int) -> settings:
    """Few enough examples to stay well under a minute; no example database, fixed seed."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def _changes(zone: str) -> list[dt.datetime]:
    """The instants (UTC) at which the zone's offset changes in 2026 (to the minute)."""
    tz = ZoneInfo(zone)
    out = []
    t = YEAR_START
    before = t.astimezone(tz).utcoffset()
    while t.year < 2027:
        step = t + dt.timedelta(minutes=15)
        offset = step.astimezone(tz).utcoffset()
        if offset != before:
            out.append(step)
            before = offset
        t = step
    return out


CHANGES = {zone: _changes(zone) for zone in ZONES}
CLOCKS = ("00:00", "00:30", "01:00", "01:30", "01:45", "02:00", "02:15", "02:30", "02:45")
CLOCKS += ("03:00", "03:45", "08:00", "09:00", "17:00", "22:00", "23:00", "23:30")


# --- strategies ------------------------------------------------------------------------------


@st.composite
def instants_near_changes(draw: st.DrawFn, zone: str) -> dt.datetime:
    """An instant of 2026, usually within a few days of one of the zone's changes."""
    changes = CHANGES[zone]
    if changes and draw(st.integers(0, 3)) > 0:
        anchor = draw(st.sampled_from(changes))
        offset = draw(st.integers(-4 * 24 * 4, 4 * 24 * 4)) * dt.timedelta(minutes=15)
        return anchor + offset
    return YEAR_START + draw(st.integers(0, 364 * 24 * 4)) * dt.timedelta(minutes=15)


@st.composite
def local_times(draw: st.DrawFn, zone: str, near: dt.datetime) -> dt.datetime:
    """A naive local date-time: often inside a skipped or repeated hour."""
    tz = ZoneInfo(zone)
    kind = draw(st.integers(0, 3))
    if kind == 0 and CHANGES[zone]:
        change = draw(st.sampled_from(CHANGES[zone]))
        # wall-clock times just before and after the change, within its gap or fold
        wall = rules.local(change, tz) + draw(st.integers(-6, 6)) * dt.timedelta(minutes=15)
        days_before = draw(st.sampled_from((0, 0, 1, 7, 14, 28)))
        return wall - dt.timedelta(days=days_before)
    back = draw(st.integers(0, 40 * 24)) * dt.timedelta(hours=1)
    minute = draw(st.sampled_from((0, 0, 15, 30, 45)))
    return rules.local(near - back, tz).replace(minute=minute, second=0, microsecond=0)


def _clock(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


clock_times = st.one_of(
    st.sampled_from(CLOCKS).map(_clock),
    st.builds(dt.time, st.integers(0, 23), st.sampled_from((0, 15, 30, 45))),
)


@st.composite
def windows(draw: st.DrawFn) -> Window:
    kind = draw(st.sampled_from(("daily", "weekly", "span")))
    start = draw(clock_times)
    end = draw(clock_times.filter(lambda t: t != start))
    if kind == "daily":
        return Window.daily(start, end)
    if kind == "weekly":
        days = draw(st.sets(st.integers(0, 6), min_size=1, max_size=5))
        return Window.daily(start, end, days)
    return Window.span(draw(st.integers(0, 6)), start, draw(st.integers(0, 6)), end)


@st.composite
def layers(draw: st.DrawFn, zone: str, near: dt.datetime, layer_id: int) -> Layer:
    unit = draw(st.sampled_from(rules.UNITS))
    every = draw(
        {"hours": st.integers(1, 36), "days": st.integers(1, 5), "weeks": st.integers(1, 3)}[unit]
    )
    start = draw(local_times(zone, near))
    end = None
    if draw(st.integers(0, 3)) == 0:
        end = start + draw(st.integers(1, 20 * 24 * 4)) * dt.timedelta(minutes=15)
    return Layer(
        id=layer_id,
        start=start,
        every=every,
        unit=unit,
        users=tuple(draw(st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=4))),
        end=end,
        windows=tuple(draw(st.lists(windows(), max_size=2))),
    )


@st.composite
def schedules(draw: st.DrawFn) -> tuple[Schedule, dt.datetime, dt.datetime]:
    """A schedule and a span [since, until) of up to eight days."""
    zone = draw(st.sampled_from(ZONES))
    since = draw(instants_near_changes(zone))
    until = since + draw(st.integers(1, 8 * 24 * 4)) * dt.timedelta(minutes=15)
    count = draw(st.integers(1, 4))
    the_layers = tuple(draw(layers(zone, since, 10 + n)) for n in range(count))
    overrides = []
    ids = draw(st.permutations(range(100, 100 + draw(st.integers(0, 4)))))
    for oid in ids:
        start = since + draw(st.integers(-24 * 4, 8 * 24 * 4)) * dt.timedelta(minutes=15)
        length = draw(st.integers(1, 3 * 24 * 4)) * dt.timedelta(minutes=15)
        replaces = draw(st.one_of(st.none(), st.sampled_from(PEOPLE)))
        overrides.append(
            Override(oid, draw(st.sampled_from((*PEOPLE, 6))), start, start + length, replaces)
        )
    return Schedule(zone, the_layers, tuple(overrides)), since, until


# --- the pointwise oracle ---------------------------------------------------------------------


def _rotation_index(layer: Layer, tz: ZoneInfo, at: dt.datetime) -> int:
    """The last k with handoff(k) <= at (k >= 0), by bisection over hand-off instants."""
    lo, hi = 0, 1
    while rules.handoff(layer, hi, tz) <= at:
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if rules.handoff(layer, mid, tz) <= at:
            lo = mid
        else:
            hi = mid
    return lo


def _in_a_window(layer: Layer, tz: ZoneInfo, at: dt.datetime) -> bool:
    day = rules.local(at, tz).date()
    for back in range(-1, 10):
        d = day - dt.timedelta(days=back)
        for window in layer.windows:
            if d.weekday() in window.days:
                begin, finish = window.occurrence(d, tz)
                if begin <= at < finish:
                    return True
    return False


def layer_person(layer: Layer, tz: ZoneInfo, at: dt.datetime) -> int | None:
    """R1–R5 for one layer at one instant."""
    if at < rules.resolve_first(layer.start, tz):
        return None
    if layer.end is not None and at >= rules.resolve_first(layer.end, tz):
        return None
    if layer.windows and not _in_a_window(layer, tz, at):
        return None
    return layer.users[_rotation_index(layer, tz, at) % len(layer.users)]


def person_at(schedule: Schedule, at: dt.datetime) -> tuple[int, int | None, int | None] | None:
    """(user, layer id, override id) on call at ``at`` by R5 and R6, or None in a gap."""
    base: tuple[int, int] | None = None
    for layer in schedule.layers:
        user = layer_person(layer, schedule.tz, at)
        if user is not None:
            base = (user, layer.id)
            break
    for o in sorted(schedule.overrides, key=lambda o: o.id, reverse=True):
        if o.start <= at < o.end and (o.replaces is None or (base and base[0] == o.replaces)):
            return (o.user, None, o.id)
    return (base[0], base[1], None) if base else None


def covering(shifts: Sequence[Shift], at: dt.datetime) -> Shift | None:
    i = bisect.bisect_right([s.start for s in shifts], at) - 1
    if i >= 0 and shifts[i].start <= at < shifts[i].end:
        return shifts[i]
    return None


def samples(
    edges: list[dt.datetime], since: dt.datetime, until: dt.datetime, limit: int = 120
) -> list[dt.datetime]:
    """Boundaries, a second either side of each, and evenly spread instants, in span."""
    found = set()
    for edge in edges:
        for t in (edge - SECOND, edge, edge + SECOND):
            if since <= t < until:
                found.add(t)
    ordered = sorted(found)
    if len(ordered) > limit:
        ordered = ordered[:: len(ordered) // limit + 1]
    step = (until - since) / 17
    ordered += [since + step * n for n in range(17)]
    return ordered


def check_sorted_disjoint(shifts: Sequence[Shift], since: dt.datetime, until: dt.datetime) -> None:
    for s in shifts:
        assert since <= s.start < s.end <= until, s
    for a, b in itertools.pairwise(shifts):
        assert a.end <= b.start, (a, b)


# --- properties -------------------------------------------------------------------------------


@bounded(300)
@given(schedules())
def test_a_layer_has_one_person_at_a_time_and_matches_the_oracle(
    case: tuple[Schedule, dt.datetime, dt.datetime],
) -> None:
    schedule, since, until = case
    for layer in schedule.layers:
        shifts = rules.layer_shifts(layer, schedule.tz, since, until)
        check_sorted_disjoint(shifts, since, until)
        assert all(s.layer == layer.id and s.override is None for s in shifts)
        edges = [t for s in shifts for t in (s.start, s.end)]
        for at in samples(edges, since, until, limit=60):
            found = covering(shifts, at)
            assert (found.user if found else None) == layer_person(layer, schedule.tz, at), at


@bounded(400)
@given(schedules())
def test_the_final_schedule(case: tuple[Schedule, dt.datetime, dt.datetime]) -> None:
    schedule, since, until = case
    final = rules.final_shifts(schedule, since, until)

    # contiguous, non-overlapping, sorted shifts, each merged as far as it goes
    check_sorted_disjoint(final, since, until)
    for s in final:
        assert (s.layer is None) != (s.override is None), s
    for a, b in itertools.pairwise(final):
        assert not (
            a.end == b.start and (a.user, a.layer, a.override) == (b.user, b.layer, b.override)
        ), (a, b)

    # covered exactly where an override or a layer (after restrictions) covers, by the
    # right person: layers by priority, overrides in place of someone only where R5 has them
    per_layer = [rules.layer_shifts(layer, schedule.tz, since, until) for layer in schedule.layers]
    edges = [t for s in final for t in (s.start, s.end)]
    edges += [t for shifts in per_layer for s in shifts for t in (s.start, s.end)]
    edges += [t for o in schedule.overrides for t in (o.start, o.end)]
    for at in samples(edges, since, until):
        found = covering(final, at)
        expected = person_at(schedule, at)
        assert ((found.user, found.layer, found.override) if found else None) == expected, at
        by_layers = [s for shifts in per_layer if (s := covering(shifts, at))]
        on_by_layers = by_layers[0].user if by_layers else None
        by_override = any(
            o.start <= at < o.end and o.replaces in (None, on_by_layers) for o in schedule.overrides
        )
        assert (found is not None) == (bool(by_layers) or by_override), at

    # shifts plus gaps are the whole span
    holes = rules.gaps(final, since, until)
    covered = sum((s.end - s.start for s in final), dt.timedelta())
    empty = sum((b - a for a, b in holes), dt.timedelta())
    assert covered + empty == until - since

    # oncall_at agrees with the shifts at every shift boundary and a second either side
    horizon = dt.timedelta(days=10)
    for edge in sorted({t for s in final for t in (s.start, s.end)}):
        for at in (edge - SECOND, edge, edge + SECOND):
            if not since <= at < until:
                continue
            answer = rules.oncall_at(schedule, at, horizon=horizon)
            found = covering(final, at)
            assert (answer.shift.user if answer.shift else None) == (found.user if found else None)
            if found is None:
                continue
            run_end = found.end
            for s in final:
                if s.start == run_end and s.user == found.user:
                    run_end = s.end
            if run_end < until:
                assert answer.until == run_end, at
            else:
                assert answer.until is None or answer.until >= until, at


@bounded(300)
@given(schedules(), st.floats(0.01, 0.99))
def test_window_independence(case: tuple[Schedule, dt.datetime, dt.datetime], cut: float) -> None:
    """final_shifts over [a, c) is [a, b) ++ [b, c), merged at b."""
    schedule, a, c = case
    b = a + dt.timedelta(minutes=round((c - a) / dt.timedelta(minutes=1) * cut))
    if not a < b < c:
        return
    whole = rules.final_shifts(schedule, a, c)
    left = rules.final_shifts(schedule, a, b)
    right = rules.final_shifts(schedule, b, c)
    if (
        left
        and right
        and left[-1].end == b == right[0].start
        and (left[-1].user, left[-1].layer, left[-1].override)
        == (right[0].user, right[0].layer, right[0].override)
    ):
        joined = [
            *left[:-1],
            Shift(left[-1].user, left[-1].start, right[0].end, left[-1].layer, left[-1].override),
            *right[1:],
        ]
    else:
        joined = [*left, *right]
    assert whole == joined


@bounded(400)
@given(st.data())
def test_hand_offs_keep_the_wall_clock_or_exact_hours(data: st.DataObject) -> None:
    """R1: days and weeks hand off at the start's wall-clock time (or, where that time
    does not exist, at the first instant after the gap); R2: hours are exact."""
    zone = data.draw(st.sampled_from(ZONES))
    tz = ZoneInfo(zone)
    layer = data.draw(layers(zone, data.draw(instants_near_changes(zone)), 1))
    k = data.draw(st.integers(0, 60))
    this, following = rules.handoff(layer, k, tz), rules.handoff(layer, k + 1, tz)
    assert following > this
    if layer.unit == "hours":
        assert following - this == dt.timedelta(hours=layer.every)
        return
    days = layer.every * (7 if layer.unit == "weeks" else 1)
    wall = layer.start + dt.timedelta(days=days * k)
    if rules.local(this, tz) != wall:
        # the wall-clock time was skipped: the hand-off is the first instant after the gap
        before = this - SECOND
        assert before.astimezone(tz).utcoffset() != this.astimezone(tz).utcoffset()
        assert rules.local(before, tz) < wall < rules.local(this, tz)
    else:
        # a repeated wall-clock time hands off at its first occurrence
        earlier = this - dt.timedelta(hours=3)
        assert all(
            rules.local(earlier + n * dt.timedelta(minutes=15), tz) != wall for n in range(12)
        )
