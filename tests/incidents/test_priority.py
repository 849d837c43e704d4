"""Impact x urgency -> priority, the editable matrix, manual overrides (issue 2, point 5)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.incidents.helpers import T0, bring_to, entries, reload, snapshot
from tocsin.core.actors import Actor
from tocsin.core.errors import Invalid
from tocsin.incidents.models import PriorityMatrixCell
from tocsin.incidents.services import incident_create, incident_update

# urgency -> impact -> priority, as printed in the issue.
DEFAULT = {
    1: {1: 1, 2: 1, 3: 2, 4: 3},
    2: {1: 1, 2: 2, 3: 3, 4: 3},
    3: {1: 2, 2: 3, 3: 3, 4: 4},
    4: {1: 3, 2: 3, 3: 4, 4: 4},
}
CELLS = [(u, i, p) for u, row in DEFAULT.items() for i, p in row.items()]


@pytest.mark.django_db
@pytest.mark.parametrize(("urgency", "impact", "priority"), CELLS)
def test_default_matrix(urgency, impact, priority, reporter):
    incident = incident_create(
        actor=Actor.for_user(reporter), title="x", impact=impact, urgency=urgency
    )
    assert reload(incident).priority == priority


@pytest.mark.django_db
def test_admin_edited_cell_changes_the_result(reporter):
    PriorityMatrixCell.objects.update_or_create(impact=4, urgency=4, defaults={"priority": 2})
    edited = incident_create(actor=Actor.for_user(reporter), title="x", impact=4, urgency=4)
    assert edited.priority == 2
    untouched = incident_create(actor=Actor.for_user(reporter), title="y", impact=3, urgency=4)
    assert untouched.priority == 4


@pytest.mark.django_db
def test_matrix_change_applies_on_the_next_triage(agent, reporter, make_incident):
    incident = make_incident(reporter, impact=2, urgency=2)
    assert incident.priority == 2
    PriorityMatrixCell.objects.update_or_create(impact=1, urgency=2, defaults={"priority": 4})
    incident_update(incident=incident, actor=Actor.for_user(agent), changes={"impact": 1})
    assert reload(incident).priority == 4


@pytest.mark.django_db
def test_override_needs_a_reason(agent, reporter, make_incident):
    incident = make_incident(reporter)  # P3
    before = snapshot(incident)
    for reason in ("", "   "):
        with pytest.raises(Invalid) as caught:
            incident_update(
                incident=incident,
                actor=Actor.for_user(agent),
                changes={"priority": 1},
                priority_reason=reason,
            )
        assert caught.value.field == "priority_reason"
    assert snapshot(incident) == before
    with pytest.raises(Invalid) as caught:
        incident_create(actor=Actor.for_user(agent), title="x", priority=1)
    assert caught.value.field == "priority_reason"


@pytest.mark.django_db
@pytest.mark.parametrize("bad", [0, 5, "1", True, 1.5])
def test_override_must_be_a_priority(bad, agent, reporter, make_incident):
    incident = make_incident(reporter)
    before = snapshot(incident)
    with pytest.raises(Invalid) as caught:
        incident_update(
            incident=incident,
            actor=Actor.for_user(agent),
            changes={"priority": bad},
            priority_reason="because",
        )
    assert caught.value.field == "priority"
    assert snapshot(incident) == before


@pytest.mark.django_db
def test_override_is_on_the_timeline_and_sticks(agent, reporter, make_incident, clock):
    incident = make_incident(reporter, impact=3, urgency=3)  # P3
    incident_update(
        incident=incident,
        actor=Actor.for_user(agent),
        changes={"priority": 1},
        priority_reason="The CEO cannot print",
    )
    overridden = reload(incident)
    assert overridden.priority == 1
    assert overridden.priority_override_reason == "The CEO cannot print"
    entry = entries(incident, "field")[-1]
    assert entry.text == "The CEO cannot print"
    assert entry.data == {
        "changes": [{"field": "priority", "old": "P3", "new": "P1", "override": True}]
    }
    assert entry.actor_user == agent
    # SLA follows the override: P1 targets from now.
    assert overridden.response_due_at == T0 + dt.timedelta(minutes=15)
    # impact/urgency changes do not undo an override
    incident_update(incident=incident, actor=Actor.for_user(agent), changes={"impact": 4})
    assert reload(incident).priority == 1
    # None returns to the matrix (impact 4 x urgency 3 -> P4)
    incident_update(incident=incident, actor=Actor.for_user(agent), changes={"priority": None})
    back = reload(incident)
    assert back.priority == 4
    assert back.priority_override_reason == ""
    assert entries(incident, "field")[-1].data["changes"] == [
        {"field": "priority", "old": "P1", "new": "P4", "override": False}
    ]


@pytest.mark.django_db
def test_override_while_filing_is_recorded(agent):
    incident = incident_create(
        actor=Actor.for_user(agent), title="x", priority=2, priority_reason="VIP"
    )
    assert incident.priority == 2
    created = entries(incident, "created")[0]
    assert created.data["priority"] == "P2"
    assert created.data["priority_override"] == "VIP"


@pytest.mark.django_db
def test_impact_and_urgency_recompute_priority_and_due_times(agent, reporter, make_incident, clock):
    incident = make_incident(reporter, impact=3, urgency=3)  # P3: 2 h / 3 days
    assert incident.response_due_at == T0 + dt.timedelta(hours=2)
    assert incident.resolution_due_at == T0 + dt.timedelta(days=3)
    clock.shift(dt.timedelta(minutes=10))
    incident_update(
        incident=incident, actor=Actor.for_user(agent), changes={"impact": 1, "urgency": 1}
    )
    p1 = reload(incident)
    assert p1.priority == 1
    # 10 minutes of the clock already ran: P1's 15 min / 4 h count from the creation.
    assert p1.response_due_at == T0 + dt.timedelta(minutes=15)
    assert p1.resolution_due_at == T0 + dt.timedelta(hours=4)
    [triage] = entries(incident, "field")
    assert triage.data["changes"] == [
        {"field": "impact", "old": 3, "new": 1},
        {"field": "urgency", "old": 3, "new": 1},
        {"field": "priority", "old": "P3", "new": "P1", "override": False},
    ]
    # Acknowledge, then lower the priority: the met response stays met.
    act_at = T0 + dt.timedelta(minutes=12)
    clock.move_to(act_at)
    bring_to(p1, "acknowledged", agent)
    clock.shift(dt.timedelta(minutes=8))
    incident_update(
        incident=incident, actor=Actor.for_user(agent), changes={"impact": 4, "urgency": 4}
    )
    p4 = reload(incident)
    assert p4.priority == 4
    assert p4.response_met_at == act_at
    assert p4.response_due_at == T0 + dt.timedelta(minutes=15)
    assert p4.resolution_due_at == T0 + dt.timedelta(days=7)
