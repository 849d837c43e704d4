"""Outgoing mail subjects are one line, whatever the incident's title holds."""

from __future__ import annotations

import pytest

from tocsin.core.actors import Actor
from tocsin.incidents.services import incident_act, incident_create

pytestmark = pytest.mark.django_db


def test_resolution_mail_subject_is_one_line(reporter, agent) -> None:
    from tocsin.notify.models import OutboxMessage

    incident = incident_create(actor=Actor.for_user(reporter), title="a\tb  c")
    incident_act(
        incident=incident,
        actor=Actor.for_user(agent),
        action="resolve",
        resolution_code="fixed",
        resolution_notes="done",
    )
    subject = OutboxMessage.objects.get(incident=incident).subject
    assert "\n" not in subject and "\t" not in subject
