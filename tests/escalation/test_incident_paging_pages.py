"""The incident page's Paging section and its forms (page now, escalate now, reassign):
who sees it, what it shows, CSRF, errors as messages; the paging entries on the timeline."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tests.escalation.paging_helpers import reachable, two_level_policy
from tocsin.accounts.models import Role, User
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.escalation.engine import EscalationModule
from tocsin.escalation.models import ClimbState, Escalation, Page
from tocsin.incidents import services as incident_services
from tocsin.incidents.models import Incident
from tocsin.notify.models import OutboxMessage, OutboxState

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(make_user: Callable[..., User], make_incident: Callable[..., Incident]) -> dict[str, Any]:
    first = make_user(Role.RESPONDER, username="first", name="Inês Duarte")
    second = make_user(Role.RESPONDER, username="second")
    for person in (first, second):
        reachable(person, "email", "sms")
    reachable(first, "webhook")
    reporter = make_user(Role.REPORTER, username="rita")
    incident = make_incident(reporter, title="Card payments failing", impact=1, urgency=1)
    return {
        "first": first,
        "second": second,
        "reporter": reporter,
        "incident": incident,
        "policy": two_level_policy(first, second),
    }


def signed_in(user: User, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def page_of(client: Client, incident: Incident) -> str:
    reply = client.get(f"/incidents/{incident.ref}/")
    assert reply.status_code == 200
    return reply.content.decode()


def messages_in(html: str) -> list[str]:
    return [
        re.sub(r"\s+", " ", m).strip() for m in re.findall(r'class="flash[^"]*">(.*?)</p>', html)
    ]


@pytest.mark.parametrize("role", [Role.AGENT, Role.RESPONDER, Role.MANAGER, Role.ADMIN])
def test_staff_see_the_section_and_its_forms(
    role: str, world: dict[str, Any], make_user: Callable[..., User]
) -> None:
    html = page_of(signed_in(make_user(role)), world["incident"])
    assert 'id="paging"' in html and ">Paging</h2>" in html
    assert "No one has been paged for this incident." in html
    assert 'action="/incidents/INC-1/paging/page/"'.replace("INC-1", world["incident"].ref) in html
    assert "Escalate now" not in html  # no climb with a next step
    assert ">Reassign…<" in html


def test_the_reporter_sees_no_section_and_cannot_post(world: dict[str, Any]) -> None:
    client = signed_in(world["reporter"])
    html = page_of(client, world["incident"])
    assert 'id="paging"' not in html and "Page now" not in html
    ref = world["incident"].ref
    for path in ("paging/page/", "paging/escalate-now/", "paging/reassign/"):
        reply = client.post(f"/incidents/{ref}/{path}", {"policy": world["policy"].pk})
        assert reply.status_code == 404, path
    assert not Escalation.objects.exists()


def test_get_on_a_paging_route_changes_nothing(world: dict[str, Any]) -> None:
    client = signed_in(world["first"])
    reply = client.get(f"/incidents/{world['incident'].ref}/paging/page/?policy=1")
    assert reply.status_code == 405
    assert not Escalation.objects.exists()


def test_csrf_is_required(world: dict[str, Any]) -> None:
    client = signed_in(world["first"], csrf=True)
    reply = client.post(
        f"/incidents/{world['incident'].ref}/paging/page/", {"policy": world["policy"].pk}
    )
    assert reply.status_code == 403
    assert not Escalation.objects.exists()


def test_page_now_then_the_section_shows_who_was_paged_and_how(world: dict[str, Any]) -> None:
    client = signed_in(world["second"])
    incident = world["incident"]
    reply = client.post(
        f"/incidents/{incident.ref}/paging/page/",
        {"policy": world["policy"].pk, "note": "<b>card outage</b>"},
        follow=True,
    )
    html = reply.content.decode()
    assert reply.redirect_chain[-1][0].endswith("#paging")
    assert any("Paging started" in m for m in messages_in(html))
    EscalationModule().tick(now())
    mail = OutboxMessage.objects.get(incident=incident, channel="email")
    OutboxMessage.objects.filter(pk=mail.pk).update(
        state=OutboxState.SENT, sent_at=now(), attempts=1
    )
    hook = OutboxMessage.objects.get(incident=incident, channel="webhook")
    OutboxMessage.objects.filter(pk=hook.pk).update(
        state=OutboxState.FAILED, attempts=1, last_error="unknown channel 'webhook'"
    )
    html = page_of(client, incident)
    section = html[html.index('id="paging"') : html.index("</section>", html.index('id="paging"'))]
    assert "Payments" in section and "Climbing" in section
    assert "Next: level 2 of 2" in section
    assert "Inês Duarte" in section and "via person Inês Duarte" in section
    assert "Sent" in section and "first@example.com" in section
    assert "Queued for" in section  # the SMS, after its delay
    assert "Failed" in section and "unknown channel" in section
    assert "https://hooks.example.invalid/…" in section and "secret-path" not in html
    assert "Escalate now" in section
    # the note is escaped on the timeline
    assert "&lt;b&gt;card outage&lt;/b&gt;" in html and "<b>card outage</b>" not in html
    # the timeline's paging entries read well
    assert "paged by hand" in html and "sent pages" in html
    assert "tl-page" in html


def test_escalate_now_and_reassign_by_form(
    world: dict[str, Any], make_user: Callable[..., User]
) -> None:
    client = signed_in(world["second"])
    incident = world["incident"]
    client.post(f"/incidents/{incident.ref}/paging/page/", {"policy": world["policy"].pk})
    EscalationModule().tick(now())
    reply = client.post(f"/incidents/{incident.ref}/paging/escalate-now/", follow=True)
    assert any("Level 2 of Payments is paged now" in m for m in messages_in(reply.content.decode()))
    EscalationModule().tick(now() + dt.timedelta(seconds=1))
    assert Page.objects.filter(incident=incident).count() == 2
    third = make_user(Role.RESPONDER, username="third")
    other = two_level_policy(world["first"], third, name="Database")
    reply = client.post(
        f"/incidents/{incident.ref}/paging/reassign/",
        {"policy": other.pk, "level": "2"},
        follow=True,
    )
    assert any(
        "handed to Database, starting at level 2" in m for m in messages_in(reply.content.decode())
    )
    assert Escalation.objects.get(incident=incident, state=ClimbState.ACTIVE).policy == other
    html = page_of(client, incident)
    assert "escalated the paging" in html and "reassigned the paging" in html


@pytest.mark.parametrize(
    ("path", "data", "says"),
    [
        ("page", {}, "Choose exactly one"),
        ("page", {"policy": "POLICY", "user": "first"}, "Choose exactly one"),
        ("page", {"policy": "999999"}, "Escalation policy: Select a valid choice"),
        ("page", {"user": "rita"}, "Person: Select a valid choice"),
        ("page", {"user": "first", "note": "x" * 1001}, "Note: Ensure this value"),
        ("escalate-now", {}, "has no escalation under way"),
        ("reassign", {"policy": "abc"}, "Escalation policy: Select a valid choice"),
        ("reassign", {"level": "1"}, "Escalation policy: This field is required"),
    ],
)
def test_bad_input_is_a_message_and_changes_nothing(
    world: dict[str, Any], path: str, data: dict[str, str], says: str
) -> None:
    client = signed_in(world["first"])
    data = {k: str(world["policy"].pk) if v == "POLICY" else v for k, v in data.items()}
    reply = client.post(f"/incidents/{world['incident'].ref}/paging/{path}/", data, follow=True)
    assert reply.status_code == 200
    found = messages_in(reply.content.decode())
    assert any(says in m for m in found), found
    assert not Escalation.objects.exists()


def test_a_level_out_of_range_is_a_message(world: dict[str, Any]) -> None:
    client = signed_in(world["first"])
    reply = client.post(
        f"/incidents/{world['incident'].ref}/paging/reassign/",
        {"policy": world["policy"].pk, "level": "5"},
        follow=True,
    )
    found = messages_in(reply.content.decode())
    assert any("Start at level: Choose a level from 1 to 2." in m for m in found), found


def test_a_resolved_incident_shows_history_without_forms(world: dict[str, Any]) -> None:
    client = signed_in(world["first"])
    incident = world["incident"]
    client.post(f"/incidents/{incident.ref}/paging/page/", {"user": "second"})
    EscalationModule().tick(now())
    incident_services.incident_resolve(
        incident=incident,
        actor=Actor.for_user(world["first"]),
        resolution_code="fixed",
        resolution_notes="done",
    )
    html = page_of(client, incident)
    assert "Second" in html and "Resolved" in html
    assert "Page now…" not in html and "Reassign…" not in html
    reply = client.post(f"/incidents/{incident.ref}/paging/page/", {"user": "second"}, follow=True)
    assert any("reopen it to page anyone" in m for m in messages_in(reply.content.decode()))


def test_escalate_now_is_offered_only_when_it_would_work(
    world: dict[str, Any], make_user: Callable[..., User]
) -> None:
    """The latest climb of a policy decides (as the service does): an older climb with a
    next step does not bring the button back once a newer one has paged every level."""
    from tests.escalation.paging_helpers import SETUP
    from tocsin.escalation.policies import policy_create

    client = signed_in(world["second"])
    incident = world["incident"]
    client.post(f"/incidents/{incident.ref}/paging/page/", {"policy": world["policy"].pk})
    EscalationModule().tick(now())
    assert "Escalate now" in page_of(client, incident)
    single = policy_create(
        actor=SETUP,
        name="Just one level",
        levels=[{"delay_minutes": 5, "targets": [{"type": "user", "id": "second"}]}],
    )
    client.post(f"/incidents/{incident.ref}/paging/page/", {"policy": single.pk})
    EscalationModule().tick(now() + dt.timedelta(seconds=1))
    assert "Escalate now" not in page_of(client, incident)
