"""The on-call pages through the web client: who may see and do what, the timeline's rows
and gaps, the forms' refusals naming their field (and changing nothing), escaping, and
no GET that changes state."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.test import Client

from tocsin.accounts.models import Role, Team, User
from tocsin.core.actors import Actor
from tocsin.core.models import AuditEntry
from tocsin.oncall import services, specs
from tocsin.oncall.models import CoverRequest, CoverState, Override, Schedule

pytestmark = pytest.mark.django_db
UTC = dt.UTC
WEEK = "2026-03-09"  # a Monday; the layers start on 2 March
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # Tuesday 13:00 in Berlin


@pytest.fixture(autouse=True)
def _frozen() -> object:
    with time_machine.travel(NOW, tick=False):
        yield


def make_people(make_user: Callable[..., User]) -> dict[str, User]:
    """The people of the schedule pages' tests, all in Europe/Berlin (also the browser
    tests'): the manager owns the schedule's team, ann and bob are its layers, cid is in
    the team, out is in neither."""
    zone = {"time_zone": "Europe/Berlin"}
    return {
        "admin": make_user(Role.ADMIN, username="ada", **zone),
        "manager": make_user(Role.MANAGER, username="mia", name="Mia Manager", **zone),
        "ann": make_user(Role.RESPONDER, username="ann", name="Ann Alder", **zone),
        "bob": make_user(Role.RESPONDER, username="bob", name="Bob Birch", **zone),
        "cid": make_user(Role.RESPONDER, username="cid", name="Cid Cedar", **zone),
        "out": make_user(Role.RESPONDER, username="out", name="Otto Outsider", **zone),
        "agent": make_user(Role.AGENT, username="agt", **zone),
        "rep": make_user(Role.REPORTER, username="rex", **zone),
    }


@pytest.fixture
def people(make_user: Callable[..., User]) -> dict[str, User]:
    return make_people(make_user)


def build(people: dict[str, User], name: str = "Platform primary") -> Schedule:
    team = Team.objects.create(name=f"Team of {name}"[:100], manager=people["manager"])
    team.members.add(people["cid"])
    layers = specs.parse_layers(
        [
            {
                "name": "Business hours",
                "start": "2026-03-02T09:00",
                "rotation": "weekly",
                "users": ["bob", "ann"],
                "restrictions": [
                    {"type": "weekly", "days": ["mon", "tue", "wed", "thu", "fri"]}
                    | {"start": "09:00", "end": "17:00"}
                ],
            },
            {
                "name": "Nights",
                "start": "2026-03-02T20:00",
                "rotation": "daily",
                "users": ["bob", "ann"],
                "restrictions": [{"type": "daily", "start": "20:00", "end": "08:00"}],
            },
        ]
    )
    return services.schedule_create(
        name=name,
        time_zone="Europe/Berlin",
        team=team,
        layers=layers,
        actor=Actor.for_user(people["manager"]),
    )


def cid_on_monday_evening(schedule: Schedule, people: dict[str, User]) -> Override:
    return services.override_create(
        schedule=schedule,
        user=people["cid"],
        start=dt.datetime(2026, 3, 9, 16, tzinfo=UTC),
        end=dt.datetime(2026, 3, 9, 19, tzinfo=UTC),
        actor=Actor.for_user(people["manager"]),
    )


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page(user: User, schedule: Schedule, week: str = WEEK) -> str:
    response = client_for(user).get(f"/schedules/{schedule.pk}/?week={week}")
    assert response.status_code == 200
    return response.content.decode()


def gap_count(html: str) -> int:
    found = re.search(r"Gaps in these two weeks: (\d+)", html)
    return int(found.group(1)) if found else 0


# --- who may see ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/schedules/", "/oncall/", "/oncall/mine/", "/schedules/{id}/"])
def test_reporters_get_404_and_staff_200(people: dict[str, User], path: str) -> None:
    schedule = build(people)
    url = path.format(id=schedule.pk)
    assert client_for(people["rep"]).get(url).status_code == 404
    for who in ("agent", "ann", "out", "manager", "admin"):
        assert client_for(people[who]).get(url).status_code == 200, who
    assert Client().get(url).status_code == 302  # signed out: to the sign-in page


def test_unknown_schedule_is_404(people: dict[str, User]) -> None:
    assert client_for(people["admin"]).get("/schedules/99999/").status_code == 404


def test_nav_link_for_staff_only(people: dict[str, User]) -> None:
    html = client_for(people["agent"]).get("/").content.decode()
    assert 'href="/oncall/"' in html
    html = client_for(people["rep"]).get("/portal/").content.decode()
    assert 'href="/oncall/"' not in html


# --- what the pages show --------------------------------------------------------------


def test_schedule_page_has_a_row_per_layer_overrides_and_final_and_lists_gaps(
    people: dict[str, User],
) -> None:
    schedule = build(people)
    html = page(people["ann"], schedule)
    assert html.count('class="oc-row oc-row-layer') == 2
    assert 'class="oc-row oc-row-overrides' in html
    assert 'class="oc-row oc-row-final' in html
    # business hours 09–17 and nights 20–08 leave 08–09 and 17–20 on weekdays, and the
    # weekend days 08–20: 10 weekdays × 2 + 4 weekend days = 24 gaps
    assert gap_count(html) == 24
    assert "Gap: nobody on call, Mon 9 Mar 08:00 – 09:00" in html
    assert "Ann Alder, Mon 9 Mar 09:00 – 17:00" in html  # week 2 of the weekly rotation: ann
    assert "Europe/Berlin" in html
    # on call now (Tuesday 13:00 Berlin): the business-hours layer's person
    now_card = html.split('id="h-now"')[1].split("</section>")[0]
    assert "Ann Alder" in now_card and "until" in now_card


def test_times_are_in_the_viewers_zone_with_the_schedules_zone_shown(
    people: dict[str, User],
) -> None:
    schedule = build(people)
    people["agent"].time_zone = "America/Chicago"
    people["agent"].save(update_fields=["time_zone"])
    html = page(people["agent"], schedule)
    # 09:00 in Berlin (UTC+1) is 03:00 in Chicago (UTC-5 since the US change on 8 March)
    assert "Ann Alder, Tue 10 Mar 03:00 – 11:00" in html
    assert "America/Chicago" in html and "the schedule's zone is" in html
    assert "(these times in Europe/Berlin)" in html  # a layer's start and windows


def test_week_navigation_and_a_bad_week(people: dict[str, User]) -> None:
    schedule = build(people)
    html = page(people["ann"], schedule)
    assert "?week=2026-03-02#timeline" in html and "?week=2026-03-16#timeline" in html
    assert "Two weeks from Mon 9 Mar 2026" in html
    html = page(people["ann"], schedule, week="2026-03-12")  # a Thursday: its Monday
    assert "Two weeks from Mon 9 Mar 2026" in html
    html = page(people["ann"], schedule, week="nonsense")
    assert "Week: give a date as YYYY-MM-DD" in html
    html = page(people["ann"], schedule, week="9999-12-27")
    assert "Week: give a date between 1971 and 2199" in html
    # a prefilled span far away is ignored, not a server error
    html = page(people["ann"], schedule, week=f"{WEEK}&start=9999-12-30T00:00&end=9999-12-31T00:00")
    assert "Pick a start and an end" in html


def test_list_flags_gaps_oncall_and_open_cover_requests(people: dict[str, User]) -> None:
    schedule = build(people)
    CoverRequest.objects.create(
        schedule=schedule,
        requester=people["ann"],
        start=dt.datetime(2026, 3, 11, 8, tzinfo=UTC),
        end=dt.datetime(2026, 3, 11, 16, tzinfo=UTC),
    )
    html = client_for(people["agent"]).get("/schedules/").content.decode()
    assert "Platform primary" in html and "Ann Alder" in html
    assert "gaps</span>" in html
    assert f'href="/schedules/{schedule.pk}/#cover">1</a>' in html
    assert "New schedule" not in html
    assert "New schedule" in client_for(people["manager"]).get("/schedules/").content.decode()


def test_empty_states(people: dict[str, User]) -> None:
    html = client_for(people["manager"]).get("/schedules/").content.decode()
    assert "No schedules yet." in html and "Create the first one" in html
    html = client_for(people["agent"]).get("/oncall/").content.decode()
    assert "No schedules yet." in html
    html = client_for(people["out"]).get("/oncall/mine/").content.decode()
    assert "No shifts in the next 4 weeks." in html and 'href="/calendar/feeds/"' in html


def test_organisation_oncall_and_my_shifts(people: dict[str, User]) -> None:
    schedule = build(people)
    html = client_for(people["agent"]).get("/oncall/").content.decode()
    assert f'href="/schedules/{schedule.pk}/"' in html and "Ann Alder" in html
    html = client_for(people["bob"]).get("/oncall/mine/").content.decode()
    assert "Platform primary" in html
    # nights alternate from bob on 2 March: bob has the even days, ann's week is business hours
    assert "Tue 10 Mar 20:00 – Wed 11 Mar 08:00" in html
    assert "Wed 11 Mar 20:00 – Thu 12 Mar 08:00" not in html


def test_escaping_of_a_schedule_name(people: dict[str, User]) -> None:
    schedule = build(people, name="<script>alert(1)</script>")
    for url in ("/schedules/", f"/schedules/{schedule.pk}/?week={WEEK}", "/oncall/"):
        html = client_for(people["admin"]).get(url).content.decode()
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_edit_link_for_editors_only(people: dict[str, User]) -> None:
    schedule = build(people)
    assert f"/schedules/{schedule.pk}/edit/" in page(people["manager"], schedule)
    assert f"/schedules/{schedule.pk}/edit/" in page(people["admin"], schedule)
    assert f"/schedules/{schedule.pk}/edit/" not in page(people["ann"], schedule)


def test_forms_only_for_those_who_may(people: dict[str, User]) -> None:
    schedule = build(people)
    ann = page(people["ann"], schedule)
    assert 'id="override-form"' in ann and 'id="cover-panel"' in ann
    outsider = page(people["out"], schedule)
    assert 'id="override-form"' not in outsider and 'id="cover-panel"' not in outsider
    # the owning team's member may cover but is no participant: no "ask for cover"
    cid = page(people["cid"], schedule)
    assert 'id="override-form"' not in cid and 'id="cover-panel"' not in cid


# --- overrides --------------------------------------------------------------------------


def override_post(who: User, schedule: Schedule, **fields: str) -> Any:
    data = {"week": WEEK, "note": ""} | fields
    return client_for(who).post(f"/schedules/{schedule.pk}/overrides/", data)


def test_override_fills_a_gap_and_redirects(people: dict[str, User]) -> None:
    schedule = build(people)
    before = gap_count(page(people["ann"], schedule))
    response = override_post(
        people["ann"],
        schedule,
        user=str(people["cid"].pk),
        start="2026-03-09T17:00",
        end="2026-03-09T20:00",
    )
    assert response.status_code == 302
    assert response["Location"] == f"/schedules/{schedule.pk}/?week={WEEK}#timeline"
    o = Override.objects.get()
    assert o.start == dt.datetime(2026, 3, 9, 16, tzinfo=UTC)  # 17:00 Berlin
    assert o.user == people["cid"] and o.replaces is None and o.created_by == people["ann"]
    html = page(people["ann"], schedule)
    assert gap_count(html) == before - 1
    assert "Cid Cedar, Mon 9 Mar 17:00 – 20:00 (override)" in html


def test_override_in_place_of_someone(people: dict[str, User]) -> None:
    schedule = build(people)
    override_post(
        people["manager"],
        schedule,
        user=str(people["cid"].pk),
        replaces=str(people["ann"].pk),
        start="2026-03-10T00:00",
        end="2026-03-11T00:00",
    )
    html = page(people["ann"], schedule)
    assert "Cid Cedar, Tue 10 Mar 09:00 – 17:00 (override)" in html
    assert "Cid Cedar, Tue 10 Mar 00:00 – 24:00, in place of Ann Alder" in html


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"user": "", "start": "2026-03-09T17:00", "end": "2026-03-09T20:00"}, "user", "required"),
        ({"start": "tomorrow", "end": "2026-03-09T20:00"}, "start", "valid date"),
        ({"start": "2026-03-09T20:00", "end": "2026-03-09T17:00"}, "end", "after the start"),
        (
            {"start": "2026-03-09T17:00", "end": "2026-03-09T20:00", "replaces": "999999"},
            "replaces",
            "valid choice",
        ),
        (
            {"start": "2026-03-09T17:00", "end": "2027-06-09T20:00"},
            "end",
            "at most 366 days",
        ),
        ({"start": "9999-12-30T17:00", "end": "9999-12-31T20:00"}, "start", "between 1971"),
    ],
)
def test_bad_override_names_the_field_and_changes_nothing(
    people: dict[str, User], fields: dict[str, str], field: str, message: str
) -> None:
    schedule = build(people)
    audit_before = AuditEntry.objects.count()
    data = {"user": str(people["cid"].pk)} | fields
    response = override_post(people["ann"], schedule, **data)
    assert response.status_code == 422
    html = response.content.decode()
    summary = html.split("data-error-summary")[1].split("</div>")[0]
    assert f'href="#override_{field}"' in summary
    assert message in summary
    # the page shown is the week the form was sent from, its links lead to the schedule
    assert "Two weeks from Mon 9 Mar 2026" in html
    assert f'href="/schedules/{schedule.pk}/?week=2026-03-16#timeline"' in html
    assert Override.objects.count() == 0
    assert AuditEntry.objects.count() == audit_before


def test_override_refused_for_an_outsider_changes_nothing(people: dict[str, User]) -> None:
    schedule = build(people)
    response = override_post(
        people["out"],
        schedule,
        user=str(people["out"].pk),
        start="2026-03-09T17:00",
        end="2026-03-09T20:00",
    )
    assert response.status_code == 403
    assert Override.objects.count() == 0
    response = override_post(
        people["rep"],
        schedule,
        user=str(people["ann"].pk),
        start="2026-03-09T17:00",
        end="2026-03-09T20:00",
    )
    assert response.status_code == 404


def test_override_delete(people: dict[str, User]) -> None:
    schedule = build(people)
    o = cid_on_monday_evening(schedule, people)
    url = f"/schedules/{schedule.pk}/overrides/{o.pk}/delete/"
    assert client_for(people["out"]).post(url).status_code == 403
    response = client_for(people["bob"]).post(url, {"week": WEEK})
    assert response.status_code == 302
    assert not Override.objects.exists()


# --- cover requests -----------------------------------------------------------------------


def test_cover_request_ask_accept_and_withdraw(people: dict[str, User]) -> None:
    schedule = build(people)
    url = f"/schedules/{schedule.pk}/cover/"
    # ann holds business hours in the week of 9 March
    response = client_for(people["ann"]).post(
        url, {"start": "2026-03-11T09:00", "end": "2026-03-11T17:00", "note": "dentist"}
    )
    assert response.status_code == 302
    req = CoverRequest.objects.get()
    assert req.requester == people["ann"] and req.state == CoverState.OPEN
    html = page(people["cid"], schedule)
    assert "dentist" in html and "Cover it" in html
    assert "dentist" in client_for(people["cid"]).get("/oncall/mine/").content.decode()
    mine = client_for(people["ann"]).get("/oncall/mine/").content.decode()
    assert "dentist" in mine and "Withdraw" in mine
    # the team member covers it: an override in ann's place
    response = client_for(people["cid"]).post(f"{url}{req.pk}/accept/", {"week": WEEK})
    assert response.status_code == 302
    req.refresh_from_db()
    assert req.state == CoverState.ACCEPTED and req.override is not None
    assert "Cid Cedar, Wed 11 Mar 09:00 – 17:00 (override)" in page(people["ann"], schedule)
    # accepting again: a message, nothing changes
    response = client_for(people["bob"]).post(f"{url}{req.pk}/accept/", follow=True)
    assert "not open" in response.content.decode()
    assert Override.objects.count() == 1


def test_cover_request_withdraw_and_bad_span(people: dict[str, User]) -> None:
    schedule = build(people)
    url = f"/schedules/{schedule.pk}/cover/"
    # a span with no shift of ann's (a Saturday daytime is a gap)
    response = client_for(people["ann"]).post(
        url, {"start": "2026-03-14T10:00", "end": "2026-03-14T12:00"}
    )
    assert response.status_code == 422
    summary = response.content.decode().split("data-error-summary")[1].split("</div>")[0]
    assert 'href="#cover_start"' in summary and "has no shift" in summary
    assert not CoverRequest.objects.exists()
    client_for(people["ann"]).post(url, {"start": "2026-03-11T09:00", "end": "2026-03-11T17:00"})
    req = CoverRequest.objects.get()
    assert client_for(people["bob"]).post(f"{url}{req.pk}/withdraw/").status_code == 403
    response = client_for(people["ann"]).post(f"{url}{req.pk}/withdraw/", {"next": "mine"})
    assert response["Location"] == "/oncall/mine/"
    req.refresh_from_db()
    assert req.state == CoverState.WITHDRAWN


# --- no GET changes anything --------------------------------------------------------------


def test_get_on_post_only_addresses_redirects_and_changes_nothing(people: dict[str, User]) -> None:
    schedule = build(people)
    o = cid_on_monday_evening(schedule, people)
    req = services.cover_request_create(
        schedule=schedule,
        requester=people["ann"],
        start=dt.datetime(2026, 3, 11, 8, tzinfo=UTC),
        end=dt.datetime(2026, 3, 11, 16, tzinfo=UTC),
        actor=Actor.for_user(people["ann"]),
    )
    audit_before = AuditEntry.objects.count()
    base = f"/schedules/{schedule.pk}"
    for url in (
        f"{base}/overrides/",
        f"{base}/overrides/{o.pk}/delete/",
        f"{base}/cover/",
        f"{base}/cover/{req.pk}/accept/",
        f"{base}/cover/{req.pk}/withdraw/",
    ):
        response = client_for(people["admin"]).get(url)
        assert response.status_code == 302, url
        assert response["Location"] == f"{base}/"
    # prefilled override form from the address: a GET, nothing written
    html = page(people["ann"], schedule, week=f"{WEEK}&start=2026-03-09T17:00&end=2026-03-09T21:00")
    assert 'value="2026-03-09T17:00"' in html
    assert "On call in this span now" in html and "Cid Cedar" in html
    assert AuditEntry.objects.count() == audit_before
    assert Override.objects.count() == 1
    req.refresh_from_db()
    assert req.state == CoverState.OPEN
