"""On-call load (reports/oncall_load.py): pages, out-of-hours and night pages, sleep
interruptions and hours on call per person on a hand-built set with known answers —
a person in Tokyo paged at 23:30 local, pages across the spring and autumn clock changes —
the fairness figures, who may see whose load (404 otherwise), bad input, the CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import ApiClient
from tocsin.accounts.models import Role, Team, User
from tocsin.core.actors import Actor
from tocsin.escalation.models import ClimbState, Escalation, Page
from tocsin.incidents.models import Incident
from tocsin.oncall import services as oncall
from tocsin.reports import facts, oncall_load

pytestmark = pytest.mark.django_db
UTC = dt.UTC
URL = "/api/v1/reports/oncall-load"
PAGE = "/reports/oncall/"
CSV = "/reports/oncall.csv"
_steps = itertools.count(1)


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)  # type: ignore[misc,arg-type]


# March 2026: New York's clocks go forward on Sunday 8 March at 02:00; Berlin's go back
# on Sunday 25 October at 03:00.
PERIOD = {"since": "2026-03-02T00:00:00Z", "until": "2026-03-16T00:00:00Z"}


@pytest.fixture
def people(make_user: Callable[..., User]) -> dict[str, User]:
    return {
        "admin": make_user(Role.ADMIN, username="ada", name="Ada Admin"),
        "manager": make_user(Role.MANAGER, username="mia", name="Mia Manager"),
        "kenji": make_user(
            Role.RESPONDER, username="kenji", name="Kenji Tokyo", time_zone="Asia/Tokyo"
        ),
        "nora": make_user(
            Role.RESPONDER, username="nora", name="Nora New York", time_zone="America/New_York"
        ),
        "lena": make_user(
            Role.RESPONDER, username="lena", name="Lena Berlin", time_zone="Europe/Berlin"
        ),
        "cid": make_user(Role.AGENT, username="cid", name="=Cid Agent"),
        "rex": make_user(Role.REPORTER, username="rex", name="Rex Reporter"),
    }


@pytest.fixture
def team(people: dict[str, User]) -> Team:
    """Ops: Kenji, Nora and Lena, managed by Lena (a responder)."""
    ops = Team.objects.create(name="Ops", manager=people["lena"])
    ops.members.add(people["kenji"], people["nora"], people["lena"])
    return ops


@pytest.fixture
def incident(people: dict[str, User], make_incident: Callable[..., Incident]) -> Incident:
    return make_incident(people["admin"])


def page(incident: Incident, person: User, when: dt.datetime) -> Page:
    climb = Escalation.objects.create(incident=incident, state=ClimbState.RESOLVED, started_at=when)
    return Page.objects.create(
        escalation=climb,
        incident=incident,
        person=person,
        step=next(_steps),
        level=0,
        cycle=0,
        created_at=when,
    )


def on_call(person: User, start: dt.datetime, end: dt.datetime, admin: User) -> None:
    s = oncall.schedule_create(
        name=f"{person.username} {start:%Y%m%d%H}",
        time_zone="UTC",
        layers=[],
        actor=Actor.for_user(admin),
    )
    oncall.override_create(
        schedule=s, user=person, start=start, end=end, actor=Actor.for_user(admin)
    )


@pytest.fixture
def paged(
    people: dict[str, User], team: Team, incident: Incident, make_incident: Callable[..., Incident]
) -> None:
    kenji, nora = people["kenji"], people["nora"]
    other = make_incident(people["admin"], title="Disk full")
    # Kenji (Tokyo, UTC+9): Tuesday 3 March 23:30 local, 23:50 (same interruption),
    # Wednesday 00:25 (35 minutes after the last: a second one), 10:00 (working hours)
    page(incident, kenji, at(2026, 3, 3, 14, 30))
    page(incident, kenji, at(2026, 3, 3, 14, 50))
    page(other, kenji, at(2026, 3, 3, 15, 25))
    page(other, kenji, at(2026, 3, 4, 1, 0))
    # Nora (New York): Sunday 8 March 01:30 EST (night, weekend); 07:30 EDT the same
    # morning (not night: at a fixed -05:00 it would be 06:30); Monday 9 March 09:30 EDT
    # (working: at -05:00 it would be 08:30)
    page(incident, nora, at(2026, 3, 8, 6, 30))
    page(incident, nora, at(2026, 3, 8, 11, 30))
    page(incident, nora, at(2026, 3, 9, 13, 30))
    # outside the period: not counted
    page(incident, nora, at(2026, 3, 20, 3, 0))
    # hours on call: Kenji Monday 2 March 09:00 – Tuesday 09:00 Tokyo (8 working hours);
    # Nora Saturday 7 March 12:00 EST – Monday 9 March 12:00 EDT: 47 elapsed hours, 3 of
    # them working (Monday 09:00–12:00)
    on_call(kenji, at(2026, 3, 2, 0), at(2026, 3, 3, 0), people["admin"])
    on_call(nora, at(2026, 3, 7, 17), at(2026, 3, 9, 16), people["admin"])


def rows(response: Any) -> dict[str, dict[str, Any]]:
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["count"] == len(data["items"])
    return {row["username"]: row for row in data["items"]}


def web(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- the definitions, pure ---------------------------------------------------------------


def test_a_tokyo_page_at_half_past_eleven_is_a_night_out_of_hours_interruption() -> None:
    found = oncall_load.classify([at(2026, 3, 3, 14, 30)], "Asia/Tokyo", at(2026, 3, 1))
    assert (found.out_of_hours, found.night, found.interruptions) == (1, 1, 1)
    # the same instant in London is 14:30 on a Tuesday: working hours, not night
    found = oncall_load.classify([at(2026, 3, 3, 14, 30)], "Europe/London", at(2026, 3, 1))
    assert (found.out_of_hours, found.night, found.interruptions) == (0, 0, 0)


def test_pages_within_half_an_hour_of_each_other_are_one_interruption() -> None:
    tokyo = "Asia/Tokyo"
    # 23:00, 23:20, 23:45 (chained, each within 30 min of the one before), 00:15 exactly
    # 30 min later (a new one), 03:00
    chain = [at(2026, 3, 3, 14), at(2026, 3, 3, 14, 20), at(2026, 3, 3, 14, 45)]
    later = [at(2026, 3, 3, 15, 15), at(2026, 3, 3, 18)]
    found = oncall_load.classify(chain + later, tokyo, at(2026, 3, 1))
    assert found.night == 5 and found.interruptions == 3
    # a page at 21:50 (not night) 20 minutes before a 22:10 page: already awake
    awake = [at(2026, 3, 3, 12, 50), at(2026, 3, 3, 13, 10)]
    assert oncall_load.classify(awake, tokyo, at(2026, 3, 1)).interruptions == 0
    # a page just before the period still counts as "the page before"
    found = oncall_load.classify(awake, tokyo, at(2026, 3, 3, 13))
    assert (found.night, found.interruptions, found.out_of_hours) == (1, 0, 1)


def test_the_autumn_change_repeated_hour_is_elapsed_time() -> None:
    # Berlin, Sunday 25 October 2026: 02:50 CEST, then 20 elapsed minutes later 02:10 CET
    pages = [at(2026, 10, 25, 0, 50), at(2026, 10, 25, 1, 10)]
    found = oncall_load.classify(pages, "Europe/Berlin", at(2026, 10, 1))
    assert (found.night, found.interruptions, found.out_of_hours) == (2, 1, 2)


ZONES = [
    "UTC",
    "Asia/Tokyo",
    "Asia/Kathmandu",
    "Asia/Kolkata",
    "America/New_York",
    "America/St_Johns",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "America/Santiago",
]


@settings(max_examples=300, deadline=None)
@given(
    micros=st.integers(min_value=1_577_836_800_000_000, max_value=1_893_456_000_000_000),
    zone=st.sampled_from(ZONES),
)
def test_the_fast_local_clock_agrees_with_the_zone_database(micros: int, zone: str) -> None:
    """Day and quarter-hour offsets (LocalClock) give the same working / night flags as a
    datetime in the zone, across every change of 2020-2030 in zones with odd offsets (the
    databases keep microseconds at most)."""
    seconds = micros / 1_000_000
    local = dt.datetime.fromtimestamp(seconds, UTC).astimezone(ZoneInfo(zone))
    flags = oncall_load.local_flags(oncall_load.LocalClock(zone).local(seconds))
    assert flags == (oncall_load.is_working(local), oncall_load.is_night(local))


@pytest.mark.parametrize(
    ("zone", "day"),
    [
        ("America/New_York", at(2026, 3, 8)),  # forward at 02:00
        ("America/New_York", at(2026, 11, 1)),  # back at 02:00
        ("Europe/Berlin", at(2026, 3, 29)),
        ("Europe/Berlin", at(2026, 10, 25)),
        ("Australia/Lord_Howe", at(2026, 4, 4)),  # back half an hour
        ("Pacific/Chatham", at(2026, 9, 26)),  # +12:45 to +13:45
        ("America/St_Johns", at(2026, 3, 8)),  # -03:30 to -02:30
    ],
)
def test_the_fast_local_clock_across_a_change_minute_by_minute(zone: str, day: dt.datetime) -> None:
    clock = oncall_load.LocalClock(zone)
    start = (day - dt.timedelta(days=1)).timestamp()
    for minute in range(0, 3 * 24 * 60, 5):
        seconds = start + minute * 60
        local = dt.datetime.fromtimestamp(seconds, UTC).astimezone(ZoneInfo(zone))
        assert clock.local(seconds) == seconds + local.utcoffset().total_seconds()  # type: ignore[union-attr]
        flags = oncall_load.local_flags(clock.local(seconds))
        assert flags == (oncall_load.is_working(local), oncall_load.is_night(local)), local


def test_the_boundaries_are_exact_through_the_database(
    people: dict[str, User], incident: Incident, api: Callable[[User], ApiClient]
) -> None:
    kenji = people["kenji"]  # Tokyo, UTC+9; Wednesday 4 March 2026
    for when in (
        at(2026, 3, 4, 0),  # 09:00:00 — working
        at(2026, 3, 4, 8),  # 17:00:00 — out of hours
        at(2026, 3, 4, 12, 59, 59),  # 21:59:59 — out, not night
        at(2026, 3, 4, 13) + dt.timedelta(minutes=40),  # 22:40 — night, an interruption
        at(2026, 3, 4, 22),  # Thursday 07:00:00 — out, not night
        at(2026, 3, 4, 21, 59, 59),  # 06:59:59 — night; 7 h after the last: interrupts
    ):
        page(incident, kenji, when)
    row = rows(api(kenji).get(URL, {"since": "2026-03-03", "until": "2026-03-06"}))["kenji"]
    assert (row["pages"], row["out_of_hours_pages"], row["night_pages"]) == (6, 5, 2)
    assert row["sleep_interruptions"] == 2


def test_hours_out_of_working_hours_follow_the_local_clock() -> None:
    # Tokyo Monday 2 March 09:00 – Tuesday 09:00: 8 working hours, 16 out
    out = oncall_load.out_of_hours([(at(2026, 3, 2, 0), at(2026, 3, 3, 0))], "Asia/Tokyo")
    assert out == dt.timedelta(hours=16)
    # New York across the spring change: 47 elapsed hours, 3 of them working
    out = oncall_load.out_of_hours([(at(2026, 3, 7, 17), at(2026, 3, 9, 16))], "America/New_York")
    assert out == dt.timedelta(hours=44)


def test_the_spread_of_a_group() -> None:
    spread = oncall_load.Spread.of([0.0, 2.0, 4.0])
    assert spread.mean == 2.0 and spread.total == 6.0
    assert spread.cv == pytest.approx(0.8165, abs=1e-4)
    assert spread.max_min is None  # someone has none
    assert oncall_load.Spread.of([2.0, 4.0]).max_min == 2.0
    assert oncall_load.Spread.of([0.0, 0.0]).cv is None
    assert spread.share(4.0) == pytest.approx(2 / 3) and spread.vs_mean(4.0) == 2.0


# --- the report through the API ----------------------------------------------------------


def test_the_figures_per_person(
    people: dict[str, User], paged: None, api: Callable[[User], ApiClient]
) -> None:
    found = rows(api(people["admin"]).get(URL, PERIOD))
    assert set(found) == {"kenji", "nora"}  # paged or on call in the period
    kenji = found["kenji"]
    assert {k: kenji[k] for k in kenji if not k.endswith(("share", "mean"))} == {
        "username": "kenji",
        "name": "Kenji Tokyo",
        "time_zone": "Asia/Tokyo",
        "teams": ["Ops"],
        "pages": 4,
        "incidents": 2,
        "out_of_hours_pages": 3,
        "night_pages": 3,
        "sleep_interruptions": 2,
        "hours_on_call": 24.0,
        "hours_out_of_hours": 16.0,
        "shifts": 1,
    }
    nora = found["nora"]
    assert (nora["pages"], nora["incidents"]) == (3, 1)
    assert (nora["out_of_hours_pages"], nora["night_pages"], nora["sleep_interruptions"]) == (
        2,
        1,
        1,
    )
    assert (nora["hours_on_call"], nora["hours_out_of_hours"]) == (47.0, 44.0)


def test_the_fairness_of_a_team(
    people: dict[str, User], paged: None, team: Team, api: Callable[[User], ApiClient]
) -> None:
    data = api(people["manager"]).get(URL, {**PERIOD, "team": str(team.pk)}).json()
    assert {r["username"] for r in data["items"]} == {"kenji", "nora", "lena"}
    fairness = data["fairness"]
    assert fairness["group"] == "Ops" and fairness["named"] is True
    # pages 4, 3, 0; hours 24, 47, 0
    assert fairness["pages"] == {
        "people": 3,
        "total": 7.0,
        "mean": 2.33,
        "cv": 0.728,  # population sd 1.700 over the mean 2.333
        "max_min": None,
    }
    assert fairness["hours_on_call"]["mean"] == pytest.approx(23.67)
    kenji = next(r for r in data["items"] if r["username"] == "kenji")
    assert kenji["page_share"] == pytest.approx(4 / 7, abs=1e-4)
    assert kenji["pages_vs_mean"] == pytest.approx(4 / (7 / 3), abs=1e-3)
    assert kenji["hours_share"] == pytest.approx(24 / 71, abs=1e-4)


def test_a_period_with_nothing_is_empty(
    people: dict[str, User], paged: None, api: Callable[[User], ApiClient]
) -> None:
    data = api(people["admin"]).get(URL, {"since": "2025-01-01", "until": "2025-02-01"}).json()
    assert data["items"] == [] and data["count"] == 0


# --- who sees what -----------------------------------------------------------------------


def test_reporters_get_404_everywhere(
    people: dict[str, User], paged: None, api: Callable[[User], ApiClient]
) -> None:
    assert api(people["rex"]).get(URL, PERIOD).status_code == 404
    assert web(people["rex"]).get(PAGE).status_code == 404
    assert web(people["rex"]).get(CSV).status_code == 404
    assert Client().get(PAGE).status_code == 302  # to sign in
    assert Client().get(URL).status_code == 401


def test_a_responder_sees_only_their_own_row(
    people: dict[str, User], paged: None, api: Callable[[User], ApiClient]
) -> None:
    data = api(people["kenji"]).get(URL, PERIOD).json()
    assert [r["username"] for r in data["items"]] == ["kenji"]
    assert data["scope"] == "own" and data["fairness"] is None
    assert [r["username"] for r in api(people["cid"]).get(URL, PERIOD).json()["items"]] == ["cid"]


def test_a_member_sees_the_team_aggregate_without_names(
    people: dict[str, User], paged: None, team: Team, api: Callable[[User], ApiClient]
) -> None:
    data = api(people["kenji"]).get(URL, {**PERIOD, "team": str(team.pk)}).json()
    assert [r["username"] for r in data["items"]] == ["kenji"]
    assert data["fairness"]["named"] is False
    assert data["fairness"]["pages"]["total"] == 7.0
    # the mean, not the spread: with three people it would give the others' figures away
    assert data["fairness"]["pages"]["cv"] is None
    assert data["fairness"]["hours_on_call"]["max_min"] is None
    assert data["items"][0]["page_share"] == pytest.approx(4 / 7, abs=1e-4)
    # with fewer than three members there is no aggregate (it would give the others away)
    team.members.remove(people["lena"])
    data = api(people["kenji"]).get(URL, {**PERIOD, "team": str(team.pk)}).json()
    assert [r["username"] for r in data["items"]] == ["kenji"] and data["fairness"] is None


def test_another_team_is_404_for_a_non_member(
    people: dict[str, User], paged: None, team: Team, api: Callable[[User], ApiClient]
) -> None:
    response = api(people["cid"]).get(URL, {**PERIOD, "team": str(team.pk)})
    assert response.status_code == 404
    assert "kenji" not in response.content.decode()
    page = web(people["cid"]).get(
        PAGE, {"since": "2026-03-02", "until": "2026-03-15", "team": str(team.pk)}
    )
    assert page.status_code == 422  # not among the teams the form offers
    assert "Kenji" not in page.content.decode()


def test_a_team_manager_sees_their_people(
    people: dict[str, User], paged: None, team: Team, api: Callable[[User], ApiClient]
) -> None:
    data = api(people["lena"]).get(URL, PERIOD).json()
    assert {r["username"] for r in data["items"]} == {"kenji", "nora", "lena"}
    assert data["scope"] == "teams" and data["fairness"]["named"] is True


def test_managers_and_admins_see_everyone(
    people: dict[str, User], paged: None, api: Callable[[User], ApiClient]
) -> None:
    for who in ("manager", "admin"):
        data = api(people[who]).get(URL, PERIOD).json()
        assert {r["username"] for r in data["items"]} == {"kenji", "nora"}
        assert data["scope"] == "everyone"


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "2026-03-10", "until": "2026-03-01"}, "since"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-03-10T00:00:00"}, "until"),  # no zone
        ({"team": "ops"}, "team"),
        ({"team": "99999"}, "team"),
        ({"since": "2020-01-01", "until": "2026-01-01"}, "until"),  # longer than 400 days
    ],
)
def test_bad_input_is_a_422_naming_the_field(
    people: dict[str, User], api: Callable[[User], ApiClient], params: dict[str, str], field: str
) -> None:
    response = api(people["admin"]).get(URL, params)
    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"][-1] == field


def test_the_page_shows_bad_dates_on_the_form(people: dict[str, User]) -> None:
    response = web(people["admin"]).get(PAGE, {"since": "2026-03-10", "until": "2026-03-01"})
    assert response.status_code == 422
    assert "Must not be before the start date." in response.content.decode()
    response = web(people["admin"]).get(CSV, {"since": "not a date", "until": "2026-03-01"})
    assert response.status_code == 422 and b"since" in response.content


# --- the page and the CSV ----------------------------------------------------------------


def test_the_page_shows_each_person_and_the_fairness(
    people: dict[str, User], paged: None, team: Team
) -> None:
    response = web(people["manager"]).get(
        PAGE, {"since": "2026-03-02", "until": "2026-03-15", "team": str(team.pk)}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Kenji Tokyo" in html and "Nora New York" in html and "Lena Berlin" in html
    assert "Fairness: Ops" in html and "<meter" in html
    assert "/reports/oncall.csv?since=2026-03-02&amp;until=2026-03-15&amp;team=" in html
    # the default period (the last 30 days) answers too
    assert web(people["kenji"]).get(PAGE).status_code == 200


def test_the_csv_for_on_call_pay(people: dict[str, User], paged: None, team: Team) -> None:
    team.members.add(people["cid"])
    response = web(people["admin"]).get(
        CSV, {"since": "2026-03-02", "until": "2026-03-15", "team": str(team.pk)}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="oncall-load-2026-03-02-2026-03-15.csv"' in response["Content-Disposition"]
    table = list(csv.reader(io.StringIO(response.content.decode())))
    assert table[0] == list(oncall_load.CSV_COLUMNS)
    by_user = {row[0]: dict(zip(table[0], row, strict=True)) for row in table[1:]}
    assert set(by_user) == {"kenji", "nora", "lena", "cid"}
    assert by_user["kenji"] == {
        "username": "kenji",
        "name": "Kenji Tokyo",
        "team": "Ops",
        "time_zone": "Asia/Tokyo",
        "hours_on_call": "24.00",
        "hours_out_of_hours": "16.00",
        "shifts": "1",
        "pages": "4",
        "incidents": "2",
        "out_of_hours_pages": "3",
        "night_pages": "3",
        "sleep_interruptions": "2",
    }
    assert by_user["cid"]["name"] == "'=Cid Agent"  # a spreadsheet shows it as text
    # a responder's CSV holds their own row only
    own = web(people["nora"]).get(CSV, {"since": "2026-03-02", "until": "2026-03-15"})
    assert [row[0] for row in csv.reader(io.StringIO(own.content.decode()))][1:] == ["nora"]


# --- the metric --------------------------------------------------------------------------


def test_pages_out_of_hours_is_a_metric(
    people: dict[str, User], paged: None, api: Callable[[User], ApiClient]
) -> None:
    facts.rebuild()
    response = api(people["admin"]).get(
        "/api/v1/metrics",
        {"since": "2020-01-01", "until": "2030-01-01", "metric": "pages_out_of_hours"},
    )
    assert response.status_code == 200, response.content
    # both incidents: 8 pages, 5 out of working hours (Kenji 3, Nora 2) + Nora's 20 March
    # 03:00 UTC page (Thursday 23:00 EDT)
    assert response.json()["pages_out_of_hours"] == {"count": 6, "total": 8, "rate": 0.75}
