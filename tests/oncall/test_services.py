"""Schedules through the services: layers stored and read back, overrides, cover requests,
and who may do what (participants, team managers, administrators)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from tocsin.accounts.models import Role, Team, User
from tocsin.core.actors import Actor
from tocsin.core.errors import Conflict, Forbidden, Invalid
from tocsin.oncall import selectors, services, specs
from tocsin.oncall.models import CoverState

UTC = dt.UTC
pytestmark = pytest.mark.django_db


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.fixture
def people(make_user: Callable[..., User]) -> dict[str, User]:
    return {
        "admin": make_user(Role.ADMIN, username="ada"),
        "manager": make_user(Role.MANAGER, username="mia"),
        "ann": make_user(Role.RESPONDER, username="ann"),
        "bob": make_user(Role.RESPONDER, username="bob"),
        "cid": make_user(Role.AGENT, username="cid"),
        "rep": make_user(Role.REPORTER, username="rex"),
    }


def build(people: dict[str, User]) -> selectors.Schedule:
    team = Team.objects.create(name="Platform", manager=people["manager"])
    team.members.add(people["cid"])
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
                "name": "Nights",
                "start": "2026-03-02T17:00",
                "rotation": "daily",
                "users": ["bob", "ann", "bob"],
            },
        ]
    )
    return services.schedule_create(
        name="Platform primary",
        time_zone="Europe/Berlin",
        team=team,
        layers=layers,
        actor=Actor.for_user(people["manager"]),
    )


def test_layers_are_stored_in_order_with_repeats_and_read_back(people: dict[str, User]) -> None:
    schedule = build(people)
    layers = selectors.layers_of(schedule)
    assert [layer.name for layer, _ in layers] == ["Business hours", "Nights"]
    assert [u.username for u in layers[1][1]] == ["bob", "ann", "bob"]
    snap = services.layers_snapshot(schedule)
    assert snap[0]["restrictions"] == [
        {
            "type": "weekly",
            "days": ["mon", "tue", "wed", "thu", "fri"],
            "start": "09:00",
            "end": "17:00",
        }
    ]
    assert specs.restriction_label(layers[0][0].restrictions[0]) == "Mon–Fri 09:00–17:00"


def test_business_hours_win_and_nights_show_through(people: dict[str, User]) -> None:
    schedule = build(people)
    # Tuesday 3 March 2026, 10:00 in Berlin (09:00 UTC): business hours, week 1 → ann
    answer = selectors.oncall(schedule, at(2026, 3, 3, 9))
    assert answer.shift is not None and answer.shift.user == people["ann"].pk
    # she then holds the night (bob, ann, bob: day 1) and the next business day, and goes
    # off call at 17:00 Berlin on Wednesday when bob's night begins
    assert answer.until == at(2026, 3, 4, 16)
    # 18:00 Berlin: nights, day 1 since 2 March 17:00 → ann (bob, ann, bob)
    night = selectors.oncall(schedule, at(2026, 3, 3, 17))
    assert night.shift is not None and night.shift.user == people["ann"].pk


def test_an_override_in_place_of_a_person_and_its_removal(people: dict[str, User]) -> None:
    schedule = build(people)
    o = services.override_create(
        schedule=schedule,
        user=people["cid"],
        replaces=people["ann"],
        start=at(2026, 3, 3, 8),
        end=at(2026, 3, 3, 12),
        actor=Actor.for_user(people["bob"]),
    )
    assert selectors.oncall(schedule, at(2026, 3, 3, 9)).shift.user == people["cid"].pk  # type: ignore[union-attr]
    services.override_delete(override=o, actor=Actor.for_user(people["manager"]))
    assert selectors.oncall(schedule, at(2026, 3, 3, 9)).shift.user == people["ann"].pk  # type: ignore[union-attr]


def test_who_may_add_overrides(people: dict[str, User]) -> None:
    schedule = build(people)
    for outsider in ("cid", "rep"):  # a team member not in the rotation; a reporter
        with pytest.raises(Forbidden):
            services.override_create(
                schedule=schedule,
                user=people["cid"],
                start=at(2026, 3, 3, 8),
                end=at(2026, 3, 3, 12),
                actor=Actor.for_user(people[outsider]),
            )
    with pytest.raises(Invalid, match="end"):
        services.override_create(
            schedule=schedule,
            user=people["cid"],
            start=at(2026, 3, 3, 8),
            end=at(2026, 3, 3, 8),
            actor=Actor.for_user(people["admin"]),
        )
    with pytest.raises(Invalid, match="not an active responder"):
        services.override_create(
            schedule=schedule,
            user=people["rep"],
            start=at(2026, 3, 3, 8),
            end=at(2026, 3, 3, 9),
            actor=Actor.for_user(people["admin"]),
        )


def test_a_cover_request_accepted_becomes_an_override_once(people: dict[str, User]) -> None:
    schedule = build(people)
    req = services.cover_request_create(
        schedule=schedule,
        requester=people["ann"],
        start=at(2026, 3, 3, 8),
        end=at(2026, 3, 3, 16),
        actor=Actor.for_user(people["ann"]),
    )
    assert list(selectors.cover_requests(schedule=schedule)) == [req]
    o = services.cover_request_accept(
        request=req, user=people["cid"], actor=Actor.for_user(people["cid"])
    )
    assert o.replaces == people["ann"]
    req.refresh_from_db()
    assert req.state == CoverState.ACCEPTED and req.override == o
    assert selectors.oncall(schedule, at(2026, 3, 3, 9)).shift.user == people["cid"].pk  # type: ignore[union-attr]
    with pytest.raises(Conflict):
        services.cover_request_accept(
            request=req, user=people["bob"], actor=Actor.for_user(people["bob"])
        )
    with pytest.raises(Conflict):
        services.cover_request_withdraw(request=req, actor=Actor.for_user(people["ann"]))


def test_cover_only_for_ones_own_shifts(people: dict[str, User]) -> None:
    schedule = build(people)
    with pytest.raises(Invalid, match="no shift"):
        services.cover_request_create(
            schedule=schedule,
            requester=people["bob"],
            start=at(2026, 3, 3, 8),
            end=at(2026, 3, 3, 16),
            actor=Actor.for_user(people["bob"]),
        )


def test_bad_layers_name_their_field(people: dict[str, User]) -> None:
    cases = [
        (
            {"name": "", "start": "2026-01-01T00:00", "rotation": "daily", "users": ["ann"]},
            "layers[0].name",
        ),
        (
            {"name": "x", "start": "2026-01-01T00:00+01:00", "rotation": "daily", "users": ["ann"]},
            "layers[0].start",
        ),
        (
            {
                "name": "x",
                "start": "2026-01-01T00:00",
                "rotation": {"every": 0, "unit": "days"},
                "users": ["ann"],
            },
            "layers[0].rotation.every",
        ),
        (
            {"name": "x", "start": "2026-01-01T00:00", "rotation": "daily", "users": ["rex"]},
            "layers[0].users[0]",
        ),
        (
            {
                "name": "x",
                "start": "2026-01-01T00:00",
                "rotation": "daily",
                "users": ["ann"],
                "restrictions": [
                    {"type": "weekly", "days": ["funday"], "start": "09:00", "end": "17:00"}
                ],
            },
            "layers[0].restrictions[0].days[0]",
        ),
        (
            {
                "name": "x",
                "start": "2026-01-01T00:00",
                "rotation": "daily",
                "users": ["ann"],
                "restrictions": [{"type": "daily", "start": "9", "end": "17:00"}],
            },
            "layers[0].restrictions[0].start",
        ),
    ]
    for layer, field in cases:
        with pytest.raises(Invalid) as caught:
            specs.parse_layers([layer])
        assert caught.value.field == field, (layer, caught.value)
