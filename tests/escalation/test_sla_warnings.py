"""SLA warnings (issue 10, point 8) on a clock the test controls: the module runs at 74 %,
75 % and 100 % of a target and exactly the expected messages exist after each run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import time_machine

from tests.escalation.paging_helpers import always_on_call, reachable
from tocsin.accounts.models import Role, Team, User
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.engine.engine import default_modules
from tocsin.escalation.sla import SlaNotice, SlaWarningModule, sla_notice
from tocsin.incidents import services as incident_services
from tocsin.incidents.models import BusinessCalendar, EntryKind, Incident, SlaTarget, TimelineEntry
from tocsin.notify.models import OutboxMessage

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)  # a Monday morning
MIN = dt.timedelta(minutes=1)


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def people(make_user: Callable[..., User]) -> dict[str, User]:
    found = {
        "ann": make_user(Role.RESPONDER, username="ann"),
        "bob": make_user(Role.RESPONDER, username="bob"),
        "maya": make_user(Role.MANAGER, username="maya"),
        "rita": make_user(Role.REPORTER, username="rita"),
    }
    reachable(found["ann"], "email", "sms")  # sms comes 2 minutes later: not for a warning
    reachable(found["bob"], "email")
    reachable(found["maya"], "email", "sms")
    return found


@pytest.fixture
def team(people: dict[str, User]) -> Team:
    return Team.objects.create(name="Payments", manager=people["maya"])


def sent(incident: Incident) -> list[tuple[str, str, str, str]]:
    """(purpose, person, channel, target) of every SLA message of the incident."""
    rows = OutboxMessage.objects.filter(incident=incident, purpose__startswith="sla-").order_by(
        "pk"
    )
    return [(m.purpose, m.person.username, m.channel, m.payload["target"]) for m in rows]  # type: ignore[union-attr]


def notices(incident: Incident) -> list[str]:
    entries = TimelineEntry.objects.filter(
        incident=incident, kind=EntryKind.PAGE, data__has_key="notice"
    ).order_by("pk")
    return [e.text for e in entries]


def run_at(clock: Any, moment: dt.datetime) -> int:
    clock.move_to(moment)
    return SlaWarningModule().tick(now())


def p1(people: dict[str, User], team: Team | None, **kwargs: Any) -> Incident:
    return incident_services.incident_create(
        actor=Actor.system("monitoring"),
        reporter=people["rita"],
        title="Checkout down",
        impact=1,
        urgency=1,
        team=team,
        **kwargs,
    )


def test_the_module_is_in_the_engine_after_escalation() -> None:
    names = [m.name for m in default_modules("w1")]
    # after the alert's path (escalation, outbox): its messages go out on the next turn,
    # which follows at once because the module reports the work it did
    assert names.index("sla_warnings") > names.index("escalation")


def test_assignee_warned_at_75_and_manager_told_at_breach(
    clock: Any, people: dict[str, User], team: Team
) -> None:
    incident = p1(people, team, assignee=people["ann"])  # P1: respond in 15 min, resolve in 4 h
    response = 15 * MIN
    assert run_at(clock, T0 + response * 0.74) == 0
    assert sent(incident) == [] and notices(incident) == []

    assert run_at(clock, T0 + response * 0.75) == 1
    assert sent(incident) == [("sla-warning", "ann", "email", "response")]
    [text] = notices(incident)
    assert text == "Response target 75 % used (due 02 Mar 10:15 UTC): warned Ann (assignee)."

    assert run_at(clock, T0 + response * 0.9) == 0  # once
    assert run_at(clock, T0 + response) == 1  # 100 %: the manager
    assert sent(incident) == [
        ("sla-warning", "ann", "email", "response"),
        ("sla-breach", "maya", "email", "response"),
    ]
    assert notices(incident)[-1] == (
        "Response target breached (was due 02 Mar 10:15 UTC): notified Maya "
        "(manager of team Payments)."
    )
    assert run_at(clock, T0 + response + MIN) == 0  # once
    # the warning goes through the low-urgency rules, the breach at the incident's (P1: high)
    urgencies = list(
        OutboxMessage.objects.filter(incident=incident, purpose__startswith="sla-").values_list(
            "payload__urgency", flat=True
        )
    )
    assert urgencies == ["low", "high"]
    message = OutboxMessage.objects.get(incident=incident, purpose="sla-warning")
    assert (
        message.subject == f"[P1] {incident.ref}: response target 75 % used (due 02 Mar 10:15 UTC)"
    )
    assert f"/incidents/{incident.ref}/" in message.body
    assert message.dedup_key == (
        f"sla-warn:{incident.pk}:response:{incident.response_due_at.isoformat()}:"  # type: ignore[union-attr]
        f"{people['ann'].pk}:{message.contact_method_id}"
    )

    # the resolution target (4 h) later: its own warning and breach
    resolution = 4 * 60 * MIN
    assert run_at(clock, T0 + resolution * 0.74) == 0
    assert run_at(clock, T0 + resolution * 0.75) == 1
    assert run_at(clock, T0 + resolution) == 1
    assert sent(incident)[2:] == [
        ("sla-warning", "ann", "email", "resolution"),
        ("sla-breach", "maya", "email", "resolution"),
    ]
    assert SlaNotice.objects.filter(incident=incident).count() == 4


def test_unassigned_the_teams_on_call_is_warned(
    clock: Any, people: dict[str, User], team: Team
) -> None:
    always_on_call(people["bob"], name="Payments primary", team=team)
    incident = p1(people, team)
    assert run_at(clock, T0 + 15 * MIN * 0.75) == 1
    assert sent(incident) == [("sla-warning", "bob", "email", "response")]
    assert notices(incident) == [
        "Response target 75 % used (due 02 Mar 10:15 UTC): warned Bob (on call for team Payments)."
    ]


def test_nobody_to_warn_and_no_manager_are_on_the_timeline(
    clock: Any, people: dict[str, User]
) -> None:
    incident = p1(people, None)
    assert run_at(clock, T0 + 15 * MIN * 0.75) == 1
    assert run_at(clock, T0 + 15 * MIN) == 1
    assert sent(incident) == []
    assert notices(incident) == [
        "Response target 75 % used (due 02 Mar 10:15 UTC): nobody to notify "
        "(no assignee and no team).",
        "Response target breached (was due 02 Mar 10:15 UTC): nobody to notify (no team).",
    ]


def test_a_met_target_is_not_warned(clock: Any, people: dict[str, User], team: Team) -> None:
    incident = p1(people, team, assignee=people["ann"])
    clock.move_to(T0 + 5 * MIN)
    incident_services.incident_acknowledge(incident=incident, actor=Actor.for_user(people["ann"]))
    assert run_at(clock, T0 + 15 * MIN * 0.8) == 0
    assert run_at(clock, T0 + 20 * MIN) == 0
    assert sent(incident) == []


def test_a_jump_past_the_due_time_sends_the_breach_only(
    clock: Any, people: dict[str, User], team: Team
) -> None:
    incident = p1(people, team, assignee=people["ann"])
    assert run_at(clock, T0 + 16 * MIN) == 1
    assert sent(incident) == [("sla-breach", "maya", "email", "response")]


def test_resolved_incidents_are_left_alone(clock: Any, people: dict[str, User], team: Team) -> None:
    incident = p1(people, team, assignee=people["ann"])
    clock.move_to(T0 + MIN)
    incident_services.incident_resolve(
        incident=incident,
        actor=Actor.for_user(people["ann"]),
        resolution_code="fixed",
        resolution_notes="done",
    )
    assert run_at(clock, T0 + 5 * 60 * MIN) == 0
    assert sent(incident) == []


def test_business_hours_count_working_time(clock: Any, people: dict[str, User], team: Team) -> None:
    office = BusinessCalendar.objects.create(
        name="Office",
        time_zone="UTC",
        weekdays="0,1,2,3,4",
        day_start=dt.time(9),
        day_end=dt.time(17),
        holidays=[],
    )
    SlaTarget.objects.filter(priority=4).update(calendar=office)  # respond in 8 working hours
    incident = incident_services.incident_create(
        actor=Actor.system("monitoring"),
        reporter=people["rita"],
        title="Typo on the status page",
        impact=4,
        urgency=4,
        team=team,
        assignee=people["ann"],
    )
    assert incident.response_due_at == dt.datetime(2026, 3, 3, 10, 0, tzinfo=dt.UTC)
    # 75 % of 8 working hours is 6: Monday 16:00
    assert run_at(clock, dt.datetime(2026, 3, 2, 15, 50, tzinfo=dt.UTC)) == 0
    assert run_at(clock, dt.datetime(2026, 3, 2, 16, 0, tzinfo=dt.UTC)) == 1
    assert run_at(clock, dt.datetime(2026, 3, 2, 22, 0, tzinfo=dt.UTC)) == 0
    assert sent(incident) == [("sla-warning", "ann", "email", "response")]
    assert run_at(clock, dt.datetime(2026, 3, 3, 10, 0, tzinfo=dt.UTC)) == 1
    # P4 pages at low urgency: the manager's low-urgency rules
    assert sent(incident)[-1] == ("sla-breach", "maya", "email", "response")


def test_a_second_worker_sends_nothing_twice(
    clock: Any, people: dict[str, User], team: Team
) -> None:
    incident = p1(people, team, assignee=people["ann"])
    moment = T0 + 12 * MIN
    clock.move_to(moment)
    due = incident.response_due_at
    assert due is not None
    args = {"incident_id": incident.pk, "name": "response", "kind": "warning", "due_at": due}
    assert sla_notice(**args, at=moment) is True
    assert sla_notice(**args, at=moment) is False  # the marker is there: nothing more
    assert SlaWarningModule().tick(moment) == 0
    assert len(sent(incident)) == 1 and len(notices(incident)) == 1


def test_a_new_due_time_is_watched_again(clock: Any, people: dict[str, User], team: Team) -> None:
    """Held and resumed, the target has a new due time: a new 75 % point."""
    incident = p1(people, team, assignee=people["ann"])
    clock.move_to(T0 + MIN)
    incident_services.incident_acknowledge(incident=incident, actor=Actor.for_user(people["ann"]))
    assert run_at(clock, T0 + 4 * 60 * MIN * 0.8) == 1  # resolution warning
    clock.move_to(T0 + 4 * 60 * MIN * 0.8 + MIN)
    incident = Incident.objects.get(pk=incident.pk)
    incident_services.incident_act(
        incident=incident, actor=Actor.for_user(people["ann"]), action="hold"
    )
    assert run_at(clock, T0 + 5 * 60 * MIN) == 0  # held: the clock stands
    incident = Incident.objects.get(pk=incident.pk)
    incident_services.incident_act(
        incident=incident, actor=Actor.for_user(people["ann"]), action="resume"
    )
    assert run_at(clock, T0 + 5 * 60 * MIN + MIN) == 1  # still past 75 %: warned for the new due
    assert [s[0] for s in sent(incident)] == ["sla-warning", "sla-warning"]


def test_timeline_reads_well(clock: Any, people: dict[str, User], team: Team) -> None:
    from django.test import Client

    incident = p1(people, team, assignee=people["ann"])
    run_at(clock, T0 + 12 * MIN)
    client = Client()
    client.force_login(people["ann"])
    html = client.get(f"/incidents/{incident.ref}/").content.decode()
    assert "warned that an SLA target is 75 % used" in html
    assert "Tocsin · sla" in html


def _tick_until_quiet(moment: dt.datetime, errors: list[BaseException], start: Any) -> None:
    import time

    from django.db import connection

    from tocsin.engine.engine import run_tick

    try:
        start.wait(timeout=10)
        # as a worker does: a module that fails (SQLite's test database is an in-memory
        # one with table locks) is run again next tick
        for _ in range(40):
            run_tick([SlaWarningModule()], moment)
            time.sleep(0.02)
    except BaseException as exc:  # reported by the test
        errors.append(exc)
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_two_workers_warn_each_incident_once(make_user: Callable[..., User]) -> None:
    import threading

    with time_machine.travel(T0, tick=False) as traveller:
        ann = make_user(Role.RESPONDER, username="ann")
        maya = make_user(Role.MANAGER, username="maya")
        rita = make_user(Role.REPORTER, username="rita")
        reachable(ann, "email")
        reachable(maya, "email")
        team = Team.objects.create(name="Payments", manager=maya)
        people = {"ann": ann, "maya": maya, "rita": rita}
        incidents = [p1(people, team, assignee=ann) for _ in range(15)]
        moment = T0 + 12 * MIN  # 80 % of the response target
        traveller.move_to(moment)
        errors: list[BaseException] = []
        start = threading.Barrier(2)
        workers = [
            threading.Thread(target=_tick_until_quiet, args=(moment, errors, start))
            for _ in range(2)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
        assert not errors
        for incident in incidents:
            assert sent(incident) == [("sla-warning", "ann", "email", "response")]
            assert len(notices(incident)) == 1
        assert SlaNotice.objects.count() == 15


def test_a_warning_waits_for_working_hours_when_asked(
    clock: Any, people: dict[str, User], team: Team
) -> None:
    """Low urgency may wait for the person's working hours: so does the 75 % warning."""
    ann = people["ann"]
    ann.low_urgency_working_hours = True
    ann.time_zone = "UTC"
    ann.save()
    evening = dt.datetime(2026, 3, 2, 16, 55, tzinfo=dt.UTC)
    clock.move_to(evening)
    incident = p1(people, team, assignee=ann)
    assert run_at(clock, evening + 15 * MIN * 0.75) == 1
    message = OutboxMessage.objects.get(incident=incident, purpose="sla-warning")
    assert message.not_before == dt.datetime(2026, 3, 3, 9, 0, tzinfo=dt.UTC)


def test_the_module_looks_every_few_seconds(
    clock: Any, people: dict[str, User], team: Team
) -> None:
    incident = p1(people, team, assignee=people["ann"])  # 75 % at 10:11:15
    second = dt.timedelta(seconds=1)
    module = SlaWarningModule()
    assert module.tick(T0 + 11 * MIN + 14 * second) == 0  # not yet
    clock.move_to(T0 + 11 * MIN + 16 * second)
    assert module.tick(now()) == 0  # due, but the module looked 2 s ago
    assert SlaWarningModule().tick(now()) == 1  # (a module that had not looked)
    clock.move_to(T0 + 11 * MIN + 19 * second)
    assert module.tick(now()) == 0  # 5 s later it looks, and it was sent
    assert sent(incident) == [("sla-warning", "ann", "email", "response")]
