"""On resolve the reporter gets a mail with a signed link that confirms or reopens."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.incidents.models import Status
from tocsin.incidents.services import incident_act
from tocsin.notify.engine import OutboxModule
from tocsin.notify.models import OutboxMessage

pytestmark = pytest.mark.django_db


def _resolve(incident, agent):
    return incident_act(
        incident=incident,
        actor=Actor.for_user(agent),
        action="resolve",
        resolution_code="fixed",
        resolution_notes="Replaced the toner",
    )


def test_resolve_mails_the_reporter_a_link_that_closes_the_incident(
    smtp_server, reporter, agent, make_incident
) -> None:
    incident = _resolve(make_incident(reporter), agent)
    assert OutboxMessage.objects.filter(incident=incident, recipient=reporter.email).count() == 1
    assert OutboxModule().tick(now()) == 1
    [mail] = smtp_server.messages
    assert mail["To"] == reporter.email
    assert incident.ref in mail["Subject"]
    body = mail.get_payload(decode=True).decode()
    assert "Replaced the toner" in body
    link = re.search(r"https?://\S+/incidents/\S+/confirm/\S+/", body).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    client = Client()  # not signed in: the link itself is the key
    page = client.get("/" + path)
    assert page.status_code == 200
    done = client.post("/" + path, {"accept": "yes"})
    assert done.status_code == 200
    incident.refresh_from_db()
    assert incident.status == Status.CLOSED


def test_link_from_an_earlier_resolution_no_longer_works(reporter, agent, make_incident) -> None:
    incident = _resolve(make_incident(reporter), agent)
    first = OutboxMessage.objects.get(incident=incident)
    first_path = re.search(r"/incidents/\S+/confirm/\S+/", first.body).group(0)
    incident_act(incident=incident, actor=Actor.for_user(agent), action="reopen", note="again")
    _resolve(incident, agent)
    assert OutboxMessage.objects.filter(incident=incident).count() == 2
    response = Client().post(first_path, {"accept": "yes"})
    assert response.status_code == 404
    incident.refresh_from_db()
    assert incident.status == Status.RESOLVED


def test_no_mail_without_a_reporter_address(agent, make_incident, reporter) -> None:
    reporter.email = ""
    reporter.save(update_fields=["email"])
    _resolve(make_incident(reporter), agent)
    assert OutboxMessage.objects.count() == 0
