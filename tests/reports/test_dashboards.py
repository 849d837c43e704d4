"""The reports pages (issue 13, dashboards): who may see them, bad filter input, the
drill-down lists exactly the incidents behind each number, the exports and the charts.

A small hand-built data set: five incidents in the last days, one in the previous
period, with known acknowledgement times, escalations and SLA outcomes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from tocsin.accounts.models import Role, Team, User
from tocsin.accounts.services import team_create
from tocsin.catalog.models import Service
from tocsin.catalog.services import service_create
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.incidents.models import Incident, Source, Status
from tocsin.reports import facts
from tocsin.reports.metrics import compute
from tocsin.reports.selectors import parse_filters

SYSTEM = Actor.system("test setup")
HOUR = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)


@dataclass
class Data:
    admin: User
    agent: User
    manager: User
    reporter: User
    team: Team
    other_team: Team
    service: Service
    incidents: dict[str, Incident]


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _set(incident: Incident, **fields: Any) -> None:
    Incident.objects.filter(pk=incident.pk).update(**fields)


@pytest.fixture
def data(make_user: Callable[..., User], make_incident: Callable[..., Incident]) -> Data:
    admin = make_user(Role.ADMIN, username="ada")
    agent = make_user(Role.AGENT, username="alice")
    manager = make_user(Role.MANAGER, username="maya")
    reporter = make_user(Role.REPORTER, username="rita")
    team = team_create(name="Payments", manager=manager, members=[agent], actor=SYSTEM)
    other = team_create(name="<b>Network</b>", actor=SYSTEM)
    service = service_create(name="Checkout", team=team, actor=SYSTEM)
    at = now()
    made: dict[str, Incident] = {}

    def incident(key: str, reported: dt.datetime, **kw: Any) -> Incident:
        made[key] = make_incident(
            admin,
            title=kw.pop("title", f"Incident {key}"),
            reported_at=reported,
            priority_reason="test data",
            **kw,
        )
        return made[key]

    # a: P1, Payments, acknowledged after 10 min, resolved after 2 h, response met
    a = incident("a", at - 2 * 24 * HOUR, team=team, service=service, priority=1)
    _set(
        a,
        acknowledged_at=a.reported_at + 10 * MINUTE,
        resolved_at=a.reported_at + 2 * HOUR,
        status=Status.RESOLVED,
        response_met_at=a.reported_at + 10 * MINUTE,
        resolution_met_at=a.reported_at + 2 * HOUR,
    )
    # b: P2, Payments, acknowledged after 30 min, escalated, response breached
    b = incident("b", at - 3 * 24 * HOUR, team=team, service=service, priority=2)
    _set(
        b,
        acknowledged_at=b.reported_at + 30 * MINUTE,
        status=Status.IN_PROGRESS,
        escalated_at=b.reported_at + HOUR,
        response_breached_at=b.reported_at + 20 * MINUTE,
    )
    # c: P2, the other team, never acknowledged, escalated, response breached
    c = incident(
        "c",
        at - 4 * 24 * HOUR,
        team=other,
        priority=2,
        title='=HYPERLINK("http://example.invalid")',
    )
    _set(c, escalated_at=c.reported_at + HOUR, response_breached_at=c.reported_at + HOUR)
    # d: P3, no team, from monitoring, acknowledged after 5 min, response met
    d = incident("d", at - 5 * 24 * HOUR, priority=3, source=Source.MONITORING)
    _set(
        d,
        acknowledged_at=d.reported_at + 5 * MINUTE,
        response_met_at=d.reported_at + 5 * MINUTE,
    )
    # e: P4, Payments, still new
    incident("e", at - 6 * 24 * HOUR, team=team, service=service, priority=4)
    # o: the previous period (40 days ago), Payments, acknowledged after 1 h
    old = incident("o", at - 40 * 24 * HOUR, team=team, service=service, priority=1)
    _set(old, acknowledged_at=old.reported_at + HOUR)
    facts.rebuild()
    return Data(admin, agent, manager, reporter, team, other, service, made)


def _refs(response: Any) -> set[str]:
    return set(re.findall(r'class="ref" href="/incidents/[^"]+">(INC-\d+)<', response.text))


def _ref(data: Data, *keys: str) -> set[str]:
    return {data.incidents[k].ref for k in keys}


def _urls(data: Data) -> list[str]:
    return [
        "/reports/",
        "/reports/teams/",
        f"/reports/teams/{data.team.pk}/",
        "/reports/incidents/?metric=volume",
        "/reports/incidents.csv?metric=volume",
        "/reports/export.csv",
        "/reports/export.json",
        "/reports/charts/volume.svg",
        "/reports/charts/ack.svg",
        "/reports/charts/recovery.svg",
        "/reports/charts/sla.svg",
    ]


# --- access -----------------------------------------------------------------------------


def test_a_reporter_gets_404_on_every_reports_url(data: Data) -> None:
    client = _client(data.reporter)
    for url in _urls(data):
        assert client.get(url).status_code == 404, url


def test_someone_signed_out_is_sent_to_sign_in(data: Data) -> None:
    for url in _urls(data):
        response = Client().get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("who", ["agent", "manager", "admin"])
def test_staff_see_every_reports_page(data: Data, who: str) -> None:
    client = _client(getattr(data, who))
    for url in _urls(data):
        assert client.get(url).status_code == 200, url


def test_the_team_pages_list_every_team_the_managers_own_first(data: Data) -> None:
    page = _client(data.manager).get("/reports/teams/").text
    assert page.index("Payments") < page.index("&lt;b&gt;Network&lt;/b&gt;")
    assert "your team" in page
    assert "<b>Network</b>" not in page  # a team's name is text
    # any staff member may open any team's page (they see every incident)
    other = _client(data.agent).get(f"/reports/teams/{data.other_team.pk}/")
    assert other.status_code == 200
    assert _client(data.agent).get("/reports/teams/99999/").status_code == 404


def test_a_team_page_shows_the_teams_own_numbers(data: Data) -> None:
    page = _client(data.manager).get(f"/reports/teams/{data.team.pk}/")
    # a, b and e of Payments in the last 30 days (the volume tile leads to exactly them)
    link = re.search(r'id="kpi-volume".*?<a href="([^"]+)"', page.text, re.S)
    assert link is not None
    listed = _client(data.manager).get(link.group(1).replace("&amp;", "&"))
    assert _refs(listed) == _ref(data, "a", "b", "e")


def test_reports_pages_change_nothing_and_answer_only_get(data: Data) -> None:
    client = _client(data.admin)
    assert client.post("/reports/").status_code == 405
    assert client.post("/reports/export.csv").status_code == 405


# --- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "word"),
    [
        ("priority=9", "Priority"),
        ("period=forever", "Period"),
        ("period=custom", "first day"),
        ("period=custom&since=2026-05-02&until=2026-05-01", "before"),
        ("period=custom&since=1900-01-01&until=2026-01-01", "ten years"),
        ("period=custom&since=not-a-date", "valid date"),
        ("service=abc", "Service"),
        ("service=99999", "Service"),
        ("team=x", "Team"),
        ("source=fax", "Source"),
        ("category=1%27%20OR%201=1", "Category"),
    ],
)
def test_bad_filters_get_a_message_never_a_500(data: Data, query: str, word: str) -> None:
    client = _client(data.admin)
    page = client.get(f"/reports/?{query}")
    assert page.status_code == 400
    assert word in page.text
    assert 'role="alert"' in page.text
    for url in ("/reports/incidents/?metric=volume&", "/reports/export.json?"):
        assert client.get(url + query).status_code == 422, url + query
    for url in ("/reports/export.csv?", "/reports/charts/volume.svg?"):
        response = client.get(url + query)
        assert response.status_code == 422
        assert word in response.text


@pytest.mark.parametrize(
    "query", ["metric=nope", "metric=", "metric=volume&part=weird", "metric=volume&part=rest"]
)
def test_a_bad_drill_down_names_the_problem(data: Data, query: str) -> None:
    page = _client(data.admin).get(f"/reports/incidents/?{query}")
    assert page.status_code == 422
    assert "cannot be listed" in page.text
    csv_reply = _client(data.admin).get(f"/reports/incidents.csv?{query}")
    assert csv_reply.status_code == 422


def test_an_unknown_chart_is_404(data: Data) -> None:
    assert _client(data.admin).get("/reports/charts/pie.svg").status_code == 404


# --- drill-down -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "keys"),
    [
        ("metric=volume", "abcde"),
        ("metric=mtta", "abd"),  # acknowledged: the duration is known
        ("metric=open", "bcde"),
        ("metric=escalation_functional", "bc"),
        ("metric=escalation_functional&part=total", "abcde"),
        ("metric=sla_response", "ad"),
        ("metric=sla_response&part=total", "abcd"),
        ("metric=sla_response&part=rest", "bc"),  # the breached ones
        ("metric=sla_response&part=rest&priority=2", "bc"),
        ("metric=sla_response&priority=1", "a"),
        ("metric=detected_by_monitoring", "d"),
        ("metric=mttr_resolve", "a"),
        ("metric=volume&team=TEAM", "abe"),
        ("metric=escalation_functional&team=TEAM", "b"),
        ("metric=volume&period=90", "abcdeo"),  # o: 40 days back, in the last 90 days
    ],
)
def test_the_drill_down_lists_exactly_the_incidents_behind_a_number(
    data: Data, query: str, keys: str
) -> None:
    query = query.replace("TEAM", str(data.team.pk))
    expected = _ref(data, *keys)
    page = _client(data.admin).get(f"/reports/incidents/?{query}")
    assert page.status_code == 200
    assert _refs(page) == expected


def test_each_number_equals_the_length_of_its_list(data: Data) -> None:
    """The tiles' numbers and their lists agree for every drillable metric."""
    filters = parse_filters()
    stats = compute(filters)
    client = _client(data.admin)
    for name in ("volume", "open", "mtta", "mttr_resolve", "sla_response", "sla_resolution"):
        stat = stats[name]
        listed = client.get(f"/reports/incidents/?metric={name}")
        assert len(_refs(listed)) == stat.count, name
        if hasattr(stat, "total"):
            total = client.get(f"/reports/incidents/?metric={name}&part=total")
            assert len(_refs(total)) == stat.total, name


def test_the_overview_links_each_number_to_its_list(data: Data) -> None:
    page = _client(data.admin).get("/reports/?period=30").text
    assert 'href="/reports/incidents/?period=30&amp;metric=mtta"' in page
    assert "metric=sla_response&amp;part=rest" in page  # "2 breached"
    tile = re.search(r'id="kpi-sla_response".*?</li>', page, re.S)
    assert tile is not None
    assert "50%" in tile.group(0)  # 2 of 4 met
    assert "2 breached" in tile.group(0)


def test_the_drill_down_csv_lists_the_same_incidents_as_text(data: Data) -> None:
    reply = _client(data.admin).get("/reports/incidents.csv?metric=escalation_functional")
    assert reply.status_code == 200
    assert reply["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(reply.content.decode())))
    assert {r["number"] for r in rows} == _ref(data, "b", "c")
    titles = {r["number"]: r["title"] for r in rows}
    # a title that a spreadsheet would run as a formula is kept as text
    assert titles[data.incidents["c"].ref].startswith("'=HYPERLINK")
    mtta = _client(data.admin).get("/reports/incidents.csv?metric=mtta")
    by_ref = {r["number"]: r for r in csv.DictReader(io.StringIO(mtta.content.decode()))}
    assert float(by_ref[data.incidents["a"].ref]["ack_seconds"]) == pytest.approx(600)


# --- exports ----------------------------------------------------------------------------


def test_the_csv_export_has_every_figure_for_both_periods(data: Data) -> None:
    reply = _client(data.admin).get("/reports/export.csv?period=30")
    assert reply.status_code == 200
    assert "attachment" in reply["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(reply.content.decode())))
    current = {r["metric"]: r for r in rows if r["period"] == "current"}
    previous = {r["metric"]: r for r in rows if r["period"] == "previous"}
    assert current["volume"]["count"] == "5"
    assert previous["volume"]["count"] == "1"
    assert current["mtta"]["count"] == "3"
    assert float(current["mtta"]["median_seconds"]) == pytest.approx(600)
    assert float(current["mtta"]["mean_seconds"]) == pytest.approx(900)
    assert current["sla_response"]["count"] == "2"
    assert current["sla_response"]["total"] == "4"
    assert float(current["sla_response"]["rate"]) == pytest.approx(0.5)
    assert set(current) == set(compute(parse_filters()))


def test_the_json_export_matches_the_api_and_carries_the_series(data: Data) -> None:
    client = _client(data.admin)
    body = client.get(f"/reports/export.json?period=30&team={data.team.pk}").json()
    assert body["filters"]["team"] == data.team.pk
    assert body["metrics"]["volume"] == {"count": 3}
    assert body["previous"]["volume"] == {"count": 1}
    assert body["metrics"]["mtta"]["count"] == 2
    assert body["bucket"] == "day"
    by_priority = {p: sum(b[p] for b in body["volume_by_priority"]) for p in ("P1", "P2", "P4")}
    assert by_priority == {"P1": 1, "P2": 1, "P4": 1}
    sla = {row["priority"]: row for row in body["sla_by_priority"]}
    assert sla[1]["response"] == {"count": 1, "total": 1, "rate": 1.0}
    assert sla[2]["response"] == {"count": 0, "total": 1, "rate": 0.0}
    ninety = client.get("/reports/export.json?period=90").json()
    assert ninety["bucket"] == "week"
    assert sum(sum(b[f"P{p}"] for p in (1, 2, 3, 4)) for b in ninety["volume_by_priority"]) == 6


# --- charts -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["volume", "ack", "recovery", "sla"])
def test_each_chart_is_a_well_formed_svg_without_script(data: Data, name: str) -> None:
    client = _client(data.admin)
    backgrounds = set()
    for query in ("theme=light", "theme=dark", "theme=dark&size=narrow", "period=90"):
        reply = client.get(f"/reports/charts/{name}.svg?{query}")
        assert reply.status_code == 200
        assert reply["Content-Type"] == "image/svg+xml"
        policy = reply["Content-Security-Policy"]
        assert "script-src 'none'" in policy
        assert "default-src 'none'" in policy
        root = ET.fromstring(reply.content)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert not [el for el in root.iter() if el.tag.endswith("script")]
        assert b"<script" not in reply.content
        assert b"javascript:" not in reply.content
        assert b"http://kozea" not in reply.content and b"googleapis" not in reply.content
        style = "".join(el.text or "" for el in root.iter() if el.tag.endswith("style"))
        found = re.search(r"background-color:\s*(#[0-9a-fA-F]{3,8})", style)
        if found:
            backgrounds.add(found.group(1).lower())
    assert {"#ffffff", "#171a21"} <= backgrounds  # the palette's surface, light and dark


def test_the_volume_chart_draws_one_bar_per_day_and_priority(data: Data) -> None:
    svg = _client(data.admin).get("/reports/charts/volume.svg?period=7").content.decode()
    # pygal writes each value as a <desc class="value"> beside its bar
    values = [int(v) for v in re.findall(r'<desc class="value">(\d+)</desc>', svg)]
    assert sum(values) == 5


def test_durations_and_axes_read_as_people_say_them() -> None:
    from tocsin.reports.charts import count_axis, duration_axis
    from tocsin.reports.dashboard import human_duration, percent

    assert [human_duration(s) for s in (None, 42, 125, 720, 11100, 187200)] == [
        "—",
        "42s",
        "2m 5s",
        "12m",
        "3h 5m",
        "2d 4h",
    ]
    assert [percent(r) for r in (None, 0, 0.05, 0.5, 1)] == ["—", "0%", "5.0%", "50%", "100%"]
    assert count_axis(0) == [0, 1]
    assert count_axis(1) == [0, 1]
    assert count_axis(13) == [0, 5, 10, 15]
    assert duration_axis([None, 50 * 60]) == [0.0, 600.0, 1200.0, 1800.0, 2400.0, 3000.0]
    assert duration_axis([3 * 86400.0])[:2] == [0.0, 86400.0]
