"""A page through the whole flow to a webhook: a person whose only contact method is a
webhook is paged by the escalation engine; the receiver gets the signed page, and the
signed acknowledge link in its payload stops the climb."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from tocsin.accounts.models import Role, User
from tocsin.accounts.services import contact_method_add
from tocsin.catalog.models import Service
from tocsin.escalation.engine import EscalationModule
from tocsin.escalation.links import check_token
from tocsin.escalation.models import ClimbState, Escalation, Page
from tocsin.escalation.policies import policy_create, service_paging_set
from tocsin.escalation.services import page_act
from tocsin.incidents.models import Incident
from tocsin.notify.channels import webhook
from tocsin.notify.engine import OutboxModule
from tocsin.notify.models import OutboxMessage, OutboxState

from .test_channels_http import SETUP, Receiver, verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_a_page_to_a_webhook_is_signed_and_its_link_acknowledges(
    receiver: Receiver,
    settings: Any,
    make_user: Callable[..., User],
    make_incident: Callable[..., Incident],
) -> None:
    settings.TOCSIN_OUTBOUND_ALLOW = ["127.0.0.1/32"]
    settings.BASE_URL = "https://tocsin.example.org"
    rita = make_user(Role.RESPONDER, username="rita")
    address = receiver.url("/pager/rita")
    method = contact_method_add(user=rita, kind="webhook", address=address, actor=SETUP)
    policy = policy_create(
        actor=SETUP,
        name="Payments",
        levels=[{"delay_minutes": 5, "targets": [{"type": "user", "id": "rita"}]}],
    )
    service = Service.objects.create(name="Payments API")
    service_paging_set(service=service, actor=SETUP, policy=policy)
    incident = make_incident(
        rita, title="Card <payments> failing", service=service, impact=1, urgency=1
    )
    climb = Escalation.objects.get(incident=incident)

    assert EscalationModule().tick(climb.next_at) == 1
    page = Page.objects.get(incident=incident)
    message = OutboxMessage.objects.get(incident=incident, purpose="page")
    assert (message.channel, message.contact_method_id, message.recipient) == (
        "webhook",
        method.pk,
        "",  # the secret address is read from the contact method at send time
    )
    assert OutboxModule().tick(climb.next_at) == 1
    message.refresh_from_db()
    assert message.state == OutboxState.SENT

    [got] = receiver.seen
    assert got.path == "/pager/rita"
    assert got.headers["idempotency-key"] == str(message.message_id)
    assert verify(webhook.signing_secret(address), got.headers, got.body)
    doc = got.json()
    assert doc["purpose"] == "page" and doc["person"] == "rita"
    assert doc["incident"] == incident.ref
    assert doc["payload"]["title"] == "Card <payments> failing"
    assert doc["payload"]["urgency"] == "high" and doc["payload"]["page"] == page.pk
    links = doc["links"]
    assert links == doc["payload"]["links"]
    assert set(links) == {"acknowledge", "resolve", "open"}
    for action, link in links.items():
        assert link.startswith("https://tocsin.example.org/p/")
        claim = check_token(urlsplit(link).path.split("/")[2])
        assert claim is not None and (claim.page_id, claim.action) == (page.pk, action)

    # the person follows the acknowledge link (the link page's POST calls page_act)
    claim = check_token(urlsplit(links["acknowledge"]).path.split("/")[2])
    assert claim is not None
    page_act(page=Page.objects.get(pk=claim.page_id), action=claim.action)
    climb.refresh_from_db()
    assert climb.state == ClimbState.ACKNOWLEDGED
    incident.refresh_from_db()
    assert incident.status == "acknowledged"
