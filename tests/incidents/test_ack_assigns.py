"""Acknowledge means "mine": acknowledging an unassigned incident assigns it to whoever
acknowledged, in the same transaction, and the timeline says so (issue 8, point 9)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction

from tests.web.helpers import text_of
from tocsin.accounts.models import User
from tocsin.core.actors import Actor
from tocsin.incidents import services
from tocsin.incidents.models import EntryKind, Incident

pytestmark = pytest.mark.django_db


def reload(incident: Incident) -> Incident:
    return Incident.objects.get(pk=incident.pk)


def test_acknowledging_an_unassigned_incident_makes_it_yours(
    agent: User, reporter: User, make_incident: Callable[..., Incident]
) -> None:
    incident = make_incident(reporter)
    services.incident_acknowledge(incident=incident, actor=Actor.for_user(agent))
    incident = reload(incident)
    assert (incident.status, incident.assignee, incident.acknowledged_by) == (
        "acknowledged",
        agent,
        agent,
    )
    kinds = list(incident.timeline.order_by("id").values_list("kind", flat=True))
    assert kinds[-2:] == [EntryKind.TRANSITION, EntryKind.ASSIGNMENT]
    entry = incident.timeline.get(kind=EntryKind.ASSIGNMENT)
    assert entry.actor_user == agent
    assert entry.data == {"assignee": {"old": None, "new": "alice"}, "via": "acknowledge"}


def test_an_assigned_incident_keeps_its_assignee(
    agent: User, responder: User, reporter: User, make_incident: Callable[..., Incident]
) -> None:
    incident = make_incident(reporter)
    services.incident_assign(incident=incident, actor=Actor.for_user(agent), assignee=responder)
    services.incident_acknowledge(incident=incident, actor=Actor.for_user(agent))
    incident = reload(incident)
    assert (incident.assignee, incident.acknowledged_by) == (responder, agent)
    assert incident.timeline.filter(kind=EntryKind.ASSIGNMENT).count() == 1


def test_the_system_acknowledges_without_assigning(
    reporter: User, make_incident: Callable[..., Incident]
) -> None:
    incident = make_incident(reporter)
    services.incident_acknowledge(incident=incident, actor=Actor.system("test"))
    incident = reload(incident)
    assert (incident.assignee, incident.acknowledged_by) == (None, None)


def test_unacknowledge_clears_who_acknowledged_but_keeps_the_assignee(
    agent: User, reporter: User, make_incident: Callable[..., Incident]
) -> None:
    incident = make_incident(reporter)
    services.incident_acknowledge(incident=incident, actor=Actor.for_user(agent))
    services.incident_unacknowledge(incident=incident, actor=Actor.for_user(agent))
    incident = reload(incident)
    assert (incident.assignee, incident.acknowledged_by) == (agent, None)


def test_assignment_and_acknowledgement_commit_together(
    agent: User, reporter: User, make_incident: Callable[..., Incident]
) -> None:
    incident = make_incident(reporter)

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        services.incident_acknowledge(incident=incident, actor=Actor.for_user(agent))
        raise Boom
    incident = reload(incident)
    assert (incident.status, incident.assignee) == ("new", None)
    assert not incident.timeline.filter(kind=EntryKind.ASSIGNMENT).exists()


def test_the_api_acknowledge_assigns_too(
    api: Any, responder: User, reporter: User, make_incident: Callable[..., Incident]
) -> None:
    incident = make_incident(reporter)
    reply = api(responder).post(f"/api/v1/incidents/{incident.ref}/acknowledge")
    assert reply.status_code == 200, reply.content
    body = reply.json()
    assert (body["assignee"], body["acknowledged_by"]) == ("rob", "rob")


def test_the_incident_page_says_who_acknowledged_and_that_it_was_assigned(
    agent: User, reporter: User, make_incident: Callable[..., Incident], client: Any
) -> None:
    incident = make_incident(reporter)
    client.force_login(agent)
    reply = client.post(f"/incidents/{incident.ref}/act/acknowledge/", follow=True)
    page = text_of(reply)
    assert f"{incident.ref} acknowledged and assigned to you" in page
    assert "Assignee Alice" in page
    assert "Acknowledged by Alice" in page
    assert "acknowledged while unassigned, so it is assigned to Alice" in page


def test_list_rows_can_say_who_acknowledged(
    agent: User, reporter: User, make_incident: Callable[..., Incident]
) -> None:
    from django.template.loader import render_to_string

    incident = make_incident(reporter)
    assert render_to_string("incidents/_acknowledged_by.html", {"incident": incident}).strip() == ""
    services.incident_acknowledge(incident=incident, actor=Actor.for_user(agent))
    row = render_to_string("incidents/_acknowledged_by.html", {"incident": reload(incident)})
    assert row.strip() == '<span class="ack-by">Acknowledged by Alice</span>'
