"""Each metric of docs/metrics.md on a hand-built day with answers worked out by hand.

The day [T0, T0 + 1 day) (helpers.py); minutes are from T0. Services Mail and Web, teams
Alpha and Beta (Beta has a manager), category Hardware:

inc  reported  service/team P source      impact/detected  ack   mitigated  resolved
I6   T0−1 day  Mail/Alpha   3 portal      –                –     –          T0−1 day + 30
I1   0         Mail/Alpha   3 monitoring  −10 / −4         5     20         60
I5   50        Mail         3 portal      merged into I1 (a duplicate: counted nowhere)
I2   30        Mail/Alpha   3 portal      25 / –           40    –          150, reopen 160, 200
I3   100       Web/Beta     4 phone       –                –     –          open; response
                                          breached (engine, at 600); management notified
I4   200       Mail/Alpha   3 email       190 / –          201   210        open; escalated L2
I8   300       Web/Beta     4 chat        –                302   –          310 (L1)
I9   400       Web/Beta     3 phone       395 / 397        530*  –          600; escalated L2
I7   T0+1 day  Mail         3 portal      reported at `until`: outside the period
(* late: P3 responds within 2 h)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from tests.reports.helpers import DAY, T0, act, cast, escalate, file, m, merge, mitigate
from tocsin.accounts.models import Role, Team, User
from tocsin.catalog.models import Category, Service
from tocsin.core.actors import Actor
from tocsin.core.clock import travel
from tocsin.escalation.hierarchy import management_notify
from tocsin.incidents.models import Incident
from tocsin.incidents.services import incident_mark_breaches
from tocsin.reports import facts
from tocsin.reports.metrics import (
    EXTRA_METRICS,
    CountStat,
    DurationStat,
    Filters,
    RateStat,
    compute,
    duration,
    metric_names,
    mtbf_by_service,
    sla_by_priority,
    volume_by_priority,
)

pytestmark = pytest.mark.django_db

MIN = 60.0
DAY_FILTERS = Filters(since=T0, until=T0 + DAY)


@dataclasses.dataclass
class Day:
    agent: User
    mail: Service
    web: Service
    alpha: Team
    beta: Team
    hardware: Category
    inc: dict[str, Incident]


@pytest.fixture
def day(make_user: Callable[..., User]) -> Day:
    c = cast(make_user)
    agent, boss, alpha, beta, mail, web = c.agent, c.boss, c.alpha, c.beta, c.mail, c.web
    hardware = Category.objects.create(name="Hardware")
    low = {"impact": 4, "urgency": 4}  # the matrix's P4
    inc: dict[str, Incident] = {}
    inc["I6"] = file(agent, T0 - DAY, service=mail, team=alpha)
    act(agent, inc["I6"], T0 - DAY + dt.timedelta(minutes=30), "resolve")
    inc["I1"] = file(
        agent,
        m(0),
        service=mail,
        team=alpha,
        source="monitoring",
        category=hardware,
        impact_started_at=m(-10),
        detected_at=m(-4),
    )
    act(agent, inc["I1"], m(5), "acknowledge")
    mitigate(agent, inc["I1"], m(20))
    inc["I2"] = file(agent, m(30), service=mail, team=alpha, impact_started_at=m(25))
    act(agent, inc["I2"], m(40), "acknowledge")
    inc["I5"] = file(agent, m(50), service=mail)
    merge(boss, inc["I5"], inc["I1"], m(55))
    act(agent, inc["I1"], m(60), "resolve")
    inc["I3"] = file(agent, m(100), service=web, team=beta, source="phone", **low)
    with travel(m(110)):
        management_notify(
            incident=inc["I3"], to="team_manager", reason="Web is down", actor=Actor.for_user(agent)
        )
    act(agent, inc["I2"], m(150), "resolve")
    act(agent, inc["I2"], m(160), "reopen")
    inc["I4"] = file(
        agent, m(200), service=mail, team=alpha, source="email", impact_started_at=m(190)
    )
    act(agent, inc["I2"], m(200), "resolve")
    act(agent, inc["I4"], m(201), "acknowledge")
    mitigate(agent, inc["I4"], m(210))
    escalate(agent, inc["I4"], m(220))
    inc["I8"] = file(agent, m(300), service=web, team=beta, source="chat", category=hardware, **low)
    act(agent, inc["I8"], m(302), "acknowledge")
    act(agent, inc["I8"], m(310), "resolve")
    inc["I9"] = file(
        agent,
        m(400),
        service=web,
        team=beta,
        source="phone",
        impact_started_at=m(395),
        detected_at=m(397),
    )
    act(agent, inc["I9"], m(530), "acknowledge")  # P3 responds within 2 h: 10 min late
    escalate(agent, inc["I9"], m(540))
    act(agent, inc["I9"], m(600), "resolve")
    incident_mark_breaches(at=m(600))  # the engine: I3's 8 h response target (due 580) passed
    inc["I7"] = file(agent, T0 + DAY, service=mail)
    facts.rebuild(at=T0 + DAY + dt.timedelta(minutes=1))
    return Day(agent, mail, web, alpha, beta, hardware, inc)


def stat(count: int, mean: float, median: float, p90: float) -> DurationStat:
    return DurationStat(count, mean, median, p90)


def test_durations_over_the_day(day: Day) -> None:
    got = compute(DAY_FILTERS, ["mttd", "mtta", "mttr_mitigate", "mttr_resolve", "mtbf"])
    # MTTD, detected (else reported) − impact start: I1 6, I2 5 (reported 30 − 25),
    # I4 10 (200 − 190), I9 2; I3 and I8 have no impact start.
    assert got["mttd"] == stat(4, 5.75 * MIN, 5.5 * MIN, 10 * MIN)
    # MTTA, first acknowledgement − reported: 5, 10, 1, 2, 130 min; I3 never acknowledged.
    assert got["mtta"] == stat(5, 29.6 * MIN, 5 * MIN, 130 * MIN)
    # Time to mitigate: I1 20 (its mark), I2 170 (never marked: its last resolve, 200),
    # I4 10 (marked, still open), I8 10, I9 200 (resolves); I3 not yet.
    assert got["mttr_mitigate"] == stat(5, 82 * MIN, 20 * MIN, 200 * MIN)
    # Time to resolve, the last resolution − reported: I1 60, I2 170, I8 10, I9 200.
    assert got["mttr_resolve"] == stat(4, 110 * MIN, 115 * MIN, 200 * MIN)
    # MTBF, impact start − the previous incident's recovery on the same service:
    # Mail: I1 −10 − (I6 resolved at −1 day + 30) = 1400 min (across the period's start);
    #       I2 25 − I1's mitigation 20 = 5; I4 190 − I2's recovery 200 < 0: overlap, 0.
    # Web:  I3 first, none; I8 0 (I3 never recovered); I9 395 − I8's 310 = 85.
    assert got["mtbf"] == stat(5, 298 * MIN, 5 * MIN, 1400 * MIN)


def test_rates_and_counts_over_the_day(day: Day) -> None:
    got = compute(DAY_FILTERS)
    assert got["volume"] == CountStat(6)  # I1 I2 I3 I4 I8 I9: not I5 (merged), I6, I7
    assert got["open"] == CountStat(2)  # I3, I4
    assert got["escalation_functional"] == RateStat(2, 6, 2 / 6)  # I4, I9
    assert got["escalation_hierarchical"] == RateStat(1, 6, 1 / 6)  # I3
    # Resolved and reported by people: I2 (reopened: not), I8 (yes), I9 (escalated: not).
    assert got["first_contact_resolution"] == RateStat(1, 3, 1 / 3)
    assert got["detected_by_monitoring"] == RateStat(1, 6, 1 / 6)
    assert got["detected_by_people"] == RateStat(5, 6, 5 / 6)
    # Response: met I1 I2 I4 I8; breached I9 (late), I3 (open, breached by the engine).
    assert got["sla_response"] == RateStat(4, 6, 4 / 6)
    # Resolution: decided for the resolved I1 I2 I8 I9, all within target; I3 I4 running.
    assert got["sla_resolution"] == RateStat(4, 4, 1.0)
    assert got["reopen_rate"] == RateStat(1, 4, 0.25)  # I2, of the 4 ever resolved
    assert got["major_rate"] == RateStat(0, 6, 0.0)
    assert got["solved_by_article"] == RateStat(0, 4, 0.0)
    assert got["postmortem_completion"] == RateStat(0, 0, None)
    assert got["action_items_overdue"] == RateStat(0, 0, None)
    assert got["problems_opened"] == CountStat(0)
    assert got["known_errors_reused"] == RateStat(0, 6, 0.0)
    # every core metric by default; the ones other modules add only when named
    assert set(got) == set(metric_names()) - set(EXTRA_METRICS)
    assert set(EXTRA_METRICS) <= set(compute(DAY_FILTERS, list(metric_names())))


def test_the_period_is_since_inclusive_until_exclusive(day: Day) -> None:
    assert compute(DAY_FILTERS, ["volume"])["volume"].count == 6  # I1 at `since` counts
    later = Filters(since=T0 + dt.timedelta(microseconds=1), until=T0 + DAY)
    assert compute(later, ["volume"])["volume"].count == 5  # without I1
    longer = Filters(since=T0, until=T0 + DAY + dt.timedelta(microseconds=1))
    assert compute(longer, ["volume"])["volume"].count == 7  # with I7, reported at until
    before = Filters(since=T0 - DAY, until=T0)
    assert compute(before, ["volume"])["volume"].count == 1  # I6


def test_an_empty_period_answers_none_and_zero(day: Day) -> None:
    empty = Filters(since=T0 + 10 * DAY, until=T0 + 11 * DAY)
    got = compute(empty)
    for name in ("mttd", "mtta", "mttr_mitigate", "mttr_resolve", "mtbf"):
        assert got[name] == DurationStat(0, None, None, None), name
        assert got[name].as_json() == {
            "count": 0,
            "mean_seconds": None,
            "median_seconds": None,
            "p90_seconds": None,
        }
    assert got["volume"] == CountStat(0)
    assert got["sla_response"] == RateStat(0, 0, None)
    assert got["sla_response"].as_json() == {"count": 0, "total": 0, "rate": None}
    assert got["first_contact_resolution"] == RateStat(0, 0, None)
    assert volume_by_priority(empty) == []
    assert sla_by_priority(empty) == {}


def test_filters_by_each_dimension(day: Day) -> None:
    def volume(**kw: Any) -> int:
        return compute(dataclasses.replace(DAY_FILTERS, **kw), ["volume"])["volume"].count

    assert volume(service=day.mail.pk) == 3  # I1 I2 I4
    assert volume(service=day.web.pk) == 3  # I3 I8 I9
    assert volume(team=day.alpha.pk) == 3
    assert volume(team=day.beta.pk) == 3
    assert volume(priority=3) == 4  # I1 I2 I4 I9
    assert volume(priority=4) == 2  # I3 I8
    assert volume(priority=1) == 0
    assert volume(category=day.hardware.pk) == 2  # I1 I8
    assert volume(source="monitoring") == 1
    assert volume(source="phone") == 2  # I3 I9
    assert volume(service=day.web.pk, priority=3) == 1  # I9
    # a filtered duration: the two Hardware acknowledgements, 5 and 2 min
    hardware = dataclasses.replace(DAY_FILTERS, category=day.hardware.pk)
    assert duration("ack_s", hardware) == stat(2, 3.5 * MIN, 3.5 * MIN, 5 * MIN)
    # MTBF per service: Mail 1400, 5, 0; Web 0, 85
    mail = dataclasses.replace(DAY_FILTERS, service=day.mail.pk)
    assert compute(mail, ["mtbf"])["mtbf"] == stat(3, 1405 / 3 * MIN, 5 * MIN, 1400 * MIN)
    assert mtbf_by_service(DAY_FILTERS) == {
        day.mail.pk: stat(3, 1405 / 3 * MIN, 5 * MIN, 1400 * MIN),
        day.web.pk: stat(2, 42.5 * MIN, 42.5 * MIN, 85 * MIN),
    }


def test_volume_and_sla_by_priority(day: Day) -> None:
    assert volume_by_priority(DAY_FILTERS) == [
        {"day": dt.date(2026, 3, 2), "priority": 3, "count": 4},
        {"day": dt.date(2026, 3, 2), "priority": 4, "count": 2},
    ]
    two_days = Filters(since=T0 - DAY, until=T0 + DAY + dt.timedelta(hours=1))
    assert volume_by_priority(two_days) == [
        {"day": dt.date(2026, 3, 1), "priority": 3, "count": 1},  # I6
        {"day": dt.date(2026, 3, 2), "priority": 3, "count": 4},
        {"day": dt.date(2026, 3, 2), "priority": 4, "count": 2},
        {"day": dt.date(2026, 3, 3), "priority": 3, "count": 1},  # I7
    ]
    assert sla_by_priority(DAY_FILTERS) == {
        # P3: I1 I2 I4 I9 (I9 late); resolution I1 I2 I9 decided
        3: {"response": RateStat(3, 4, 0.75), "resolution": RateStat(3, 3, 1.0)},
        # P4: I3 breached while open, I8 met; resolution only I8
        4: {"response": RateStat(1, 2, 0.5), "resolution": RateStat(1, 1, 1.0)},
    }


def test_percentiles_median_of_two_and_nearest_rank(
    make_user: Callable[..., User],
) -> None:
    agent = make_user(Role.AGENT)
    # ten incidents acknowledged after 1, 2, …, 10 minutes (filed in a shuffled order)
    for k in (7, 3, 10, 1, 5, 9, 2, 8, 6, 4):
        incident = file(agent, m(k * 20))
        act(agent, incident, m(k * 20 + k), "acknowledge")
    facts.rebuild(at=T0 + DAY)
    # median: mean of the 5th and 6th (5.5 min); p90: rank ⌈0.9·10⌉ = 9 → 9 min
    assert duration("ack_s", DAY_FILTERS) == stat(10, 5.5 * MIN, 5.5 * MIN, 9 * MIN)
    one_more = file(agent, m(300))
    act(agent, one_more, m(311), "acknowledge")
    facts.rebuild(at=T0 + DAY)
    # eleven: median the 6th (6 min); p90 rank ⌈9.9⌉ = 10 → 10 min; mean 66/11
    assert duration("ack_s", DAY_FILTERS) == stat(11, 6 * MIN, 6 * MIN, 10 * MIN)


def test_on_hold_time_counts_for_mttr_but_not_for_the_sla(
    make_user: Callable[..., User],
) -> None:
    """A P3 (resolution target 72 h of working time, 24×7) held for 80 hours while the
    customer was away: resolved 80 h 40 min after it was reported, yet within its SLA:
    the SLA clock ran 40 minutes. The metric takes the SLA module's verdict."""
    agent = make_user(Role.AGENT)
    incident = file(agent, m(0))
    act(agent, incident, m(5), "acknowledge")
    act(agent, incident, m(10), "hold")
    act(agent, incident, m(10 + 80 * 60), "resume")
    act(agent, incident, m(40 + 80 * 60), "resolve")
    facts.rebuild(at=T0 + 5 * DAY)
    got = compute(DAY_FILTERS, ["mttr_resolve", "sla_resolution", "sla_response"])
    assert got["mttr_resolve"] == stat(1, 4840 * MIN, 4840 * MIN, 4840 * MIN)
    assert got["sla_resolution"] == RateStat(1, 1, 1.0)
    assert got["sla_response"] == RateStat(1, 1, 1.0)


def test_an_incident_on_hold_past_its_due_time_is_not_breached(
    make_user: Callable[..., User],
) -> None:
    """While the clock is paused nothing comes due: an open, held incident is undecided
    (not in the SLA totals), not breached."""
    agent = make_user(Role.AGENT)
    incident = file(agent, m(0))  # P3: response due in 2 h
    act(agent, incident, m(30), "hold")
    incident_mark_breaches(at=m(600))
    facts.rebuild(at=m(601))
    got = compute(DAY_FILTERS, ["sla_response", "sla_resolution", "mtta"])
    assert got["sla_response"] == RateStat(0, 0, None)
    assert got["sla_resolution"] == RateStat(0, 0, None)
    assert got["mtta"].count == 0


def test_negative_and_missing_times(make_user: Callable[..., User]) -> None:
    """A detection recorded before the impact started (a typo) counts as 0, not as a
    negative duration; no impact start leaves the incident out of MTTD."""
    agent = make_user(Role.AGENT)
    file(agent, m(10), impact_started_at=m(8), detected_at=m(2))  # detected before impact
    file(agent, m(20), detected_at=m(15))  # no impact start: not in MTTD
    file(agent, m(30), impact_started_at=m(27))  # no detection: reported − impact = 3
    facts.rebuild(at=m(60))
    assert duration("detect_s", DAY_FILTERS) == stat(2, 1.5 * MIN, 1.5 * MIN, 3 * MIN)


def test_learning_metrics(make_user: Callable[..., User]) -> None:
    """Postmortem completion, overdue action items, problems opened and known errors
    reused, for the period's incidents (A, B, C); D was reported the day before."""
    from tocsin.learning.models import (
        ActionItem,
        ActionItemStatus,
        Postmortem,
        Problem,
        ProblemIncident,
    )

    agent = make_user(Role.AGENT)
    mail = Service.objects.create(name="Mail")
    web = Service.objects.create(name="Web")
    a, b, c = (file(agent, m(k), service=mail) for k in (0, 1, 2))
    d = file(agent, T0 - DAY, service=mail)
    facts.rebuild(at=T0 + DAY)
    pm_a = Postmortem.objects.create(incident=a, title="A", completed_at=m(300))
    Postmortem.objects.create(incident=b, title="B")  # a draft
    pm_d = Postmortem.objects.create(incident=d, title="D", completed_at=m(300))
    ActionItem.objects.create(postmortem=pm_a, title="overdue", due_at=T0 + 2 * DAY)
    ActionItem.objects.create(
        postmortem=pm_a, title="no due date", status=ActionItemStatus.IN_PROGRESS
    )
    ActionItem.objects.create(
        postmortem=pm_a, title="done late", status=ActionItemStatus.DONE, due_at=T0
    )
    ActionItem.objects.create(incident=c, title="due later", due_at=T0 + 30 * DAY)
    ActionItem.objects.create(postmortem=pm_d, title="not this period", due_at=T0)
    known = Problem.objects.create(
        number=1, title="Queue fills", service=mail, created_at=m(10), known_error_at=m(15)
    )
    Problem.objects.create(number=2, title="Old", service=mail, created_at=T0 - 2 * DAY)
    other = Problem.objects.create(number=3, title="Web slow", service=web, created_at=m(20))
    ProblemIncident.objects.create(problem=known, incident=a, linked_at=m(30))  # reused
    ProblemIncident.objects.create(problem=known, incident=b, linked_at=m(12))  # before KE
    ProblemIncident.objects.create(problem=other, incident=c, linked_at=m(30))  # no KE
    with travel(T0 + 10 * DAY):
        got = compute(DAY_FILTERS)
    assert got["postmortem_completion"] == RateStat(1, 2, 0.5)
    # open items of A, B, C: "overdue" (due T0+2d, now T0+10d), "no due date", "due later"
    assert got["action_items_overdue"] == RateStat(1, 3, 1 / 3)
    assert got["problems_opened"] == CountStat(2)
    assert got["known_errors_reused"] == RateStat(1, 3, 1 / 3)
    web_only = dataclasses.replace(DAY_FILTERS, service=web.pk)
    assert compute(web_only, ["problems_opened"])["problems_opened"] == CountStat(1)


def test_an_incident_monitoring_resolved_before_anyone_acknowledged_has_no_mtta(
    make_user: Callable[..., User],
) -> None:
    """The resolve fills in acknowledged_at (the lifecycle's rule), but nobody responded:
    such an incident is left out of MTTA (PagerDuty counts acknowledged incidents only);
    its time to resolve counts."""
    from tocsin.incidents.services import incident_resolve

    agent = make_user(Role.AGENT)
    flapping = file(agent, m(0), source="monitoring")
    with travel(m(3)):
        incident_resolve(
            incident=flapping,
            actor=Actor.system("alerts"),
            resolution_code="auto-resolved",
            resolution_notes="Every alert resolved",
        )
    answered = file(agent, m(10), source="monitoring")
    act(agent, answered, m(12), "acknowledge")
    with travel(m(20)):
        incident_resolve(
            incident=answered,
            actor=Actor.system("alerts"),
            resolution_code="auto-resolved",
            resolution_notes="Every alert resolved",
        )
    facts.rebuild(at=m(30))
    got = compute(DAY_FILTERS, ["mtta", "mttr_resolve"])
    assert got["mtta"] == stat(1, 2 * MIN, 2 * MIN, 2 * MIN)  # only the acknowledged one
    assert got["mttr_resolve"] == stat(2, 6.5 * MIN, 6.5 * MIN, 10 * MIN)  # 3 and 10
