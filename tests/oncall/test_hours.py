"""Hours on call: the same UTC shifts split differently for a person in Chicago and one in
Kathmandu (their own clocks), categories that add up to the total, a person on two
schedules at once counted once, the CSV export, who may see whose hours, bad input."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ApiClient
from tocsin.accounts.models import Role, Team, User
from tocsin.core.actors import Actor
from tocsin.oncall import hours, services, specs
from tocsin.oncall.models import Schedule

UTC = dt.UTC
pytestmark = pytest.mark.django_db
URL = "/api/v1/oncall/hours"


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)  # type: ignore[misc]


H = dt.timedelta(hours=1)

# Friday 6 March 2026 20:00 UTC – Saturday 08:00 UTC; then Sunday 8 March 06:00 UTC (00:00
# in Chicago, whose clocks go forward at 02:00 that night) – Monday 9 March 12:00 UTC.
FRIDAY = (at(2026, 3, 6, 20), at(2026, 3, 7, 8))
SUNDAY = (at(2026, 3, 8, 6), at(2026, 3, 9, 12))
PERIOD = {"since": "2026-03-02T00:00:00Z", "until": "2026-03-16T00:00:00Z"}


@pytest.fixture
def people(make_user: Callable[..., User]) -> dict[str, User]:
    return {
        "admin": make_user(Role.ADMIN, username="ada", name="Ada Admin"),
        "manager": make_user(Role.MANAGER, username="mia", name="Mia Manager"),
        "ann": make_user(
            Role.RESPONDER, username="ann", name="Ann Chicago", time_zone="America/Chicago"
        ),
        "kai": make_user(
            Role.RESPONDER, username="kai", name="Kai Kathmandu", time_zone="Asia/Kathmandu"
        ),
        "cid": make_user(Role.AGENT, username="cid", name="Cid Agent"),
        "rex": make_user(Role.REPORTER, username="rex", name="Rex Reporter"),
    }


def schedule(name: str, people: dict[str, User], zone: str = "UTC") -> Schedule:
    return services.schedule_create(
        name=name, time_zone=zone, layers=[], actor=Actor.for_user(people["admin"])
    )


def on_call(s: Schedule, user: User, span: tuple[dt.datetime, dt.datetime], admin: User) -> None:
    services.override_create(
        schedule=s, user=user, start=span[0], end=span[1], actor=Actor.for_user(admin)
    )


@pytest.fixture
def same_shifts(people: dict[str, User]) -> None:
    """ann and kai each hold the same two UTC spans, on schedules of their own."""
    for who in ("ann", "kai"):
        s = schedule(f"{who} desk", people)
        for span in (FRIDAY, SUNDAY):
            on_call(s, people[who], span, people["admin"])


def rows_by_name(response: Any) -> dict[str, dict[str, Any]]:
    assert response.status_code == 200, response.content
    return {row["username"]: row for row in response.json()["items"]}


# --- the split ----------------------------------------------------------------------------


def test_the_split_follows_each_persons_own_clock() -> None:
    # Chicago (UTC-6): Friday 14:00 – Saturday 02:00 local
    assert hours.split(*FRIDAY, "America/Chicago") == {
        "working": 8 * H,
        "night": 2 * H,
        "weekend": 2 * H,
    }
    # Kathmandu (+05:45): Saturday 01:45 – 13:45 local
    assert hours.split(*FRIDAY, "Asia/Kathmandu") == {
        "working": 0 * H,
        "night": 0 * H,
        "weekend": 12 * H,
    }
    # 30 elapsed hours; Chicago's Sunday is 23 hours long (clocks forward at 02:00)
    assert hours.split(*SUNDAY, "America/Chicago") == {
        "working": 0 * H,
        "night": 7 * H,
        "weekend": 23 * H,
    }
    # Kathmandu: Sunday 11:45 – Monday 17:45
    assert hours.split(*SUNDAY, "Asia/Kathmandu") == {
        "working": dt.timedelta(hours=10, minutes=45),
        "night": 7 * H,
        "weekend": dt.timedelta(hours=12, minutes=15),
    }


def test_the_weekend_of_the_autumn_change_is_49_hours() -> None:
    # Berlin, Saturday 24 October 2026 22:00 local → Monday 26 October 07:00 local: the
    # weekend (Sat 00:00–Mon 00:00) holds the repeated hour; Monday 00:00–07:00 is a night
    split = hours.split(at(2026, 10, 23, 20), at(2026, 10, 26, 6), "Europe/Berlin")
    assert split["night"] == 2 * H + 7 * H  # Friday 22:00–24:00 and Monday 00:00–07:00
    assert split["weekend"] == 49 * H  # Saturday 24 hours, Sunday 25
    assert split["working"] == 0 * H
    assert sum(split.values(), dt.timedelta(0)) == at(2026, 10, 26, 6) - at(2026, 10, 23, 20)


def test_rounding_keeps_the_sum() -> None:
    third = dt.timedelta(minutes=20)
    whole, parts = hours.hundredths([third, third, third], 3 * third)
    assert whole == 100 and sum(parts) == 100 and sorted(parts) == [33, 33, 34]


# --- the report ---------------------------------------------------------------------------


def test_the_same_utc_shifts_split_differently_by_zone(
    people: dict[str, User], same_shifts: None, api: Callable[[User], ApiClient]
) -> None:
    rows = rows_by_name(api(people["manager"]).get(URL, PERIOD))
    assert set(rows) == {"ann", "kai"}
    assert rows["ann"] == {
        "username": "ann",
        "name": "Ann Chicago",
        "time_zone": "America/Chicago",
        "total_hours": 42.0,
        "working_hours": 8.0,
        "night_hours": 9.0,
        "weekend_hours": 25.0,
        "shifts": 2,
    }
    assert rows["kai"] == {
        "username": "kai",
        "name": "Kai Kathmandu",
        "time_zone": "Asia/Kathmandu",
        "total_hours": 42.0,
        "working_hours": 10.75,
        "night_hours": 7.0,
        "weekend_hours": 24.25,
        "shifts": 2,
    }


def test_categories_add_up_and_an_hour_on_two_schedules_counts_once(
    people: dict[str, User], api: Callable[[User], ApiClient]
) -> None:
    first, second = schedule("First", people), schedule("Second", people, "Asia/Tokyo")
    odd = dt.timedelta(seconds=7, minutes=13)
    on_call(
        first, people["ann"], (at(2026, 3, 3, 1) + odd, at(2026, 3, 5, 23) + odd), people["admin"]
    )
    # overlaps the first by 10 hours
    on_call(
        second, people["ann"], (at(2026, 3, 5, 13) + odd, at(2026, 3, 7, 3, 1)), people["admin"]
    )
    on_call(
        second,
        people["ann"],
        (at(2026, 3, 10, 16, 59, 59), at(2026, 3, 11, 0, 0, 1)),
        people["admin"],
    )
    row = rows_by_name(api(people["ann"]).get(URL, PERIOD))["ann"]
    exact = (at(2026, 3, 7, 3, 1) - at(2026, 3, 3, 1) - odd) + dt.timedelta(hours=7, seconds=2)
    assert row["total_hours"] == round(exact.total_seconds() / 3600, 2)
    parts = round(
        row["working_hours"] * 100 + row["night_hours"] * 100 + row["weekend_hours"] * 100
    )
    assert parts == round(row["total_hours"] * 100)
    assert row["shifts"] == 3


def test_the_period_clips_shifts(
    people: dict[str, User], same_shifts: None, api: Callable[[User], ApiClient]
) -> None:
    # Saturday 7 March 02:00 UTC onwards: six hours of the Friday span are left
    rows = rows_by_name(
        api(people["manager"]).get(
            URL, {"since": "2026-03-07T02:00:00Z", "until": "2026-03-08T06:00:00Z"}
        )
    )
    assert rows["kai"]["total_hours"] == 6.0 and rows["kai"]["weekend_hours"] == 6.0
    # Chicago: Friday 20:00 – Saturday 02:00 local
    ann = rows["ann"]
    assert (ann["working_hours"], ann["night_hours"], ann["weekend_hours"]) == (2.0, 2.0, 2.0)


# --- the CSV ------------------------------------------------------------------------------


def test_csv_parses_and_escapes_formulas(
    people: dict[str, User], same_shifts: None, api: Callable[[User], ApiClient]
) -> None:
    User.objects.filter(pk=people["ann"].pk).update(name='=HYPERLINK("http://x","y")')
    User.objects.filter(pk=people["kai"].pk).update(name="@SUM(A1:A2), +1; -2")
    response = api(people["manager"]).get(URL, {**PERIOD, "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="oncall-hours-20260302-20260316.csv"'
    )
    table = list(csv.reader(io.StringIO(response.content.decode())))
    assert table[0] == [
        "username",
        "name",
        "time_zone",
        "total_hours",
        "working_hours",
        "night_hours",
        "weekend_hours",
        "shifts",
    ]
    by_user = {row[0]: row for row in table[1:]}
    assert by_user["ann"] == [
        "ann",
        '\'=HYPERLINK("http://x","y")',
        "America/Chicago",
        "42.00",
        "8.00",
        "9.00",
        "25.00",
        "2",
    ]
    assert by_user["kai"][1] == "'@SUM(A1:A2), +1; -2"
    assert by_user["kai"][3:7] == ["42.00", "10.75", "7.00", "24.25"]
    for cell in (c for row in table for c in row):
        assert not cell.startswith(("=", "+", "-", "@"))


def test_csv_cells() -> None:
    assert hours.csv_cell("-1+1") == "'-1+1"
    assert hours.csv_cell("\tx") == "'\tx"
    assert hours.csv_cell("Ann") == "Ann"
    assert hours.csv_cell(3.5) == "3.50"
    assert hours.csv_cell(3) == "3"


# --- who sees what -----------------------------------------------------------------------


def test_managers_and_admins_see_everyone_others_only_themselves(
    people: dict[str, User], same_shifts: None, api: Callable[[User], ApiClient]
) -> None:
    assert set(rows_by_name(api(people["admin"]).get(URL, PERIOD))) == {"ann", "kai"}
    assert set(rows_by_name(api(people["manager"]).get(URL, PERIOD))) == {"ann", "kai"}
    ann = api(people["ann"])
    assert set(rows_by_name(ann.get(URL, PERIOD))) == {"ann"}
    assert ann.get(URL, {**PERIOD, "user": "kai"}).status_code == 404
    assert set(rows_by_name(ann.get(URL, {**PERIOD, "user": "ann"}))) == {"ann"}
    # an agent with no shifts sees their own (empty) row
    cid = rows_by_name(api(people["cid"]).get(URL, PERIOD))
    assert cid == {
        "cid": {
            "username": "cid",
            "name": "Cid Agent",
            "time_zone": people["cid"].time_zone,
            "total_hours": 0.0,
            "working_hours": 0.0,
            "night_hours": 0.0,
            "weekend_hours": 0.0,
            "shifts": 0,
        }
    }
    rex = api(people["rex"])
    assert rex.get(URL, PERIOD).status_code == 404
    assert rex.get(URL, {**PERIOD, "format": "csv"}).status_code == 404
    assert rex.get(URL, {**PERIOD, "team": 999}).status_code == 404


def test_a_team_filter_lists_its_members(
    people: dict[str, User], same_shifts: None, api: Callable[[User], ApiClient]
) -> None:
    team = Team.objects.create(name="Kathmandu")
    team.members.add(people["kai"], people["cid"])
    rows = rows_by_name(api(people["manager"]).get(URL, {**PERIOD, "team": team.pk}))
    assert set(rows) == {"kai", "cid"} and rows["cid"]["total_hours"] == 0.0
    # a member who is not a manager sees only their own row
    assert set(rows_by_name(api(people["kai"]).get(URL, {**PERIOD, "team": team.pk}))) == {"kai"}
    assert rows_by_name(api(people["ann"]).get(URL, {**PERIOD, "team": team.pk})) == {}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"until": "2026-03-16T00:00:00Z"}, "since"),
        ({"since": "2026-03-02T00:00:00Z"}, "until"),
        ({"since": "yesterday", "until": "2026-03-16T00:00:00Z"}, "since"),
        ({"since": "2026-03-02T00:00:00", "until": "2026-03-16T00:00:00"}, "since"),
        ({"since": "2026-03-16T00:00:00Z", "until": "2026-03-02T00:00:00Z"}, "until"),
        ({"since": "2025-01-01T00:00:00Z", "until": "2026-03-02T00:00:00Z"}, "until"),
        ({**PERIOD, "format": "xml"}, "format"),
        ({**PERIOD, "team": "x"}, "team"),
        ({**PERIOD, "team": 999999}, "team"),
        ({**PERIOD, "user": "no such"}, "user"),
    ],
)
def test_bad_input_names_the_field(
    people: dict[str, User], api: Callable[[User], ApiClient], params: dict[str, Any], field: str
) -> None:
    response = api(people["manager"]).get(URL, params)
    assert response.status_code == 422, response.content
    assert [e["loc"] for e in response.json()["detail"]] == [["query", field]]


def test_an_unknown_person_is_404(
    people: dict[str, User], api: Callable[[User], ApiClient]
) -> None:
    response = api(people["manager"]).get(URL, {**PERIOD, "user": "nobody"})
    assert response.status_code == 404


# --- the page -----------------------------------------------------------------------------


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_page_shows_the_table_and_the_csv_link(
    people: dict[str, User], same_shifts: None
) -> None:
    client = signed_in(people["manager"])
    page = client.get("/oncall/hours/", {"since": "2026-03-02", "until": "2026-03-15"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Ann Chicago" in html and "Kai Kathmandu" in html
    assert "10.75" in html and "24.25" in html
    csv_link = page.context["csv_url"]
    assert csv_link.startswith("/api/v1/oncall/hours?") and "format=csv" in csv_link
    download = client.get(csv_link)
    assert download.status_code == 200 and b"Kai Kathmandu" in download.content
    # the default period: this month
    assert client.get("/oncall/hours/").status_code == 200
    mine = signed_in(people["ann"]).get(
        "/oncall/hours/", {"since": "2026-03-02", "until": "2026-03-15"}
    )
    assert "Ann Chicago" in mine.content.decode() and "Kai Kathmandu" not in mine.content.decode()
    assert 'name="team"' not in mine.content.decode()


def test_the_page_refuses_bad_periods_and_reporters(people: dict[str, User]) -> None:
    client = signed_in(people["manager"])
    backwards = client.get("/oncall/hours/", {"since": "2026-03-15", "until": "2026-03-02"})
    assert backwards.status_code == 422
    assert "Must not be before the start date." in backwards.content.decode()
    long = client.get("/oncall/hours/", {"since": "2025-01-01", "until": "2026-03-02"})
    assert long.status_code == 422 and "at most 400 days" in long.content.decode()
    garbage = client.get("/oncall/hours/", {"since": "x", "until": ""})
    assert garbage.status_code == 422
    for since, until in (("0001-01-01", "0001-01-02"), ("9999-12-30", "9999-12-31")):
        far = client.get("/oncall/hours/", {"since": since, "until": until})
        assert far.status_code == 422 and "between the years 1900 and 2999" in far.content.decode()
    assert signed_in(people["rex"]).get("/oncall/hours/").status_code == 404
    assert Client().get("/oncall/hours/").status_code == 302


ZONES = (
    "Europe/Berlin",
    "America/Chicago",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Asia/Kathmandu",
    "UTC",
)


@settings(max_examples=300, deadline=None)
@given(
    start=st.datetimes(min_value=dt.datetime(2025, 12, 1), max_value=dt.datetime(2027, 2, 1)),
    length=st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=20)),
    zone=st.sampled_from(ZONES),
)
def test_the_categories_always_add_up_to_the_span(
    start: dt.datetime, length: dt.timedelta, zone: str
) -> None:
    begin = start.replace(tzinfo=UTC)
    split = hours.split(begin, begin + length, zone)
    assert sum(split.values(), dt.timedelta(0)) == length
    assert all(part >= dt.timedelta(0) for part in split.values())
    whole, parts = hours.hundredths(list(split.values()), length)
    assert sum(parts) == whole


@pytest.fixture
def layered(people: dict[str, User]) -> None:
    """A schedule with a rotation and a restriction, in the zone that is first each day."""
    layers = specs.parse_layers(
        [
            {
                "name": "Nights",
                "start": "2026-03-02T09:00",
                "rotation": "daily",
                "users": ["ann", "kai"],
                "restrictions": [{"type": "daily", "start": "20:00", "end": "08:00"}],
            }
        ]
    )
    services.schedule_create(
        name="Kiritimati",
        time_zone="Pacific/Kiritimati",
        layers=layers,
        actor=Actor.for_user(people["admin"]),
    )


@pytest.mark.parametrize(
    ("since", "until", "field"),
    [
        ("0001-01-01T00:00:00+14:00", "0001-01-01T20:00:00Z", "since"),
        ("9999-12-30T00:00:00Z", "9999-12-31T23:59:59-14:00", "since"),
        ("2026-03-01T00:00:00Z", "9999-12-31T23:59:59-14:00", "until"),
        ("1899-12-31T23:59:59Z", "1900-01-02T00:00:00Z", "since"),
    ],
)
def test_instants_out_of_range_are_refused(
    people: dict[str, User],
    layered: None,
    api: Callable[[User], ApiClient],
    since: str,
    until: str,
    field: str,
) -> None:
    response = api(people["manager"]).get(URL, {"since": since, "until": until})
    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"] == ["query", field]


def test_the_far_past_and_future_within_range_answer(
    people: dict[str, User], layered: None, api: Callable[[User], ApiClient]
) -> None:
    client = api(people["manager"])
    for since, until in (
        ("1900-01-01T00:00:00Z", "1900-02-01T00:00:00Z"),
        ("2999-12-01T00:00:00Z", "3000-01-01T00:00:00Z"),
    ):
        response = client.get(URL, {"since": since, "until": until})
        assert response.status_code == 200, response.content
    rows = rows_by_name(
        client.get(URL, {"since": "2999-12-01T00:00:00Z", "until": "3000-01-01T00:00:00Z"})
    )
    assert rows["ann"]["total_hours"] + rows["kai"]["total_hours"] == 31 * 12


INSTANTS = st.sampled_from(
    [
        "0001-01-01T00:00:00+14:00",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59-14:00",
        "9999-12-31T00:00:00Z",
        "2026-03-08T02:30:00-06:00",
        "2026-03-02",
        "2026-03-02T00:00:00.123456789Z",
        "",
        "now",
        "1e9",
    ]
) | st.text(max_size=25)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    params=st.fixed_dictionaries(
        {},
        optional={
            "since": INSTANTS,
            "until": INSTANTS,
            "team": st.text(max_size=8) | st.integers(-(2**70), 2**70).map(str),
            "user": st.text(max_size=12),
            "format": st.sampled_from(["json", "csv", "CSV", "", "xml"]),
        },
    )
)
def test_random_queries_never_make_a_500(
    people: dict[str, User],
    layered: None,
    api: Callable[[User], ApiClient],
    params: dict[str, str],
) -> None:
    response = api(people["manager"]).get(URL, params)
    assert response.status_code in (200, 404, 422), (params, response.content)
