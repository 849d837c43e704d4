"""A new role holder is told through paging (issue 11): one low-urgency message per
method of the first step of their low-urgency cycle, never a call, never repeated, never
to someone who took the role themselves. Delivered to a real SMTP server and a real HTTP
receiver on loopback by the outbox module."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.escalation.paging_helpers import reachable
from tests.notify.test_channels_http import Receiver
from tocsin.accounts.models import ContactKind, Role, User
from tocsin.accounts.services import contact_method_add, notification_rules_set
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.incidents import services
from tocsin.incidents.models import EntryKind, Incident, IncidentRole, TimelineEntry
from tocsin.notify.engine import OutboxModule
from tocsin.notify.models import OutboxMessage, OutboxState

pytestmark = pytest.mark.django_db
SETUP = Actor.system("test setup")


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    settings.TOCSIN_OUTBOUND_ALLOW = ["127.0.0.1/32"]
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def world(make_user: Callable[..., User], make_incident: Callable[..., Incident]) -> dict[str, Any]:
    reporter = make_user(Role.REPORTER, username="rita")
    return {
        "incident": make_incident(reporter, title="Checkout down"),
        "lead": make_user(Role.MANAGER, username="lead", name="Lena Lead"),
        "holder": make_user(Role.RESPONDER, username="holder", name="Hugo Holder"),
    }


def assign(incident: Incident, key: str, user: User, by: User) -> Any:
    return services.role_assign(
        incident=incident,
        role=IncidentRole.objects.get(key=key),
        user=user,
        actor=Actor.for_user(by),
    )


def test_holder_gets_one_mail_and_one_webhook_never_a_call(
    world: dict[str, Any], smtp_server: Any, receiver: Receiver, settings: Any
) -> None:
    settings.BASE_URL = "https://tocsin.example.com"
    holder = world["holder"]
    reachable(holder, "email", "sms")
    voice = contact_method_add(
        user=holder, kind=ContactKind.VOICE, address="+441632960009", actor=SETUP
    )
    hook = contact_method_add(
        user=holder, kind=ContactKind.WEBHOOK, address=receiver.url(), actor=SETUP
    )
    mail_method = holder.contact_methods.get(kind="email")
    sms = holder.contact_methods.get(kind="sms")
    # a low-urgency cycle that would call at once and text later: neither happens
    notification_rules_set(
        user=holder,
        rules={
            "low": [
                {"contact_method": voice.pk, "delay_minutes": 0},
                {"contact_method": mail_method.pk, "delay_minutes": 0},
                {"contact_method": hook.pk, "delay_minutes": 0},
                {"contact_method": sms.pk, "delay_minutes": 10},
            ]
        },
        actor=SETUP,
    )
    assignment = assign(world["incident"], "commander", holder, world["lead"])

    queued = OutboxMessage.objects.filter(purpose="role")
    assert sorted(m.channel for m in queued) == ["email", "webhook"]  # no SMS later, no call
    assert {m.dedup_key for m in queued} == {
        f"role:{assignment.pk}:{m.contact_method_id}" for m in queued
    }
    OutboxModule().tick(now())
    assert [m.state for m in OutboxMessage.objects.filter(purpose="role")] == [OutboxState.SENT] * 2
    [mail] = smtp_server.messages
    assert mail["To"] == "holder@example.com"
    assert mail["Subject"] == "You are Incident commander on INC-1: Checkout down"
    body = mail.get_payload()
    assert "Lena Lead made you Incident commander." in body
    assert "https://tocsin.example.com/incidents/INC-1/" in body
    [hook] = receiver.seen
    assert "Checkout down" in hook.body.decode()
    # nothing more later: not a climb
    OutboxModule().tick(now())
    assert OutboxMessage.objects.filter(purpose="role").count() == 2
    assert len(smtp_server.messages) == 1 and len(receiver.seen) == 1


def test_handover_tells_the_new_holder_only(world: dict[str, Any], smtp_server: Any) -> None:
    holder, lead = world["holder"], world["lead"]
    reachable(holder)
    reachable(lead)
    assign(world["incident"], "comms_lead", holder, lead)
    # the lead takes the role over themselves: nobody is told
    assign(world["incident"], "comms_lead", lead, lead)
    # assigning the current holder again changes nothing and sends nothing
    assign(world["incident"], "comms_lead", lead, holder)
    assert OutboxMessage.objects.filter(purpose="role").count() == 1
    OutboxModule().tick(now())
    assert [m["To"] for m in smtp_server.messages] == ["holder@example.com"]
    # handed back by the lead: the holder is told again (a new assignment)
    assign(world["incident"], "comms_lead", holder, lead)
    OutboxModule().tick(now())
    assert [m["To"] for m in smtp_server.messages] == ["holder@example.com"] * 2


def test_no_contact_method_is_written_on_the_timeline(world: dict[str, Any]) -> None:
    assign(world["incident"], "scribe", world["holder"], world["lead"])
    assert not OutboxMessage.objects.filter(purpose="role").exists()
    assert TimelineEntry.objects.filter(
        incident=world["incident"],
        kind=EntryKind.PAGE,
        text="Hugo Holder has no contact method to be told about the role.",
    ).exists()
