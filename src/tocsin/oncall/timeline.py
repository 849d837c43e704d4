"""The schedule page's timeline, laid out for the template: rows of bars placed on a
two-week axis in the viewer's zone. Pure presentation over `rules` data, no queries.

Bars are placed without inline styles (the CSP forbids them): a bar's start and end are
rounded to the quarter hour of a 14-day axis (1,344 quarters) and named by four classes,
`oc-sd<day> oc-sm<quarter of the day>` for the start and `oc-ed… oc-em…` for the end;
app.css sets `left` and `margin-left` from the first two, `right` and `margin-right`
from the others (the `oncall-ui` block)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from tocsin.oncall import rules

DAYS = 14
QUARTERS = DAYS * 96
TONES = 8


def window(week: dt.date, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """[since, until): 14 local days from the Monday of ``week`` in the viewer's zone."""
    monday = week - dt.timedelta(days=week.weekday())
    since = rules.resolve_first(dt.datetime.combine(monday, dt.time(0)), tz)
    end_day = monday + dt.timedelta(days=DAYS)
    until = rules.resolve_first(dt.datetime.combine(end_day, dt.time(0)), tz)
    return since, until


def monday_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _quarter(at: dt.datetime, since: dt.datetime, until: dt.datetime) -> int:
    share = (at - since) / (until - since)
    return max(0, min(QUARTERS, round(share * QUARTERS)))


def _parts(q: int, prefix: str) -> str:
    return f"oc-{prefix}d{q // 96} oc-{prefix}m{q % 96}"


def place(start: dt.datetime, end: dt.datetime, since: dt.datetime, until: dt.datetime) -> str:
    """The position classes of a bar from ``start`` to ``end`` (clipped to the axis)."""
    a = _quarter(max(start, since), since, until)
    b = _quarter(min(end, until), since, until)
    return f"{_parts(a, 's')} {_parts(b, 'e')}"


def span_text(start: dt.datetime, end: dt.datetime, tz: ZoneInfo) -> str:
    """'Mon 2 Mar 09:00 – 17:00' or 'Mon 2 Mar 09:00 – Tue 3 Mar 09:00' in ``tz``."""
    a, b = start.astimezone(tz), end.astimezone(tz)
    if a.date() == b.date():
        return f"{moment(a)} – {b:%H:%M}"
    if b.time() == dt.time(0) and b.date() == a.date() + rules.DAY:
        return f"{moment(a)} – 24:00"
    return f"{moment(a)} – {moment(b)}"


def clock_span(start: dt.datetime, end: dt.datetime, tz: ZoneInfo) -> str:
    """'09:00 – 17:00' within one local day (an end at the next midnight is 24:00)."""
    a, b = start.astimezone(tz), end.astimezone(tz)
    return f"{a:%H:%M} – {'24:00' if b.date() > a.date() else f'{b:%H:%M}'}"


def moment(at: dt.datetime) -> str:
    """'Mon 2 Mar 09:00' (in the zone ``at`` carries)."""
    return f"{at:%a} {at.day} {at:%b %H:%M}"


@dataclass
class Bar:
    start: dt.datetime
    end: dt.datetime
    label: str
    text: str  # the whole of it in words, for screen readers and the tooltip
    kind: str  # shift | override | gap
    place: str
    tone: int = 0
    lane: int = 0
    user_id: int | None = None


@dataclass
class Row:
    key: str  # layer-<id> | overrides | final
    title: str
    details: list[str] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    lanes: int = 1

    @property
    def kind(self) -> str:
        return self.key.split("-")[0]


@dataclass
class Day:
    date: dt.date
    place: str
    weekend: bool
    today: bool


@dataclass
class DayList:
    """One local day of the final schedule, for the phone's list view."""

    date: dt.date
    today: bool
    items: list[Bar]


class Layout:
    """Everything the template needs to draw the timeline of one schedule."""

    def __init__(
        self,
        *,
        since: dt.datetime,
        until: dt.datetime,
        tz: ZoneInfo,
        now: dt.datetime,
        names: dict[int, str],
    ) -> None:
        self.since, self.until, self.tz, self.now = since, until, tz, now
        self.names = names
        self._tones: dict[int, int] = {}
        self.rows: list[Row] = []
        first = since.astimezone(tz).date()
        self.days = [
            Day(
                date=first + dt.timedelta(days=n),
                place=place(self._midnight(first, n), self._midnight(first, n + 1), since, until),
                weekend=(first + dt.timedelta(days=n)).weekday() >= 5,
                today=(first + dt.timedelta(days=n)) == now.astimezone(tz).date(),
            )
            for n in range(DAYS)
        ]
        self.now_place = place(now, now, since, until) if since <= now < until else ""

    def _midnight(self, first: dt.date, n: int) -> dt.datetime:
        return rules.resolve_first(
            dt.datetime.combine(first + dt.timedelta(days=n), dt.time(0)), self.tz
        )

    def tone(self, user_id: int) -> int:
        if user_id not in self._tones:
            self._tones[user_id] = len(self._tones) % TONES
        return self._tones[user_id]

    def name(self, user_id: int) -> str:
        return self.names.get(user_id, f"#{user_id}")

    def bar(
        self, start: dt.datetime, end: dt.datetime, user_id: int, kind: str, extra: str = ""
    ) -> Bar:
        name = self.name(user_id)
        text = f"{name}, {span_text(start, end, self.tz)}{extra}"
        return Bar(
            start=start,
            end=end,
            label=name,
            text=text,
            kind=kind,
            place=place(start, end, self.since, self.until),
            tone=self.tone(user_id),
            user_id=user_id,
        )

    def gap(self, start: dt.datetime, end: dt.datetime) -> Bar:
        return Bar(
            start=start,
            end=end,
            label="Gap",
            text=f"Gap: nobody on call, {span_text(start, end, self.tz)}",
            kind="gap",
            place=place(start, end, self.since, self.until),
        )

    def add_layer(
        self, key: str, title: str, details: list[str], shifts: Sequence[rules.Shift]
    ) -> None:
        bars = [self.bar(s.start, s.end, s.user, "shift") for s in shifts]
        self.rows.append(Row(key, title, details, bars))

    def add_overrides(self, overrides: Iterable[rules.Override], replaced: dict[int, str]) -> None:
        bars: list[Bar] = []
        ends: list[dt.datetime] = []  # the end of the last bar in each lane
        for o in sorted(overrides, key=lambda o: (o.start, o.id)):
            if o.end <= self.since or o.start >= self.until:
                continue
            extra = f", in place of {replaced[o.id]}" if o.id in replaced else ""
            b = self.bar(
                max(o.start, self.since), min(o.end, self.until), o.user, "override", extra
            )
            lane = next((i for i, end in enumerate(ends) if end <= o.start), len(ends))
            if lane == len(ends):
                ends.append(o.end)
            else:
                ends[lane] = o.end
            b.lane = min(lane, 3)
            bars.append(b)
        self.rows.append(Row("overrides", "Overrides", [], bars, lanes=min(max(len(ends), 1), 4)))

    def add_final(
        self, shifts: Sequence[rules.Shift], gaps: Sequence[tuple[dt.datetime, dt.datetime]]
    ) -> None:
        bars = [
            self.bar(s.start, s.end, s.user, "override", " (override)")
            if s.override is not None
            else self.bar(s.start, s.end, s.user, "shift")
            for s in shifts
        ]
        bars += [self.gap(a, b) for a, b in gaps]
        bars.sort(key=lambda b: b.start)
        self.final = bars
        self.rows.append(Row("final", "Final schedule", [], bars))

    def day_lists(self) -> list[DayList]:
        """The final schedule day by day (each bar clipped to the local day)."""
        out = []
        for n, day in enumerate(self.days):
            begin = self._midnight(self.days[0].date, n)
            finish = self._midnight(self.days[0].date, n + 1)
            items = []
            for b in self.final:
                if b.end <= begin or b.start >= finish:
                    continue
                a, z = max(b.start, begin), min(b.end, finish)
                items.append(
                    Bar(
                        start=a,
                        end=z,
                        label=b.label,
                        text=clock_span(a, z, self.tz),
                        kind=b.kind,
                        place="",
                        tone=b.tone,
                        user_id=b.user_id,
                    )
                )
            out.append(DayList(day.date, day.today, items))
        return out
