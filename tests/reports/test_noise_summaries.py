"""Alert-noise day summaries (reports/alert_days.py, the noise columns of reports/summaries.py):
the noise report read from them equals the one read from the alerts, pages, answers and
facts, with known answers; edits to summarised days follow them; the day still going on is
read from the raw rows and summarised once it is over.

Six days around Monday 2 March 2026; the period [Fri 27 Feb 08:00, Tue 3 Mar 18:00) has
two partial days (read from the raw rows) and three whole ones (read from the summaries).
Mail's team is Alpha, Web's Beta; Prom and Graf are Mail's integrations, Hook is Web's.

inc  reported   service/team  alerts                      outcome
F    Fri 07:00  Mail/Alpha    Prom 2 HighLatency          resolved by the system (before the period)
A    Fri 09:00  Mail/Alpha    Prom 3 HighLatency (2 min)  resolved by the system after 3 min: quiet
B    Sat 10:00  Mail/Alpha    Prom 1 HighLatency (2 min)  resolved by the system after 40 min: quiet
                              Graf 2 DiskFull (30 min)
C    Sat 23:30  Web/Beta      Hook 4 "Pingdom check"      open; pat answered "not actionable"
D    Sun 12:00  Mail/Beta     Prom 1 HighLatency (2 min)  pat acknowledged and resolved; pat
                                                          answered "actionable", alice "not"
                                                          about its paging
E    Mon 08:00  Web/Beta      –                           filed and resolved by alice
G    Tue 12:00  Mail/Alpha    Prom 2 HighLatency (2 min)  resolved by the system after 3 min: quiet
H    Tue 19:00  Mail/Alpha    Prom 1 HighLatency          open (after the period)

Every incident but F and H paged pat once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
from collections.abc import Callable
from typing import Any

import pytest

from tests.reports.test_noise import make_alerts, make_integration, make_page
from tocsin.accounts.models import Role, Team, User
from tocsin.catalog.models import Integration, Service
from tocsin.core.actors import Actor
from tocsin.core.clock import travel
from tocsin.escalation import feedback
from tocsin.escalation.models import Page
from tocsin.incidents import services
from tocsin.incidents.models import Incident, ResolutionCode, Source
from tocsin.reports import facts, noise, summaries
from tocsin.reports.engine import ReportFactsModule
from tocsin.reports.metrics import Filters
from tocsin.reports.models import AlertDaySummary, DaySummary

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("auto-resolve")
FRI = dt.datetime(2026, 2, 27, tzinfo=dt.UTC)
PERIOD = Filters(since=FRI + dt.timedelta(hours=8), until=FRI + dt.timedelta(days=4, hours=18))
LATENCY = {"alertname": "HighLatency", "instance": "web-1"}
DISK = {"alertname": "DiskFull", "instance": "db-1"}


def at(day: int, hour: float) -> dt.datetime:
    return FRI + dt.timedelta(days=day, hours=hour)


@dataclasses.dataclass
class Noisy:
    pat: User
    alice: User
    mail: Service
    web: Service
    alpha: Team
    beta: Team
    prom: Integration
    graf: Integration
    hook: Integration
    inc: dict[str, Incident]
    pages: dict[str, Page]


def monitoring(when: dt.datetime, service: Service, team: Team) -> Incident:
    with travel(when):
        return services.incident_create(
            actor=SYSTEM, title="alert", service=service, team=team, source=Source.MONITORING
        )


def resolve(incident: Incident, when: dt.datetime, actor: Actor = SYSTEM) -> None:
    with travel(when):
        services.incident_resolve(
            incident=Incident.objects.get(pk=incident.pk),
            actor=actor,
            resolution_code=ResolutionCode.FIXED,
            resolution_notes="Alerts resolved.",
        )


def answer(person: User, when: dt.datetime, yes: bool, **about: Any) -> None:
    with travel(when):
        feedback.page_feedback_give(
            person=person, actor=Actor.for_user(person), actionable=yes, **about
        )


@pytest.fixture
def noisy(make_user: Callable[..., User]) -> Noisy:
    pat = make_user(Role.RESPONDER, username="pat")
    alice = make_user(Role.AGENT, username="alice")
    alpha, beta = Team.objects.create(name="Alpha"), Team.objects.create(name="Beta")
    mail, web = Service.objects.create(name="Mail"), Service.objects.create(name="Web")
    prom = make_integration(mail, "alertmanager", "Prom")
    graf = make_integration(mail, "grafana", "Graf")
    hook = make_integration(web, "webhook", "Hook")
    two = dt.timedelta(minutes=2)
    inc: dict[str, Incident] = {}
    pages: dict[str, Page] = {}

    inc["F"] = monitoring(at(0, 7), mail, alpha)
    make_alerts(inc["F"], prom, 2, summary="Latency", labels=LATENCY, lasts=two)
    resolve(inc["F"], at(0, 7.05))

    inc["A"] = monitoring(at(0, 9), mail, alpha)
    make_alerts(inc["A"], prom, 3, summary="Latency", labels=LATENCY, lasts=two)
    resolve(inc["A"], at(0, 9.05))

    inc["B"] = monitoring(at(1, 10), mail, alpha)
    make_alerts(inc["B"], prom, 1, summary="Latency", labels=LATENCY, lasts=two)
    make_alerts(inc["B"], graf, 2, summary="Disk", labels=DISK, lasts=dt.timedelta(minutes=30))
    resolve(inc["B"], at(1, 10 + 40 / 60))

    inc["C"] = monitoring(at(1, 23.5), web, beta)
    make_alerts(inc["C"], hook, 4, summary="Pingdom check", lasts=None)

    inc["D"] = monitoring(at(2, 12), mail, beta)
    make_alerts(inc["D"], prom, 1, summary="Latency", labels=LATENCY, lasts=two)
    with travel(at(2, 12.02)):
        services.incident_acknowledge(incident=inc["D"], actor=Actor.for_user(pat))
    resolve(inc["D"], at(2, 12.2), actor=Actor.for_user(pat))

    with travel(at(3, 8)):
        inc["E"] = services.incident_create(
            actor=Actor.for_user(alice), title="printer", service=web, team=beta, reporter=alice
        )
    resolve(inc["E"], at(3, 9), actor=Actor.for_user(alice))

    inc["G"] = monitoring(at(4, 12), mail, alpha)
    make_alerts(inc["G"], prom, 2, summary="Latency", labels=LATENCY, lasts=two)
    resolve(inc["G"], at(4, 12.05))

    inc["H"] = monitoring(at(4, 19), mail, alpha)
    make_alerts(inc["H"], prom, 1, summary="Latency", labels=LATENCY, lasts=None)

    for name in "ABCDEG":
        pages[name] = make_page(inc[name], pat)
    answer(pat, at(2, 0.2), False, page=pages["C"])
    answer(pat, at(2, 13), True, page=pages["D"])
    answer(alice, at(2, 13), False, incident=inc["D"])
    facts.rebuild(at=at(5, 0))  # Wednesday 00:00: summarised through Tuesday
    return Noisy(pat, alice, mail, web, alpha, beta, prom, graf, hook, inc, pages)


def from_raw(fn: Callable[[], Any]) -> Any:
    with summaries.facts_only():
        return fn()


def report(filters: Filters) -> dict[str, Any]:
    return noise.noise_report(filters).as_json()


def table(kind: str, filters: Filters) -> list[tuple[Any, ...]]:
    fn = noise.noisiest_integrations if kind == "integration" else noise.noisiest_names
    return [
        (
            r.name,
            r.service,
            r.alerts,
            r.incidents,
            r.incidents_without_action,
            r.resolved_by_itself,
            r.answered_yes,
            r.answered_no,
        )
        for r in fn(filters)
    ]


def rows() -> list[tuple[Any, ...]]:
    """Every alert-noise row and the noise columns of every day summary, in order."""
    fields = [f.name for f in AlertDaySummary._meta.concrete_fields if f.name != "id"]
    alert_rows = sorted(AlertDaySummary.objects.values_list(*fields), key=repr)
    noise_columns = ["day", "dim", "value", "priority", *summaries.NOISE_SUMS, "alerts_hist"]
    day_rows = sorted(DaySummary.objects.values_list(*noise_columns), key=repr)
    return alert_rows + day_rows


def test_the_report_reads_the_whole_days_from_the_summaries(noisy: Noisy) -> None:
    p = summaries.plan(PERIOD)
    assert p is not None and (p.first_day, p.end_day) == (dt.date(2026, 2, 28), dt.date(2026, 3, 3))
    sunday = dt.date(2026, 3, 1)
    AlertDaySummary.objects.filter(day=sunday, integration=noisy.prom).update(alerts=100)
    DaySummary.objects.filter(day=sunday, dim="all", priority=0).update(pages=100)
    assert noise.noisiest_integrations(PERIOD)[0].alerts == 100 + 6  # D's 1 replaced; A, B, G
    assert noise.pages_answered(PERIOD).total == 100 + 5
    assert from_raw(lambda: noise.noisiest_integrations(PERIOD))[0].alerts == 7
    assert from_raw(lambda: noise.pages_answered(PERIOD)).total == 6


def test_every_figure_from_the_summaries_equals_the_raw_rows(noisy: Noisy) -> None:
    got = report(PERIOD)
    assert got == from_raw(lambda: report(PERIOD))
    # the known answers: A, B, C, D, E, G
    assert got["alerts_per_incident"] == {
        "count": 5,  # A 3, B 3, C 4, D 1, G 2
        "mean_count": 2.6,
        "median_count": 3.0,
        "p90_count": 4.0,
    }
    assert got["pages_without_action"] == {"count": 3, "total": 5, "rate": 0.6}  # A, B, G
    assert got["pages_actionable"] == {"count": 1, "total": 3, "rate": pytest.approx(1 / 3)}
    assert got["pages_answered"] == {"count": 2, "total": 6, "rate": pytest.approx(1 / 3)}
    assert got["feedback"] == {"page_yes": 1, "page_no": 1, "incident_yes": 0, "incident_no": 1}
    assert table("integration", PERIOD) == [
        # name, service, alerts, incidents, without action, by itself, yes, no
        ("Prom", "Mail", 7, 4, 3, 6, 1, 1),
        ("Hook", "Web", 4, 1, 0, 0, 0, 1),
        ("Graf", "Mail", 2, 1, 1, 0, 0, 0),
    ]
    assert table("name", PERIOD) == [
        ("HighLatency", "Mail", 7, 4, 3, 6, 1, 1),
        ("Pingdom check", "Web", 4, 1, 0, 0, 0, 1),
        ("DiskFull", "Mail", 2, 1, 1, 0, 0, 0),
    ]
    mail = dataclasses.replace(PERIOD, service=noisy.mail.pk)  # A, B, D, G
    beta = dataclasses.replace(PERIOD, team=noisy.beta.pk)  # C, D (Mail's, Beta's) and E
    both = dataclasses.replace(PERIOD, service=noisy.mail.pk, team=noisy.alpha.pk)  # A, B, G
    for narrowed in (mail, beta, both, dataclasses.replace(PERIOD, priority=3)):
        assert report(narrowed) == from_raw(lambda f=narrowed: report(f)), narrowed  # type: ignore[misc]
    assert table("integration", beta) == [
        ("Hook", "Web", 4, 1, 0, 0, 0, 1),
        ("Prom", "Mail", 1, 1, 0, 0, 1, 1),
    ]
    assert table("integration", both) == [
        ("Prom", "Mail", 6, 3, 3, 6, 0, 0),
        ("Graf", "Mail", 2, 1, 1, 0, 0, 0),
    ]
    assert report(mail)["pages_without_action"] == {"count": 3, "total": 4, "rate": 0.75}
    assert [r.name for r in noise.noisiest_integrations(PERIOD, top=1)] == ["Prom"]
    # a year, and a period of whole days only
    year = Filters(since=dt.datetime(2025, 3, 1, tzinfo=dt.UTC), until=at(5, 0))
    assert report(year) == from_raw(lambda: report(year))
    assert report(year)["integrations"][0]["alerts"] == 2 + 7 + 1  # F and H too


def test_edits_to_summarised_days_follow_in_the_same_refresh(noisy: Noisy) -> None:
    """After the summaries were built: B (Saturday) moves to Web and alice reopens it
    (a person's action: it is no longer quiet), then the system resolves it again; alice
    answers "not actionable" about B's paging; E (Monday) gets a Prom alert that joins it.
    One refresh, and the summaries are those a whole rebuild gives."""
    inc, alice = noisy.inc, Actor.for_user(noisy.alice)
    with travel(at(5, 1)):
        services.incident_update(incident=inc["B"], actor=alice, changes={"service": noisy.web})
        services.incident_reopen(incident=Incident.objects.get(pk=inc["B"].pk), actor=alice)
    resolve(inc["B"], at(5, 1.5))
    answer(noisy.alice, at(5, 2), False, incident=inc["B"])
    with travel(at(5, 2)):
        make_alerts(inc["E"], noisy.prom, 1, summary="Latency", labels=LATENCY)
        services.incident_add_note(incident=inc["E"], actor=SYSTEM, text="An alert joined")
    facts.refresh(at=at(5, 3))
    kept = rows()
    assert table("integration", PERIOD) == [
        ("Prom", "Mail", 8, 5, 2, 5, 1, 2),  # A, B, D, E, G; quiet A, G; B's answer
        ("Hook", "Web", 4, 1, 0, 0, 0, 1),
        ("Graf", "Mail", 2, 1, 0, 0, 0, 1),
    ]
    web = dataclasses.replace(PERIOD, service=noisy.web.pk)  # B, C, E
    assert table("integration", web) == [
        ("Hook", "Web", 4, 1, 0, 0, 0, 1),
        ("Prom", "Mail", 2, 2, 0, 0, 0, 1),  # B's and E's (ties: by integration)
        ("Graf", "Mail", 2, 1, 0, 0, 0, 1),
    ]
    assert report(PERIOD)["pages_without_action"] == {"count": 2, "total": 5, "rate": 0.4}
    for filters in (PERIOD, web, dataclasses.replace(PERIOD, service=noisy.mail.pk)):
        assert report(filters) == from_raw(lambda f=filters: report(f))  # type: ignore[misc]
    summaries.rebuild_all(at(5, 3))
    assert rows() == kept


def test_the_day_still_going_on_is_read_from_the_alerts_and_summarised_once_over(
    noisy: Noisy,
) -> None:
    wed = dt.date(2026, 3, 4)
    late = monitoring(at(5, 9), noisy.mail, noisy.alpha)
    make_alerts(late, noisy.graf, 3, summary="Disk", labels=DISK)
    resolve(late, at(5, 9.05))
    module = ReportFactsModule()
    assert module.tick(at(5, 10)) == 0
    assert not AlertDaySummary.objects.filter(day=wed).exists()
    to_now = Filters(since=PERIOD.since, until=at(6, 0))
    with travel(at(5, 10)):
        got = report(to_now)
        assert got == from_raw(lambda: report(to_now))
        graf = next(r for r in got["integrations"] if r["name"] == "Graf")
        assert (graf["alerts"], graf["incidents"], graf["resolved_by_itself"]) == (5, 2, 3)
    assert module.tick(at(6, 0) + dt.timedelta(seconds=1)) == 0  # after midnight
    assert AlertDaySummary.objects.filter(day=wed, integration=noisy.graf).get().alerts == 3
    kept = rows()
    summaries.rebuild_all(at(6, 0) + dt.timedelta(seconds=1))
    assert rows() == kept


def test_the_upgrade_has_the_worker_build_the_summaries_again(noisy: Noisy) -> None:
    """reports/0006 asks for every summary again (they gained the noise figures); the
    worker builds them a month of days a turn, the report reading the raw rows meanwhile,
    with the same figures."""
    from django.apps import apps

    built = rows()
    before = report(PERIOD)
    migration = importlib.import_module("tocsin.reports.migrations.0006_alert_noise_day_summaries")
    migration.build_the_summaries_again(apps, None)
    AlertDaySummary.objects.all().delete()
    assert summaries.whole_days(PERIOD) is None
    assert report(PERIOD) == before
    module = ReportFactsModule()
    while module.tick(at(5, 1)):
        pass
    assert summaries.ready()
    assert rows() == built
    assert report(PERIOD) == before
