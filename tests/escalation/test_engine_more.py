"""More of the escalation engine against the oracle, tick by tick: "page now" beside a
climb and on an incident someone already took, a team's on-call, low urgency waiting for
working hours, a policy edited during a climb. Same harness as test_engine_oracle.py:
after every step the database's pages and page messages are exactly the oracle's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import time_machine

from tests.notify.conftest import Inbox, _serve
from tocsin.accounts.models import ContactMethod, User
from tocsin.accounts.services import contact_method_remove
from tocsin.core.actors import Actor
from tocsin.escalation import services as escalation
from tocsin.escalation.models import ClimbState, Escalation, Page, PageState
from tocsin.escalation.policies import policy_update
from tocsin.incidents.models import Incident, Status
from tocsin.notify.models import OutboxMessage, OutboxState

from .oracle import SETUP, Level, Rotation, World

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday
MIN = dt.timedelta(minutes=1)


def m(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


@pytest.fixture
def inbox(settings: Any) -> Iterator[Inbox]:
    yield from _serve(settings, Inbox())


@pytest.fixture
def world(
    make_user: Callable[..., User], make_incident: Callable[..., Incident], inbox: Inbox
) -> World:
    return World(make_user, make_incident, inbox)


def payments(world: World, *people: str, delay: int = 5, repeat: int = 0) -> None:
    for name in people:
        world.person(name)
    world.policy("Payments", [Level((("user", n),), delay) for n in people], repeat=repeat)
    world.service("Payments API", "Payments")


def page_of(world: World, ref: str, person: str) -> Page:
    return Page.objects.filter(
        incident=world.incidents[ref], person__username=person, state=PageState.OPEN
    ).get()


def test_page_now_beside_a_climb_and_acknowledge_stops_both(world: World) -> None:
    payments(world, "ann", "bob")
    world.person("cid")
    ref = world.incident("Payments API", m(0))
    world.tick(m(0))
    with time_machine.travel(m(1), tick=False):
        escalation.page_now(
            incident=world.incidents[ref],
            actor=Actor.for_user(world.users["ann"]),
            user=world.users["cid"],
        )
    world.oracle.start(ref, m(1), target=("user", "cid"))
    world.check("page now")
    world.run(m(1), m(2), MIN)  # cid at once
    world.acknowledge(ref, m(2.5), by="cid")  # ann's and cid's later messages cancelled
    world.run(m(3), m(20), MIN)  # bob is never paged
    assert set(Escalation.objects.values_list("state", flat=True)) == {ClimbState.ACKNOWLEDGED}


def test_acknowledging_a_page_now_on_an_incident_already_taken_stops_that_page(
    world: World,
) -> None:
    """Ann took the incident and pages Cid for help. Cid answers the page's acknowledge
    link: his page is acknowledged and his later methods (a call in a few minutes) are
    cancelled. (Before the fix nothing changed: the incident was already acknowledged,
    so Cid's phone kept going until someone resolved the incident.)"""
    payments(world, "ann", "bob")
    world.person("cid")
    ref = world.incident("Payments API", m(0))
    world.tick(m(0))
    world.acknowledge(ref, m(1), by="ann")
    with time_machine.travel(m(2), tick=False):
        escalation.page_now(
            incident=world.incidents[ref],
            actor=Actor.for_user(world.users["ann"]),
            user=world.users["cid"],
        )
    world.oracle.start(ref, m(2), target=("user", "cid"))
    world.tick(m(2))  # cid: mail at once, his second method at 2 + 3 min
    with time_machine.travel(m(3), tick=False):
        escalation.page_act(page=page_of(world, ref, "cid"), action="acknowledge")
    world.oracle.acknowledge_climb(ref, 1)
    world.check("cid acknowledged his page")
    world.run(m(3), m(10), MIN)
    assert not OutboxMessage.objects.filter(
        contact_method__label="cid:later", state=OutboxState.SENT
    ).exists()
    incident = Incident.objects.get(pk=world.incidents[ref].pk)
    assert incident.status == Status.ACKNOWLEDGED
    assert any("cid" in text.lower() and "acknowledged" in text for text in world.timeline(ref))


def test_a_policy_paged_by_hand_on_a_taken_incident_stops_when_its_page_is_acknowledged(
    world: World,
) -> None:
    payments(world, "ann")
    for name in ("cid", "dan"):
        world.person(name)
    world.policy("Database", [Level((("user", "cid"),), 5), Level((("user", "dan"),), 5)])
    ref = world.incident("Payments API", m(0))
    world.tick(m(0))
    world.acknowledge(ref, m(1), by="ann")
    with time_machine.travel(m(2), tick=False):
        escalation.page_now(
            incident=world.incidents[ref],
            actor=Actor.for_user(world.users["ann"]),
            policy=world.policy_rows["Database"],
        )
    world.oracle.start(ref, m(2), policy="Database")
    world.tick(m(2))
    with time_machine.travel(m(4), tick=False):
        escalation.page_act(page=page_of(world, ref, "cid"), action="acknowledge")
    world.oracle.acknowledge_climb(ref, 1)
    world.check("cid acknowledged the hand page")
    world.run(m(4), m(15), MIN)  # dan is never paged
    assert {p[3] for p in world.oracle.expected_pages()} == {"ann", "cid"}


def test_a_team_target_pages_whoever_its_schedules_have_on_call(world: World) -> None:
    for name in ("ann", "bob", "cid"):
        world.person(name)
    world.team(
        "Platform",
        {
            "Platform primary": Rotation(start=T0, hours=1, users=["ann", "bob"]),
            "Platform secondary": Rotation(start=T0, hours=168, users=["cid"]),
            "Platform nights": Rotation(start=T0, hours=168, users=["bob"], window=(0, 8)),
        },
    )
    world.policy("Platform", [Level((("team", "Platform"),), 30)], repeat=1)
    world.service("Platform API", "Platform")
    world.incident("Platform API", m(40))
    world.run(m(40), m(75), 5 * MIN)  # 9:40 ann + cid; 10:10 bob + cid (nights in a gap)
    assert sorted((p[2], p[3]) for p in world.oracle.expected_pages()) == [
        (0, "ann"),
        (0, "cid"),
        (1, "bob"),
        (1, "cid"),
    ]


def test_low_urgency_waits_for_the_persons_working_hours(world: World) -> None:
    """Ann's cycle (mail at once, her second method 3 minutes later) starts at her next
    working hour, its delays kept: not every method at once at 09:00 on Monday (as
    before the fix, when each message was moved to working hours on its own)."""
    world.person("ann", working_hours_in="Europe/Berlin")
    world.person("bob")  # no working hours: at once
    world.policy("Payments", [Level((("user", "ann"), ("user", "bob")), 30)])
    world.service("Payments API", "Payments")
    saturday = T0 + dt.timedelta(days=5, hours=1)  # Saturday 10:00 UTC
    world.incident("Payments API", saturday, title="Report export slow", priority=3)
    world.tick(saturday, send=False)
    ann = OutboxMessage.objects.filter(person__username="ann").order_by("not_before")
    # Monday 9 March, 09:00 in Berlin (CET) = 08:00 UTC
    monday = dt.datetime(2026, 3, 9, 8, 0, tzinfo=dt.UTC)
    assert [msg.not_before for msg in ann] == [monday, monday + 3 * MIN]
    bob = OutboxMessage.objects.filter(person__username="bob").order_by("not_before")
    assert [msg.not_before for msg in bob] == [saturday, saturday + 3 * MIN]


def test_a_policy_edited_during_a_climb_pages_the_new_levels_next(world: World) -> None:
    payments(world, "ann", "bob", repeat=1)
    world.person("cid")
    world.incident("Payments API", m(0))
    world.tick(m(0))  # ann
    new_levels = [Level((("user", "cid"),), 10), Level((("user", "bob"),), 10)]
    with time_machine.travel(m(1), tick=False):
        policy_update(
            policy=world.policy_rows["Payments"],
            actor=SETUP,
            changes={
                "levels": [
                    {"delay_minutes": 10, "targets": [{"type": "user", "id": "cid"}]},
                    {"delay_minutes": 10, "targets": [{"type": "user", "id": "bob"}]},
                ]
            },
        )
    world.oracle.policies["Payments"].levels = new_levels
    world.check("policy edited")
    # the climb's next step (level 2, due at 5) is the new level 2: bob, then the new
    # delays: the repeat pass at 15 pages cid, its level 2 at 25 pages bob
    world.run(m(1), m(40), MIN)
    assert [(p[2], p[3]) for p in sorted(world.oracle.expected_pages())] == [
        (0, "ann"),
        (1, "bob"),
        (2, "cid"),
        (3, "bob"),
    ]


def test_a_contact_method_removed_during_a_page_gets_nothing_more(world: World) -> None:
    """Dee removes a method (an old phone number, a webhook she no longer reads) while a
    page's later message to it is queued: that message is not sent (it fails for good,
    "no recipient address") and her next method is brought forward (N4). Before the fix
    the outbox read the removed method's address and sent the page there anyway."""
    world.person("dee", [("mail", "email", 0), ("later", "email", 3), ("last", "email", 8)])
    world.policy("Payments", [Level((("user", "dee"),), 30)])
    world.service("Payments API", "Payments")
    world.incident("Payments API", m(0))
    world.tick(m(0))
    with time_machine.travel(m(1), tick=False):
        contact_method_remove(method=ContactMethod.objects.get(label="dee:later"), actor=SETUP)
    world.failing = {"dee:later"}
    world.run(m(1), m(10), MIN)  # later fails at 3, last brought forward to 3, sent at 4
    last = OutboxMessage.objects.get(contact_method__label="dee:last")
    assert last.state == OutboxState.SENT and last.not_before == m(3)


def test_round_robin_within_one_climb_takes_the_next_turn_each_pass(world: World) -> None:
    for name in ("ann", "bob", "cid"):
        world.person(name)
    world.policy(
        "Rota",
        [Level((("user", "ann"), ("user", "bob"), ("user", "cid")), 5, mode="round_robin")],
        repeat=3,
    )
    world.service("Payments API", "Rota")
    world.incident("Payments API", m(0))
    world.run(m(0), m(25), MIN)  # 4 passes: ann, bob, cid, ann
    assert [p[3] for p in sorted(world.oracle.expected_pages())] == ["ann", "bob", "cid", "ann"]


def test_a_person_deactivated_during_a_climb_is_not_paged_and_the_climb_goes_on(
    world: World,
) -> None:
    payments(world, "ann", "bob", "cid")
    ref = world.incident("Payments API", m(0))
    world.tick(m(0))  # ann
    User.objects.filter(username="bob").update(is_active=False)
    # in the oracle, bob's level now names no one
    world.oracle.policies["Payments"].levels[1] = Level((), 5)
    world.run(m(1), m(12), MIN)  # nobody at 5 (bob is deactivated), cid at 10
    assert [p[3] for p in sorted(world.oracle.expected_pages())] == ["ann", "cid"]
    assert any("deactivated" in text for text in world.timeline(ref))
