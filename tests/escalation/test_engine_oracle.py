"""The escalation engine, tick by tick on a clock the test controls, against the oracle.

Every test builds the same world in the database and in `tests.escalation.oracle` (an
independent model that knows only the inputs), drives both with the same events at the
same instants, and after EVERY step asserts that the pages and page messages in the
database are exactly the oracle's: none missing, none extra (N3), in the states the
oracle says (open / acknowledged / cancelled pages; queued / sent / failed / cancelled
messages) and with the `not_before` it computes. Page messages go to a real SMTP server
on loopback (aiosmtpd), whose receipts are compared with the oracle's deliveries too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import time_machine

from tests.notify.conftest import _serve
from tocsin.accounts.models import User
from tocsin.core.actors import Actor
from tocsin.core.errors import Conflict
from tocsin.escalation import services as escalation
from tocsin.escalation.models import ClimbState, Escalation
from tocsin.incidents.engine import AckTimeoutModule
from tocsin.incidents.models import Incident, Status
from tocsin.notify.models import OutboxMessage, OutboxState

from .oracle import Level, RefusingInbox, Rotation, Rule, World

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday
MIN = dt.timedelta(minutes=1)


def m(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


@pytest.fixture
def inbox(settings: Any) -> Iterator[RefusingInbox]:
    yield from _serve(settings, RefusingInbox())


@pytest.fixture
def world(
    make_user: Callable[..., User], make_incident: Callable[..., Incident], inbox: RefusingInbox
) -> World:
    return World(make_user, make_incident, inbox)


def two_levels(world: World, repeat: int = 0, delay: int = 5) -> None:
    world.person("ann")
    world.person("bob")
    world.policy(
        "Payments",
        [Level((("user", "ann"),), delay), Level((("user", "bob"),), delay)],
        repeat=repeat,
    )
    world.service("Payments API", "Payments")


def test_acknowledge_stops_the_climb_and_cancels_queued_messages(world: World) -> None:
    two_levels(world)
    ref = world.incident("Payments API", m(0))
    world.run(m(0), m(4), MIN)  # ann at 0 by mail, her second method waits for 3 min
    world.run(m(5), m(6), MIN)  # bob at 5
    world.acknowledge(ref, m(6.5), by="bob")  # ann's sent, bob's later message cancelled
    assert set(
        OutboxMessage.objects.filter(state=OutboxState.CANCELLED).values_list(
            "contact_method__label", flat=True
        )
    ) == {"bob:later"}
    world.run(m(7), m(40), 3 * MIN)  # nothing more, ever
    assert Escalation.objects.get().state == ClimbState.ACKNOWLEDGED


def test_resolve_cancels_every_pending_message(world: World) -> None:
    two_levels(world, repeat=1)
    ref = world.incident("Payments API", m(0))
    world.tick(m(0))
    world.tick(m(1))
    world.resolve(ref, m(2), by="ann")  # before ann's second method: cancelled
    world.run(m(3), m(30), MIN)
    assert Escalation.objects.get().state == ClimbState.RESOLVED
    assert OutboxMessage.objects.filter(purpose="page", state=OutboxState.QUEUED).count() == 0


def test_repeat_two_runs_the_policy_three_times_then_stops(world: World) -> None:
    two_levels(world, repeat=2)
    world.incident("Payments API", m(0))
    world.run(m(0), m(45), MIN)
    # 2 levels x 3 passes, every message sent
    assert len(world.oracle.expected_pages()) == 6
    assert sorted((p[4], p[5]) for p in world.oracle.expected_pages()) == [
        (0, 0),
        (0, 1),
        (0, 2),
        (1, 0),
        (1, 1),
        (1, 2),
    ]
    climb = Escalation.objects.get()
    assert climb.state == ClimbState.ACTIVE and climb.next_at is None


def test_round_robin_rotates_three_incidents_among_three_targets(world: World) -> None:
    for name in ("ann", "bob", "cid"):
        world.person(name)
    world.policy(
        "Rota",
        [Level((("user", "ann"), ("user", "bob"), ("user", "cid")), 10, mode="round_robin")],
    )
    world.service("Payments API", "Rota")
    refs = [world.incident("Payments API", m(0), title=f"Outage {n}") for n in range(3)]
    world.tick(m(0))
    paged = {p[0]: p[3] for p in world.oracle.expected_pages()}
    assert [paged[r] for r in refs] == ["ann", "bob", "cid"]
    fourth = world.incident("Payments API", m(2), title="Outage 4")
    world.run(m(2), m(15), MIN)
    assert {p[3] for p in world.oracle.expected_pages() if p[0] == fourth} == {"ann"}


def test_reassign_restarts_at_the_chosen_level_of_another_policy(world: World) -> None:
    two_levels(world)
    for name in ("cid", "dan", "eve"):
        world.person(name)
    world.policy(
        "Database",
        [Level((("user", n),), 5) for n in ("cid", "dan", "eve")],
    )
    ref = world.incident("Payments API", m(0))
    world.tick(m(0))
    with time_machine.travel(m(2), tick=False):
        escalation.climb_reassign(
            incident=world.incidents[ref],
            actor=Actor.for_user(world.users["ann"]),
            policy=world.policy_rows["Database"],
            level=1,
        )
    world.oracle.restart(ref, m(2), policy="Database", level=1)
    world.check("reassigned")
    world.run(m(2), m(20), MIN)  # dan at 2, eve at 7, then the end
    assert {(p[1], p[3]) for p in world.oracle.expected_pages()} == {
        (0, "ann"),
        (1, "dan"),
        (1, "eve"),
    }


def test_escalate_now_fires_the_next_level_at_once(world: World) -> None:
    two_levels(world, delay=30)
    ref = world.incident("Payments API", m(0))
    world.tick(m(0))
    with time_machine.travel(m(1), tick=False):
        escalation.escalate_now(
            incident=world.incidents[ref], actor=Actor.for_user(world.users["ann"])
        )
    world.oracle.escalate_now(ref, m(1))
    world.check("escalate now")
    world.run(m(1), m(70), 5 * MIN)  # bob at 1; nothing at 31 (last level, no repeat)
    with time_machine.travel(m(71), tick=False), pytest.raises(Conflict):
        escalation.escalate_now(
            incident=world.incidents[ref], actor=Actor.for_user(world.users["ann"])
        )


def test_ack_timeout_restarts_the_climb_at_level_one(world: World) -> None:
    world.person("ann")
    world.person("bob")
    world.policy("Payments", [Level((("user", "ann"),), 5), Level((("user", "bob"),), 5)])
    world.service("Payments API", "Payments", ack_timeout=10)
    ref = world.incident("Payments API", m(0))
    world.tick(m(0))
    world.acknowledge(ref, m(1), by="ann")
    world.run(m(2), m(10), MIN)  # acknowledged: nothing fires
    with time_machine.travel(m(11), tick=False):
        assert AckTimeoutModule().tick(m(11)) == 1
    world.oracle.restart(ref, m(11), policy="Payments")
    world.check("ack timeout")
    assert Incident.objects.get(pk=world.incidents[ref].pk).status == Status.NEW
    world.run(m(11), m(25), MIN)  # ann again at 11 (a new climb), bob at 16
    assert {(p[1], p[2], p[3]) for p in world.oracle.expected_pages()} == {
        (0, 0, "ann"),
        (1, 0, "ann"),
        (1, 1, "bob"),
    }


def test_an_override_made_during_an_open_incident_changes_the_next_pass(world: World) -> None:
    for name in ("ann", "bob", "cid"):
        world.person(name)
    world.schedule("Payments primary", Rotation(start=T0, hours=168, users=["ann", "bob"]))
    world.policy("Payments", [Level((("schedule", "Payments primary"),), 10)], repeat=2)
    world.service("Payments API", "Payments")
    world.incident("Payments API", m(0))
    world.tick(m(0))  # ann: her week
    world.override("Payments primary", "cid", m(3), m(15))
    world.check("override")
    world.run(m(1), m(30), MIN)  # cid at 10 (the override), ann again at 20 (it ended)
    assert [p[3] for p in sorted(world.oracle.expected_pages())] == ["ann", "cid", "ann"]


def test_a_hand_off_during_an_open_incident_pages_the_new_on_call(world: World) -> None:
    world.person("ann")
    world.person("bob")
    world.schedule("Payments primary", Rotation(start=T0, hours=1, users=["ann", "bob"]))
    world.policy(
        "Payments",
        [
            Level((("schedule", "Payments primary"),), 15),
            Level((("schedule", "Payments primary"),), 15),
        ],
    )
    world.service("Payments API", "Payments")
    world.incident("Payments API", m(50))
    world.run(m(50), m(90), 5 * MIN)  # level 1 at 9:50: ann; level 2 at 10:05: bob
    assert [(p[4], p[3]) for p in sorted(world.oracle.expected_pages())] == [
        (0, "ann"),
        (1, "bob"),
    ]


def test_a_hand_off_between_two_steps(world: World) -> None:
    world.person("ann")
    world.person("bob")
    world.schedule("Payments primary", Rotation(start=T0, hours=1, users=["ann", "bob"]))
    world.policy("Payments", [Level((("schedule", "Payments primary"),), 15)], repeat=2)
    world.service("Payments API", "Payments")
    world.incident("Payments API", m(50))
    world.run(m(50), m(90), 5 * MIN)  # 9:50 ann, 10:05 bob (the hand-off at 10:00), 10:20 bob
    assert [p[3] for p in sorted(world.oracle.expected_pages())] == ["ann", "bob", "bob"]


def test_notification_rules_set_each_messages_not_before(world: World) -> None:
    world.person("ann", [("push", "ntfy", 0), ("sms", "sms", 2), ("voice", "voice", 5)])
    # no stored rules: the defaults give mail at once, SMS after 2, a call after 5
    world.person(
        "bob",
        [("voice", "voice", 0), ("sms", "sms", 0), ("mail", "email", 0)],
        stored_rules=False,
        expect=[Rule("bob:mail", 0), Rule("bob:sms", 2), Rule("bob:voice", 5)],
    )
    world.policy("Payments", [Level((("user", "ann"), ("user", "bob")), 10)])
    world.service("Payments API", "Payments")
    world.incident("Payments API", m(0))
    world.tick(m(0), send=False)  # the oracle checks every not_before exactly
    delays = {
        (msg.contact_method.label, msg.not_before - T0)
        for msg in OutboxMessage.objects.filter(purpose="page").select_related("contact_method")
    }
    assert delays == {
        ("ann:push", dt.timedelta(0)),
        ("ann:sms", 2 * MIN),
        ("ann:voice", 5 * MIN),
        ("bob:mail", dt.timedelta(0)),
        ("bob:sms", 2 * MIN),
        ("bob:voice", 5 * MIN),
    }


def test_a_permanent_failure_brings_the_next_method_forward_and_the_climb_goes_on(
    world: World, inbox: RefusingInbox
) -> None:
    world.person("dee", [("mail", "email", 0), ("later", "email", 4), ("last", "email", 8)])
    world.person("bob")
    world.policy("Payments", [Level((("user", "dee"),), 10), Level((("user", "bob"),), 10)])
    world.service("Payments API", "Payments")
    ref = world.incident("Payments API", m(0))
    inbox.refuse = {world.labels["dee:mail"]}  # 550: a permanent failure
    world.failing = {"dee:mail"}
    world.tick(m(0))  # dee:mail fails; dee:later moves from 4 min to now
    later = OutboxMessage.objects.get(contact_method__label="dee:later")
    assert later.not_before == m(0) and later.state == OutboxState.QUEUED
    assert OutboxMessage.objects.get(contact_method__label="dee:last").not_before == m(8)
    assert any("failed" in text for text in world.timeline(ref))
    world.run(m(0.5), m(12), MIN / 2)  # later sent at 0.5, last at 8, bob at 10 (N4)
    assert {p[3] for p in world.oracle.expected_pages()} == {"dee", "bob"}


def test_a_schedule_in_a_gap_pages_nobody_and_the_climb_goes_on(world: World) -> None:
    world.person("ann")
    world.person("bob")
    world.schedule("Office hours", Rotation(start=T0, hours=168, users=["ann"], window=(9, 17)))
    world.policy(
        "Payments",
        [Level((("schedule", "Office hours"),), 5), Level((("user", "bob"),), 5)],
    )
    world.service("Payments API", "Payments")
    ref = world.incident("Payments API", m(9 * 60))  # 18:00: nobody on call
    world.run(m(9 * 60), m(9 * 60 + 12), MIN)
    assert {p[3] for p in world.oracle.expected_pages()} == {"bob"}
    assert any("nobody is on call" in text for text in world.timeline(ref))


def test_a_person_without_contact_methods_is_paged_on_the_timeline_only(world: World) -> None:
    world.person("nora", [])
    world.person("bob")
    world.policy("Payments", [Level((("user", "nora"),), 5), Level((("user", "bob"),), 5)])
    world.service("Payments API", "Payments")
    ref = world.incident("Payments API", m(0))
    world.run(m(0), m(8), MIN)
    assert {p[3] for p in world.oracle.expected_pages()} == {"nora", "bob"}
    assert any("no contact method" in text for text in world.timeline(ref))
