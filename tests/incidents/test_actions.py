"""One service per lifecycle action; `incident_act` only dispatches a name from a request."""

from __future__ import annotations

import inspect
from collections.abc import Callable

import pytest

from tests.incidents.helpers import bring_to, reload, transitions
from tocsin.accounts.models import User
from tocsin.core.actors import Actor
from tocsin.core.errors import Conflict, Invalid
from tocsin.incidents import services
from tocsin.incidents.lifecycle import ACTIONS
from tocsin.incidents.models import Incident

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("action", ACTIONS)
def test_every_action_has_its_own_keyword_only_service(action: str) -> None:
    service = getattr(services, f"incident_{action}")
    parameters = inspect.signature(service).parameters
    assert {"incident", "actor", "note"} <= set(parameters)
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters.values())
    assert parameters["actor"].annotation in ("Actor", Actor)


def test_the_specific_services_walk_the_whole_lifecycle(
    agent: User, reporter: User, make_incident: Callable[..., Incident]
) -> None:
    me = Actor.for_user(agent)
    incident = make_incident(reporter)
    services.incident_acknowledge(incident=incident, actor=me)
    services.incident_unacknowledge(incident=incident, actor=me, note="not mine")
    services.incident_start(incident=incident, actor=me)
    services.incident_hold(incident=incident, actor=me, note="waiting on the vendor")
    services.incident_resume(incident=incident, actor=me)
    services.incident_resolve(
        incident=incident, actor=me, resolution_code="fixed", resolution_notes="new toner"
    )
    services.incident_reopen(incident=incident, actor=me, note="still smoking")
    services.incident_resolve(
        incident=incident, actor=me, resolution_code="workaround", resolution_notes="unplugged"
    )
    services.incident_close(incident=incident, actor=me, resolution_code="fixed")
    done = reload(incident)
    assert (done.status, done.resolution_code, done.resolution_notes) == (
        "closed",
        "fixed",
        "unplugged",
    )
    assert [t.data["action"] for t in transitions(incident)] == [
        "acknowledge",
        "unacknowledge",
        "start",
        "hold",
        "resume",
        "resolve",
        "reopen",
        "resolve",
        "close",
    ]


def test_a_service_refuses_a_move_its_status_does_not_allow(
    agent: User, reporter: User, make_incident: Callable[..., Incident]
) -> None:
    incident = bring_to(make_incident(reporter), "on_hold", agent)
    with pytest.raises(Conflict, match="cannot start an incident that is on hold"):
        services.incident_start(incident=incident, actor=Actor.for_user(agent))
    assert reload(incident).status == "on_hold"


def test_the_dispatcher_names_an_unknown_action(
    agent: User, reporter: User, make_incident: Callable[..., Incident]
) -> None:
    incident = make_incident(reporter)
    with pytest.raises(Invalid) as caught:
        services.incident_act(incident=incident, actor=Actor.for_user(agent), action="explode")
    assert caught.value.field == "action"
    assert reload(incident).status == "new"


def test_the_dispatcher_ignores_resolution_fields_for_other_actions(
    agent: User, reporter: User, make_incident: Callable[..., Incident]
) -> None:
    """The incident page's forms send the resolution fields with every action."""
    incident = make_incident(reporter)
    services.incident_act(
        incident=incident,
        actor=Actor.for_user(agent),
        action="start",
        resolution_code="fixed",
        resolution_notes="",
    )
    started = reload(incident)
    assert (started.status, started.resolution_code) == ("in_progress", "")
