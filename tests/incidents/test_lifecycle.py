"""Every cell of the lifecycle table (issue 2, point 4), at the service level."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from tests.incidents.helpers import (
    PATH_TO,
    T0,
    act,
    bring_to,
    entries,
    reload,
    snapshot,
    transitions,
)
from tocsin.core.actors import Actor
from tocsin.core.errors import Conflict, Invalid
from tocsin.incidents.services import incident_resolve, incident_unacknowledge

# The table as the issue states it: from -> {action: to}. Written out here, not
# imported, so the test checks the code against the specification.
TABLE: dict[str, dict[str, str]] = {
    "new": {
        "acknowledge": "acknowledged",
        "start": "in_progress",
        "hold": "on_hold",
        "resolve": "resolved",
    },
    "acknowledged": {
        "start": "in_progress",
        "hold": "on_hold",
        "resolve": "resolved",
        "unacknowledge": "new",
    },
    "in_progress": {"hold": "on_hold", "resolve": "resolved"},
    "on_hold": {"resume": "in_progress", "resolve": "resolved"},
    "resolved": {"close": "closed", "reopen": "in_progress"},
    "closed": {},
}
ACTIONS = ["acknowledge", "unacknowledge", "start", "hold", "resume", "resolve", "close", "reopen"]
CELLS = [(status, action) for status in TABLE for action in ACTIONS]


@pytest.mark.django_db
@pytest.mark.parametrize(("status", "action"), CELLS, ids=[f"{s}-{a}" for s, a in CELLS])
def test_lifecycle_cell(status, action, agent, reporter, make_incident, clock):
    incident = bring_to(make_incident(reporter), status, agent)
    assert incident.status == status
    clock.shift(dt.timedelta(minutes=5))
    before = snapshot(incident)
    count = len(entries(incident))
    if action in TABLE[status]:
        act(incident, agent, action, note="because")
        after = reload(incident)
        assert after.status == TABLE[status][action]
        new_entries = entries(incident)[count:]
        moves = [e for e in new_entries if e.kind == "transition"]
        assert len(moves) == 1
        move = moves[0]
        assert move.data == {"action": action, "from": status, "to": TABLE[status][action]}
        assert move.actor_user == agent
        assert move.actor_kind == "user"
        assert move.created_at == T0 + dt.timedelta(minutes=5)
        assert after.updated_at == T0 + dt.timedelta(minutes=5)
    else:
        with pytest.raises(Conflict) as caught:
            act(incident, agent, action)
        message = caught.value.message
        assert action in message
        if TABLE[status]:
            listed = {part.strip() for part in message.split("allowed:")[1].split(",")}
            assert listed == set(TABLE[status])
        else:
            assert "final" in message
        assert snapshot(incident) == before


@pytest.mark.django_db
def test_closed_is_final(agent, reporter, make_incident):
    incident = bring_to(make_incident(reporter), "closed", agent)
    for action in ACTIONS:
        with pytest.raises(Conflict, match="final"):
            act(incident, agent, action)
    assert reload(incident).status == "closed"


@pytest.mark.django_db
def test_unknown_action_is_invalid(agent, reporter, make_incident):
    incident = make_incident(reporter)
    before = snapshot(incident)
    with pytest.raises(Invalid) as caught:
        act(incident, agent, "explode")
    assert caught.value.field == "action"
    assert snapshot(incident) == before


@pytest.mark.django_db
def test_paths_reach_every_status(agent, reporter, make_incident):
    for status in PATH_TO:
        assert bring_to(make_incident(reporter), status, agent).status == status


@pytest.mark.django_db
def test_acknowledged_at_is_the_first_acknowledgement(agent, reporter, make_incident, clock):
    incident = make_incident(reporter)
    act(incident, agent, "acknowledge")
    clock.shift(dt.timedelta(minutes=3))
    act(incident, agent, "unacknowledge")
    assert reload(incident).status == "new"
    assert reload(incident).acknowledged_at == T0
    clock.shift(dt.timedelta(minutes=3))
    act(incident, agent, "acknowledge")
    assert reload(incident).acknowledged_at == T0
    clock.shift(dt.timedelta(minutes=3))
    act(incident, agent, "start")
    assert reload(incident).acknowledged_at == T0


@pytest.mark.django_db
def test_start_counts_as_first_acknowledgement(agent, reporter, make_incident, clock):
    incident = make_incident(reporter)
    clock.shift(dt.timedelta(minutes=7))
    act(incident, agent, "start")
    assert reload(incident).acknowledged_at == T0 + dt.timedelta(minutes=7)


@pytest.mark.django_db
def test_resolved_at_is_the_last_resolve(agent, reporter, make_incident, clock):
    incident = make_incident(reporter)
    clock.shift(dt.timedelta(hours=1))
    act(incident, agent, "resolve")
    assert reload(incident).resolved_at == T0 + dt.timedelta(hours=1)
    clock.shift(dt.timedelta(hours=1))
    act(incident, agent, "reopen", note="still broken")
    reopened = reload(incident)
    assert reopened.status == "in_progress"
    clock.shift(dt.timedelta(hours=1))
    act(incident, agent, "resolve", resolution_code="workaround", resolution_notes="Use B")
    resolved = reload(incident)
    assert resolved.resolved_at == T0 + dt.timedelta(hours=3)
    assert resolved.resolution_code == "workaround"
    assert resolved.resolution_notes == "Use B"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("code", "notes", "field"),
    [
        ("", "Fixed it", "resolution_code"),
        ("not-a-code", "Fixed it", "resolution_code"),
        ("fixed", "", "resolution_notes"),
        ("fixed", "   ", "resolution_notes"),
    ],
)
def test_resolve_needs_code_and_notes(code, notes, field, agent, reporter, make_incident):
    incident = bring_to(make_incident(reporter), "in_progress", agent)
    before = snapshot(incident)
    with pytest.raises(Invalid) as caught:
        incident_resolve(
            incident=incident,
            actor=Actor.for_user(agent),
            resolution_code=code,
            resolution_notes=notes,
        )
    assert caught.value.field == field
    assert snapshot(incident) == before


@pytest.mark.django_db
def test_system_can_unacknowledge(agent, reporter, make_incident):
    incident = bring_to(make_incident(reporter), "acknowledged", agent)
    incident_unacknowledge(
        incident=incident,
        actor=Actor.system("acknowledgement timeout"),
        note="nobody started within the acknowledgement timeout",
    )
    assert reload(incident).status == "new"
    last = transitions(incident)[-1]
    assert last.actor_kind == "system"
    assert last.actor_user is None
    assert last.actor_label == "acknowledgement timeout"
    assert last.data == {"action": "unacknowledge", "from": "acknowledged", "to": "new"}


@pytest.mark.django_db
def test_transition_visibility(agent, reporter, make_incident):
    """Work steps are internal; resolve, close and reopen are shown to the reporter."""
    incident = make_incident(reporter)
    for action in ("acknowledge", "start", "hold", "resume", "resolve", "reopen", "resolve"):
        act(incident, agent, action)
    act(incident, agent, "close")
    seen = {(e.data["action"], e.visibility) for e in transitions(incident)}
    assert seen == {
        ("acknowledge", "internal"),
        ("start", "internal"),
        ("hold", "internal"),
        ("resume", "internal"),
        ("resolve", "public"),
        ("reopen", "public"),
        ("close", "public"),
    }


@pytest.mark.django_db
def test_close_records_closed_at(agent, reporter, make_incident):
    with time_machine.travel(T0, tick=False) as clock:
        incident = bring_to(make_incident(reporter), "resolved", agent)
        clock.shift(dt.timedelta(hours=2))
        act(incident, agent, "close")
    closed = reload(incident)
    assert closed.closed_at == T0 + dt.timedelta(hours=2)
    assert closed.status == "closed"
