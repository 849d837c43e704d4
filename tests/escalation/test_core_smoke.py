"""The paging core end to end on one database: a policy on a service, an incident, the
engine fires level 1, mail reaches a real SMTP server, acknowledge stops the climb."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from tocsin.accounts.models import Role, User
from tocsin.accounts.services import contact_method_add
from tocsin.catalog.models import Service
from tocsin.core.actors import Actor
from tocsin.escalation.engine import EscalationModule
from tocsin.escalation.models import ClimbState, Escalation, Page
from tocsin.escalation.policies import policy_create, service_paging_set
from tocsin.incidents import services as incident_services
from tocsin.incidents.models import Incident
from tocsin.notify.engine import OutboxModule
from tocsin.notify.models import OutboxMessage, OutboxState

SETUP = Actor.system("test setup")
pytestmark = pytest.mark.django_db


def test_a_page_climbs_and_acknowledge_stops_it(
    make_user: Callable[..., User],
    make_incident: Callable[..., Incident],
    smtp_server: Any,
) -> None:
    first = make_user(Role.RESPONDER, username="first")
    second = make_user(Role.RESPONDER, username="second")
    for person in (first, second):
        contact_method_add(user=person, kind="email", address=person.email, actor=SETUP)
        contact_method_add(user=person, kind="sms", address="+441632960001", actor=SETUP)
    policy = policy_create(
        actor=SETUP,
        name="Payments",
        levels=[
            {"delay_minutes": 5, "targets": [{"type": "user", "id": "first"}]},
            {"delay_minutes": 5, "targets": [{"type": "user", "id": "second"}]},
        ],
    )
    service = Service.objects.create(name="Payments API")
    service_paging_set(service=service, actor=SETUP, policy=policy)
    incident = make_incident(
        first, title="Card payments failing", service=service, impact=1, urgency=1
    )
    climb = Escalation.objects.get(incident=incident)
    assert climb.state == ClimbState.ACTIVE and climb.urgency == "high"

    start = climb.next_at
    assert EscalationModule().tick(start) == 1
    page = Page.objects.get(incident=incident)
    assert page.person == first
    messages = OutboxMessage.objects.filter(incident=incident, purpose="page").order_by(
        "not_before"
    )
    assert [(m.channel, m.not_before - start) for m in messages] == [
        ("email", dt.timedelta(0)),
        ("sms", dt.timedelta(minutes=2)),
    ]
    OutboxModule().tick(start)
    assert len(smtp_server.messages) == 1
    assert "Acknowledge: http" in smtp_server.messages[0].get_payload()
    # nothing more before the delay; level 2 after it
    assert EscalationModule().tick(start + dt.timedelta(minutes=4)) == 0
    assert EscalationModule().tick(start + dt.timedelta(minutes=5, seconds=1)) == 1
    assert set(
        Page.objects.filter(incident=incident).values_list("person__username", flat=True)
    ) == {"first", "second"}

    incident_services.incident_acknowledge(incident=incident, actor=Actor.for_user(second))
    climb.refresh_from_db()
    assert climb.state == ClimbState.ACKNOWLEDGED
    left = OutboxMessage.objects.filter(incident=incident, purpose="page")
    assert {m.state for m in left if m.channel == "sms"} == {OutboxState.CANCELLED}
    assert EscalationModule().tick(start + dt.timedelta(hours=1)) == 0
