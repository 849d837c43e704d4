"""Day summaries (reports/summaries.py): the figures read from them equal those read from
the facts, they follow every change of the facts, and a histogram's median stays within
the stated precision.

Five days around T0 (Monday 2 March 2026, helpers.py); the period [Fri 27 Feb 08:00,
Tue 3 Mar 18:00) has two partial days (read from the facts) and three whole ones (read
from the summaries):

inc  reported           service/team P  source      ack after  resolved after
F    Fri 27 Feb 07:00   Mail/Alpha   3  portal      2 min      –        (before the period)
A    Fri 27 Feb 09:00   Mail/Alpha   3  portal      5 min      60 min
B    Sat 28 Feb 23:30   Web/Beta     4  phone       10 min     120 min
C    Sun 1 Mar 00:30    Mail/Alpha   3  monitoring  1 min      open
D    Mon 2 Mar 10:00    Mail/–       3  portal      20 min     open
E    Tue 3 Mar 12:00    Web/Beta     3  portal      30 min     240 min
G    Tue 3 Mar 19:00    Web/Beta     3  portal      –          –        (after the period)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from tests.reports.helpers import act, cast, file, merge
from tocsin.accounts.models import Team, User
from tocsin.catalog.models import Service
from tocsin.core.actors import Actor
from tocsin.core.clock import travel
from tocsin.incidents import services
from tocsin.incidents.models import Incident
from tocsin.reports import facts, summaries
from tocsin.reports.dashboard import duration_by_bucket, response_series
from tocsin.reports.metrics import (
    DurationStat,
    Filters,
    compute,
    sla_by_priority,
    volume_by_priority,
)
from tocsin.reports.models import DaySummary

pytestmark = pytest.mark.django_db

MIN = 60.0
FRI = dt.datetime(2026, 2, 27, tzinfo=dt.UTC)
PERIOD = Filters(since=FRI + dt.timedelta(hours=8), until=FRI + dt.timedelta(days=4, hours=18))
LOW = {"impact": 4, "urgency": 4}  # the matrix's P4


def at(day: int, hour: float) -> dt.datetime:
    return FRI + dt.timedelta(days=day, hours=hour)


@dataclasses.dataclass
class Week:
    agent: User
    boss: User
    mail: Service
    web: Service
    alpha: Team
    beta: Team
    inc: dict[str, Incident]


@pytest.fixture
def week(make_user: Callable[..., User]) -> Week:
    c = cast(make_user)
    agent, boss, alpha, beta, mail, web = c.agent, c.boss, c.alpha, c.beta, c.mail, c.web
    inc: dict[str, Incident] = {}

    def one(name: str, when: dt.datetime, ack: float | None, resolve: float | None, **kw: Any):
        inc[name] = file(agent, when, **kw)
        if ack is not None:
            act(agent, inc[name], when + dt.timedelta(minutes=ack), "acknowledge")
        if resolve is not None:
            act(agent, inc[name], when + dt.timedelta(minutes=resolve), "resolve")

    one("F", at(0, 7), 2, None, service=mail, team=alpha)
    one("A", at(0, 9), 5, 60, service=mail, team=alpha)
    one("B", at(1, 23.5), 10, 120, service=web, team=beta, source="phone", **LOW)
    one("C", at(2, 0.5), 1, None, service=mail, team=alpha, source="monitoring")
    one("D", at(3, 10), 20, None, service=mail)
    one("E", at(4, 12), 30, 240, service=web, team=beta)
    one("G", at(4, 19), None, None, service=web, team=beta)
    facts.rebuild(at=at(5, 0))
    return Week(agent, boss, mail, web, alpha, beta, inc)


def table() -> list[tuple[Any, ...]]:
    """Every summary row, its id left out, in order."""
    fields = [f.name for f in DaySummary._meta.concrete_fields if f.name != "id"]
    return sorted(DaySummary.objects.values_list(*fields))


def from_facts(fn: Callable[[], Any]) -> Any:
    with summaries.facts_only():
        return fn()


def same(got: dict[str, Any], want: dict[str, Any]) -> None:
    """Equal figures; a mean equal to 1e-9 (a float sum in another order)."""
    assert got.keys() == want.keys()
    for name, stat in got.items():
        if isinstance(stat, DurationStat) and stat.mean_seconds is not None:
            assert stat.mean_seconds == pytest.approx(want[name].mean_seconds, rel=1e-9), name
            stat = dataclasses.replace(stat, mean_seconds=want[name].mean_seconds)
        assert stat == want[name], name


def test_the_period_is_read_as_whole_days_and_two_partial_ones(week: Week) -> None:
    p = summaries.plan(PERIOD)
    assert p is not None
    assert (p.first_day, p.end_day) == (dt.date(2026, 2, 28), dt.date(2026, 3, 3))
    assert p.edges == ((at(0, 8), at(1, 0)), (at(4, 0), at(4, 18)))
    # the whole days' figures do come from the summaries: a summary changed by hand shows
    DaySummary.objects.filter(day=dt.date(2026, 3, 1), dim="all", priority=0).update(total=100)
    assert compute(PERIOD, ["volume"])["volume"].count == 100 + 4  # A, B, D, E from facts
    assert from_facts(lambda: compute(PERIOD, ["volume"]))["volume"].count == 5


def test_no_plan_without_whole_days_two_filters_or_summaries(week: Week) -> None:
    assert summaries.plan(Filters(since=at(1, 1), until=at(1, 23))) is None
    assert summaries.plan(dataclasses.replace(PERIOD, service=week.mail.pk, team=1)) is None
    assert summaries.plan(dataclasses.replace(PERIOD, service=week.mail.pk, priority=3))
    summaries.start_over()  # not built yet: the facts are read
    assert summaries.plan(PERIOD) is None
    assert compute(PERIOD, ["volume"])["volume"].count == 5


def test_every_metric_reads_the_same_from_summaries_and_facts(week: Week) -> None:
    got = compute(PERIOD)
    # the known answers: A, B, C, D, E
    assert got["volume"].count == 5
    assert got["open"].count == 2  # C, D
    mtta = got["mtta"]
    assert isinstance(mtta, DurationStat)
    assert (mtta.count, mtta.median_seconds, mtta.p90_seconds) == (5, 10 * MIN, 30 * MIN)
    assert mtta.mean_seconds == pytest.approx((5 + 10 + 1 + 20 + 30) / 5 * MIN)
    resolve = got["mttr_resolve"]
    assert isinstance(resolve, DurationStat)
    assert resolve.count == 3
    assert resolve.mean_seconds == pytest.approx((60 + 120 + 240) / 3 * MIN)
    assert got["detected_by_monitoring"].as_json() == {"count": 1, "total": 5, "rate": 0.2}
    same(got, from_facts(lambda: compute(PERIOD)))
    for narrowed in (
        dataclasses.replace(PERIOD, service=week.mail.pk),  # A, C, D
        dataclasses.replace(PERIOD, team=week.beta.pk),  # B, E
        dataclasses.replace(PERIOD, priority=4),  # B
        dataclasses.replace(PERIOD, source="portal", priority=3),  # A, D, E
    ):
        assert summaries.plan(narrowed) is not None
        same(compute(narrowed), from_facts(lambda f=narrowed: compute(f)))  # type: ignore[misc]
    assert compute(dataclasses.replace(PERIOD, service=week.mail.pk))["volume"].count == 3
    assert volume_by_priority(PERIOD) == [
        {"day": dt.date(2026, 2, 27), "priority": 3, "count": 1},  # A (F is before)
        {"day": dt.date(2026, 2, 28), "priority": 4, "count": 1},
        {"day": dt.date(2026, 3, 1), "priority": 3, "count": 1},
        {"day": dt.date(2026, 3, 2), "priority": 3, "count": 1},
        {"day": dt.date(2026, 3, 3), "priority": 3, "count": 1},  # E (G is after)
    ]
    assert volume_by_priority(PERIOD) == from_facts(lambda: volume_by_priority(PERIOD))
    assert sla_by_priority(PERIOD) == from_facts(lambda: sla_by_priority(PERIOD))


def test_the_summaries_follow_every_change_of_the_facts(week: Week) -> None:
    """Changes after the summaries were built: a resolution, a move to another service
    (the gaps of the incidents after it move too), a priority change and a merge. The
    refreshes leave the summaries a whole rebuild gives, and the figures follow."""
    inc, actor = week.inc, Actor.for_user(week.agent)
    act(week.agent, inc["D"], at(5, 1), "resolve")  # D: Wed 01:00, 39 h after its report
    with travel(at(5, 2)):
        services.incident_update(incident=inc["B"], actor=actor, changes={"service": week.mail})
        services.incident_update(
            incident=inc["E"], actor=actor, changes={"impact": 4, "urgency": 4}
        )
    merge(week.boss, inc["C"], inc["A"], at(5, 3))
    facts.refresh(at=at(5, 4))
    refreshed = table()
    got = compute(PERIOD)
    assert got["volume"].count == 4  # C merged into A
    assert got["open"].count == 0
    assert got["mttr_resolve"].count == 4  # A, B, D, E
    assert got["mttr_resolve"].mean_seconds == pytest.approx(  # type: ignore[union-attr]
        (60 + 120 + 39 * 60 + 240) / 4 * MIN
    )
    assert compute(dataclasses.replace(PERIOD, service=week.mail.pk))["volume"].count == 3
    assert compute(dataclasses.replace(PERIOD, priority=4))["volume"].count == 2  # B, E
    same(got, from_facts(lambda: compute(PERIOD)))
    same(
        compute(dataclasses.replace(PERIOD, service=week.mail.pk)),
        from_facts(lambda: compute(dataclasses.replace(PERIOD, service=week.mail.pk))),
    )
    summaries.rebuild_all()
    assert refreshed == table()


def test_a_gap_changed_on_another_day_moves_that_days_summary(week: Week) -> None:
    """D (Monday) follows C (Sunday, still open) on Mail: its gap is 0. Merging C away
    makes D's gap run from A's recovery: Monday's summary changes though D did not."""
    before = DaySummary.objects.get(day=dt.date(2026, 3, 2), dim="all", priority=0)
    merge(week.boss, week.inc["C"], week.inc["A"], at(5, 3))
    facts.refresh(at=at(5, 4))
    after = DaySummary.objects.get(day=dt.date(2026, 3, 2), dim="all", priority=0)
    # D reported Mon 10:00; A recovered Fri 10:00
    assert (before.gap_s_n, before.gap_s_sum) == (1, 0.0)
    assert (after.gap_s_n, after.gap_s_sum) == (1, pytest.approx(3 * 24 * 60 * MIN))


def test_a_bucket_median_from_the_histograms_is_within_the_precision(week: Week) -> None:
    """Over half a year and more, the charts' month buckets read the histograms: each
    median and p90 within summaries.PRECISION of the exact one (relative to 1 + seconds)."""
    year = Filters(since=dt.datetime(2025, 8, 1, 6, tzinfo=dt.UTC), until=at(4, 18))
    weeks = {dt.date(2026, 2, 23), dt.date(2026, 3, 2)}  # Mondays
    for column, kind in (
        ("ack_s", "month"),
        ("resolve_s", "month"),
        ("mitigate_s", "month"),
        ("ack_s", "week"),
        ("mitigate_s", "week"),
    ):
        approx = duration_by_bucket(column, year, kind)  # type: ignore[arg-type]
        exact = from_facts(lambda c=column, k=kind: duration_by_bucket(c, year, k))
        months = {dt.date(2026, 2, 1), dt.date(2026, 3, 1)}
        assert approx.keys() == exact.keys() == (months if kind == "month" else weeks)
        for bucket, (n, median, p90) in exact.items():
            got = approx[bucket]
            assert got[0] == n
            assert abs(got[1] - median) <= summaries.PRECISION * (1 + median)
            assert abs(got[2] - p90) <= summaries.PRECISION * (1 + p90)
    series = response_series(year)
    assert series.kind == "month"
    march = series.values["mtta"][series.buckets.index(dt.date(2026, 3, 1))]
    assert march == pytest.approx(20 * MIN, rel=summaries.PRECISION)  # C 1, D 20, E 30 min


def test_a_histograms_ranks() -> None:
    def bin_of(seconds: float) -> int:
        import math

        return math.floor(math.log(1 + seconds) * summaries.BINS)

    hist = {bin_of(60): 2, bin_of(600): 1, bin_of(6000): 1}  # 60, 60, 600, 6000
    n, median, p90 = summaries.median_p90(hist)  # type: ignore[misc]
    assert n == 4
    assert median == pytest.approx((60 + 600) / 2, rel=summaries.PRECISION)
    assert p90 == pytest.approx(6000, rel=summaries.PRECISION)
    assert summaries.median_p90({}) is None
    assert summaries.median_p90({0: 1}) == (1, summaries.bin_middle(0), summaries.bin_middle(0))
    assert summaries.bin_middle(0) < 0.02  # 0 s is shown as under a fiftieth of a second


def test_the_engine_builds_the_summaries_a_month_of_days_a_turn(
    week: Week, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the migration (or a first build of the facts), the worker builds them a few
    days a turn; until then the facts are read; the result equals a whole rebuild."""
    from tocsin.reports.engine import ReportFactsModule

    built = table()
    monkeypatch.setattr(summaries, "CHUNK_DAYS", 2)
    summaries.start_over()
    DaySummary.objects.all().delete()
    module = ReportFactsModule()
    # Fri–Sat, Sun–Mon, Tue: three turns with more to do, then done
    turns = [module.tick(at(5, 1) + dt.timedelta(seconds=n)) for n in range(4)]
    assert turns == [1, 1, 1, 0]
    assert summaries.ready()
    assert table() == built


def test_a_long_periods_median_and_p90_are_within_the_precision(week: Week) -> None:
    """Over more than 35 whole days, each duration's median and p90 come from the
    histograms: within summaries.PRECISION; its count and mean stay exact."""
    year = Filters(since=dt.datetime(2025, 8, 1, 6, tzinfo=dt.UTC), until=at(4, 18))
    got = compute(year)
    exact = from_facts(lambda: compute(year))
    mtta = exact["mtta"]
    assert isinstance(mtta, DurationStat)
    assert (mtta.count, mtta.median_seconds, mtta.p90_seconds) == (6, 7.5 * MIN, 30 * MIN)
    for name in ("mttd", "mtta", "mttr_mitigate", "mttr_resolve", "mtbf"):
        approx, want = got[name], exact[name]
        assert isinstance(approx, DurationStat)
        assert isinstance(want, DurationStat)
        assert approx.count == want.count, name
        if want.count == 0:
            assert approx == want
            continue
        assert approx.mean_seconds == pytest.approx(want.mean_seconds, rel=1e-9)
        for a, w in (
            (approx.median_seconds, want.median_seconds),
            (approx.p90_seconds, want.p90_seconds),
        ):
            assert a is not None and w is not None
            assert abs(a - w) <= summaries.PRECISION * (1 + w), name
    assert got["volume"] == exact["volume"]
    # 35 whole days or fewer: exact
    month = Filters(since=at(-20, 6), until=at(4, 18))
    same(compute(month), from_facts(lambda: compute(month)))


def test_the_day_still_going_on_is_read_from_the_facts_and_summarised_once_over(
    week: Week,
) -> None:
    """A refresh during a day leaves that day without summaries (a storm's incidents
    change every few seconds; before, each refresh recomputed the whole day's summary).
    Periods that take in today read it from the facts, with the same figures; the first
    turn after midnight summarises it, as a whole rebuild would."""
    from tocsin.reports.engine import ReportFactsModule

    wed = dt.date(2026, 3, 4)
    assert summaries.through() == dt.date(2026, 3, 3)  # built at Wed 00:00
    late = file(week.agent, at(5, 9), service=week.web, team=week.beta)  # Wed 09:00
    act(week.agent, late, at(5, 9.5), "acknowledge")
    act(week.agent, week.inc["G"], at(5, 10), "acknowledge")  # reported Tue: summarised day
    module = ReportFactsModule()
    assert module.tick(at(5, 11)) == 0
    assert not DaySummary.objects.filter(day=wed).exists()
    tue = DaySummary.objects.get(day=dt.date(2026, 3, 3), dim="all", priority=0)
    assert tue.ack_s_n == 2  # E and, now, G: a summarised day still follows its facts
    with travel(at(5, 11)):
        to_now = Filters(since=PERIOD.since, until=at(6, 0))  # through the end of Wednesday
        p = summaries.plan(to_now)
        assert p is not None
        assert p.end_day == wed  # Wednesday from the facts
        assert p.edges == ((at(0, 8), at(1, 0)), (at(5, 0), at(6, 0)))
        got = compute(to_now)
        assert got["volume"].count == 7  # A–E, G and the new one
        same(got, from_facts(lambda: compute(to_now)))
        assert volume_by_priority(to_now) == from_facts(lambda: volume_by_priority(to_now))
    # the worker's first turn after midnight summarises Wednesday
    assert module.tick(at(6, 0) + dt.timedelta(seconds=1)) == 0
    assert summaries.through() == wed
    assert DaySummary.objects.get(day=wed, dim="all", priority=0).total == 1
    kept = table()
    summaries.rebuild_all(at(6, 0) + dt.timedelta(seconds=1))
    assert table() == kept


def test_a_worker_stopped_for_days_summarises_them_a_month_at_a_time(
    week: Week, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Days missed while no worker ran are summarised by the next turns, CHUNK_DAYS at a
    time; until then the figures read those days from the facts."""
    from tocsin.reports.engine import ReportFactsModule

    monkeypatch.setattr(summaries, "CHUNK_DAYS", 2)
    file(week.agent, at(5, 9), service=week.mail)  # Wed
    file(week.agent, at(7, 9), service=week.mail)  # Fri
    module = ReportFactsModule()
    sat = at(8, 12)  # Wed, Thu, Fri are over
    period = Filters(since=PERIOD.since, until=at(8, 0))
    facts.refresh(at=sat)  # the facts, not the summaries
    assert summaries.through() == dt.date(2026, 3, 3)
    with travel(sat):
        assert compute(period)["volume"].count == 8
    assert module.tick(sat) == 1  # Wed, Thu: more to do
    assert summaries.through() == dt.date(2026, 3, 5)
    with travel(sat):
        assert compute(period)["volume"].count == 8
    assert module.tick(sat + dt.timedelta(seconds=1)) == 0  # Fri
    assert summaries.through() == dt.date(2026, 3, 6)
    with travel(sat):
        p = summaries.plan(period)
        assert p is not None and p.end_day == dt.date(2026, 3, 7)
        same(compute(period), from_facts(lambda: compute(period)))


def test_the_upgrade_keeps_the_summaries_built_before_it(week: Week) -> None:
    """reports/0005: summaries built by a version that kept today's too are read up to
    yesterday; the worker summarises today again once it is over."""
    import importlib

    from django.apps import apps

    from tocsin.reports.models import FactsWatermark

    migration = importlib.import_module(
        "tocsin.reports.migrations.0005_summaries_through_yesterday"
    )
    FactsWatermark.objects.filter(key=summaries.MARK).update(build_after=None)
    assert summaries.through() is None
    assert summaries.plan(PERIOD) is None  # read from the facts meanwhile
    migration.summarised_through_yesterday(apps, None)
    from django.utils import timezone

    yesterday = timezone.now().astimezone(dt.UTC).date() - dt.timedelta(days=1)
    assert summaries.through() == yesterday
    assert summaries.plan(PERIOD) is not None
