"""The time rules through the database: what the organisation's "who is on call" says
for each schedule is what the schedule's own `oncall` and `shifts` say, on the night
Europe springs forward, including a person on call for months (read beyond the usual
look-ahead), a replacing override and a gap."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from tocsin.accounts.models import Role, User
from tocsin.core.actors import Actor
from tocsin.oncall import selectors, services, specs

UTC = dt.UTC
pytestmark = pytest.mark.django_db


def z(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


@pytest.fixture
def org(make_user: Callable[..., User]) -> tuple[User, dict[str, selectors.Schedule]]:
    admin = make_user(Role.ADMIN, username="ada")
    for name in ("ann", "bob", "cid", "dan"):
        make_user(Role.RESPONDER, username=name)
    actor = Actor.for_user(admin)

    def schedule(name: str, zone: str, layers: list[dict[str, object]]) -> selectors.Schedule:
        return services.schedule_create(
            name=name, time_zone=zone, layers=specs.parse_layers(layers), actor=actor
        )

    made = {
        # daily at 02:30: Sunday's hand-off is at 03:00 CEST (01:00Z)
        "daily": schedule(
            "Daily",
            "Europe/Berlin",
            [
                {
                    "name": "L",
                    "start": "2026-03-27T02:30",
                    "rotation": "daily",
                    "users": ["ann", "bob"],
                }
            ],
        ),
        # one person alone: on call for months (past the 35 days read first)
        "alone": schedule(
            "Alone",
            "Europe/London",
            [{"name": "L", "start": "2026-01-05T09:00", "rotation": "weekly", "users": ["cid"]}],
        ),
        # business hours only: a gap at night
        "office": schedule(
            "Office",
            "America/Chicago",
            [
                {
                    "name": "L",
                    "start": "2026-03-02T09:00",
                    "rotation": "weekly",
                    "users": ["dan", "ann"],
                    "restrictions": [
                        {"type": "weekly", "days": ["mon", "fri"], "start": "09:00", "end": "17:00"}
                    ],
                }
            ],
        ),
    }
    users = {u.username: u for u in User.objects.all()}
    services.override_create(
        schedule=made["alone"],
        user=users["dan"],
        replaces=users["cid"],
        start=z("2026-03-29 00:45"),
        end=z("2026-03-29 01:15"),
        actor=actor,
    )
    return admin, made


@pytest.mark.parametrize(
    "at", ["2026-03-29 00:30", "2026-03-29 00:59", "2026-03-29 01:00", "2026-03-29 01:10"]
)
def test_the_organisation_agrees_with_each_schedule(
    org: tuple[User, dict[str, selectors.Schedule]], at: str
) -> None:
    admin, made = org
    instant = z(at)
    answers = {a.schedule.pk: a for a in selectors.organisation_oncall(user=admin, at=instant)}
    assert set(answers) == {s.pk for s in made.values()}
    for schedule in made.values():
        mine = selectors.oncall(schedule, instant)
        theirs = answers[schedule.pk]
        assert (theirs.oncall.shift, theirs.oncall.until) == (mine.shift, mine.until)
        shifts = selectors.shifts(schedule, instant, instant + dt.timedelta(days=1))
        on = shifts[0].user if shifts and shifts[0].start == instant else None
        assert (theirs.user.pk if theirs.user else None) == on


def test_who_is_on_call_on_the_night_of_the_change(
    org: tuple[User, dict[str, selectors.Schedule]],
) -> None:
    admin, _ = org

    def names(at: str) -> dict[str, tuple[str | None, dt.datetime | None]]:
        return {
            a.schedule.name: (a.user.username if a.user else None, a.oncall.until)
            for a in selectors.organisation_oncall(user=admin, at=z(at))
        }

    assert names("2026-03-29 00:59") == {
        "Daily": ("bob", z("2026-03-29 01:00")),
        "Alone": ("dan", z("2026-03-29 01:15")),  # the override in cid's place
        "Office": (None, None),  # Sunday night in Chicago: a gap
    }
    now_ = names("2026-03-29 01:00")
    assert now_["Daily"] == ("ann", z("2026-03-30 00:30"))
    assert now_["Alone"][0] == "dan"
    later = names("2026-03-29 01:30")
    assert later["Alone"] == ("cid", None)  # beyond the 400 days looked at
