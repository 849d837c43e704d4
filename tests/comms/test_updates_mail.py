"""Stakeholder updates reach their recipients through a real SMTP server on loopback
(aiosmtpd): an outside subscriber, a person, a team's members, a service's subscribers,
each once; internal notes and the description never leave; outside mail carries an
unsubscribe link and RFC 8058 one-click headers, and the link works."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from tests.comms.updates_helpers import (
    SECRET_DESCRIPTION,
    SECRET_NOTE,
    deliver,
    incident_with_secrets,
    person,
    reachable,
    seeded,
    signed_in,
    text_of,
)
from tests.notify.conftest import Inbox, _serve
from tocsin.accounts.models import Role, Team
from tocsin.catalog.models import Service
from tocsin.comms import updates
from tocsin.comms.models import StakeholderUpdate, Subscription
from tocsin.core.actors import Actor
from tocsin.incidents.models import IncidentRole
from tocsin.incidents.services import role_assign
from tocsin.notify.models import OutboxMessage

pytestmark = pytest.mark.django_db

OUTSIDE = "cfo@customer.example"


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[Inbox]:
    """A real SMTP server (aiosmtpd) on loopback; Django's mail goes to it."""
    yield from _serve(settings, Inbox())


@pytest.fixture
def world() -> dict[str, Any]:
    seeded()
    people = {
        "ines": person("ines", name="Inês Duarte"),
        "bob": person("bob"),
        "carl": person("carl"),
        "dora": person("dora"),
        "rita": person("rita", role=Role.REPORTER),
    }
    service = Service.objects.create(name="Checkout")
    incident = incident_with_secrets(people["rita"], service)
    return {**people, "service": service, "incident": incident}


def post(world: dict[str, Any], body: str, **kwargs: Any) -> StakeholderUpdate:
    return updates.update_post(
        incident=world["incident"],
        actor=Actor.for_user(world["ines"]),
        status=kwargs.pop("status", "investigating"),
        body=body,
        **kwargs,
    )


def unfold(header: Any) -> str:
    return "".join(str(header).split())  # long headers are folded (RFC 5322)


def to(mail: Any) -> str:
    return str(mail["To"])


def test_an_outside_subscriber_and_a_person_receive_the_update_once(world, smtp_server) -> None:
    actor = Actor.for_user(world["ines"])
    incident = world["incident"]
    updates.subscription_add(actor=actor, incident=incident, email=OUTSIDE)
    updates.subscription_add(actor=actor, incident=incident, user=world["bob"])
    # bob is also a member of a subscribed team and holds a role: still one message
    team = Team.objects.create(name="Payments")
    team.members.add(world["bob"], world["carl"])
    updates.subscription_add(actor=actor, incident=incident, team=team)
    role = IncidentRole.objects.get(key=IncidentRole.SCRIBE)
    role_assign(incident=incident, role=role, user=world["bob"], actor=actor)
    # dora subscribed to the service, not the incident
    updates.subscription_add(actor=actor, service=world["service"], user=world["dora"])

    update = post(
        world,
        "Card payments fail for some customers. Next update by {next_update}.",
        next_update_minutes=30,
    )

    assert deliver() == 4
    assert sorted(to(m) for m in smtp_server.messages) == sorted(
        [OUTSIDE, "bob@example.com", "carl@example.com", "dora@example.com"]
    )
    assert update.recipients == 4
    for mail in smtp_server.messages:
        body = text_of(mail)
        assert "Card payments fail for some customers." in body
        assert "{next_update}" not in body
    # posting again sends again (a new update); delivering again sends nothing more
    assert deliver() == 0
    assert len(smtp_server.messages) == 4


def test_the_outside_mail_has_the_update_text_only_and_one_click_unsubscribe(
    world, smtp_server
) -> None:
    actor = Actor.for_user(world["ines"])
    updates.subscription_add(actor=actor, incident=world["incident"], email=OUTSIDE)
    post(world, "We are looking into failed card payments.")
    deliver()
    [mail] = smtp_server.messages
    assert mail["Subject"] == f"{world['incident'].ref} update: Investigating"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.fullmatch(r"<(\S+)>", unfold(mail["List-Unsubscribe"])).group(1)  # type: ignore[union-attr]
    assert "/updates/unsubscribe/" in link
    body = text_of(mail)
    assert link in body
    # the outside world gets neither the title nor a link into Tocsin's incident page
    assert "Checkout failing" not in body
    assert "/incidents/" not in body


def test_internal_notes_and_the_description_never_leave(world, smtp_server) -> None:
    """The leak check: every message sent for the incident is searched for the internal
    note's and the description's text."""
    actor = Actor.for_user(world["ines"])
    incident = world["incident"]
    updates.subscription_add(actor=actor, incident=incident, email=OUTSIDE)
    updates.subscription_add(actor=actor, incident=incident, user=world["bob"])
    reachable(world["carl"], "email", "sms")
    updates.subscription_add(actor=actor, incident=incident, user=world["carl"], channel="contact")
    for status in ("investigating", "identified", "monitoring", "resolved"):
        post(world, f"Status is now {status}: {{service}} {{impact}} {{ref}}", status=status)
    deliver()
    assert len(smtp_server.messages) == 12
    rows = OutboxMessage.objects.filter(incident=incident, purpose="update")
    assert rows.count() == 12  # carl: email + sms (his first step), 4 times
    stored = [f"{m.subject}\n{m.body}\n{m.payload}" for m in rows]
    for text in [*(text_of(m) for m in smtp_server.messages), *stored]:
        assert SECRET_NOTE not in text
        assert "hunter2" not in text
        assert SECRET_DESCRIPTION not in text
        assert "Acme" not in text


def test_a_person_choosing_contact_methods_gets_the_first_low_urgency_step(
    world, smtp_server
) -> None:
    reachable(world["carl"], "email", "sms")
    updates.subscription_add(
        actor=Actor.for_user(world["ines"]),
        incident=world["incident"],
        user=world["carl"],
        channel="contact",
    )
    post(world, "Investigating.")
    rows = OutboxMessage.objects.filter(incident=world["incident"], purpose="update")
    # the default low-urgency cycle of a person with email and SMS starts with both
    assert {m.channel for m in rows} >= {"email"}
    assert all(m.contact_method is not None and m.person == world["carl"] for m in rows)
    assert all(m.payload["urgency"] == "low" for m in rows)
    deliver()
    assert [to(m) for m in smtp_server.messages] == ["carl@example.com"]


def test_a_team_subscribed_by_contact_methods_reaches_each_member_once_that_way(
    world, smtp_server, api
) -> None:
    """A team's subscription may say "contact methods": each member gets the first step
    of their own low-urgency rules (email when they have none), once, and a member's own
    subscription decides over the team's."""
    actor = Actor.for_user(world["ines"])
    team = Team.objects.create(name="Payments")
    team.members.add(world["bob"], world["carl"], world["dora"])
    reachable(world["bob"], "email", "sms")
    updates.subscription_add(actor=actor, incident=world["incident"], team=team, channel="contact")
    updates.subscription_add(actor=actor, service=world["service"], team=team)  # by email
    updates.subscription_add(actor=actor, incident=world["incident"], user=world["dora"])
    reply = api(world["ines"]).get(f"/api/v1/incidents/{world['incident'].ref}/subscribers")
    listed = [(s["type"], s["name"], s["channel"]) for s in reply.json()["items"]]
    assert ("team", "Payments", "contact") in listed
    post(world, "Investigating.")
    rows = OutboxMessage.objects.filter(incident=world["incident"], purpose="update")
    by_person = {p.username: [m for m in rows if m.person == p] for p in team.members.all()}
    # bob: the first step of his low-urgency rules, through his contact methods
    assert {m.channel for m in by_person["bob"]} >= {"email"}
    assert all(m.contact_method is not None for m in by_person["bob"])
    assert all(m.payload["urgency"] == "low" for m in by_person["bob"])
    # carl has no contact methods: email; dora's own subscription is by email
    for name in ("carl", "dora"):
        [only] = by_person[name]
        assert only.channel == "email" and only.contact_method is None, name
    deliver()
    assert sorted(to(m) for m in smtp_server.messages) == [
        "bob@example.com",
        "carl@example.com",
        "dora@example.com",
    ]
    assert len(smtp_server.messages) == 3  # once each, although the team is there twice


def test_the_unsubscribe_link_asks_first_then_removes_the_subscription(world, smtp_server) -> None:
    updates.subscription_add(
        actor=Actor.for_user(world["ines"]), incident=world["incident"], email=OUTSIDE
    )
    post(world, "First update.")
    deliver()
    link = re.search(r"Unsubscribe: (\S+)", text_of(smtp_server.messages[0])).group(1)  # type: ignore[union-attr]
    path = link.split("://", 1)[1].split("/", 1)[1]
    anonymous = Client(enforce_csrf_checks=True)
    page = anonymous.get("/" + path)
    assert page.status_code == 200
    assert OUTSIDE in page.content.decode()
    assert Subscription.objects.filter(email=OUTSIDE).exists()  # a GET changes nothing
    done = anonymous.post("/" + path)
    assert done.status_code == 200
    assert "is unsubscribed" in done.content.decode()
    assert not Subscription.objects.filter(email=OUTSIDE).exists()
    post(world, "Second update.")
    deliver()
    assert len(smtp_server.messages) == 1  # nothing more to the outside address


def test_one_click_unsubscribe_as_a_mail_client_posts_it(world, smtp_server) -> None:
    updates.subscription_add(
        actor=Actor.for_user(world["ines"]), service=world["service"], email=OUTSIDE
    )
    post(world, "Update.")
    deliver()
    header = unfold(smtp_server.messages[0]["List-Unsubscribe"])
    link = re.fullmatch(r"<(\S+)>", header).group(1)  # type: ignore[union-attr]
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    reply = Client(enforce_csrf_checks=True).post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert reply.status_code == 200
    assert not Subscription.objects.filter(email=OUTSIDE).exists()
    # the same link again: still fine, nothing to remove
    assert Client().post(path).status_code == 200


def test_a_forged_or_altered_unsubscribe_link_is_404_and_changes_nothing(world) -> None:
    sub = updates.subscription_add(
        actor=Actor.for_user(world["ines"]), incident=world["incident"], email=OUTSIDE
    )
    token = updates.unsubscribe_token(sub)
    for bad in ("nonsense", token[:-2] + ("AA" if not token.endswith("AA") else "BB")):
        assert Client().post(f"/updates/unsubscribe/{bad}/").status_code == 404
    assert Subscription.objects.filter(pk=sub.pk).exists()


def test_a_deactivated_subscriber_receives_nothing(world, smtp_server) -> None:
    updates.subscription_add(
        actor=Actor.for_user(world["ines"]), incident=world["incident"], user=world["bob"]
    )
    world["bob"].is_active = False
    world["bob"].save(update_fields=["is_active"])
    post(world, "Update.")
    assert deliver() == 0


def test_posting_from_the_incident_page_sends_it(world, smtp_server) -> None:
    updates.subscription_add(
        actor=Actor.for_user(world["ines"]), incident=world["incident"], email=OUTSIDE
    )
    client = signed_in(world["ines"])
    reply = client.post(
        f"/incidents/{world['incident'].ref}/updates/",
        {"status": "identified", "body": "Found it: a bad deploy.", "next_update_minutes": "45"},
    )
    assert reply.status_code == 302
    deliver()
    [mail] = smtp_server.messages
    assert "Found it: a bad deploy." in text_of(mail)
    assert "Next update by" in text_of(mail)
