"""Issue 7 (20): reporters saw staff members' API token prefixes in timeline actor labels."""

from __future__ import annotations

from collections.abc import Callable

from django.test import Client

from tests.conftest import ApiClient
from tocsin.accounts.models import User
from tocsin.accounts.services import token_create
from tocsin.core.actors import Actor
from tocsin.incidents.models import Incident


def test_a_reporter_sees_the_person_not_the_token(
    reporter: User, agent: User, make_incident: Callable[..., Incident]
) -> None:
    incident = make_incident(reporter)
    token, raw = token_create(
        user=agent, actor=Actor.system("test setup")
    )  # no name: labelled by its prefix
    staff = Client()
    note = staff.post(
        f"/api/v1/incidents/{incident.ref}/timeline",
        {"text": "We are on it.", "visibility": "public"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert note.status_code == 201, note.content
    assert token.prefix in note.json()["actor"]["label"]  # staff see which token acted

    seen_by_reporter = ApiClient(reporter).get(f"/api/v1/incidents/{incident.ref}/timeline")
    [entry] = [e for e in seen_by_reporter.json()["items"] if e["kind"] == "note"]
    assert entry["actor"]["label"] == agent.display_name
    assert token.prefix not in seen_by_reporter.content.decode()

    seen_by_staff = ApiClient(agent).get(f"/api/v1/incidents/{incident.ref}/timeline")
    [entry] = [e for e in seen_by_staff.json()["items"] if e["kind"] == "note"]
    assert token.prefix in entry["actor"]["label"]
