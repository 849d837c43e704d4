"""GET /api/v1/metrics: each metric by name in its shape, the filters, bad input named in
a 422, and who may ask (staff; anyone else 404; a token needed)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tests.conftest import ApiClient
from tests.reports.helpers import DAY, T0, act, file, m
from tocsin.accounts.models import Role, Team, User
from tocsin.catalog.models import Category, Service
from tocsin.reports import facts
from tocsin.reports.metrics import metric_names

pytestmark = pytest.mark.django_db

URL = "/api/v1/metrics"
PERIOD = {"since": "2026-03-02T10:00:00Z", "until": "2026-03-03T10:00:00Z"}
DURATIONS = ("mttd", "mtta", "mttr_mitigate", "mttr_resolve", "mtbf")
COUNTS = ("volume", "open", "problems_opened")


@pytest.fixture
def mail(agent: User) -> Service:
    """Two incidents on Mail in the day (one acknowledged after 4 min, resolved after
    10), one on Web reported by monitoring, P4, still open."""
    mail = Service.objects.create(name="Mail")
    web = Service.objects.create(name="Web")
    a = file(agent, m(0), service=mail)
    act(agent, a, m(4), "acknowledge")
    act(agent, a, m(10), "resolve")
    file(agent, m(20), service=mail)
    file(agent, m(30), service=web, source="monitoring", impact=4, urgency=4)
    facts.rebuild(at=T0 + DAY)
    return mail


def get(client: ApiClient, **params: Any) -> Any:
    return client.get(URL, {**PERIOD, **params})


def test_every_metric_by_name_in_its_shape(agent: User, mail: Service) -> None:
    response = get(ApiClient(agent), metric=list(metric_names()))
    assert response.status_code == 200, response.content
    body = response.json()
    default = get(ApiClient(agent)).json()  # the added metrics (noise, on-call) when named
    assert {"alerts_per_incident", "pages_out_of_hours"} <= set(body) - set(default)
    assert body["period"] == {
        "since": "2026-03-02T10:00:00+00:00",
        "until": "2026-03-03T10:00:00+00:00",
    }
    assert body["filters"] == {
        "service": None,
        "team": None,
        "priority": None,
        "category": None,
        "source": None,
    }
    assert body["as_of"] == (T0 + DAY).isoformat()
    for name in metric_names():
        assert name in body, name
        if name in DURATIONS:
            assert set(body[name]) == {"count", "mean_seconds", "median_seconds", "p90_seconds"}
        elif name in COUNTS:
            assert set(body[name]) == {"count"}
        elif name == "alerts_per_incident":  # a distribution of counts (reports/noise.py)
            assert set(body[name]) == {"count", "mean_count", "median_count", "p90_count"}
        else:
            assert set(body[name]) == {"count", "total", "rate"}, name
    assert body["mtta"] == {
        "count": 1,
        "mean_seconds": 240.0,
        "median_seconds": 240.0,
        "p90_seconds": 240.0,
    }
    assert body["mttr_resolve"]["median_seconds"] == 600.0
    assert body["volume"] == {"count": 3}
    assert body["detected_by_monitoring"] == {"count": 1, "total": 3, "rate": pytest.approx(1 / 3)}
    assert body["reopen_rate"] == {"count": 0, "total": 1, "rate": 0.0}
    assert body["postmortem_completion"] == {"count": 0, "total": 0, "rate": None}


def test_named_metrics_only(agent: User, mail: Service) -> None:
    body = ApiClient(agent).client.get(
        URL + "?since=2026-03-02&until=2026-03-03T10:00:00Z&metric=mtta&metric=volume",
        headers={"Authorization": f"Bearer {ApiClient(agent).token}"},
    )
    assert body.status_code == 200
    data = body.json()
    assert {k for k in data if k not in ("period", "filters", "as_of")} == {"mtta", "volume"}
    assert data["period"]["since"] == "2026-03-02T00:00:00+00:00"  # a date: its midnight UTC


def test_filters(agent: User, mail: Service) -> None:
    client = ApiClient(agent)
    assert get(client, service=mail.pk).json()["volume"] == {"count": 2}
    assert get(client, priority="4").json()["volume"] == {"count": 1}
    assert get(client, priority="P3").json()["volume"] == {"count": 2}
    assert get(client, source="monitoring").json()["volume"] == {"count": 1}
    assert get(client, source="portal", service=mail.pk).json()["filters"]["service"] == mail.pk
    team = Team.objects.create(name="Alpha")
    assert get(client, team=team.pk).json()["volume"] == {"count": 0}
    category = Category.objects.create(name="Hardware")
    empty = get(client, category=category.pk).json()
    assert empty["volume"] == {"count": 0}
    assert empty["mtta"] == {
        "count": 0,
        "mean_seconds": None,
        "median_seconds": None,
        "p90_seconds": None,
    }
    # the day before: nothing; the day after `until`: nothing
    before = client.get(URL, {"since": "2026-03-01", "until": "2026-03-02T10:00:00Z"}).json()
    assert before["volume"] == {"count": 0}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "2026-03-03", "until": "2026-03-02"}, "since"),
        ({"since": "2026-03-02", "until": "2026-03-02"}, "since"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-01"}, "until"),
        ({"since": "2026-03-02T10:00:00"}, "since"),  # no time zone
        ({"service": "999999"}, "service"),
        ({"service": "mail"}, "service"),
        ({"team": "999999"}, "team"),
        ({"category": "-1"}, "category"),
        ({"priority": "9"}, "priority"),
        ({"priority": "P0"}, "priority"),
        ({"source": "pigeon"}, "source"),
        ({"metric": "mttx"}, "metric"),
        ({"since": "2000-01-01", "until": "2026-01-01"}, "since"),  # longer than ten years
    ],
)
def test_bad_input_is_a_422_naming_the_parameter(
    agent: User, params: dict[str, str], field: str
) -> None:
    response = ApiClient(agent).get(URL, params)
    assert response.status_code == 422, response.content
    [error] = response.json()["detail"]
    assert error["loc"][-1] == field
    assert error["msg"]


def test_an_unknown_metric_lists_the_known_ones(agent: User) -> None:
    response = ApiClient(agent).get(URL, {"metric": ["mtta", "mttx"]})
    assert response.status_code == 422
    message = response.json()["detail"][0]["msg"]
    assert "mttx" in message and "mttr_resolve" in message


def test_a_reporter_gets_404(make_user: Callable[..., User]) -> None:
    response = ApiClient(make_user(Role.REPORTER)).get(URL)
    assert response.status_code == 404
    assert "mtta" not in response.content.decode()


@pytest.mark.parametrize("role", [Role.AGENT, Role.RESPONDER, Role.MANAGER, Role.ADMIN])
def test_staff_may_ask(make_user: Callable[..., User], role: str) -> None:
    assert ApiClient(make_user(role)).get(URL).status_code == 200


def test_a_token_is_needed(agent: User) -> None:
    assert Client().get(URL).status_code == 401
    bad = Client().get(URL, headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401


def test_the_default_period_is_the_last_30_days(agent: User) -> None:
    body = ApiClient(agent).get(URL).json()
    since = dt.datetime.fromisoformat(body["period"]["since"])
    until = dt.datetime.fromisoformat(body["period"]["until"])
    assert until - since == dt.timedelta(days=30)
