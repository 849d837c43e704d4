"""Calendar feeds: `/calendar/<token>.ics` read back as a calendar app reads it (parsed
with `icalendar`, expanded with `recurring-ical-events`) must hold exactly the shifts the
schedule has, across both 2026 clock changes in Berlin; the token is secret (hashed,
shown once, revocable); the API and the page that manage feeds."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest
import recurring_ical_events
import time_machine
from django.core import serializers
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from tests.conftest import ApiClient
from tocsin.accounts.models import Role, Team, User
from tocsin.core.actors import Actor
from tocsin.core.crypto import sha256_hex
from tocsin.core.models import AuditEntry, IdempotencyRecord
from tocsin.oncall import calendar, selectors, services, specs
from tocsin.oncall.models import CalendarFeed, Schedule

UTC = dt.UTC
pytestmark = pytest.mark.django_db

# 1 May 2026: the window (six weeks back, six months ahead) holds 29 March and 25 October.
NOW = dt.datetime(2026, 5, 1, 10, 30, tzinfo=UTC)


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.fixture
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def people(make_user: Callable[..., User]) -> dict[str, User]:
    return {
        "admin": make_user(Role.ADMIN, username="ada", name="Ada Admin"),
        "manager": make_user(Role.MANAGER, username="mia", name="Mia Manager"),
        "ann": make_user(
            Role.RESPONDER, username="ann", name="Ann Smith", time_zone="America/Chicago"
        ),
        "bob": make_user(Role.RESPONDER, username="bob", name="Bob Jones"),
        "cid": make_user(Role.AGENT, username="cid", name="Cid Agent"),
        "rex": make_user(Role.REPORTER, username="rex", name="Rex Reporter"),
    }


def platform(people: dict[str, User]) -> Schedule:
    """Berlin: business hours (weekly ann/bob, Mon–Fri 09:00–17:00) over daily nights
    handing off at 09:00 local (bob, ann), plus an override; both 2026 changes inside."""
    team = Team.objects.create(name="Platform", manager=people["manager"])
    layers = specs.parse_layers(
        [
            {
                "name": "Business hours",
                "start": "2026-03-02T09:00",
                "rotation": "weekly",
                "users": ["ann", "bob"],
                "restrictions": [
                    {
                        "type": "weekly",
                        "days": ["mon", "tue", "wed", "thu", "fri"],
                        "start": "09:00",
                        "end": "17:00",
                    }
                ],
            },
            {
                "name": "Around the clock",
                "start": "2026-03-02T09:00",
                "rotation": "daily",
                "users": ["bob", "ann"],
            },
        ]
    )
    schedule = services.schedule_create(
        name="Platform primary",
        time_zone="Europe/Berlin",
        team=team,
        layers=layers,
        actor=Actor.for_user(people["manager"]),
    )
    services.override_create(
        schedule=schedule,
        user=people["cid"],
        start=at(2026, 6, 3, 12),
        end=at(2026, 6, 4, 12),
        actor=Actor.for_user(people["manager"]),
    )
    return schedule


def night_desk(people: dict[str, User]) -> Schedule:
    """A second schedule ann is on (New York nights, weekly)."""
    layers = specs.parse_layers(
        [
            {
                "name": "Nights",
                "start": "2026-03-02T20:00",
                "rotation": "weekly",
                "users": ["ann", "bob"],
                "restrictions": [{"type": "daily", "start": "20:00", "end": "02:00"}],
            }
        ]
    )
    return services.schedule_create(
        name="Night desk",
        time_zone="America/New_York",
        layers=layers,
        actor=Actor.for_user(people["admin"]),
    )


def make_feed(owner: User, schedule: Schedule | None = None) -> str:
    _, token = services.feed_create(owner=owner, schedule=schedule, actor=Actor.for_user(owner))
    return token


def fetch(token: str) -> Any:
    return Client().get(f"/calendar/{token}.ics")


def expected(schedule: Schedule | None, owner: User) -> set[tuple[dt.datetime, dt.datetime, str]]:
    """What the feed must hold, from the selectors (window computed as the feed does)."""
    win = calendar.window(NOW)
    if schedule is None:
        pairs = selectors.user_shifts(owner, win.compute_since, win.until)
        found = [shift for _, shift in pairs]
    else:
        found = selectors.shifts(schedule, win.compute_since, win.until)
    people = selectors.users_by_id(s.user for s in found)
    return {(s.start, s.end, people[s.user].display_name) for s in found if s.end > win.since}


def _person_of(component: Any, feed_schedule: bool) -> str:
    if feed_schedule:
        return str(component["SUMMARY"]).removeprefix("On call: ")
    match = re.search(r"^On call: (.+)$", str(component["DESCRIPTION"]), re.MULTILINE)
    assert match is not None
    return match.group(1)


def parsed(body: bytes, feed_schedule: bool) -> set[tuple[dt.datetime, dt.datetime, str]]:
    cal = Calendar.from_ical(body)
    out = set()
    for event in cal.walk("VEVENT"):
        start, end = event.decoded("DTSTART"), event.decoded("DTEND")
        assert start.utcoffset() == dt.timedelta(0) and end.utcoffset() == dt.timedelta(0)
        out.add((start, end, _person_of(event, feed_schedule)))
    return out


def expanded(body: bytes, feed_schedule: bool) -> set[tuple[dt.datetime, dt.datetime, str]]:
    """The second reader: recurring-ical-events' expansion over a wide span."""
    cal = Calendar.from_ical(body)
    events = recurring_ical_events.of(cal).between(at(2025, 1, 1), at(2028, 1, 1))
    return {
        (
            e["DTSTART"].dt.astimezone(UTC),
            e["DTEND"].dt.astimezone(UTC),
            _person_of(e, feed_schedule),
        )
        for e in events
    }


# --- the feed ----------------------------------------------------------------------------


def test_a_schedule_feed_is_the_final_schedule_across_both_berlin_changes(
    people: dict[str, User], clock: None
) -> None:
    schedule = platform(people)
    response = fetch(make_feed(people["bob"], schedule))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    body = response.content
    want = expected(schedule, people["bob"])
    assert len(want) > 200
    assert parsed(body, True) == want
    assert expanded(body, True) == want
    # the nights across the changes: 09:00 Berlin to 09:00 Berlin is 23 and 25 hours
    # (Saturdays: no business hours, the daily layer alone; day 26 and day 236 → bob)
    assert (at(2026, 3, 28, 8), at(2026, 3, 29, 7), "Bob Jones") in want
    assert (at(2026, 10, 24, 7), at(2026, 10, 25, 8), "Bob Jones") in want
    # the override is in it
    assert (at(2026, 6, 3, 12), at(2026, 6, 4, 12), "Cid Agent") in want
    text = body.decode()
    assert "TZID" not in text
    assert re.search(r"^DTSTART:20260328T080000Z\r$", text, re.MULTILINE)
    assert "X-WR-CALNAME:On call: Platform primary" in text
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in text
    assert "X-PUBLISHED-TTL:PT1H" in text
    assert "SUMMARY:On call: Ann Smith" in text
    assert "Europe/Berlin" in text  # the description names the zone


def test_the_window_is_six_weeks_back_and_six_months_ahead(
    people: dict[str, User], clock: None
) -> None:
    schedule = platform(people)
    cal = Calendar.from_ical(fetch(make_feed(people["bob"], schedule)).content)
    starts = sorted(e.decoded("DTSTART") for e in cal.walk("VEVENT"))
    ends = sorted(e.decoded("DTEND") for e in cal.walk("VEVENT"))
    assert ends[0] > at(2026, 3, 20) >= starts[0] - dt.timedelta(days=1)
    assert starts[-1] < at(2026, 11, 1) <= ends[-1] + dt.timedelta(days=1)


def test_a_person_feed_has_their_shifts_on_every_schedule(
    people: dict[str, User], clock: None
) -> None:
    schedule, nights = platform(people), night_desk(people)
    body = fetch(make_feed(people["ann"])).content
    want = expected(None, people["ann"])
    assert {name for _, _, name in want} == {"Ann Smith"}
    assert parsed(body, False) == want
    assert expanded(body, False) == want
    text = body.decode()
    assert "X-WR-CALNAME:On call: Ann Smith" in text
    assert "SUMMARY:On call: Platform primary" in text
    assert "SUMMARY:On call: Night desk" in text
    # her own zone beside the schedule's
    assert "America/Chicago" in text and "America/New_York" in text
    assert schedule.pk != nights.pk


def test_uids_are_stable_across_fetches_and_unique(people: dict[str, User]) -> None:
    schedule = platform(people)
    with time_machine.travel(NOW, tick=False):
        token = make_feed(people["bob"], schedule)
        first = Calendar.from_ical(fetch(token).content)
    with time_machine.travel(NOW + dt.timedelta(hours=3), tick=False):
        second = Calendar.from_ical(fetch(token).content)
    uids = {str(e["UID"]): e.decoded("DTSTART") for e in first.walk("VEVENT")}
    again = {str(e["UID"]): e.decoded("DTSTART") for e in second.walk("VEVENT")}
    assert len(uids) == len(first.walk("VEVENT"))  # unique within the feed
    assert uids == again


def test_a_moved_shift_gets_a_new_uid_and_a_shortened_one_keeps_it(
    people: dict[str, User], clock: None
) -> None:
    schedule = platform(people)
    token = make_feed(people["bob"], schedule)
    before = {str(e["UID"]) for e in Calendar.from_ical(fetch(token).content).walk("VEVENT")}
    # cid takes 12:00–14:00 UTC on Monday 8 June: the business-hours shift there is split
    services.override_create(
        schedule=schedule,
        user=people["cid"],
        start=at(2026, 6, 8, 12),
        end=at(2026, 6, 8, 14),
        actor=Actor.for_user(people["manager"]),
    )
    after = {str(e["UID"]) for e in Calendar.from_ical(fetch(token).content).walk("VEVENT")}
    added = after - before
    assert before - after == set()  # the shift starting 07:00 UTC keeps its UID
    assert len(added) == 2  # cid's override and the rest of the shift after it


def test_unknown_revoked_and_inactive_answer_a_plain_404(
    people: dict[str, User], clock: None
) -> None:
    schedule = platform(people)
    token = make_feed(people["bob"], schedule)
    assert fetch(token).status_code == 200
    for bad in ("x" * 43, token[:-1] + ("A" if token[-1] != "A" else "B"), "short", "a.b"):
        response = fetch(bad)
        assert response.status_code == 404
        assert response["Content-Type"] == "text/plain; charset=utf-8"
        assert b"<" not in response.content
    feed = CalendarFeed.objects.get(token_hash=sha256_hex(token))
    services.feed_revoke(feed=feed, actor=Actor.for_user(people["bob"]))
    revoked = fetch(token)
    assert revoked.status_code == 404 and revoked.content == b"Not found\n"
    other = make_feed(people["ann"])
    assert fetch(other).status_code == 200
    User.objects.filter(pk=people["ann"].pk).update(is_active=False)
    assert fetch(other).status_code == 404


def test_a_schedule_the_owner_may_no_longer_see_answers_404(
    people: dict[str, User], clock: None
) -> None:
    schedule = platform(people)
    token = make_feed(people["cid"], schedule)
    mine = make_feed(people["cid"])
    assert fetch(token).status_code == 200
    User.objects.filter(pk=people["cid"].pk).update(role=Role.REPORTER)
    assert fetch(token).status_code == 404
    assert fetch(mine).status_code == 404


def test_an_archived_schedule_feed_ends_at_its_archiving(
    people: dict[str, User], clock: None
) -> None:
    schedule = platform(people)
    token = make_feed(people["bob"], schedule)
    services.schedule_archive(schedule=schedule, actor=Actor.for_user(people["manager"]))
    cal = Calendar.from_ical(fetch(token).content)
    ends = [e.decoded("DTEND") for e in cal.walk("VEVENT")]
    assert ends and max(ends) == NOW


def test_reading_a_feed_needs_no_session_and_only_touches_last_used(
    people: dict[str, User], clock: None
) -> None:
    schedule = platform(people)
    token = make_feed(people["bob"], schedule)
    feed = CalendarFeed.objects.get(token_hash=sha256_hex(token))
    assert feed.last_used_at is None
    audits = AuditEntry.objects.count()
    response = fetch(token)
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    feed.refresh_from_db()
    assert feed.last_used_at == NOW
    assert AuditEntry.objects.count() == audits
    assert Client().post(f"/calendar/{token}.ics").status_code == 405


def test_the_token_is_stored_hashed_only(
    people: dict[str, User], api: Callable[[User], ApiClient], clock: None
) -> None:
    client = api(people["bob"])
    response = client.post("/api/v1/calendar-feeds", {}, headers={"Idempotency-Key": "k1"})
    assert response.status_code == 201
    url = response.json()["url"]
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    feed = CalendarFeed.objects.get(pk=response.json()["id"])
    assert feed.token_hash == sha256_hex(token)
    assert response.json()["prefix"] == token[:8] == feed.prefix
    stored = serializers.serialize(
        "json",
        [
            *CalendarFeed.objects.all(),
            *IdempotencyRecord.objects.all(),
            *AuditEntry.objects.all(),
        ],
    )
    assert token not in stored
    assert sha256_hex(token) in stored
    # the replay answers the same feed without its address
    replay = client.post("/api/v1/calendar-feeds", {}, headers={"Idempotency-Key": "k1"})
    assert replay.status_code == 201
    assert replay.json()["id"] == feed.pk and replay.json()["url"] is None
    assert CalendarFeed.objects.count() == 1
    assert fetch(token).status_code == 200


# --- the API -------------------------------------------------------------------------------


def delete(client: ApiClient, path: str) -> Any:
    return client.client.delete(path, headers={"Authorization": f"Bearer {client.token}"})


def test_api_create_list_and_revoke(
    people: dict[str, User], api: Callable[[User], ApiClient], clock: None
) -> None:
    schedule = platform(people)
    bob = api(people["bob"])
    made = bob.post("/api/v1/calendar-feeds", {"schedule": schedule.pk})
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["schedule"] == {"id": schedule.pk, "name": "Platform primary"}
    assert body["url"].startswith("http") and body["url"].endswith(".ics")
    assert made["Cache-Control"] == "no-store"
    mine = bob.post("/api/v1/calendar-feeds", {})
    assert mine.status_code == 201 and mine.json()["schedule"] is None
    listed = bob.get("/api/v1/calendar-feeds").json()
    assert listed["count"] == 2
    assert [i["id"] for i in listed["items"]] == [mine.json()["id"], body["id"]]
    for item in listed["items"]:
        assert "url" not in item and "token" not in item and "token_hash" not in item
    # someone else's: 404 (the admin may revoke it)
    other = api(people["ann"])
    gone = delete(other, f"/api/v1/calendar-feeds/{body['id']}")
    assert gone.status_code == 404
    assert other.get(f"/api/v1/calendar-feeds/{body['id']}").status_code == 404
    assert other.get("/api/v1/calendar-feeds", {"user": "bob"}).status_code == 404
    admin = api(people["admin"])
    assert admin.get("/api/v1/calendar-feeds", {"user": "bob"}).json()["count"] == 2
    paged = bob.get("/api/v1/calendar-feeds", {"limit": 1, "offset": 1}).json()
    assert paged["count"] == 2 and [i["id"] for i in paged["items"]] == [body["id"]]
    revoked = delete(admin, f"/api/v1/calendar-feeds/{body['id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    token = body["url"].rsplit("/", 1)[1].removesuffix(".ics")
    assert fetch(token).status_code == 404
    again = delete(bob, f"/api/v1/calendar-feeds/{body['id']}")
    assert again.status_code == 200  # revoking twice changes nothing
    assert bob.get("/api/v1/calendar-feeds").json()["items"][1]["revoked_at"] is not None


def test_api_refuses_bad_input_and_reporters(
    people: dict[str, User], api: Callable[[User], ApiClient], clock: None
) -> None:
    schedule = platform(people)
    bob = api(people["bob"])
    for payload, field in (
        ({"schedule": 999999}, "schedule"),
        ({"schedule": "1"}, "schedule"),
        ({"schedule": True}, "schedule"),
        ({"owner": "ann"}, "owner"),
    ):
        response = bob.post("/api/v1/calendar-feeds", payload)
        assert response.status_code == 422, (payload, response.content)
        assert field in str(response.json()["detail"])
    services.schedule_archive(schedule=schedule, actor=Actor.for_user(people["manager"]))
    archived = bob.post("/api/v1/calendar-feeds", {"schedule": schedule.pk})
    assert archived.status_code == 422 and "archived" in str(archived.json()["detail"])
    assert bob.get("/api/v1/calendar-feeds/0").status_code == 422
    assert CalendarFeed.objects.count() == 0
    rex = api(people["rex"])
    assert rex.get("/api/v1/calendar-feeds").status_code == 404
    assert rex.post("/api/v1/calendar-feeds", {}).status_code == 404
    assert rex.post("/api/v1/calendar-feeds", {"schedule": schedule.pk}).status_code == 404
    assert CalendarFeed.objects.count() == 0


# --- the page ------------------------------------------------------------------------------


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_page_shows_a_new_address_once_and_revokes(
    people: dict[str, User], clock: None
) -> None:
    schedule = platform(people)
    client = signed_in(people["bob"])
    page = client.get("/calendar/feeds/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "No calendar addresses yet." in html
    assert f'<option value="{schedule.pk}">Schedule: Platform primary</option>' in html
    made = client.post("/calendar/feeds/", {"schedule": str(schedule.pk)})
    assert made.status_code == 302 and made["Location"] == "/calendar/feeds/"
    shown = client.get("/calendar/feeds/")
    assert shown["Cache-Control"] == "no-store"
    match = re.search(r'value="(http[^"]+/calendar/([A-Za-z0-9_-]+)\.ics)"', shown.content.decode())
    assert match is not None
    token = match.group(2)
    assert fetch(token).status_code == 200
    assert "webcal://" in shown.content.decode()
    again = client.get("/calendar/feeds/").content.decode()
    assert token not in again and token[:8] in again  # once; then only its first characters
    feed = CalendarFeed.objects.get(token_hash=sha256_hex(token))
    # someone else cannot revoke it; its owner can
    assert signed_in(people["ann"]).post(f"/calendar/feeds/{feed.pk}/revoke").status_code == 404
    assert client.get(f"/calendar/feeds/{feed.pk}/revoke").status_code == 405
    done = client.post(f"/calendar/feeds/{feed.pk}/revoke", follow=True)
    assert "revoked" in done.content.decode()
    assert fetch(token).status_code == 404


def test_the_page_refuses_bad_input_and_reporters(people: dict[str, User], clock: None) -> None:
    client = signed_in(people["bob"])
    for value in ("999999", "", "x"):
        assert client.post("/calendar/feeds/", {"schedule": value}).status_code == 422
    bad = client.post("/calendar/feeds/", {"schedule": "999999"})
    assert bad.status_code == 422
    assert "Select a valid choice" in bad.content.decode()
    assert CalendarFeed.objects.count() == 0
    rex = signed_in(people["rex"])
    assert rex.get("/calendar/feeds/").status_code == 404
    assert rex.post("/calendar/feeds/", {"schedule": "mine"}).status_code == 404
    assert CalendarFeed.objects.count() == 0
    assert Client().get("/calendar/feeds/").status_code == 302  # sign in first


@settings(max_examples=60, deadline=None)
@given(token=st.text(min_size=1, max_size=120).filter(lambda s: "/" not in s))
def test_random_tokens_are_a_plain_404(token: str) -> None:
    response = Client().get(f"/calendar/{quote(token, safe='')}.ics")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/")
