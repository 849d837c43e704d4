"""Hand-off notices, hand-off summaries and cover requests (escalation/handoff.py), on a
clock the test controls: exactly which messages exist after each tick."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from tocsin.accounts.models import Role, User
from tocsin.accounts.services import contact_method_add, notification_rules_set, team_create
from tocsin.core.actors import Actor
from tocsin.engine.engine import default_modules
from tocsin.escalation.handoff import HandoffModule, handoff_scan
from tocsin.notify.engine import OutboxModule
from tocsin.notify.models import OutboxMessage
from tocsin.oncall import services as oncall_services
from tocsin.oncall import specs

SETUP = Actor.system("test setup")
pytestmark = pytest.mark.django_db

S = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # alice S, bob S+1d, dave S+2d, alice S+3d
DAY = dt.timedelta(days=1)
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def ops(make_user: Callable[..., User]) -> dict[str, Any]:
    people = {
        name: make_user(Role.RESPONDER, username=name, name=name.title(), time_zone="UTC")
        for name in ("alice", "bob", "dave", "erin")
    }
    people["carol"] = make_user(Role.MANAGER, username="carol", name="Carol", time_zone="UTC")
    people["rita"] = make_user(Role.REPORTER, username="rita", name="Rita")
    User.objects.filter(username="alice").update(handoff_notice_minutes=60)
    User.objects.filter(username__in=["bob", "dave", "carol"]).update(handoff_notice_minutes=0)
    for person in people.values():
        person.refresh_from_db()
    # alice is paged at low urgency by SMS first: her notice goes there
    sms = contact_method_add(user=people["alice"], kind="sms", address="+441632960001", actor=SETUP)
    contact_method_add(user=people["alice"], kind="email", address="alice@example.com", actor=SETUP)
    notification_rules_set(
        user=people["alice"],
        rules={"low": [{"contact_method": sms.pk, "delay_minutes": 0}]},
        actor=SETUP,
    )
    team = team_create(
        name="Ops",
        manager=people["carol"],
        members=[people[n] for n in ("alice", "bob", "carol", "rita")],
        actor=SETUP,
    )
    schedule = oncall_services.schedule_create(
        name="Ops primary",
        time_zone="UTC",
        team=team,
        layers=specs.parse_layers(
            [
                {
                    "name": "Daily",
                    "start": "2026-03-02T09:00",
                    "rotation": "daily",
                    "users": ["alice", "bob", "dave"],
                }
            ]
        ),
        actor=SETUP,
    )
    return {**people, "team": team, "schedule": schedule, "sms": sms}


def _messages(purpose: str, **filters: Any) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(purpose=purpose, **filters).order_by("pk"))


def _notices() -> list[tuple[str, str]]:
    return [
        (m.person.username, m.dedup_key or "")  # type: ignore[union-attr]
        for m in _messages("handoff", dedup_key__startswith="handoff:")
    ]


def test_notice_exactly_once_at_the_lead_time(ops: dict[str, Any]) -> None:
    alice, schedule = ops["alice"], ops["schedule"]
    start = S + 3 * DAY
    module = HandoffModule()
    module.tick(start - 61 * MINUTE)
    assert _notices() == []
    assert module.tick(start - 60 * MINUTE) == 1
    key = f"handoff:{schedule.pk}:{alice.pk}:2026-03-05T09:00Z"
    assert _notices() == [("alice", key)]
    # the next ticks (this worker, a second worker, a restart) add nothing
    module.tick(start - 59 * MINUTE)
    HandoffModule().tick(start - 59 * MINUTE)
    HandoffModule().tick(start - 30 * MINUTE)
    handoff_scan(start - 1 * MINUTE)
    assert _notices() == [("alice", key)]
    (message,) = _messages("handoff", dedup_key=key)
    assert message.channel == "sms" and message.contact_method == ops["sms"]
    assert "You are on call for Ops primary from Thu 5 Mar 09:00 – Fri 6 Mar 09:00" in (
        message.body
    )
    assert "(your time, UTC)" in message.body


def test_no_notice_for_a_zero_lead(ops: dict[str, Any]) -> None:
    bob = ops["bob"]
    start = S + DAY  # bob's shift
    for minutes in (-24 * 60, -60, -1, 0, 1, 5):
        HandoffModule().tick(start + minutes * MINUTE)
    assert [n for n in _notices() if n[0] == "bob"] == []
    assert not OutboxMessage.objects.filter(person=bob, dedup_key__startswith="handoff:").exists()


def test_summary_to_the_team_at_each_hand_off(ops: dict[str, Any]) -> None:
    schedule = ops["schedule"]
    start = S + DAY  # alice hands over to bob
    HandoffModule().tick(start - 2 * MINUTE)
    assert _messages("handoff", dedup_key__startswith="handoff-summary:") == []
    HandoffModule().tick(start + 30 * dt.timedelta(seconds=1))
    summaries = _messages("handoff", dedup_key__startswith="handoff-summary:")
    # the team's staff members, by email; not the reporter in the team, not outsiders
    assert sorted(m.person.username for m in summaries) == ["alice", "bob", "carol"]  # type: ignore[union-attr]
    assert {m.channel for m in summaries} == {"email"}
    assert {m.recipient for m in summaries} == {
        "alice@example.com",
        "bob@example.com",
        "carol@example.com",
    }
    body = summaries[0].body
    assert "Now on call for Ops primary: Bob until Wed 4 Mar 09:00" in body
    assert "open incidents: 0" in body
    assert all(str(schedule.pk) in (m.dedup_key or "") for m in summaries)
    # once per hand-off, however many ticks
    HandoffModule().tick(start + 3 * MINUTE)
    HandoffModule().tick(start + 9 * MINUTE)
    assert len(_messages("handoff", dedup_key__startswith="handoff-summary:")) == 3
    # the next hand-off (bob to dave) has its own
    HandoffModule().tick(start + DAY + MINUTE)
    assert len(_messages("handoff", dedup_key__startswith="handoff-summary:")) == 6


def test_cover_request_announced_once_to_the_right_people(ops: dict[str, Any]) -> None:
    alice, schedule = ops["alice"], ops["schedule"]
    request = oncall_services.cover_request_create(
        schedule=schedule,
        requester=alice,
        start=S + 3 * DAY,
        end=S + 3 * DAY + 6 * dt.timedelta(hours=1),
        note="Dentist <b>appointment</b>",
        actor=Actor.for_user(alice),
    )
    module = HandoffModule()
    at = S
    module.tick(at)
    covers = _messages("cover")
    # team members (bob, carol) and the schedule's people (bob, dave); not alice herself,
    # not the reporter on the team, not erin (neither)
    assert sorted(m.person.username for m in covers) == ["bob", "carol", "dave"]  # type: ignore[union-attr]
    assert {m.dedup_key for m in covers} == {
        f"cover:{request.pk}:{ops[n].pk}" for n in ("bob", "carol", "dave")
    }
    assert "Alice asks for cover on Ops primary" in covers[0].body
    assert "Dentist <b>appointment</b>" in covers[0].body  # plain text mail, as written
    for later in (at + MINUTE, at + 2 * MINUTE, at + DAY):
        module.tick(later)
    HandoffModule().tick(at + 3 * MINUTE)
    assert len(_messages("cover")) == 3


def test_scans_at_most_once_a_minute(ops: dict[str, Any]) -> None:
    alice, schedule = ops["alice"], ops["schedule"]
    module = HandoffModule()
    module.tick(S)
    oncall_services.cover_request_create(
        schedule=schedule,
        requester=alice,
        start=S + 3 * DAY,
        end=S + 3 * DAY + dt.timedelta(hours=2),
        actor=Actor.for_user(alice),
    )
    assert module.tick(S + dt.timedelta(seconds=30)) == 0  # not yet: the last scan was recent
    assert _messages("cover") == []
    assert module.tick(S + MINUTE) == 3
    assert len(_messages("cover")) == 3


def test_the_worker_runs_the_module_and_mail_leaves(ops: dict[str, Any], smtp_server: Any) -> None:
    assert any(isinstance(m, HandoffModule) for m in default_modules("test"))
    at = S + DAY + MINUTE
    HandoffModule().tick(at)
    OutboxModule().tick(at + MINUTE)
    subjects = sorted(m["Subject"] for m in smtp_server.messages)
    assert subjects == ["Now on call for Ops primary: Bob"] * 3
