"""The on-call feature as an attacker tries it: ids of another schedule in the address or
the body, reporters on every route, CSRF on every form, names that try to be markup (in
the pages, the calendar feed and the CSV), feed tokens in logs and stores, bad bodies,
requests that would take minutes of CPU, and two writers at once."""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.db import connection, connections
from django.test import Client

from tests.conftest import ApiClient
from tests.oncall.test_views import NOW, WEEK, build, client_for, make_people
from tocsin.accounts.models import Role, User
from tocsin.core.actors import Actor
from tocsin.core.errors import Conflict, Invalid
from tocsin.core.logsafe import redact
from tocsin.core.models import AuditEntry
from tocsin.oncall import hours, selectors, services, specs
from tocsin.oncall.models import CalendarFeed, CoverRequest, CoverState, Override, Schedule

UTC = dt.UTC
API = "/api/v1"


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.fixture
def frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def people(make_user: Callable[..., User]) -> dict[str, User]:
    return make_people(make_user)


def two(people: dict[str, User]) -> tuple[Schedule, Schedule, Override, CoverRequest]:
    """Schedule A (ann and bob) and schedule B (the same people: ann takes part in both,
    but each object belongs to one), with an override and an open cover request on B."""
    a = build(people, "Alpha")
    b = build(people, "Bravo")
    o = services.override_create(
        schedule=b,
        user=people["cid"],
        start=at(2026, 3, 11, 9),
        end=at(2026, 3, 11, 12),
        actor=Actor.for_user(people["manager"]),
    )
    req = services.cover_request_create(
        schedule=b,
        requester=people["bob"],
        start=at(2026, 3, 16, 8),
        end=at(2026, 3, 16, 16),
        actor=Actor.for_user(people["bob"]),
    )
    return a, b, o, req


# --- ids of another schedule ----------------------------------------------------------------------


@pytest.mark.django_db
def test_objects_of_schedule_b_cannot_be_reached_through_schedule_a(
    people: dict[str, User], frozen: None
) -> None:
    a, _, o, req = two(people)
    ann = ApiClient(people["ann"])
    # the API: B's override and cover request under A's address
    assert (
        ann.client.delete(
            f"{API}/schedules/{a.pk}/overrides/{o.pk}", headers=ann._headers(None)
        ).status_code
        == 404
    )
    assert ann.post(f"{API}/schedules/{a.pk}/cover-requests/{req.pk}/accept").status_code == 404
    assert ann.post(f"{API}/schedules/{a.pk}/cover-requests/{req.pk}/withdraw").status_code == 404
    # the web forms: the same ids in the path
    web = client_for(people["ann"])
    assert web.post(f"/schedules/{a.pk}/overrides/{o.pk}/delete/").status_code == 404
    assert web.post(f"/schedules/{a.pk}/cover/{req.pk}/accept/").status_code == 404
    bob = client_for(people["bob"])
    assert bob.post(f"/schedules/{a.pk}/cover/{req.pk}/withdraw/").status_code == 404
    # nothing changed
    assert Override.objects.filter(pk=o.pk).exists()
    req.refresh_from_db()
    assert req.state == CoverState.OPEN and req.override is None
    assert Override.objects.filter(schedule=a).count() == 0


@pytest.mark.django_db
def test_a_layer_id_of_another_schedule_is_refused(people: dict[str, User], frozen: None) -> None:
    a, b, _, _ = two(people)
    b_layer = b.layers.first()
    assert b_layer is not None
    manager = ApiClient(people["manager"])
    layer = {"id": b_layer.pk, "name": "Stolen", "start": "2026-03-02T09:00"}
    layer |= {"rotation": "weekly", "users": ["ann"]}
    r = manager.patch(f"{API}/schedules/{a.pk}", {"layers": [layer]})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][-1] == "layers[0].id"
    b_layer.refresh_from_db()
    assert b_layer.schedule_id == b.pk and b_layer.name != "Stolen"


@pytest.mark.django_db
def test_outsiders_and_responders_change_nothing_on_a_schedule(
    people: dict[str, User], frozen: None
) -> None:
    a, b, o, req = two(people)
    out = client_for(people["out"])  # a responder in neither schedule nor its team
    body = {"user": people["out"].pk, "start": "2026-03-11T10:00", "end": "2026-03-11T11:00"}
    assert out.post(f"/schedules/{b.pk}/overrides/", body).status_code in (403, 404, 422)
    assert out.post(f"/schedules/{b.pk}/overrides/{o.pk}/delete/").status_code in (403, 404)
    assert out.post(f"/schedules/{b.pk}/cover/{req.pk}/withdraw/").status_code in (302, 403, 404)
    # responders who take part may not edit or archive
    ann = client_for(people["ann"])
    for path in (f"/schedules/{a.pk}/edit/", f"/schedules/{a.pk}/archive/"):
        assert ann.get(path).status_code == 404
        assert ann.post(path, {"name": "Mine now", "action": "save"}).status_code == 404
    assert ApiClient(people["ann"]).patch(f"{API}/schedules/{a.pk}", {"name": "x"}).status_code in (
        403,
        404,
    )
    assert Override.objects.filter(schedule=b).count() == 1
    req.refresh_from_db()
    assert req.state == CoverState.OPEN
    a.refresh_from_db()
    assert a.name == "Alpha" and a.archived_at is None


# --- reporters: 404 on every route ----------------------------------------------------------------


@pytest.mark.django_db
def test_reporters_get_404_on_every_on_call_route(people: dict[str, User], frozen: None) -> None:
    a, b, o, req = two(people)
    feed, _ = services.feed_create(owner=people["ann"], actor=Actor.for_user(people["ann"]))
    web = client_for(people["rep"])
    gets = [
        "/schedules/",
        f"/schedules/{a.pk}/",
        "/schedules/new/",
        f"/schedules/{a.pk}/edit/",
        f"/schedules/{a.pk}/archive/",
        "/oncall/",
        "/oncall/mine/",
        "/oncall/hours/",
        "/calendar/feeds/",
    ]
    for path in gets:
        assert web.get(path).status_code == 404, path
    posts = [
        f"/schedules/{b.pk}/overrides/",
        f"/schedules/{b.pk}/overrides/{o.pk}/delete/",
        f"/schedules/{b.pk}/cover/",
        f"/schedules/{b.pk}/cover/{req.pk}/accept/",
        f"/schedules/{b.pk}/cover/{req.pk}/withdraw/",
        "/schedules/new/",
        f"/schedules/{a.pk}/edit/",
        f"/schedules/{a.pk}/archive/",
        "/schedules/editor/preview/",
        "/calendar/feeds/",
        f"/calendar/feeds/{feed.pk}/revoke",
    ]
    for path in posts:
        assert web.post(path, {"schedule": "mine", "name": "x"}).status_code == 404, path
    api = ApiClient(people["rep"])
    for path in (
        "/schedules",
        f"/schedules/{a.pk}",
        f"/schedules/{a.pk}/oncall",
        f"/schedules/{a.pk}/shifts",
        f"/schedules/{a.pk}/gaps",
        f"/schedules/{b.pk}/overrides",
        f"/schedules/{b.pk}/cover-requests",
        "/oncall",
        "/users/ann/shifts",
        "/calendar-feeds",
        f"/calendar-feeds/{feed.pk}",
        "/oncall/hours?since=2026-03-01T00:00:00Z&until=2026-03-08T00:00:00Z",
    ):
        assert api.get(API + path).status_code == 404, path
    for path, payload in (
        ("/schedules", {"name": "x", "time_zone": "UTC"}),
        (
            f"/schedules/{b.pk}/overrides",
            {"user": "rex", "start": NOW.isoformat(), "end": NOW.isoformat()},
        ),
        (f"/schedules/{b.pk}/cover-requests", {"start": NOW.isoformat(), "end": NOW.isoformat()}),
        (f"/schedules/{b.pk}/cover-requests/{req.pk}/accept", {}),
        ("/calendar-feeds", {}),
    ):
        assert api.post(API + path, payload).status_code == 404, path
    assert (
        api.client.delete(f"{API}/calendar-feeds/{feed.pk}", headers=api._headers(None)).status_code
        == 404
    )
    assert Override.objects.count() == 1 and CalendarFeed.objects.count() == 1


# --- CSRF and GETs --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_form_post_needs_the_csrf_token(people: dict[str, User], frozen: None) -> None:
    a, b, o, req = two(people)
    feed, _ = services.feed_create(owner=people["admin"], actor=Actor.for_user(people["admin"]))
    client = Client(enforce_csrf_checks=True)
    client.force_login(people["admin"])
    for path in (
        f"/schedules/{b.pk}/overrides/",
        f"/schedules/{b.pk}/overrides/{o.pk}/delete/",
        f"/schedules/{b.pk}/cover/",
        f"/schedules/{b.pk}/cover/{req.pk}/accept/",
        f"/schedules/{b.pk}/cover/{req.pk}/withdraw/",
        "/schedules/new/",
        f"/schedules/{a.pk}/edit/",
        f"/schedules/{a.pk}/archive/",
        "/schedules/editor/preview/",
        "/calendar/feeds/",
        f"/calendar/feeds/{feed.pk}/revoke",
    ):
        assert client.post(path, {"schedule": "mine"}).status_code == 403, path
    # a session-signed API write needs the token too (no bearer token here)
    r = client.post(f"{API}/calendar-feeds", {}, content_type="application/json")
    assert r.status_code in (401, 403)
    assert Override.objects.count() == 1 and CalendarFeed.objects.count() == 1
    req.refresh_from_db()
    assert req.state == CoverState.OPEN
    assert Schedule.objects.filter(archived_at__isnull=False).count() == 0


@pytest.mark.django_db
def test_gets_on_form_addresses_change_nothing(people: dict[str, User], frozen: None) -> None:
    a, b, o, req = two(people)
    feed, _ = services.feed_create(owner=people["admin"], actor=Actor.for_user(people["admin"]))
    audits = AuditEntry.objects.count()
    admin = client_for(people["admin"])
    for path in (
        f"/schedules/{b.pk}/overrides/{o.pk}/delete/",
        f"/schedules/{b.pk}/cover/{req.pk}/accept/",
        f"/schedules/{b.pk}/cover/{req.pk}/withdraw/",
        f"/schedules/{a.pk}/archive/",
        f"/calendar/feeds/{feed.pk}/revoke",
        "/schedules/editor/preview/",
    ):
        assert admin.get(path).status_code in (200, 302, 405), path
    assert AuditEntry.objects.count() == audits
    assert Override.objects.count() == 1
    feed.refresh_from_db()
    assert feed.revoked_at is None


# --- names that try to be markup ------------------------------------------------------------------

EVIL = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>\u202eevil"


@pytest.mark.django_db
def test_names_and_notes_are_escaped_on_every_page(people: dict[str, User], frozen: None) -> None:
    evil_user = people["ann"]
    evil_user.name = EVIL[:100]
    evil_user.save()
    a = build(people, EVIL[:60])
    layer = a.layers.first()
    assert layer is not None
    layer.name = "</script>" + EVIL[:80]
    layer.save()
    services.override_create(
        schedule=a,
        user=people["ann"],
        start=at(2026, 3, 10, 13),
        end=at(2026, 3, 10, 15),
        note=EVIL,
        actor=Actor.for_user(people["manager"]),
    )
    services.cover_request_create(
        schedule=a,
        requester=people["bob"],
        start=at(2026, 3, 16, 8),
        end=at(2026, 3, 16, 16),
        note=EVIL,
        actor=Actor.for_user(people["bob"]),
    )
    services.feed_create(owner=people["admin"], schedule=a, actor=Actor.for_user(people["admin"]))
    pages = {
        "admin": [
            "/schedules/",
            f"/schedules/{a.pk}/?week={WEEK}",
            f"/schedules/{a.pk}/edit/",
            f"/schedules/{a.pk}/archive/",
            "/oncall/",
            "/oncall/hours/?since=2026-03-02&until=2026-03-20",
            "/calendar/feeds/",
        ],
        "ann": ["/oncall/mine/"],
        "cid": ["/oncall/mine/"],
    }
    for who, paths in pages.items():
        client = client_for(people[who])
        for path in paths:
            html = client.get(path).content.decode()
            for raw in ("<script>alert", "<img src=x", '</script>"', "onerror=alert(2)>"):
                assert raw not in html, (who, path, raw)
    preview = client_for(people["admin"]).post(f"/schedules/{a.pk}/edit/", {"action": "preview"})
    assert "<script>alert" not in preview.content.decode()


@pytest.mark.django_db
def test_the_calendar_keeps_names_on_their_lines(people: dict[str, User], frozen: None) -> None:
    bob = people["bob"]
    bob.name = "Bob\r\nBEGIN:VEVENT\r\nSUMMARY:injected"
    bob.save()
    a = build(people, "Alpha")
    Schedule.objects.filter(pk=a.pk).update(name="Alpha\nEND:VCALENDAR;x,y\\")
    _, token = services.feed_create(
        owner=people["admin"],
        schedule=Schedule.objects.get(pk=a.pk),
        actor=Actor.for_user(people["admin"]),
    )
    body = Client().get(f"/calendar/{token}.ics").content.decode()
    lines = body.split("\r\n")
    assert lines.count("BEGIN:VCALENDAR") == 1 and lines.count("END:VCALENDAR") == 1
    assert not any(line.startswith("SUMMARY:injected") for line in lines)
    events = lines.count("BEGIN:VEVENT")
    assert events > 0 and events == lines.count("END:VEVENT")
    assert all(len(line.encode()) <= 75 for line in lines)  # folded (RFC 5545 3.1)


@pytest.mark.django_db
def test_csv_cells_are_never_formulas(people: dict[str, User], frozen: None) -> None:
    ann = people["ann"]
    ann.name = '=HYPERLINK("http://x","y")'
    ann.save()
    build(people, "Alpha")
    api = ApiClient(people["admin"])
    r = api.get(
        f"{API}/oncall/hours",
        {"since": "2026-03-02T00:00:00Z", "until": "2026-03-16T00:00:00Z", "format": "csv"},
    )
    assert r.status_code == 200
    text = r.content.decode()
    assert "'=HYPERLINK" in text
    assert not any(
        cell.startswith(("=", "+", "@")) for line in text.splitlines() for cell in line.split(",")
    )
    for raw in ("-1+1", "+1", "@SUM(1)", "\t=1", "\r=1"):
        assert hours.csv_cell(raw).startswith("'")


# --- feed tokens: never in clear ------------------------------------------------------------------


@pytest.mark.django_db
def test_feed_tokens_stay_out_of_logs_and_stores(
    people: dict[str, User], frozen: None, caplog: pytest.LogCaptureFixture
) -> None:
    build(people)
    web = client_for(people["ann"])
    web.post("/calendar/feeds/", {"schedule": "mine"})
    page = web.get("/calendar/feeds/")
    found = re.search(r"/calendar/([A-Za-z0-9_-]+)\.ics", page.content.decode())
    assert found is not None
    token = found.group(1)
    feed = CalendarFeed.objects.get()
    assert len(token) > 30 and token.startswith(feed.prefix)
    # the page with the address: not cached, not sent on as a referrer
    assert page["Cache-Control"] == "no-store"
    assert page["Referrer-Policy"] in ("same-origin", "no-referrer", "strict-origin")
    # the API's reply shows it once; an idempotent replay and the store do not hold it
    api = ApiClient(people["bob"])
    made = api.post(f"{API}/calendar-feeds", {}, headers={"Idempotency-Key": "k-1"})
    api_token = made.json()["url"].rsplit("/", 1)[-1].removesuffix(".ics")
    assert made["Cache-Control"] == "no-store"
    assert (
        api.post(f"{API}/calendar-feeds", {}, headers={"Idempotency-Key": "k-1"}).json()["url"]
        is None
    )
    # reading it, and reading a revoked one: the log holds the prefix only
    with caplog.at_level(logging.INFO):
        feed_reply = Client().get(f"/calendar/{token}.ics")
        assert feed_reply.status_code == 200
        assert "private" in feed_reply["Cache-Control"]
        services.feed_revoke(feed=feed, actor=Actor.for_user(people["ann"]))
        assert Client().get(f"/calendar/{token}.ics").status_code == 404
    logged = caplog.text
    assert token not in logged and api_token not in logged
    assert token not in redact(f"GET /calendar/{token}.ics HTTP/1.1")
    assert f"/calendar/{token[:8]}…" in redact(f"GET /calendar/{token}.ics?x=1")
    assert redact("/calendar/feeds/12/revoke") == "/calendar/feeds/12/revoke"
    # no table holds either token in clear
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')
            text = repr(cursor.fetchall())
            assert token not in text and api_token not in text, table


@pytest.mark.django_db
def test_a_feed_stops_when_its_owner_becomes_a_reporter_or_leaves(
    people: dict[str, User], frozen: None
) -> None:
    a = build(people)
    _, mine = services.feed_create(owner=people["ann"], actor=Actor.for_user(people["ann"]))
    _, theirs = services.feed_create(
        owner=people["bob"], schedule=a, actor=Actor.for_user(people["bob"])
    )
    assert Client().get(f"/calendar/{mine}.ics").status_code == 200
    User.objects.filter(pk=people["ann"].pk).update(role=Role.REPORTER)
    User.objects.filter(pk=people["bob"].pk).update(is_active=False)
    for token in (mine, theirs):
        reply = Client().get(f"/calendar/{token}.ics")
        assert reply.status_code == 404 and reply.content == b"Not found\n"


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_bad_bodies_are_4xx_and_change_nothing(people: dict[str, User], frozen: None) -> None:
    a = build(people)
    api = ApiClient(people["admin"])
    base = {"name": "New", "time_zone": "UTC"}
    layer = {"name": "L", "start": "2026-03-02T09:00", "rotation": "weekly", "users": ["ann"]}
    bodies: list[Any] = [
        base | {"time_zone": "../../etc/passwd"},
        base | {"time_zone": "UTC\x00"},
        base | {"time_zone": "Europe/../../etc/passwd"},
        base | {"name": "x" * 200_000},
        base | {"layers": [layer] * 1000},
        base | {"layers": [layer | {"users": ["ann"] * 10_000}]},
        base | {"layers": [layer | {"rotation": {"every": -1, "unit": "hours"}}]},
        base | {"layers": [layer | {"rotation": {"every": 10**30, "unit": "days"}}]},
        base | {"layers": [layer | {"start": "0001-01-01T00:00"}]},
        base | {"layers": [layer | {"start": "9999-12-31T23:59"}]},
        base
        | {"layers": [layer | {"restrictions": [{"type": "daily", "start": "25:00", "end": "x"}]}]},
    ]
    for body in bodies:
        r = api.post(f"{API}/schedules", body)
        assert 400 <= r.status_code < 500, (r.status_code, str(body)[:200])
    for raw in ('{"name": NaN, "time_zone": "UTC"}', '{"name": "n", "time_zone": Infinity}'):
        r = api.client.post(
            f"{API}/schedules", raw, content_type="application/json", headers=api._headers(None)
        )
        assert 400 <= r.status_code < 500, raw
    # a body over the upload limit (1 MB)
    r = api.client.post(
        f"{API}/schedules",
        '{"name": "' + "x" * 1_200_000 + '", "time_zone": "UTC"}',
        content_type="application/json",
        headers=api._headers(None),
    )
    assert 400 <= r.status_code < 500
    for since, until in (
        ("2026-03-10T00:00:00Z", "2026-03-01T00:00:00Z"),
        ("0001-01-01T00:00:00Z", "0001-01-02T00:00:00Z"),
        ("9999-12-30T00:00:00Z", "9999-12-31T00:00:00Z"),
        ("2026-03-01T00:00:00Z", "2027-06-01T00:00:00Z"),
        ("NaN", "Infinity"),
    ):
        for path in (
            f"/schedules/{a.pk}/shifts",
            f"/schedules/{a.pk}/gaps",
            "/users/ann/shifts",
            "/oncall/hours",
        ):
            r = api.get(API + path, {"since": since, "until": until})
            assert r.status_code == 422, (path, since, until, r.status_code)
    web = client_for(people["admin"])
    assert web.post("/schedules/new/", {"name": "x" * 1_100_000}).status_code in (400, 413, 422)
    assert Schedule.objects.count() == 1


# --- a bound on the work of one request -----------------------------------------------------------


HEAVY_WINDOWS = [{"type": "daily", "start": f"{h:02d}:00", "end": f"{h:02d}:30"} for h in range(24)]


def heavy_layers() -> list[dict[str, Any]]:
    """20 layers handing off every hour, each with 24 windows a day: legal field by
    field, but 20 × (168 + 168) events a week."""
    return [
        {
            "name": f"L{i}",
            "start": "2026-01-01T00:00",
            "rotation": {"every": 1, "unit": "hours"},
            "users": ["ann", "bob"],
            "restrictions": HEAVY_WINDOWS,
        }
        for i in range(specs.MAX_LAYERS)
    ]


def heavy(people: dict[str, User], name: str) -> Schedule:
    """A schedule stored before the weekly bound (or by hand): `heavy_layers` in the
    database, costly to work out."""
    light = [layer | {"rotation": "daily", "restrictions": []} for layer in heavy_layers()]
    schedule = services.schedule_create(
        name=name,
        time_zone="Europe/Berlin",
        layers=specs.parse_layers(light),
        actor=Actor.for_user(people["admin"]),
    )
    windows = [specs.parse_restriction(w, "w") for w in HEAVY_WINDOWS]
    schedule.layers.update(every=1, unit="hours", restrictions=windows)
    return schedule


@pytest.mark.django_db
def test_layers_that_hand_off_too_often_are_refused_by_name(
    people: dict[str, User], frozen: None
) -> None:
    api = ApiClient(people["admin"])
    body = {"name": "Heavy", "time_zone": "UTC", "layers": heavy_layers()}
    r = api.post(f"{API}/schedules", body)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][-1] == "layers"
    assert "times a week" in r.json()["detail"][0]["msg"]
    # every hour around the clock on three layers is fine
    body["layers"] = [layer | {"restrictions": []} for layer in heavy_layers()[:3]]
    assert api.post(f"{API}/schedules", body).status_code == 201
    # the editor: the refusal is shown on the page, nothing is written
    data: dict[str, Any] = {
        "name": "Heavy web",
        "time_zone": "UTC",
        "team": "",
        "layers": "12",
        "action": "save",
    }
    for i in range(12):  # 12 × 168 hourly hand-offs a week, no windows
        data |= {
            f"layer-{i}-name": f"L{i}",
            f"layer-{i}-start": "2026-03-02T09:00",
            f"layer-{i}-end": "",
            f"layer-{i}-every": "1",
            f"layer-{i}-unit": "hours",
            f"layer-{i}-users": "ann",
            f"layer-{i}-restrictions": "0",
        }
    page = client_for(people["admin"]).post("/schedules/new/", data)
    assert page.status_code == 422
    assert "times a week" in page.content.decode()
    assert not Schedule.objects.filter(name="Heavy web").exists()


@pytest.mark.django_db
def test_costly_spans_are_refused_by_name_not_computed(
    people: dict[str, User], frozen: None
) -> None:
    for n in range(3):
        heavy(people, f"Heavy {n}")
    s = Schedule.objects.get(name="Heavy 0")
    api = ApiClient(people["admin"])
    year = {"since": "2026-01-01T00:00:00Z", "until": "2027-01-01T00:00:00Z"}
    for path in (
        f"/schedules/{s.pk}/shifts",
        f"/schedules/{s.pk}/gaps",
        "/users/ann/shifts",
        "/oncall/hours",
    ):
        r = api.get(API + path, year)
        assert r.status_code == 422, path
        detail = r.json()["detail"]
        assert detail[0]["loc"][-1] == "until" and "shorter span" in detail[0]["msg"]
    # a week is fine
    week = {"since": "2026-03-02T00:00:00Z", "until": "2026-03-09T00:00:00Z"}
    assert api.get(f"{API}/schedules/{s.pk}/shifts", week).status_code == 200
    # the pages and the feed answer, never a 500
    web = client_for(people["ann"])
    assert web.get("/oncall/mine/").status_code == 200
    assert web.get("/oncall/hours/?since=2026-01-01&until=2026-12-31").status_code == 422
    assert web.get(f"/schedules/{s.pk}/").status_code == 200
    _, token = services.feed_create(owner=people["ann"], actor=Actor.for_user(people["ann"]))
    assert Client().get(f"/calendar/{token}.ics").status_code == 422
    with pytest.raises(Invalid) as refused:
        services.cover_request_create(
            schedule=s,
            requester=people["ann"],
            start=at(2026, 3, 1),
            end=at(2027, 3, 1),
            actor=Actor.for_user(people["ann"]),
        )
    assert refused.value.field == "end"


@pytest.mark.django_db
def test_a_year_of_ordinary_schedules_stays_within_the_bound(
    people: dict[str, User], frozen: None
) -> None:
    for n in range(12):
        build(people, f"Ordinary {n}")
    plans = selectors.rules_many(list(Schedule.objects.all()), at(2026, 1, 1), at(2027, 1, 1))
    asked = sum(selectors.work(p, at(2026, 1, 1), at(2027, 1, 1)) for p in plans.values())
    assert asked < selectors.MAX_WORK / 5
    api = ApiClient(people["admin"])
    r = api.get(
        f"{API}/oncall/hours", {"since": "2026-01-01T00:00:00Z", "until": "2027-01-01T00:00:00Z"}
    )
    assert r.status_code == 200


# --- two writers at once --------------------------------------------------------------------------


def _in_thread(work: Callable[[], Any], results: list[Any], barrier: threading.Barrier) -> None:
    try:
        barrier.wait(timeout=10)
        results.append(work())
    except Exception as exc:  # the outcome is the test's to judge
        results.append(exc)
    finally:
        connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_one_cover_request_accepted_twice_at_once_makes_one_override(
    people: dict[str, User],
) -> None:
    with time_machine.travel(NOW, tick=False):
        a = build(people)
        req = services.cover_request_create(
            schedule=a,
            requester=people["bob"],
            start=at(2026, 3, 16, 8),
            end=at(2026, 3, 16, 16),
            actor=Actor.for_user(people["bob"]),
        )
    takers = [people["ann"], people["cid"]]
    results: list[Any] = []
    together = connection.vendor != "sqlite"  # SQLite: one writer at a time, in turn
    barrier = threading.Barrier(2 if together else 1)

    def accept(user: User) -> Callable[[], Any]:
        def go() -> Any:
            fresh = CoverRequest.objects.select_related("schedule", "requester").get(pk=req.pk)
            return services.cover_request_accept(
                request=fresh, user=user, actor=Actor.for_user(user)
            )

        return go

    threads = [
        threading.Thread(target=_in_thread, args=(accept(u), results, barrier)) for u in takers
    ]
    if not together:
        for t in threads:
            t.start()
            t.join()
    else:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    made = [r for r in results if isinstance(r, Override)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(made) == 1 and len(refused) == 1, results
    assert Override.objects.filter(schedule=a).count() == 1
    req.refresh_from_db()
    assert req.state == CoverState.ACCEPTED and req.override_id == made[0].pk


@pytest.mark.django_db
def test_an_override_is_refused_on_a_schedule_archived_since_it_was_read(
    people: dict[str, User], frozen: None
) -> None:
    a = build(people)
    stale = Schedule.objects.get(pk=a.pk)  # read by the override's request
    services.schedule_archive(schedule=a, actor=Actor.for_user(people["manager"]))
    with pytest.raises(Conflict):
        services.override_create(
            schedule=stale,
            user=people["cid"],
            start=at(2026, 3, 11, 9),
            end=at(2026, 3, 11, 12),
            actor=Actor.for_user(people["manager"]),
        )
    with pytest.raises(Conflict):
        services.cover_request_create(
            schedule=stale,
            requester=people["bob"],
            start=at(2026, 3, 16, 8),
            end=at(2026, 3, 16, 16),
            actor=Actor.for_user(people["bob"]),
        )
    assert Override.objects.filter(schedule=a).count() == 0


@pytest.mark.django_db
def test_bad_addresses_on_the_pages_are_never_a_500(people: dict[str, User], frozen: None) -> None:
    a = build(people)
    web = client_for(people["admin"])
    for path in (
        f"/schedules/{a.pk}/?week=0001-01-01",
        f"/schedules/{a.pk}/?week=9999-12-31",
        f"/schedules/{a.pk}/?week=2026-02-30",
        f"/schedules/{a.pk}/?week=%00",
        f"/schedules/{a.pk}/?start=0001-01-01T00:00&end=9999-12-31T00:00",
        f"/schedules/{a.pk}/?start=2026-03-01T00:00&end=2027-12-31T00:00",
        f"/schedules/{a.pk}/?start=2026-03-10T00:00&end=2026-03-01T00:00",
        "/oncall/hours/?since=0001-01-01&until=9999-12-31",
        "/oncall/hours/?since=2026-03-10&until=2026-03-01",
        "/oncall/hours/?since=2026-01-01&until=2027-06-01",
        "/oncall/hours/?since=%00&until=x",
        "/calendar/" + "A" * 99 + ".ics",
        "/calendar/" + "%00" * 20 + ".ics",
        "/schedules/99999999999999999999/",
    ):
        assert web.get(path).status_code in (200, 404, 422), path


@pytest.mark.django_db
def test_a_feed_of_someone_else_cannot_be_read_or_revoked(
    people: dict[str, User], frozen: None
) -> None:
    feed, _ = services.feed_create(owner=people["ann"], actor=Actor.for_user(people["ann"]))
    bob = ApiClient(people["bob"])
    assert bob.get(f"{API}/calendar-feeds/{feed.pk}").status_code == 404
    assert (
        bob.client.delete(f"{API}/calendar-feeds/{feed.pk}", headers=bob._headers(None)).status_code
        == 404
    )
    assert bob.get(f"{API}/calendar-feeds", {"user": "ann"}).status_code == 404
    assert client_for(people["bob"]).post(f"/calendar/feeds/{feed.pk}/revoke").status_code == 404
    # an administrator's page revokes only their own (the API may revoke anyone's)
    assert client_for(people["admin"]).post(f"/calendar/feeds/{feed.pk}/revoke").status_code == 404
    feed.refresh_from_db()
    assert feed.revoked_at is None
