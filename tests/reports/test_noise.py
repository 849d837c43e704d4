"""Alert noise (issue 13, point 2): the figures on a hand-built data set with known
answers, the page, the CSV, the metrics in GET /api/v1/metrics, and who may see them."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tocsin.accounts.models import Role, User
from tocsin.alerts.models import Alert, AlertStatus
from tocsin.catalog.models import Integration, Service
from tocsin.core.actors import Actor
from tocsin.core.clock import now, travel
from tocsin.escalation import feedback
from tocsin.escalation.models import ClimbState, Escalation, Page
from tocsin.incidents import services as incident_services
from tocsin.incidents.models import Incident, Source
from tocsin.reports import facts, noise
from tocsin.reports.metrics import Filters, compute

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("auto-resolve")
_keys = itertools.count(1)


def make_integration(service: Service, kind: str, name: str) -> Integration:
    n = next(_keys)
    return Integration.objects.create(
        service=service,
        kind=kind,
        name=name,
        key_hash=f"{n:064d}",
        key_prefix=f"k{n}",
        created_at=now(),
    )


def make_alerts(
    incident: Incident,
    integration: Integration,
    count: int,
    *,
    summary: str,
    labels: dict[str, str] | None = None,
    lasts: dt.timedelta | None = dt.timedelta(minutes=2),
) -> None:
    at = incident.reported_at
    for _ in range(count):
        n = next(_keys)
        Alert.objects.create(
            integration=integration,
            service=integration.service,
            dedup_key=f"d{n}",
            summary=summary,
            labels=labels or {},
            started_at=at,
            first_seen_at=at,
            last_seen_at=at,
            status=AlertStatus.RESOLVED if lasts is not None else AlertStatus.TRIGGERED,
            resolved_at=at + lasts if lasts is not None else None,
            incident=incident,
        )


def make_page(incident: Incident, person: User) -> Page:
    climb = Escalation.objects.create(incident=incident, state=ClimbState.RESOLVED)
    return Page.objects.create(
        escalation=climb, incident=incident, person=person, step=1, level=0, cycle=0
    )


def incident_at(
    at: dt.datetime, reporter: User, service: Service, title: str, source: str = Source.MONITORING
) -> Incident:
    with travel(at):
        return (
            incident_services.incident_create(
                actor=SYSTEM, title=title, service=service, source=source, reporter=None
            )
            if source == Source.MONITORING
            else incident_services.incident_create(
                actor=Actor.for_user(reporter), title=title, service=service, reporter=reporter
            )
        )


def resolve(incident: Incident, at: dt.datetime, actor: Actor = SYSTEM) -> None:
    with travel(at):
        incident_services.incident_resolve(
            incident=Incident.objects.get(pk=incident.pk),
            actor=actor,
            resolution_code="fixed",
            resolution_notes="Alerts resolved.",
        )


@pytest.fixture
def noisy(make_user: Callable[..., User]) -> dict[str, Any]:
    """Five incidents two days ago on Checkout (see the module's docstring for the sums).

    inc1: 3 HighLatency alerts (Prom), resolved by the system, nobody acted; paged pat
          and quinn.
    inc2: 1 HighLatency alert (Prom), resolved by the system; pat answered "no" BEFORE it
          was resolved (an answer is not an action); paged pat.
    inc3: 1 HighLatency alert (Prom), acknowledged by pat, then resolved; paged pat.
    inc4: 5 "Pingdom check" alerts (Pingdom), still open; paged pat.
    inc5: reported by a person, no alerts, resolved by quinn; paged quinn.
    """
    pat = make_user(Role.RESPONDER, username="pat", name="Pat")
    quinn = make_user(Role.RESPONDER, username="quinn", name="Quinn")
    alice = make_user(Role.AGENT, username="alice", name="Alice")
    rita = make_user(Role.REPORTER, username="rita")
    checkout = Service.objects.create(name="Checkout")
    other = Service.objects.create(name="Billing")
    prom = make_integration(checkout, "alertmanager", "Prom prod")
    pingdom = make_integration(checkout, "webhook", "Pingdom")
    t0 = now() - dt.timedelta(days=2)
    latency = {"alertname": "HighLatency", "instance": "web-1"}

    inc1 = incident_at(t0, rita, checkout, "latency 1")
    make_alerts(inc1, prom, 3, summary="Latency above 2 s", labels=latency)
    p1a, p1b = make_page(inc1, pat), make_page(inc1, quinn)
    resolve(inc1, t0 + dt.timedelta(minutes=3))

    inc2 = incident_at(t0 + dt.timedelta(hours=1), rita, checkout, "latency 2")
    make_alerts(inc2, prom, 1, summary="Latency above 2 s", labels=latency)
    p2 = make_page(inc2, pat)
    with travel(t0 + dt.timedelta(hours=1, minutes=1)):
        feedback.page_feedback_give(
            person=pat, actor=Actor.for_user(pat), actionable=False, note="flaps", page=p2
        )
    resolve(inc2, t0 + dt.timedelta(hours=1, minutes=4))

    inc3 = incident_at(t0 + dt.timedelta(hours=2), rita, checkout, "latency 3")
    make_alerts(inc3, prom, 1, summary="Latency above 2 s", labels=latency)
    p3 = make_page(inc3, pat)
    with travel(t0 + dt.timedelta(hours=2, minutes=1)):
        incident_services.incident_acknowledge(incident=inc3, actor=Actor.for_user(pat))
    resolve(inc3, t0 + dt.timedelta(hours=2, minutes=4))

    inc4 = incident_at(t0 + dt.timedelta(hours=3), rita, checkout, "pingdom")
    make_alerts(inc4, pingdom, 5, summary="Pingdom check", lasts=None)
    p4 = make_page(inc4, pat)

    inc5 = incident_at(t0 + dt.timedelta(hours=4), rita, checkout, "printer", source=Source.PORTAL)
    p5 = make_page(inc5, quinn)
    resolve(inc5, t0 + dt.timedelta(hours=5), actor=Actor.for_user(quinn))

    later = t0 + dt.timedelta(days=1)
    with travel(later):
        feedback.page_feedback_give(
            person=pat, actor=Actor.for_user(pat), actionable=False, page=p1a
        )
        feedback.page_feedback_give(person=pat, actor=Actor.for_user(pat), actionable=True, page=p3)
        feedback.page_feedback_give(
            person=alice, actor=Actor.for_user(alice), actionable=False, incident=inc1
        )
    facts.rebuild()
    return {
        "pat": pat,
        "quinn": quinn,
        "alice": alice,
        "rita": rita,
        "checkout": checkout,
        "other": other,
        "prom": prom,
        "pingdom": pingdom,
        "incidents": [inc1, inc2, inc3, inc4, inc5],
        "pages": [p1a, p1b, p2, p3, p4, p5],
    }


def test_alerts_per_incident(noisy: dict[str, Any]) -> None:
    stat = noise.alerts_per_incident(Filters.last())
    # incidents with alerts: 3, 1, 1, 5 alerts
    assert stat.count == 4
    assert stat.mean_count == 2.5
    assert stat.median_count == 2.0  # (1 + 3) / 2
    assert stat.p90_count == 5.0  # rank ceil(3.6) = 4
    assert stat.as_json() == {"count": 4, "mean_count": 2.5, "median_count": 2.0, "p90_count": 5.0}


def test_quiet_incidents_and_pages_without_action(noisy: dict[str, Any]) -> None:
    inc1, inc2 = noisy["incidents"][:2]
    quiet = set(noise.quiet_incidents(Filters.last()).values_list("incident_id", flat=True))
    # inc2 had an answer before its resolution: answering is not acting
    assert quiet == {inc1.pk, inc2.pk}
    stat = noise.pages_without_action(Filters.last())
    # pages of ended incidents: inc1 ×2, inc2, inc3, inc5; of quiet ones: inc1 ×2, inc2
    assert (stat.count, stat.total, stat.rate) == (3, 5, 0.6)


def test_feedback_rates(noisy: dict[str, Any]) -> None:
    filters = Filters.last()
    actionable = noise.pages_actionable(filters)
    assert (actionable.count, actionable.total, actionable.rate) == (1, 4, 0.25)
    answered = noise.pages_answered(filters)
    assert (answered.count, answered.total, answered.rate) == (3, 6, 0.5)
    split = noise.feedback_split(filters)
    assert (split.page_yes, split.page_no, split.incident_yes, split.incident_no) == (1, 2, 0, 1)


def test_noisiest_integrations_and_names(noisy: dict[str, Any]) -> None:
    filters = Filters.last()
    rows = noise.noisiest_integrations(filters)
    assert [(r.name, r.alerts, r.incidents, r.incidents_without_action) for r in rows] == [
        ("Prom prod", 5, 3, 2),
        ("Pingdom", 5, 1, 0),
    ]
    prom = rows[0]
    assert prom.resolved_by_itself == 4  # inc1's 3 and inc2's 1, each within 2 minutes
    assert (prom.answered_yes, prom.answered_no) == (1, 3)
    assert prom.service == "Checkout"
    names = noise.noisiest_names(filters)
    assert [(r.name, r.alerts, r.incidents, r.incidents_without_action) for r in names] == [
        ("HighLatency", 5, 3, 2),
        ("Pingdom check", 5, 1, 0),
    ]
    assert (names[0].answered_yes, names[0].answered_no) == (1, 3)
    assert noise.noisiest_names(filters, top=1)[0].name == "HighLatency"


def test_suggestions_silence_the_flapping_alert(noisy: dict[str, Any]) -> None:
    report = noise.noise_report(Filters.last())
    kinds = [(s.kind, s.title) for s in report.suggestions]
    assert ("silence", "Silence “HighLatency” or raise its threshold") in kinds
    silence = next(s for s in report.suggestions if s.kind == "silence")
    assert silence.url == f"/services/{noisy['checkout'].pk}/#h-silences"
    assert "fired 5 times; 4 of them resolved by themselves" in silence.why


def test_suggestion_to_group_one_alert_incidents(make_user: Callable[..., User]) -> None:
    rita = make_user(Role.REPORTER)
    service = Service.objects.create(name="Search")
    grafana = make_integration(service, "grafana", "Grafana")
    t0 = now() - dt.timedelta(days=3)
    for i in range(6):
        incident = incident_at(t0 + dt.timedelta(minutes=i), rita, service, f"node {i}")
        make_alerts(
            incident,
            grafana,
            1,
            summary=f"Node {i} down",
            labels={"cluster": "eu", "instance": f"node-{i}"},
            lasts=dt.timedelta(hours=1),
        )
    facts.rebuild()
    report = noise.noise_report(Filters.last())
    group = [s for s in report.suggestions if s.kind == "group"]
    assert len(group) == 1
    assert group[0].title == "Group Grafana alerts by the label “cluster”"
    assert group[0].url == f"/services/{service.pk}/#panel-settings"


def test_bursts_are_counted_per_integration(make_user: Callable[..., User]) -> None:
    """The burst check runs over several integrations at once: each one's alerts are
    compared with its own previous alert only. Grafana opens an incident every 30 minutes
    for five hours (bursts); the webhook's incidents come every 65 minutes among them, then
    days apart: none within an hour of its own previous one, so no grouping for it."""
    rita = make_user(Role.REPORTER)
    search, backup = Service.objects.create(name="Search"), Service.objects.create(name="Backup")
    grafana = make_integration(search, "grafana", "Grafana")
    hook = make_integration(backup, "webhook", "Hook")
    t0 = now() - dt.timedelta(days=5)
    for i in range(11):
        incident = incident_at(t0 + dt.timedelta(minutes=30 * i), rita, search, f"node {i}")
        make_alerts(incident, grafana, 1, summary=f"Node {i} down", labels={"cluster": "eu"})
    for at in [t0 + dt.timedelta(minutes=65 * i) for i in (1, 2, 3)] + [
        t0 + dt.timedelta(days=d) for d in (1, 2)
    ]:
        incident = incident_at(at, rita, backup, "backup")
        make_alerts(incident, hook, 1, summary="Backup late", labels={"cluster": "eu"})
    facts.rebuild()
    filters = Filters.last()
    assert noise.burst_counts(filters, [grafana.pk, hook.pk]) == {grafana.pk: 10, hook.pk: 0}
    report = noise.noise_report(filters)
    assert [(s.kind, s.title) for s in report.suggestions] == [
        ("group", "Group Grafana alerts by the label “cluster”")
    ]


def test_grouping_checks_read_the_last_30_days_of_a_long_period(
    make_user: Callable[..., User],
) -> None:
    """Over a long period the bursts and labels are read from its last 30 days (a cost
    bounded like a month's, and what the integration does now): bursts 50 days ago
    suggest nothing over the last 90 days, but do over a period that ends 40 days ago;
    recent bursts over 90 days say which days they were counted in."""
    rita = make_user(Role.REPORTER)
    search, backup = Service.objects.create(name="Search"), Service.objects.create(name="Backup")
    old = make_integration(search, "grafana", "Grafana")
    recent = make_integration(backup, "webhook", "Hook")
    for integration, service, days_ago in ((old, search, 50), (recent, backup, 3)):
        t0 = now() - dt.timedelta(days=days_ago)
        for i in range(6):
            incident = incident_at(t0 + dt.timedelta(minutes=10 * i), rita, service, f"n{i}")
            make_alerts(incident, integration, 1, summary=f"Node {i}", labels={"cluster": "eu"})
    facts.rebuild()

    last_90 = [s for s in noise.noise_report(Filters.last(90)).suggestions if s.kind == "group"]
    assert [s.title for s in last_90] == ["Group Hook alerts by the label “cluster”"]
    assert last_90[0].why == (
        "6 incidents from 6 alerts; 5 of its incidents in the period's last 30 days opened "
        "within 60 minutes of another one: one page each where one would do."
    )
    ended = Filters(since=now() - dt.timedelta(days=90), until=now() - dt.timedelta(days=40))
    earlier = [s for s in noise.noise_report(ended).suggestions if s.kind == "group"]
    assert [s.title for s in earlier] == ["Group Grafana alerts by the label “cluster”"]
    last_30 = [s for s in noise.noise_report(Filters.last(30)).suggestions if s.kind == "group"]
    assert last_30[0].why.startswith("6 incidents from 6 alerts; 5 of them opened within")


def test_filters_narrow_every_figure(noisy: dict[str, Any]) -> None:
    billing = Filters.last(service=noisy["other"].pk)
    assert noise.alerts_per_incident(billing).count == 0
    assert noise.pages_without_action(billing).total == 0
    assert noise.noisiest_integrations(billing) == []
    long_ago = Filters(since=now() - dt.timedelta(days=90), until=now() - dt.timedelta(days=60))
    assert noise.noise_report(long_ago).as_json()["pages_actionable"]["total"] == 0


def test_metrics_api_answers_the_noise_metrics(noisy: dict[str, Any], api: Any) -> None:
    response = api(noisy["alice"]).get(
        "/api/v1/metrics",
        {"metric": ["alerts_per_incident", "pages_without_action", "pages_actionable"]},
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["alerts_per_incident"] == {
        "count": 4,
        "mean_count": 2.5,
        "median_count": 2.0,
        "p90_count": 5.0,
    }
    assert data["pages_without_action"] == {"count": 3, "total": 5, "rate": 0.6}
    assert data["pages_actionable"] == {"count": 1, "total": 4, "rate": 0.25}
    assert "pages_answered" in compute(Filters.last(), ["pages_answered"])


# --- the page ---------------------------------------------------------------------------------


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_page_shows_tables_and_suggestions(noisy: dict[str, Any]) -> None:
    response = _client(noisy["alice"]).get("/reports/noise/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Noisiest integrations" in html and "Prom prod" in html and "HighLatency" in html
    assert "Silence “HighLatency” or raise its threshold" in html
    assert f'href="/services/{noisy["checkout"].pk}/#h-silences"' in html
    assert "60 %" in html  # pages without human action


def test_page_filters_and_bad_input(noisy: dict[str, Any]) -> None:
    client = _client(noisy["alice"])
    narrowed = client.get("/reports/noise/", {"service": noisy["other"].pk})
    assert narrowed.status_code == 200
    assert "Prom prod" not in narrowed.content.decode()
    for params, words in (
        ({"since": "yesterday"}, "From must be a date"),
        ({"since": "2026-12-05", "to": "2026-12-01"}, "must be before"),
        ({"service": "abc"}, "Service must be an id"),
        ({"team": "999999"}, "No team has id 999999"),
    ):
        response = client.get("/reports/noise/", params)
        assert response.status_code == 422, params
        assert words in response.content.decode(), (params, response.content.decode()[:200])
    assert client.get("/reports/noise/", {"format": "xml"}).status_code == 422


def test_csv_export(noisy: dict[str, Any]) -> None:
    response = _client(noisy["alice"]).get("/reports/noise/", {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:5] == ["table", "name", "service", "alerts", "incidents"]
    assert ["integration", "Prom prod", "Checkout", "5", "3", "1.67", "2", "4", "1", "3"] in rows
    assert ["alert_name", "HighLatency", "Checkout", "5", "3", "1.67", "2", "4", "1", "3"] in rows
    data = _client(noisy["alice"]).get("/reports/noise/", {"format": "json"}).json()
    assert data["pages_without_action"] == {"count": 3, "total": 5, "rate": 0.6}
    assert data["integrations"][0]["name"] == "Prom prod"
    assert data["suggestions"][0]["kind"] == "silence"


def test_csv_cells_cannot_be_formulas(make_user: Callable[..., User]) -> None:
    rita = make_user(Role.REPORTER)
    admin = make_user(Role.ADMIN)
    service = Service.objects.create(name="Formula")
    hook = make_integration(service, "webhook", "Hook")
    incident = incident_at(now() - dt.timedelta(hours=5), rita, service, "x")
    make_alerts(incident, hook, 1, summary='=HYPERLINK("http://x")')
    facts.rebuild()
    text = _client(admin).get("/reports/noise/", {"format": "csv"}).content.decode()
    assert "'=HYPERLINK" in text


def test_who_may_see_the_page(noisy: dict[str, Any], make_user: Callable[..., User]) -> None:
    assert _client(noisy["rita"]).get("/reports/noise/").status_code == 404
    assert _client(noisy["rita"]).get("/reports/noise/", {"format": "csv"}).status_code == 404
    assert Client().get("/reports/noise/").status_code == 302  # to the sign-in
    for role in (Role.AGENT, Role.RESPONDER, Role.MANAGER, Role.ADMIN):
        assert _client(make_user(role)).get("/reports/noise/").status_code == 200, role


def test_page_is_read_only(noisy: dict[str, Any]) -> None:
    client = _client(noisy["alice"])
    assert client.post("/reports/noise/").status_code == 405
    before = (
        Page.objects.count(),
        feedback.PageFeedback.objects.count(),
        Incident.objects.count(),
    )
    client.get("/reports/noise/")
    client.get("/reports/noise/", {"format": "csv"})
    assert before == (
        Page.objects.count(),
        feedback.PageFeedback.objects.count(),
        Incident.objects.count(),
    )


def test_user_text_is_escaped(make_user: Callable[..., User]) -> None:
    rita = make_user(Role.REPORTER)
    admin = make_user(Role.ADMIN)
    service = Service.objects.create(name="<b>svc</b>")
    hook = make_integration(service, "webhook", "<script>x</script>")
    incident = incident_at(now() - dt.timedelta(hours=5), rita, service, "x")
    make_alerts(incident, hook, 1, summary="<img src=x onerror=alert(1)>")
    facts.rebuild()
    html = _client(admin).get("/reports/noise/").content.decode()
    assert "<script>x</script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert "<img src=x" not in html and "<b>svc</b>" not in html


def test_suggestions_quiet_integration_and_not_actionable(make_user: Callable[..., User]) -> None:
    """Five incidents days apart (no grouping would merge them), each alert open 30
    minutes, resolved by the system: "needed nobody"; two "not actionable" answers on
    the alert name: "stop paging"."""
    rita = make_user(Role.REPORTER)
    pat = make_user(Role.RESPONDER, username="pat")
    service = Service.objects.create(name="Backups")
    hook = make_integration(service, "webhook", "Backup checks")
    t0 = now() - dt.timedelta(days=10)
    for day in range(5):
        at = t0 + dt.timedelta(days=day)
        incident = incident_at(at, rita, service, f"backup {day}")
        make_alerts(incident, hook, 1, summary="Backup slow", lasts=dt.timedelta(minutes=30))
        page = make_page(incident, pat)
        resolve(incident, at + dt.timedelta(minutes=30))
        if day < 2:
            with travel(at + dt.timedelta(hours=2)):
                feedback.page_feedback_give(
                    person=pat, actor=Actor.for_user(pat), actionable=False, page=page
                )
    facts.rebuild()
    report = noise.noise_report(Filters.last())
    assert [(s.kind, s.title) for s in report.suggestions] == [
        ("not_actionable", "Stop paging for “Backup slow”"),
        ("quiet", "Most Backup checks incidents needed nobody"),
    ]
    assert "5 of 5 incidents ended without anyone acting" in report.suggestions[1].why
    assert report.suggestions[1].url == f"/services/{service.pk}/#panel-settings"
