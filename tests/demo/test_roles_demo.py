"""The demo's incident response: a commander and a scribe on an open P1/P2 incident, its
chat link, two services with war-room templates, and no notification to made-up people."""

from __future__ import annotations

import pytest
from django.test import Client

from tocsin.accounts.models import User
from tocsin.catalog.models import Service
from tocsin.demo import load_demo
from tocsin.incidents.models import RoleAssignment
from tocsin.notify.models import OutboxMessage

pytestmark = pytest.mark.django_db


def test_demo_shows_a_response() -> None:
    load_demo()
    held = RoleAssignment.objects.filter(ended_at__isnull=True).select_related("incident")
    assert {(a.role.key, a.user.username) for a in held} == {
        ("commander", "maya"),
        ("scribe", "sam"),
    }
    incident = held[0].incident
    assert incident.is_open and incident.priority <= 2
    assert incident.chat_url == f"https://chat.example.com/incident-{incident.number}"
    portal = Service.objects.get(name="Customer portal")
    assert portal.video_url_template == "https://meet.example.com/{service}-{number}"
    assert not OutboxMessage.objects.filter(purpose="role").exists()
    client = Client()
    client.force_login(User.objects.get(username="sam"))
    page = client.get(f"/incidents/{incident.ref}/").content.decode()
    assert "Maya Fischer" in page and 'rel="noopener noreferrer"' in page
