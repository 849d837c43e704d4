"""The fact table follows the incident record: `facts.refresh()` recomputes what changed
since the last refresh (with a three-minute overlap for late commits), and a history built
by many refreshes equals one `facts.rebuild()`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from tests.reports.helpers import DAY, T0, act, escalate, file, m, merge, mitigate
from tocsin.accounts.models import Role, Team, User
from tocsin.catalog.models import Service
from tocsin.core.actors import Actor
from tocsin.core.budget import turn
from tocsin.core.clock import travel
from tocsin.escalation.hierarchy import management_notify
from tocsin.incidents import services
from tocsin.incidents.models import EntryKind, Incident
from tocsin.incidents.timeline import timeline_append
from tocsin.reports import facts
from tocsin.reports.models import IncidentFact

pytestmark = pytest.mark.django_db

SECOND = dt.timedelta(seconds=1)


def fact(incident: Incident) -> IncidentFact | None:
    return IncidentFact.objects.filter(pk=incident.pk).first()


def table() -> dict[int, dict[str, Any]]:
    """Every fact row by incident id, without when it was computed."""
    return {
        row["incident_id"]: {k: v for k, v in row.items() if k != "refreshed_at"}
        for row in IncidentFact.objects.values()
    }


@pytest.fixture
def agent(make_user: Callable[..., User]) -> User:
    return make_user(Role.AGENT, username="agnes")


def test_a_change_shows_after_refresh(agent: User) -> None:
    incident = file(agent, m(0))
    facts.refresh(at=m(1))
    row = fact(incident)
    assert row is not None and row.ack_s is None and row.is_open
    assert facts.refreshed_to() == m(1)
    act(agent, incident, m(3), "acknowledge")
    assert fact(incident).ack_s is None  # type: ignore[union-attr]  # not yet refreshed
    facts.refresh(at=m(4))
    assert fact(incident).ack_s == 180  # type: ignore[union-attr]
    act(agent, incident, m(10), "resolve")
    facts.refresh(at=m(11))
    row = fact(incident)
    assert row is not None and row.resolve_s == 600 and row.resolved and not row.is_open
    act(agent, incident, m(20), "reopen")
    facts.refresh(at=m(21))
    row = fact(incident)
    assert row is not None and row.resolve_s is None and row.reopen_count == 1
    assert facts.refreshed_to() == m(21)


def test_a_timeline_only_change_shows_after_refresh(
    agent: User, make_user: Callable[..., User]
) -> None:
    """Notifying management writes a notice and a timeline entry, not the incident row."""
    boss = make_user(Role.MANAGER, username="maya")
    team = Team.objects.create(name="Beta", manager=boss)
    incident = file(agent, m(0), team=team)
    facts.refresh(at=m(1))
    assert not fact(incident).escalated_hierarchical  # type: ignore[union-attr]
    with travel(m(5)):
        management_notify(
            incident=incident, to="team_manager", reason="Down", actor=Actor.for_user(agent)
        )
    assert Incident.objects.get(pk=incident.pk).updated_at == m(0)  # the row did not change
    facts.refresh(at=m(6))
    assert fact(incident).escalated_hierarchical  # type: ignore[union-attr]


def test_the_overlap_catches_a_late_commit(agent: User) -> None:
    """A transaction stamps its rows when it writes, and commits later: a refresh between
    the two does not see them. The next refresh reads three minutes further back than its
    watermark, so a row stamped up to three minutes before the last refresh is found."""
    late = file(agent, m(0))
    early = file(agent, m(0))
    facts.refresh(at=m(10))
    # two transactions that wrote before the refresh at 10 and committed after it
    with travel(m(8) + SECOND):  # within the overlap
        timeline_append(
            incident=late, kind=EntryKind.ESCALATION, actor=Actor.system("test"), data={}
        )
        Incident.objects.filter(pk=late.pk).update(acknowledged_at=m(8))
    with travel(m(6)):  # four minutes before: outside it
        timeline_append(
            incident=early, kind=EntryKind.ESCALATION, actor=Actor.system("test"), data={}
        )
        Incident.objects.filter(pk=early.pk).update(acknowledged_at=m(6))
    assert facts.refresh(at=m(11)) == 1
    assert fact(late).ack_s == 480  # type: ignore[union-attr]
    assert fact(early).ack_s is None  # type: ignore[union-attr]  # missed: why OVERLAP exists
    facts.rebuild(at=m(12))
    assert fact(early).ack_s == 360  # type: ignore[union-attr]  # the rebuild repairs it


def test_a_merged_duplicate_leaves_the_table(agent: User, make_user: Callable[..., User]) -> None:
    boss = make_user(Role.MANAGER, username="maya")
    first = file(agent, m(0))
    second = file(agent, m(1))
    facts.refresh(at=m(2))
    assert fact(second) is not None
    merge(boss, second, first, m(3))
    facts.refresh(at=m(4))
    assert fact(second) is None
    assert fact(first) is not None


def test_gaps_follow_the_previous_incidents_recovery(agent: User) -> None:
    mail = Service.objects.create(name="Mail")
    first = file(agent, m(0), service=mail)
    facts.refresh(at=m(1))
    second = file(agent, m(30), service=mail)
    facts.refresh(at=m(31))
    assert fact(first).gap_s is None  # type: ignore[union-attr]  # the service's first
    assert fact(second).gap_s == 0  # type: ignore[union-attr]  # the first is still failing
    mitigate(agent, first, m(20 + 30))  # marked later: 50 min, after the second began
    facts.refresh(at=m(51))
    assert fact(second).gap_s == 0  # type: ignore[union-attr]
    act(agent, second, m(60), "resolve")
    third = file(agent, m(100), service=mail, impact_started_at=m(90))
    facts.refresh(at=m(101))
    assert fact(third).gap_s == 30 * 60  # type: ignore[union-attr]  # 90 − 60
    # the second moves to another service: the third's previous is now the first (50)
    with travel(m(110)):
        services.incident_update(
            incident=second, actor=Actor.for_user(agent), changes={"service": None}
        )
    facts.refresh(at=m(111))
    assert fact(third).gap_s == 40 * 60  # type: ignore[union-attr]  # 90 − 50
    assert fact(second).gap_s is None  # type: ignore[union-attr]


def test_refreshes_along_the_way_equal_one_rebuild(
    agent: User, make_user: Callable[..., User]
) -> None:
    boss = make_user(Role.MANAGER, username="maya")
    beta = Team.objects.create(name="Beta", manager=boss)
    mail = Service.objects.create(name="Mail")
    web = Service.objects.create(name="Web")
    inc: dict[str, Incident] = {}

    def at(minute: float, step: Callable[[], Any]) -> None:
        step()
        facts.refresh(at=m(minute) + SECOND)

    at(0, lambda: inc.__setitem__("a", file(agent, m(0), service=mail, impact_started_at=m(-5))))
    at(1, lambda: inc.__setitem__("b", file(agent, m(1), service=mail, team=beta)))
    at(2, lambda: act(agent, inc["a"], m(2), "acknowledge"))
    at(3, lambda: inc.__setitem__("c", file(agent, m(3), service=web, source="monitoring")))
    at(4, lambda: mitigate(agent, inc["a"], m(4)))
    at(5, lambda: merge(boss, inc["c"], inc["a"], m(5)))
    at(6, lambda: act(agent, inc["a"], m(6), "resolve"))
    at(7, lambda: act(agent, inc["a"], m(7), "reopen"))
    at(8, lambda: escalate(agent, inc["b"], m(8)))

    def notify() -> None:
        with travel(m(9)):
            management_notify(
                incident=inc["b"], to="team_manager", reason="x", actor=Actor.for_user(agent)
            )

    at(9, notify)
    at(10, lambda: inc.__setitem__("d", file(agent, m(10), service=mail)))
    at(11, lambda: act(agent, inc["a"], m(11), "resolve"))
    at(12, lambda: act(agent, inc["b"], m(12), "resolve"))
    refreshed = table()
    facts.rebuild(at=T0 + DAY)
    rebuilt = table()
    assert refreshed == rebuilt
    assert len(rebuilt) == 3  # a, b, d: c merged
    assert rebuilt[inc["a"].pk]["reopen_count"] == 1
    assert rebuilt[inc["b"].pk]["escalated_hierarchical"]
    assert rebuilt[inc["d"].pk]["gap_s"] == 0  # b on Mail recovered at 12, after d began


def test_the_rebuild_command(agent: User) -> None:
    from io import StringIO

    from django.core.management import call_command

    incident = file(agent, m(0))
    act(agent, incident, m(2), "acknowledge")
    out = StringIO()
    call_command("reports_rebuild", stdout=out)
    assert out.getvalue().startswith("1 incidents' facts recomputed")
    assert fact(incident).ack_s == 120  # type: ignore[union-attr]


def test_the_engine_builds_the_first_facts_a_batch_a_turn(
    agent: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new (or upgraded) installation: the worker's module builds the facts a few
    incidents a turn, then refreshes; the result is the same as one rebuild, and a change
    made while the first build was under way is not lost."""
    from tocsin.reports.engine import ReportFactsModule

    monkeypatch.setattr(facts, "BATCH", 2)
    mail = Service.objects.create(name="Mail")
    made = [file(agent, m(n), service=mail) for n in range(5)]
    module = ReportFactsModule()
    turns = [module.tick(m(10) + dt.timedelta(seconds=n)) for n in range(3)]
    assert turns == [1, 1, 1]  # 2 + 2 + 1 incidents, more to come each turn
    assert IncidentFact.objects.count() == 5
    assert facts.refreshed_to() is None  # not finished: no figures "as of" yet
    act(agent, made[0], m(10) + dt.timedelta(seconds=30), "acknowledge")  # meanwhile
    assert module.tick(m(11)) == 0  # nothing left: gaps filled, watermark set
    assert facts.refreshed_to() == m(10)  # when the first batch was built
    module.tick(m(12))  # an ordinary refresh picks up the acknowledgement
    built = table()
    facts.rebuild(m(13))
    assert built == table()
    assert fact(made[0]).ack_s == 600 + 30  # type: ignore[union-attr]


def test_the_engine_refreshes_a_busy_period_a_step_a_turn(agent: User) -> None:
    """Many incidents touched at once (a storm) are recomputed a few a turn, so the worker
    never stops for the whole; the watermark moves once the round is done, to when it
    began; an incident touched again after its step is found by the next round; the
    result equals one rebuild."""
    facts.refresh(at=m(1))  # the facts exist (the first build is done)
    made = [file(agent, m(2)) for _ in range(7)]
    refresher = facts.Refresher()
    at = m(3)
    assert refresher.step(at, limit=3)  # 3 of 7
    assert refresher.step(at + SECOND, limit=3)  # 6 of 7
    assert facts.refreshed_to() == m(1)  # not before the round is done
    act(agent, made[0], at + 2 * SECOND, "acknowledge")  # done already in this round
    assert not refresher.step(at + 3 * SECOND, limit=3)  # the 7th: the round is over
    assert facts.refreshed_to() == at
    assert all(fact(i) is not None for i in made)
    assert fact(made[0]).ack_s is None  # type: ignore[union-attr]  # its step came before
    assert not refresher.step(at + 10 * SECOND, limit=3)  # the next round finds it
    assert fact(made[0]).ack_s == 60 + 2  # type: ignore[union-attr]
    built = table()
    facts.rebuild(at + 20 * SECOND)
    assert built == table()


def test_the_first_build_stops_at_the_turns_budget_a_chunk_at_a_time(
    agent: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first build too goes STEP_CHUNK incidents a transaction and ends its step when
    the module's turn is spent; the next turns go on from there to the same facts."""
    from tocsin.reports.engine import ReportFactsModule

    monkeypatch.setattr(facts, "BATCH", 4)
    monkeypatch.setattr(facts, "STEP_CHUNK", 2)
    made = [file(agent, m(n)) for n in range(5)]
    module = ReportFactsModule()
    with turn(0.0):  # spent from the start: one chunk a turn
        assert module.tick(m(10)) == 1
    assert IncidentFact.objects.count() == 2
    assert facts.refreshed_to() is None
    while module.tick(m(11)):  # no limit: a BATCH a turn
        pass
    assert all(fact(i) is not None for i in made)
    assert facts.refreshed_to() is not None
    built = table()
    facts.rebuild(m(13))
    assert built == table()


def test_a_step_stops_at_the_turns_budget_a_chunk_at_a_time(
    agent: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A step builds STEP_CHUNK incidents a transaction and stops once the module's turn is
    spent, so the worker's other modules (escalation) are not held for a whole step; the
    rest comes in the next turns, and the round ends as one rebuild would."""
    monkeypatch.setattr(facts, "STEP_CHUNK", 2)
    facts.refresh(at=m(1))
    made = [file(agent, m(2)) for _ in range(5)]
    refresher = facts.Refresher()
    at = m(3)
    with turn(0.0):  # spent from the start: one chunk a turn
        assert refresher.step(at)
    assert sum(fact(i) is not None for i in made) == 2
    with turn(None):  # no limit: the rest of the round at once
        assert not refresher.step(at + SECOND)
    assert all(fact(i) is not None for i in made)
    assert facts.refreshed_to() == at
    built = table()
    facts.rebuild(at + 20 * SECOND)
    assert built == table()


def test_the_engine_reads_the_whole_overlap_once_a_minute(agent: User) -> None:
    """Most rounds read SHORT_OVERLAP back; a sweep every SWEEP_EVERY reads the whole
    OVERLAP, which finds a row that committed long after it was stamped."""
    incident = file(agent, m(0))
    facts.refresh(at=m(1))
    refresher = facts.Refresher()
    assert not refresher.step(m(2))  # a new worker's first round: a sweep
    with travel(m(2) - 40 * SECOND):  # stamped before that round, committed after it
        Incident.objects.filter(pk=incident.pk).update(acknowledged_at=m(1) + 20 * SECOND)
        timeline_append(
            incident=incident, kind=EntryKind.ESCALATION, actor=Actor.system("test"), data={}
        )
    assert not refresher.step(m(2) + 5 * SECOND)  # reads 15 s back: misses it
    assert fact(incident).ack_s is None  # type: ignore[union-attr]
    assert not refresher.step(m(3) + 5 * SECOND)  # a minute on: the sweep finds it
    assert fact(incident).ack_s == 80  # type: ignore[union-attr]
