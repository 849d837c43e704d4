"""On-call schedules through the REST API, as a client drives them: shapes, who may do
what, bad input named by field, idempotent creates, and `oncall?at=` agreeing with
`shifts` at every shift boundary across a daylight-saving change."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ApiClient
from tocsin.accounts.models import Role, Team, User
from tocsin.oncall.models import CoverRequest, Layer, Override, Schedule

UTC = dt.UTC
pytestmark = pytest.mark.django_db

BUSINESS_HOURS = {
    "type": "weekly",
    "days": ["mon", "tue", "wed", "thu", "fri"],
    "start": "09:00",
    "end": "17:00",
}


def iso(*args: int) -> str:
    return dt.datetime(*args, tzinfo=UTC).isoformat().replace("+00:00", "Z")  # type: ignore[misc]


def parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


@pytest.fixture
def people(make_user: Callable[..., User]) -> dict[str, User]:
    return {
        "admin": make_user(Role.ADMIN, username="ada"),
        "manager": make_user(Role.MANAGER, username="mia"),
        "other_manager": make_user(Role.MANAGER, username="max"),
        "ann": make_user(Role.RESPONDER, username="ann", name="Ann Example"),
        "bob": make_user(Role.RESPONDER, username="bob"),
        "cid": make_user(Role.AGENT, username="cid"),
        "dan": make_user(Role.RESPONDER, username="dan"),
        "rep": make_user(Role.REPORTER, username="rex"),
    }


@pytest.fixture
def teams(people: dict[str, User]) -> dict[str, Team]:
    platform = Team.objects.create(name="Platform", manager=people["manager"])
    platform.members.add(people["cid"], people["ann"], people["bob"])
    network = Team.objects.create(name="Network", manager=people["other_manager"])
    return {"platform": platform, "network": network}


@pytest.fixture
def clients(people: dict[str, User]) -> dict[str, ApiClient]:
    return {key: ApiClient(user) for key, user in people.items()}


def body(team: Team | None = None, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Platform primary",
        "time_zone": "Europe/Berlin",
        "description": "Identity and storage",
        "layers": [
            {
                "name": "Business hours",
                "start": "2026-03-02T09:00",
                "rotation": "weekly",
                "users": ["ann", "bob"],
                "restrictions": [BUSINESS_HOURS],
            },
            {
                "name": "Nights",
                "start": "2026-03-02T17:00",
                "rotation": {"every": 1, "unit": "days"},
                "users": ["bob", "ann", "bob"],
            },
        ],
    }
    if team is not None:
        data["team"] = team.pk
    data.update(extra)
    return data


@pytest.fixture
def schedule(clients: dict[str, ApiClient], teams: dict[str, Team]) -> dict[str, Any]:
    response = clients["manager"].post("/api/v1/schedules", body(teams["platform"]))
    assert response.status_code == 201, response.content
    return response.json()  # type: ignore[no-any-return]


def fields(response: Any) -> list[str]:
    """The fields a 422 names."""
    assert response.status_code == 422, (response.status_code, response.content)
    return [str(e["loc"][-1]) for e in response.json()["detail"]]


# --- schedules ------------------------------------------------------------------------------


def test_create_read_list_patch_and_archive(
    clients: dict[str, ApiClient], teams: dict[str, Team], schedule: dict[str, Any]
) -> None:
    assert schedule["name"] == "Platform primary"
    assert schedule["time_zone"] == "Europe/Berlin"
    assert schedule["team"] == {"id": teams["platform"].pk, "name": "Platform"}
    assert schedule["archived"] is False and schedule["archived_at"] is None
    first, second = schedule["layers"]
    assert first["name"] == "Business hours" and first["start"] == "2026-03-02T09:00"
    assert first["rotation"] == {"every": 1, "unit": "weeks"}
    assert first["users"] == ["ann", "bob"]
    assert first["restrictions"] == [BUSINESS_HOURS]
    assert second["rotation"] == {"every": 1, "unit": "days"} and second["end"] is None
    assert second["users"] == ["bob", "ann", "bob"]

    sid = schedule["id"]
    responder = clients["ann"]
    assert responder.get(f"/api/v1/schedules/{sid}").json() == schedule
    listed = responder.get("/api/v1/schedules").json()
    assert listed["count"] == 1 and listed["items"] == [schedule]
    assert responder.get("/api/v1/schedules", {"team": teams["network"].pk}).json()["count"] == 0
    assert responder.get("/api/v1/schedules", {"team": teams["platform"].pk}).json()["count"] == 1

    # a layer with its id is updated in place; one without is new; one left out goes
    night_id = second["id"]
    patched = clients["manager"].patch(
        f"/api/v1/schedules/{sid}",
        {
            "name": "Platform on call",
            "layers": [
                {
                    "id": night_id,
                    "name": "Nights",
                    "start": "2026-03-02T18:00",
                    "rotation": "daily",
                    "users": ["ann"],
                    "restrictions": [{"type": "daily", "start": "18:00", "end": "08:00"}],
                },
                {
                    "name": "Weekends",
                    "start": "2026-03-07T00:00",
                    "end": "2026-12-31T00:00",
                    "rotation": {"every": 12, "unit": "hours"},
                    "users": ["bob"],
                    "restrictions": [
                        {
                            "type": "weekly",
                            "start_day": "fri",
                            "start": "18:00",
                            "end_day": "mon",
                            "end": "08:00",
                        }
                    ],
                },
            ],
        },
    )
    assert patched.status_code == 200, patched.content
    data = patched.json()
    assert data["name"] == "Platform on call" and data["description"] == "Identity and storage"
    assert data["layers"][0]["id"] == night_id
    assert data["layers"][0]["restrictions"] == [
        {"type": "daily", "start": "18:00", "end": "08:00"}
    ]
    assert data["layers"][1]["rotation"] == {"every": 12, "unit": "hours"}
    assert data["layers"][1]["end"] == "2026-12-31T00:00"
    assert data["layers"][1]["restrictions"][0]["end_day"] == "mon"
    assert Layer.objects.filter(schedule_id=sid).count() == 2

    # a subset: the rest stays
    only = clients["manager"].patch(f"/api/v1/schedules/{sid}", {"description": ""}).json()
    assert only["description"] == "" and only["layers"] == data["layers"]

    archived = clients["manager"].client.delete(
        f"/api/v1/schedules/{sid}", headers=clients["manager"]._headers(None)
    )
    assert archived.status_code == 200 and archived.json()["archived"] is True
    assert responder.get("/api/v1/schedules").json()["count"] == 0
    assert (
        responder.get("/api/v1/schedules", {"include_archived": "true"}).json()["items"][0]["id"]
        == sid
    )
    assert responder.get(f"/api/v1/schedules/{sid}").json()["archived"] is True
    again = clients["manager"].patch(f"/api/v1/schedules/{sid}", {"name": "Back"})
    assert again.status_code == 409
    late = clients["ann"].post(
        f"/api/v1/schedules/{sid}/overrides",
        {"user": "ann", "start": iso(2026, 3, 3, 8), "end": iso(2026, 3, 3, 9)},
    )
    assert late.status_code == 409


def test_openapi_documents_the_shapes(clients: dict[str, ApiClient]) -> None:
    spec = clients["ann"].get("/api/v1/openapi.json").json()
    names = spec["components"]["schemas"]
    for name in ("Schedule", "ScheduleLayer", "ScheduleIn", "OnCall", "Shift", "Override"):
        assert name in names, name
    assert "/api/v1/schedules/{schedule_id}/oncall" in spec["paths"]
    assert "/api/v1/users/{username}/shifts" in spec["paths"]


# --- who may do what ------------------------------------------------------------------------


def test_reporters_are_told_nothing_exists(
    clients: dict[str, ApiClient], schedule: dict[str, Any]
) -> None:
    rex = clients["rep"]
    sid = schedule["id"]
    for path in (
        "/api/v1/schedules",
        f"/api/v1/schedules/{sid}",
        f"/api/v1/schedules/{sid}/oncall",
        f"/api/v1/schedules/{sid}/shifts",
        f"/api/v1/schedules/{sid}/gaps",
        f"/api/v1/schedules/{sid}/overrides",
        f"/api/v1/schedules/{sid}/cover-requests",
        "/api/v1/users/ann/shifts",
        "/api/v1/oncall",
    ):
        assert rex.get(path).status_code == 404, path
    assert rex.post("/api/v1/schedules", body(name="Mine")).status_code == 404
    assert rex.patch(f"/api/v1/schedules/{sid}", {"name": "x"}).status_code == 404
    assert rex.client.delete(
        f"/api/v1/schedules/{sid}", headers=rex._headers(None)
    ).status_code == (404)
    assert (
        rex.post(
            f"/api/v1/schedules/{sid}/overrides",
            {"user": "ann", "start": iso(2026, 3, 3, 8), "end": iso(2026, 3, 3, 9)},
        ).status_code
        == 404
    )
    assert Schedule.objects.get(pk=sid).archived_at is None


def test_responders_read_but_do_not_edit(
    clients: dict[str, ApiClient], teams: dict[str, Team], schedule: dict[str, Any]
) -> None:
    ann = clients["ann"]
    sid = schedule["id"]
    assert ann.get(f"/api/v1/schedules/{sid}/oncall").status_code == 200
    assert ann.post("/api/v1/schedules", body(teams["platform"], name="Mine")).status_code == 403
    assert ann.patch(f"/api/v1/schedules/{sid}", {"name": "x"}).status_code == 403
    assert ann.client.delete(
        f"/api/v1/schedules/{sid}", headers=ann._headers(None)
    ).status_code == (403)
    assert Schedule.objects.get(pk=sid).name == "Platform primary"


def test_managers_edit_their_own_teams_schedules_only(
    clients: dict[str, ApiClient], teams: dict[str, Team], schedule: dict[str, Any]
) -> None:
    other = clients["other_manager"]
    sid = schedule["id"]
    assert other.get(f"/api/v1/schedules/{sid}").status_code == 200  # visible: staff
    assert other.patch(f"/api/v1/schedules/{sid}", {"name": "Mine now"}).status_code == 403
    assert other.post("/api/v1/schedules", body(teams["platform"], name="x")).status_code == 403
    assert other.post("/api/v1/schedules", body(name="No team")).status_code == 403
    own = other.post("/api/v1/schedules", body(teams["network"], name="Network primary"))
    assert own.status_code == 201
    # giving a schedule away to a team one does not manage is refused
    moved = clients["manager"].patch(f"/api/v1/schedules/{sid}", {"team": teams["network"].pk})
    assert moved.status_code == 403
    assert Schedule.objects.get(pk=sid).team_id == teams["platform"].pk


def test_administrators_do_everything(
    clients: dict[str, ApiClient], teams: dict[str, Team], schedule: dict[str, Any]
) -> None:
    ada = clients["admin"]
    sid = schedule["id"]
    created = ada.post("/api/v1/schedules", body(name="Nobody's"))
    assert created.status_code == 201 and created.json()["team"] is None
    moved = ada.patch(f"/api/v1/schedules/{sid}", {"team": teams["network"].pk})
    assert moved.json()["team"]["name"] == "Network"
    cleared = ada.patch(f"/api/v1/schedules/{sid}", {"team": None})
    assert cleared.status_code == 200 and cleared.json()["team"] is None
    deleted = ada.client.delete(f"/api/v1/schedules/{sid}", headers=ada._headers(None))
    assert deleted.status_code == 200


def test_participants_add_overrides_and_outsiders_cannot(
    clients: dict[str, ApiClient], schedule: dict[str, Any]
) -> None:
    sid = schedule["id"]
    url = f"/api/v1/schedules/{sid}/overrides"
    span = {"start": iso(2026, 3, 3, 8), "end": iso(2026, 3, 3, 12)}
    for outsider in ("cid", "dan"):  # a team member outside the rotation; another responder
        assert clients[outsider].post(url, {"user": "dan", **span}).status_code == 403
    made = clients["bob"].post(url, {"user": "dan", "replaces": "ann", "note": "swap", **span})
    assert made.status_code == 201, made.content
    o = made.json()
    assert o["user"] == "dan" and o["replaces"] == "ann" and o["created_by"] == "bob"
    assert o["start"] == "2026-03-03T08:00:00Z" and o["start_local"] == "2026-03-03T09:00:00+01:00"
    # Tuesday 10:00 Berlin: business hours, ann's week, replaced by dan
    now_on = clients["cid"].get(f"/api/v1/schedules/{sid}/oncall", {"at": iso(2026, 3, 3, 9)})
    assert now_on.json()["users"][0]["username"] == "dan"
    assert now_on.json()["users"][0]["override"] == o["id"]
    listed = clients["cid"].get(url).json()
    assert listed["count"] == 1 and listed["items"][0]["id"] == o["id"]
    assert clients["cid"].get(url, {"since": iso(2026, 3, 4)}).json()["count"] == 0
    gone = clients["dan"].client.delete(f"{url}/{o['id']}", headers=clients["dan"]._headers(None))
    assert gone.status_code == 403
    gone = clients["ann"].client.delete(f"{url}/{o['id']}", headers=clients["ann"]._headers(None))
    assert gone.status_code == 204
    assert not Override.objects.exists()
    missing = clients["ann"].client.delete(
        f"{url}/{o['id']}", headers=clients["ann"]._headers(None)
    )
    assert missing.status_code == 404


def test_cover_requests_asked_accepted_and_withdrawn(
    clients: dict[str, ApiClient], schedule: dict[str, Any]
) -> None:
    sid = schedule["id"]
    url = f"/api/v1/schedules/{sid}/cover-requests"
    span = {"start": iso(2026, 3, 3, 8), "end": iso(2026, 3, 3, 16)}
    assert clients["dan"].post(url, span).status_code == 403  # not in the rotation
    # bob has no shift then (ann's business-hours week)
    assert fields(clients["bob"].post(url, span)) == ["start"]
    asked = clients["ann"].post(url, {**span, "note": "dentist"})
    assert asked.status_code == 201, asked.content
    req = asked.json()
    assert req["requester"] == "ann" and req["state"] == "open" and req["override"] is None
    assert clients["cid"].get(url).json()["items"][0]["id"] == req["id"]

    accept = f"{url}/{req['id']}/accept"
    assert clients["dan"].post(accept).status_code == 403  # outsider
    assert clients["bob"].post(accept, {"user": "cid"}).status_code == 403  # not an editor
    assert fields(clients["ann"].post(accept)) == ["user"]  # cannot cover oneself
    # the owning team's member covers (a POST with no body at all, as curl sends it)
    cid = clients["cid"]
    taken = cid.client.generic("POST", accept, b"", content_type="", headers=cid._headers(None))
    assert taken.status_code == 200, taken.content
    assert taken.json()["state"] == "accepted" and taken.json()["accepted_by"] == "cid"
    override = Override.objects.get(pk=taken.json()["override"])
    assert override.user.username == "cid" and override.replaces == clients["ann"].user
    assert clients["bob"].post(accept).status_code == 409
    assert clients["ann"].get(url).json()["count"] == 0
    assert clients["ann"].get(url, {"state": "all"}).json()["count"] == 1

    # an editor asks for someone else; the requester withdraws
    second = clients["manager"].post(
        url, {"user": "ann", "start": iso(2026, 3, 5, 8), "end": iso(2026, 3, 5, 10)}
    )
    assert second.status_code == 201 and second.json()["requester"] == "ann"
    assert clients["bob"].post(url, {"user": "ann", **span}).status_code == 403
    withdraw = f"{url}/{second.json()['id']}/withdraw"
    assert clients["bob"].post(withdraw).status_code == 403
    done = clients["ann"].post(withdraw)
    assert done.status_code == 200 and done.json()["state"] == "withdrawn"
    assert clients["ann"].post(withdraw).status_code == 409
    assert clients["ann"].post(f"{url}/999999/withdraw").status_code == 404
    assert CoverRequest.objects.count() == 2


# --- bad input ------------------------------------------------------------------------------


def test_bad_schedules_name_their_field_and_change_nothing(
    clients: dict[str, ApiClient], teams: dict[str, Team]
) -> None:
    mia = clients["manager"]
    layer = body()["layers"][0]
    cases: list[tuple[dict[str, Any], str]] = [
        (body(teams["platform"], name=""), "name"),
        (body(teams["platform"], name="x" * 101), "name"),
        (body(teams["platform"], time_zone="Mars/Olympus"), "time_zone"),
        ({**body(), "team": 424242}, "team"),
        (body(teams["platform"], colour="red"), "colour"),
        (body(teams["platform"], layers=[{**layer, "name": " "}]), "layers[0].name"),
        (
            body(teams["platform"], layers=[{**layer, "start": "2026-03-02T09:00+01:00"}]),
            "layers[0].start",
        ),
        (body(teams["platform"], layers=[{**layer, "start": "tomorrow"}]), "layers[0].start"),
        (body(teams["platform"], layers=[{**layer, "end": "2026-03-01T09:00"}]), "layers[0].end"),
        (
            body(teams["platform"], layers=[{**layer, "rotation": {"every": 0, "unit": "days"}}]),
            "layers[0].rotation.every",
        ),
        (
            body(
                teams["platform"], layers=[{**layer, "rotation": {"every": 500, "unit": "weeks"}}]
            ),
            "layers[0].rotation.every",
        ),
        (body(teams["platform"], layers=[{**layer, "users": []}]), "layers[0].users"),
        (
            body(teams["platform"], layers=[{**layer, "users": ["ann", "nobody"]}]),
            "layers[0].users[1]",
        ),
        (
            body(teams["platform"], layers=[{**layer, "users": ["ann", "rex"]}]),
            "layers[0].users[1]",
        ),
        (
            body(
                teams["platform"],
                layers=[{**layer, "restrictions": [{**BUSINESS_HOURS, "start": "25:00"}]}],
            ),
            "layers[0].restrictions[0].start",
        ),
        (
            body(
                teams["platform"],
                layers=[{**layer, "restrictions": [{**BUSINESS_HOURS, "days": ["someday"]}]}],
            ),
            "layers[0].restrictions[0].days[0]",
        ),
        (
            body(
                teams["platform"],
                layers=[{**layer, "restrictions": [{**BUSINESS_HOURS, "end": "09:00"}]}],
            ),
            "layers[0].restrictions[0].end",
        ),
    ]
    for data, field in cases:
        response = mia.post("/api/v1/schedules", data)
        assert field in fields(response), (field, response.json())
    # pydantic's own checks name the field too, in ninja's shape
    for data, field in [
        (body(teams["platform"], layers=[{**layer, "rotation": "monthly"}]), "rotation"),
        (body(teams["platform"], layers=[{**layer, "users": "ann"}]), "users"),
        (body(teams["platform"], layers="all"), "layers"),
    ]:
        response = mia.post("/api/v1/schedules", data)
        assert response.status_code == 422
        assert any(field in e["loc"] for e in response.json()["detail"]), response.json()
    assert not Schedule.objects.exists()
    assert mia.post("/api/v1/schedules", body(teams["platform"])).status_code == 201
    clash = mia.post("/api/v1/schedules", body(teams["platform"], name="PLATFORM PRIMARY"))
    assert clash.status_code == 409
    assert Schedule.objects.count() == 1


def test_bad_patches_name_their_field(
    clients: dict[str, ApiClient], schedule: dict[str, Any]
) -> None:
    sid = schedule["id"]
    mia = clients["manager"]
    layer = dict(schedule["layers"][0])
    assert fields(mia.patch(f"/api/v1/schedules/{sid}", {"time_zone": "Berlin"})) == ["time_zone"]
    assert fields(mia.patch(f"/api/v1/schedules/{sid}", {"layers": [{**layer, "id": 999999}]})) == [
        "layers[0].id"
    ]
    assert fields(mia.patch(f"/api/v1/schedules/{sid}", {"team": 999999})) == ["team"]
    assert mia.patch("/api/v1/schedules/999999", {"name": "x"}).status_code == 404
    assert mia.get(f"/api/v1/schedules/{sid}").json() == schedule


def test_bad_spans_and_instants_name_their_field(
    clients: dict[str, ApiClient], schedule: dict[str, Any]
) -> None:
    sid = schedule["id"]
    ann = clients["ann"]
    shifts = f"/api/v1/schedules/{sid}/shifts"
    assert fields(ann.get(shifts, {"since": "2026-03-01T00:00:00"})) == ["since"]
    assert fields(ann.get(shifts, {"since": "yesterday"})) == ["since"]
    assert fields(ann.get(shifts, {"since": iso(2026, 3, 1), "until": "2026-03-02"})) == ["until"]
    assert fields(ann.get(shifts, {"since": iso(2026, 3, 2), "until": iso(2026, 3, 1)})) == [
        "until"
    ]
    too_long = {"since": iso(2026, 1, 1), "until": iso(2027, 2, 6)}
    assert fields(ann.get(shifts, too_long)) == ["until"]
    assert fields(ann.get(f"/api/v1/schedules/{sid}/gaps", too_long)) == ["until"]
    assert fields(ann.get("/api/v1/users/ann/shifts", too_long)) == ["until"]
    assert fields(ann.get(shifts, {"layer": 999999})) == ["layer"]
    assert fields(ann.get(f"/api/v1/schedules/{sid}/oncall", {"at": "2026-03-29T01:00"})) == ["at"]
    assert fields(ann.get("/api/v1/oncall", {"at": "soon"})) == ["at"]
    assert ann.get("/api/v1/users/nobody/shifts").status_code == 404
    assert ann.get("/api/v1/schedules/999999/oncall").status_code == 404
    # a "+" that a query string turned into a space is taken back
    spaced = ann.client.get(
        f"/api/v1/schedules/{sid}/oncall?at=2026-03-03T10:00:00+01:00",
        headers=ann._headers(None),
    )
    assert spaced.status_code == 200 and spaced.json()["at"] == "2026-03-03T09:00:00Z"

    url = f"/api/v1/schedules/{sid}/overrides"
    good = {"user": "dan", "start": iso(2026, 3, 3, 8), "end": iso(2026, 3, 3, 12)}
    bob = clients["bob"]
    assert fields(bob.post(url, {**good, "user": "nobody"})) == ["user"]
    assert fields(bob.post(url, {**good, "user": "rex"})) == ["user"]
    assert fields(bob.post(url, {**good, "replaces": "nobody"})) == ["replaces"]
    assert fields(bob.post(url, {**good, "replaces": "dan"})) == ["replaces"]
    assert fields(bob.post(url, {**good, "end": good["start"]})) == ["end"]
    assert fields(bob.post(url, {**good, "start": "2026-03-03T08:00:00"})) == ["start"]
    assert fields(bob.post(url, {**good, "end": "later"})) == ["end"]
    assert fields(bob.post(url, {**good, "note": "x" * 501})) == ["note"]
    assert fields(bob.post(url, {**good, "end": iso(2027, 3, 5)})) == ["end"]
    cover = f"/api/v1/schedules/{sid}/cover-requests"
    assert fields(clients["ann"].post(cover, {"start": good["start"]})) == ["end"]
    assert fields(clients["manager"].post(cover, {**good, "user": "nobody"})) == ["user"]
    assert fields(ann.get(cover, {"state": "maybe"})) == ["state"]
    assert not Override.objects.exists() and not CoverRequest.objects.exists()


def test_default_span_is_the_next_seven_days(
    clients: dict[str, ApiClient], schedule: dict[str, Any]
) -> None:
    data = clients["ann"].get(f"/api/v1/schedules/{schedule['id']}/shifts").json()
    since, until = parse(data["since"]), parse(data["until"])
    assert until - since == dt.timedelta(days=7)
    assert abs(dt.datetime.now(UTC) - since) < dt.timedelta(minutes=5)
    assert data["count"] == len(data["items"]) > 0
    answer = clients["ann"].get(f"/api/v1/schedules/{schedule['id']}/oncall").json()
    assert abs(dt.datetime.now(UTC) - parse(answer["at"])) < dt.timedelta(minutes=5)


# --- idempotency ----------------------------------------------------------------------------


def test_an_idempotency_key_creates_once(
    clients: dict[str, ApiClient], teams: dict[str, Team], schedule: dict[str, Any]
) -> None:
    mia = clients["manager"]
    key = {"Idempotency-Key": "schedule-42"}
    first = mia.post("/api/v1/schedules", body(teams["platform"], name="Second"), headers=key)
    again = mia.post("/api/v1/schedules", body(teams["platform"], name="Second"), headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    other = mia.post("/api/v1/schedules", body(teams["platform"], name="Third"), headers=key)
    assert fields(other) == ["Idempotency-Key"]
    assert Schedule.objects.count() == 2

    url = f"/api/v1/schedules/{schedule['id']}/overrides"
    span = {"user": "dan", "start": iso(2026, 3, 3, 8), "end": iso(2026, 3, 3, 12)}
    one = clients["ann"].post(url, span, headers={"Idempotency-Key": "o-1"})
    two = clients["ann"].post(url, span, headers={"Idempotency-Key": "o-1"})
    assert one.status_code == two.status_code == 201 and one.json()["id"] == two.json()["id"]
    assert Override.objects.count() == 1
    cover = f"/api/v1/schedules/{schedule['id']}/cover-requests"
    span = {"start": iso(2026, 3, 4, 8), "end": iso(2026, 3, 4, 12)}
    one = clients["ann"].post(cover, span, headers={"Idempotency-Key": "c-1"})
    two = clients["ann"].post(cover, span, headers={"Idempotency-Key": "c-1"})
    assert one.status_code == two.status_code == 201 and one.json()["id"] == two.json()["id"]
    assert CoverRequest.objects.count() == 1


# --- the answers agree ------------------------------------------------------------------------


def test_oncall_and_shifts_agree_at_every_boundary_across_the_change(
    clients: dict[str, ApiClient], teams: dict[str, Team]
) -> None:
    """Two weeks of a Berlin schedule over 29 March 2026 (02:00 → 03:00): business hours,
    a night layer handing off at 02:30 (a time that does not exist that night), an
    8-hour layer beneath, an override across the change and a gap; at every shift
    boundary and one second either side, `oncall?at=` names the person `shifts` does,
    and says until when."""
    created = clients["admin"].post(
        "/api/v1/schedules",
        {
            "name": "Berlin DST",
            "time_zone": "Europe/Berlin",
            "layers": [
                {
                    "name": "Business hours",
                    "start": "2026-03-23T09:00",
                    "rotation": "weekly",
                    "users": ["ann", "bob"],
                    "restrictions": [BUSINESS_HOURS],
                },
                {
                    "name": "Nights",
                    "start": "2026-03-22T02:30",
                    "rotation": "daily",
                    "users": ["bob", "dan", "ann"],
                    "restrictions": [{"type": "daily", "start": "22:00", "end": "06:00"}],
                },
                {
                    "name": "Eights",
                    "start": "2026-03-22T00:00",
                    "rotation": {"every": 8, "unit": "hours"},
                    "users": ["dan", "cid"],
                    "restrictions": [
                        {"type": "weekly", "days": ["sat", "sun"], "start": "07:00", "end": "20:00"}
                    ],
                },
            ],
        },
    )
    assert created.status_code == 201, created.content
    sid = created.json()["id"]
    ann = clients["ann"]
    made = ann.post(
        f"/api/v1/schedules/{sid}/overrides",
        {"user": "bob", "start": "2026-03-29T00:30:00+01:00", "end": "2026-03-29T04:15:00+02:00"},
    )
    assert made.status_code == 201, made.content

    since, until = dt.datetime(2026, 3, 22, 23, tzinfo=UTC), dt.datetime(2026, 4, 5, 23, tzinfo=UTC)
    span = {"since": since.isoformat(), "until": until.isoformat()}
    data = ann.get(f"/api/v1/schedules/{sid}/shifts", span).json()
    items = data["items"]
    assert items and data["count"] == len(items)
    gaps = ann.get(f"/api/v1/schedules/{sid}/gaps", span).json()["items"]
    assert gaps, "the schedule leaves weekday evenings uncovered"
    covered = sum((parse(s["end"]) - parse(s["start"]) for s in items), dt.timedelta())
    uncovered = sum((parse(g["end"]) - parse(g["start"]) for g in gaps), dt.timedelta())
    assert covered + uncovered == until - since
    assert any(s["override"] for s in items)
    # the override's local times show the change: 00:30 +01:00 to 04:15 +02:00
    override_shift = next(s for s in items if s["override"])
    assert override_shift["start_local"] == "2026-03-29T00:30:00+01:00"
    assert override_shift["end_local"] == "2026-03-29T04:15:00+02:00"

    shifts = [(parse(s["start"]), parse(s["end"]), s) for s in items]
    for a, b in itertools.pairwise(shifts):
        assert a[1] <= b[0]  # in order, never overlapping

    def expected(at: dt.datetime) -> tuple[str | None, dt.datetime | None]:
        for i, (start, end, shift) in enumerate(shifts):
            if start <= at < end:
                off = end
                for nxt_start, nxt_end, nxt in shifts[i + 1 :]:
                    if nxt_start != off or nxt["username"] != shift["username"]:
                        break
                    off = nxt_end
                return shift["username"], off
        return None, None

    second = dt.timedelta(seconds=1)
    boundaries = sorted({t for start, end, _ in shifts for t in (start, end)})
    checked = 0
    for boundary in boundaries:
        for at in (boundary - second, boundary, boundary + second):
            if not since <= at < until:
                continue
            answer = ann.get(f"/api/v1/schedules/{sid}/oncall", {"at": at.isoformat()}).json()
            who, off = expected(at)
            users = answer["users"]
            assert parse(answer["at"]) == at
            if who is None:
                assert users == [], (at, users)
                continue
            assert [u["username"] for u in users] == [who], (at, users, who)
            if off is not None and off < until:  # beyond the span, shifts cannot say
                assert parse(users[0]["until"]) == off, (at, users[0]["until"], off)
            checked += 1
    assert checked > 100


def test_a_persons_shifts_and_the_organisation(
    clients: dict[str, ApiClient], teams: dict[str, Team], schedule: dict[str, Any]
) -> None:
    other = clients["other_manager"].post(
        "/api/v1/schedules",
        {
            "name": "Network primary",
            "time_zone": "America/Chicago",
            "team": teams["network"].pk,
            "layers": [
                {
                    "name": "All day",
                    "start": "2026-03-01T00:00",
                    "rotation": "weekly",
                    "users": ["ann"],
                }
            ],
        },
    )
    assert other.status_code == 201
    span = {"since": iso(2026, 3, 2), "until": iso(2026, 3, 9)}
    mine = clients["bob"].get("/api/v1/users/ann/shifts", span).json()
    assert mine["username"] == "ann" and mine["count"] == len(mine["items"]) > 0
    names = {item["schedule"]["name"] for item in mine["items"]}
    assert names == {"Platform primary", "Network primary"}
    assert all(item["username"] == "ann" for item in mine["items"])
    starts = [parse(item["start"]) for item in mine["items"]]
    assert starts == sorted(starts)
    chicago = next(i for i in mine["items"] if i["schedule"]["name"] == "Network primary")
    assert chicago["start_local"].endswith("-06:00")

    org = clients["cid"].get("/api/v1/oncall", {"at": iso(2026, 3, 3, 9)}).json()
    assert org["count"] == 2
    by_name = {item["schedule"]["name"]: item for item in org["items"]}
    assert by_name["Platform primary"]["users"][0]["username"] == "ann"
    assert by_name["Platform primary"]["at_local"] == "2026-03-03T10:00:00+01:00"
    assert by_name["Network primary"]["team"]["name"] == "Network"
    assert by_name["Network primary"]["at_local"] == "2026-03-03T03:00:00-06:00"
    # a gap: before any layer starts
    early = (
        clients["cid"]
        .get(f"/api/v1/schedules/{schedule['id']}/oncall", {"at": iso(2026, 1, 1)})
        .json()
    )
    assert early["users"] == [] and early["schedule"]["time_zone"] == "Europe/Berlin"


# --- bad input never makes a 500 -------------------------------------------------------------

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.text(max_size=20)
    | st.sampled_from(
        [
            "ann",
            "rex",
            "daily",
            "weekly",
            "mon",
            "09:00",
            "24:00",
            "Europe/Berlin",
            "2026-03-29T02:30",
            "0001-01-01T00:00",
            "9999-12-31T23:59",
            "2026-03-29T01:00:00Z",
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-12:00",
            "\x00",
        ]
    )
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "name",
                    "start",
                    "end",
                    "rotation",
                    "users",
                    "restrictions",
                    "every",
                    "unit",
                    "type",
                    "days",
                    "start_day",
                    "end_day",
                    "id",
                ]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=8,
)
BODIES = st.dictionaries(
    st.sampled_from(
        [
            "name",
            "time_zone",
            "team",
            "layers",
            "description",
            "user",
            "replaces",
            "start",
            "end",
            "note",
        ]
    ),
    VALUES,
    max_size=6,
)
QUERY = st.dictionaries(
    st.sampled_from(["since", "until", "at", "layer", "state", "team", "limit", "offset"]),
    SCALARS.filter(lambda v: v is not None).map(str),
    max_size=3,
)
FUZZ = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(route=st.sampled_from(["post", "patch", "override", "cover"]), data=BODIES | VALUES)
def test_random_bodies_never_make_a_500(
    clients: dict[str, ApiClient], schedule: dict[str, Any], route: str, data: Any
) -> None:
    ada = clients["admin"]
    sid = schedule["id"]
    if route == "post":
        response = ada.post("/api/v1/schedules", data)
    elif route == "patch":
        response = ada.patch(f"/api/v1/schedules/{sid}", data)
    else:
        path = "overrides" if route == "override" else "cover-requests"
        response = ada.post(f"/api/v1/schedules/{sid}/{path}", data)
    assert response.status_code < 500, (route, data, response.content)


@FUZZ
@given(
    path=st.sampled_from(["oncall", "shifts", "gaps", "overrides", "cover-requests", "", "-"]),
    params=QUERY,
)
def test_random_queries_never_make_a_500(
    clients: dict[str, ApiClient], schedule: dict[str, Any], path: str, params: dict[str, str]
) -> None:
    ann = clients["ann"]
    if path == "":
        url = "/api/v1/oncall"
    elif path == "-":
        url = "/api/v1/users/ann/shifts"
    else:
        url = f"/api/v1/schedules/{schedule['id']}/{path}"
    response = ann.get(url, params)
    assert response.status_code in (200, 422), (url, params, response.content)


def test_instants_far_from_now_are_refused_by_name(
    clients: dict[str, ApiClient], schedule: dict[str, Any]
) -> None:
    sid = schedule["id"]
    far = {"user": "dan", "start": "9999-12-31T00:00:00Z", "end": "9999-12-31T23:30:00Z"}
    assert fields(clients["admin"].post(f"/api/v1/schedules/{sid}/overrides", far)) == ["start"]
    early = {"start": "0001-01-01T00:00:00+14:00", "end": "0001-01-02T00:00:00Z"}
    cover = f"/api/v1/schedules/{sid}/cover-requests"
    assert fields(clients["manager"].post(cover, {**early, "user": "ann"})) == ["start"]
    assert not Override.objects.exists() and not CoverRequest.objects.exists()


ZONES = [UTC, dt.timezone(dt.timedelta(hours=14)), dt.timezone(-dt.timedelta(hours=12))]
INSTANTS = st.datetimes(
    min_value=dt.datetime(1, 1, 2),
    max_value=dt.datetime(9998, 1, 1),
    timezones=st.sampled_from(ZONES),
)


@FUZZ
@given(
    start=INSTANTS,
    hours=st.integers(min_value=-2, max_value=24 * 500),
    kind=st.sampled_from(["overrides", "cover-requests", "query"]),
)
def test_any_instant_is_answered_without_a_500(
    clients: dict[str, ApiClient],
    schedule: dict[str, Any],
    start: dt.datetime,
    hours: int,
    kind: str,
) -> None:
    sid = schedule["id"]
    end = (start + dt.timedelta(hours=hours)).isoformat()
    if kind == "query":
        response = clients["ann"].get(
            f"/api/v1/schedules/{sid}/shifts", {"since": start.isoformat(), "until": end}
        )
        again = clients["ann"].get(f"/api/v1/schedules/{sid}/oncall", {"at": start.isoformat()})
        assert again.status_code in (200, 422), again.content
    else:
        data = {
            "start": start.isoformat(),
            "end": end,
            "user": "ann" if kind == "cover-requests" else "dan",
        }
        response = clients["admin"].post(f"/api/v1/schedules/{sid}/{kind}", data)
    assert response.status_code in (200, 201, 422), (kind, start, end, response.content)
