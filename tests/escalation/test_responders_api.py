"""Responders through the API: who may ask and answer, bad input, what is paged (one
page per person, one outbox message per contact method), accept and decline, answering
twice, no answer after the timeout, acknowledge is not accept, resolve stops it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.escalation.paging_helpers import always_on_call, reachable
from tocsin.accounts.models import Role, Team, User
from tocsin.accounts.services import notification_rules_set, user_update
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.escalation.engine import EscalationModule
from tocsin.escalation.models import (
    AskState,
    ClimbState,
    Escalation,
    Page,
    ResponderAsk,
    ResponderRequest,
)
from tocsin.incidents import services as incident_services
from tocsin.incidents.models import EntryKind, Incident, Participant, TimelineEntry
from tocsin.notify.models import OutboxMessage, OutboxState

pytestmark = pytest.mark.django_db
SETUP = Actor.system("test setup")


@pytest.fixture
def world(make_user: Callable[..., User], make_incident: Callable[..., Incident]) -> dict[str, Any]:
    ana = make_user(Role.RESPONDER, username="ana", name="Ana Asked")
    ben = make_user(Role.RESPONDER, username="ben", name="Ben Oncall")
    reachable(ana, "email", "sms")
    reachable(ben, "email")
    team = Team.objects.create(name="Network")
    schedule = always_on_call(ben, name="Network primary", team=team)
    reporter = make_user(Role.REPORTER, username="rita")
    incident = make_incident(reporter, title="Card payments failing", impact=1, urgency=1)
    return {
        "ana": ana,
        "ben": ben,
        "team": team,
        "schedule": schedule,
        "reporter": reporter,
        "incident": incident,
    }


def url(incident: Incident, rest: str = "") -> str:
    return f"/api/v1/incidents/{incident.ref}/responders{rest}"


def _nothing_written(incident: Incident) -> None:
    assert not ResponderRequest.objects.filter(incident=incident).exists()
    assert not OutboxMessage.objects.filter(incident=incident, purpose="page").exists()


# --- who may ------------------------------------------------------------------------------


def test_the_reporter_gets_404_for_every_responder_route(world: dict[str, Any], api: Any) -> None:
    client = api(world["reporter"])
    incident = world["incident"]
    assert client.get(f"/api/v1/incidents/{incident.ref}").status_code == 200
    assert client.post(url(incident), {"users": ["ana"]}).status_code == 404
    assert client.get(url(incident)).status_code == 404
    _nothing_written(incident)
    # an ask exists: still 404 to accept or decline it
    api(world["ben"]).post(url(incident), {"users": ["ana"]})
    ask = ResponderAsk.objects.get()
    assert client.post(url(incident, f"/{ask.pk}/accept")).status_code == 404
    assert client.post(url(incident, f"/{ask.pk}/decline")).status_code == 404
    assert ResponderAsk.objects.get().state == AskState.PENDING


def test_another_reporter_and_anonymous_get_404_or_401(
    world: dict[str, Any], api: Any, make_user: Callable[..., User], client: Any
) -> None:
    other = api(make_user(Role.REPORTER))
    assert other.get(url(world["incident"])).status_code == 404
    assert client.get(url(world["incident"])).status_code == 401
    assert client.post(url(world["incident"]), {}, content_type="application/json").status_code in (
        401,
        403,
    )


@pytest.mark.parametrize("role", [Role.AGENT, Role.RESPONDER, Role.MANAGER, Role.ADMIN])
def test_staff_add_a_person_who_is_paged_at_high_urgency(
    role: str,
    world: dict[str, Any],
    make_user: Callable[..., User],
    make_incident: Callable[..., Incident],
    api: Any,
) -> None:
    asker = make_user(role, name="Cora Commander")
    incident = make_incident(world["reporter"], title="Slow reports", impact=3, urgency=3)
    assert incident.priority >= 3
    reply = api(asker).post(url(incident), {"users": ["ana"], "message": "Need a DBA <now>"})
    assert reply.status_code == 201, reply.content
    [item] = reply.json()["items"]
    assert item["target"]["type"] == "user" and item["target"]["name"] == "Ana Asked"
    assert item["message"] == "Need a DBA <now>" and item["requested_by"] == asker.username
    [ask] = item["asks"]
    assert ask["person"] == "ana" and ask["state"] == "waiting" and ask["answered_at"] is None
    # one page, one message per contact method, high urgency whatever the priority (P3 here)
    page = Page.objects.get(pk=ask["page"])
    assert page.person_id == world["ana"].pk and page.urgency == "high"
    messages = OutboxMessage.objects.filter(incident=incident, payload__responder=ask["id"])
    assert sorted(messages.values_list("channel", flat=True)) == ["email", "sms"]
    for message in messages:
        assert message.purpose == "page" and message.person_id == world["ana"].pk
        assert "Cora Commander asks you to join the response" in message.body
        assert "Need a DBA <now>" in message.body
        assert message.payload["links"]["respond"] in message.body
    entry = TimelineEntry.objects.filter(incident=incident, kind=EntryKind.RESPONDER).get()
    assert entry.text == "Responders asked: Ana Asked. Message: Need a DBA <now>"
    assert entry.data["asked"] == ["ana"]


def test_a_team_and_a_schedule_ask_whoever_is_on_call_each_person_once(
    world: dict[str, Any], api: Any, agent: User
) -> None:
    incident = world["incident"]
    reply = api(agent).post(
        url(incident),
        {"teams": [world["team"].pk], "schedules": [world["schedule"].pk], "users": ["ana"]},
    )
    assert reply.status_code == 201, reply.content
    items = reply.json()["items"]
    by_target = {i["target"]["type"]: i for i in items}
    assert [a["person"] for a in by_target["user"]["asks"]] == ["ana"]
    assert [a["person"] for a in by_target["schedule"]["asks"]] == ["ben"]
    assert by_target["schedule"]["asks"][0]["via"] == "schedule Network primary"
    # the team names ben again: he is asked once
    assert by_target["team"]["asks"] == []
    assert ResponderAsk.objects.filter(person=world["ben"]).count() == 1
    assert reply.json()["count"] == 3
    assert api(agent).get(url(incident)).json()["count"] == 3


def test_a_team_with_nobody_on_call_says_so(world: dict[str, Any], api: Any, agent: User) -> None:
    empty = Team.objects.create(name="Facilities")
    reply = api(agent).post(url(world["incident"]), {"teams": [empty.pk]})
    assert reply.status_code == 201
    [item] = reply.json()["items"]
    assert item["asks"] == [] and "nobody" in item["missed"]
    entry = TimelineEntry.objects.filter(kind=EntryKind.RESPONDER).get()
    assert "team Facilities (nobody: nobody on the team's schedules is on call)" in entry.text


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "users"),
        ({"users": [], "teams": [], "schedules": []}, "users"),
        ({"users": ["nobody-here"]}, "users"),
        ({"users": ["rita"]}, "users"),  # a reporter cannot respond
        ({"teams": [99999]}, "teams"),
        ({"schedules": [99999]}, "schedules"),
        ({"teams": ["3"]}, "teams"),
        ({"users": ["ana"], "message": "x" * 1001}, "message"),
        ({"users": ["ana"], "colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_422_naming_the_field_and_changes_nothing(
    world: dict[str, Any], api: Any, agent: User, body: dict[str, Any], field: str
) -> None:
    reply = api(agent).post(url(world["incident"]), body)
    assert reply.status_code == 422, reply.content
    assert field in str(reply.json()["detail"])
    _nothing_written(world["incident"])


def test_a_deactivated_person_is_refused(world: dict[str, Any], api: Any, admin: User) -> None:
    user_update(user=world["ana"], actor=SETUP, is_active=False)
    reply = api(admin).post(url(world["incident"]), {"users": ["ana"]})
    assert reply.status_code == 422
    assert "deactivated" in str(reply.json()["detail"])
    _nothing_written(world["incident"])


def test_a_resolved_incident_is_409(world: dict[str, Any], api: Any, agent: User) -> None:
    incident = world["incident"]
    incident_services.incident_resolve(
        incident=incident,
        actor=Actor.for_user(agent),
        resolution_code="fixed",
        resolution_notes="ok",
    )
    reply = api(agent).post(url(incident), {"users": ["ana"]})
    assert reply.status_code == 409
    _nothing_written(incident)


def test_the_idempotency_key_asks_once(world: dict[str, Any], api: Any, agent: User) -> None:
    client = api(agent)
    headers = {"Idempotency-Key": "ask-ana-1"}
    first = client.post(url(world["incident"]), {"users": ["ana"]}, headers=headers)
    second = client.post(url(world["incident"]), {"users": ["ana"]}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert ResponderAsk.objects.count() == 1


# --- answering --------------------------------------------------------------------------------


def _ask(world: dict[str, Any], api: Any, asker: User, person: str = "ana") -> ResponderAsk:
    assert api(asker).post(url(world["incident"]), {"users": [person]}).status_code == 201
    return ResponderAsk.objects.get(person__username=person)


def test_the_person_accepts_and_becomes_a_participant(
    world: dict[str, Any], api: Any, agent: User
) -> None:
    ask = _ask(world, api, agent)
    incident = world["incident"]
    reply = api(world["ana"]).post(url(incident, f"/{ask.pk}/accept"))
    assert reply.status_code == 200, reply.content
    body = reply.json()
    assert body["state"] == "accepted" and body["answered_by"] == "ana"
    participant = Participant.objects.get(incident=incident, user=world["ana"])
    assert participant.via == "responder"
    entry = TimelineEntry.objects.filter(incident=incident, kind=EntryKind.RESPONDER).last()
    assert entry is not None
    assert entry.text == "Ana Asked accepted the request to respond and joined the response."
    # her messages still queued (none here: both rules fire at once) are cancelled
    assert not OutboxMessage.objects.filter(
        payload__responder=ask.pk, state=OutboxState.QUEUED
    ).exists()
    # accepting again: 200, nothing new; declining now: 409
    count = TimelineEntry.objects.filter(incident=incident).count()
    again = api(world["ana"]).post(url(incident, f"/{ask.pk}/accept"))
    assert again.status_code == 200 and again.json()["state"] == "accepted"
    late = api(world["ana"]).post(url(incident, f"/{ask.pk}/decline"), {"reason": "busy"})
    assert late.status_code == 409 and "already accepted" in late.json()["detail"]
    assert TimelineEntry.objects.filter(incident=incident).count() == count
    assert Participant.objects.filter(incident=incident).count() == 1


def test_the_person_declines_with_a_reason(world: dict[str, Any], api: Any, agent: User) -> None:
    ask = _ask(world, api, agent)
    incident = world["incident"]
    reply = api(world["ana"]).post(url(incident, f"/{ask.pk}/decline"), {"reason": "On leave"})
    assert reply.status_code == 200, reply.content
    assert reply.json()["state"] == "declined" and reply.json()["reason"] == "On leave"
    assert not Participant.objects.filter(incident=incident, user=world["ana"]).exists()
    entry = TimelineEntry.objects.filter(incident=incident, kind=EntryKind.RESPONDER).last()
    assert entry is not None
    assert entry.text == "Ana Asked declined the request to respond. Reason: On leave"
    assert api(world["ana"]).post(url(incident, f"/{ask.pk}/accept")).status_code == 409
    too_long = api(world["ana"]).post(url(incident, f"/{ask.pk}/decline"), {"reason": "x" * 501})
    assert too_long.status_code == 422 and "reason" in str(too_long.json()["detail"])


def test_other_staff_may_not_answer_but_an_administrator_may_for_them(
    world: dict[str, Any], api: Any, agent: User, admin: User
) -> None:
    ask = _ask(world, api, agent)
    incident = world["incident"]
    refused = api(world["ben"]).post(url(incident, f"/{ask.pk}/accept"))
    assert refused.status_code == 403
    assert api(agent).post(url(incident, f"/{ask.pk}/decline")).status_code == 403
    assert ResponderAsk.objects.get(pk=ask.pk).state == AskState.PENDING
    done = api(admin).post(url(incident, f"/{ask.pk}/accept"))
    assert done.status_code == 200 and done.json()["answered_by"] == admin.username
    entry = TimelineEntry.objects.filter(incident=incident, kind=EntryKind.RESPONDER).last()
    assert entry is not None and "on their behalf" in entry.text


def test_an_ask_of_another_incident_is_404(
    world: dict[str, Any], api: Any, agent: User, make_incident: Callable[..., Incident]
) -> None:
    ask = _ask(world, api, agent)
    other = make_incident(world["reporter"], title="Other")
    assert api(world["ana"]).post(url(other, f"/{ask.pk}/accept")).status_code == 404
    assert api(world["ana"]).post(url(world["incident"], "/999999/accept")).status_code == 404


def test_no_answer_after_fifteen_minutes(world: dict[str, Any], api: Any, agent: User) -> None:
    start = now()
    with time_machine.travel(start, tick=False):
        ask = _ask(world, api, agent)
    client = api(agent)
    with time_machine.travel(start + dt.timedelta(minutes=14, seconds=59), tick=False):
        [item] = client.get(url(world["incident"])).json()["items"]
        assert item["asks"][0]["state"] == "waiting"
    with time_machine.travel(start + dt.timedelta(minutes=15), tick=False):
        [item] = client.get(url(world["incident"])).json()["items"]
        assert item["asks"][0]["state"] == "no_answer"
        # reading changed nothing; the person may still answer
        assert ResponderAsk.objects.get(pk=ask.pk).state == AskState.PENDING
        reply = api(world["ana"]).post(url(world["incident"], f"/{ask.pk}/accept"))
        assert reply.json()["state"] == "accepted"


def _call_later(person: User) -> None:
    """High urgency: email at once, SMS five minutes later."""
    email = person.contact_methods.get(kind="email")
    sms = person.contact_methods.get(kind="sms")
    notification_rules_set(
        user=person,
        rules={
            "high": [
                {"contact_method": email.pk, "delay_minutes": 0},
                {"contact_method": sms.pk, "delay_minutes": 5},
            ]
        },
        actor=SETUP,
    )


def test_acknowledging_the_incident_neither_accepts_nor_stops_the_request(
    world: dict[str, Any], api: Any, agent: User
) -> None:
    ana = world["ana"]
    _call_later(ana)
    ask = _ask(world, api, agent)
    later = OutboxMessage.objects.filter(payload__responder=ask.pk, payload__delay_minutes=5)
    assert later.get().state == OutboxState.QUEUED
    incident_services.incident_acknowledge(incident=world["incident"], actor=Actor.for_user(agent))
    assert later.get().state == OutboxState.QUEUED  # the call in five minutes still comes
    assert ResponderAsk.objects.get(pk=ask.pk).state == AskState.PENDING
    assert Escalation.objects.get(responder_request__isnull=False).state == ClimbState.RESPONDERS
    # the escalation engine never fires the request's holder
    assert EscalationModule().tick(now() + dt.timedelta(hours=1)) == 0
    # answering cancels it
    api(ana).post(url(world["incident"], f"/{ask.pk}/decline"))
    assert later.get().state == OutboxState.CANCELLED


def test_resolving_cancels_what_is_still_queued(
    world: dict[str, Any], api: Any, agent: User
) -> None:
    ana = world["ana"]
    _call_later(ana)
    ask = _ask(world, api, agent)
    incident_services.incident_resolve(
        incident=world["incident"],
        actor=Actor.for_user(agent),
        resolution_code="fixed",
        resolution_notes="ok",
    )
    later = OutboxMessage.objects.get(payload__responder=ask.pk, payload__delay_minutes=5)
    assert later.state == OutboxState.CANCELLED


# --- random input never makes a 500 -----------------------------------------------------------

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.text(max_size=20)
    | st.sampled_from(["ana", "ben", "rita", "\x00", "1", ""])
)
_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3), max_leaves=5)
_BODIES = st.dictionaries(
    st.sampled_from(["users", "teams", "schedules", "message", "reason"]) | st.text(max_size=6),
    _VALUES,
    max_size=4,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=_BODIES | _VALUES, rest=st.sampled_from(["", "/1/accept", "/1/decline"]))
def test_random_bodies_never_make_a_500(
    world: dict[str, Any], api: Any, body: Any, rest: str
) -> None:
    client = api(world["ana"])
    reply = client.post(url(world["incident"], rest), body)
    assert reply.status_code < 500, (body, reply.content)
    assert reply.status_code in (200, 201) or "detail" in reply.json()
