"""Mark mitigated (the impact has stopped; the fix may come later): the service, the
incident page's action, the API, a stakeholder update saying "monitoring", and the
postmortem draft's key times. docs/metrics.md: time to mitigate."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from tests.conftest import ApiClient
from tests.reports.helpers import act, file, m
from tocsin.accounts.models import Role, User
from tocsin.comms.models import UpdateStatus
from tocsin.comms.updates import update_post
from tocsin.core.actors import Actor
from tocsin.core.clock import travel
from tocsin.core.errors import Conflict, Forbidden
from tocsin.incidents import services
from tocsin.incidents.models import EntryKind, Incident, TimelineEntry
from tocsin.learning.postmortem_draft import key_times

pytestmark = pytest.mark.django_db
RESOLUTION = {"resolution_code": "fixed", "resolution_notes": "Rolled back"}


def mitigation_entries(incident: Incident) -> list[TimelineEntry]:
    return list(
        TimelineEntry.objects.filter(
            incident=incident, kind=EntryKind.FIELD, data__field="mitigated_at"
        )
    )


# --- the service ------------------------------------------------------------------------


def test_the_first_mitigation_is_kept_with_its_timeline_entry(agent: User) -> None:
    incident = file(agent, m(0))
    with travel(m(12)):
        services.incident_mitigate(
            incident=incident, actor=Actor.for_user(agent), note="Rolled back"
        )
    incident.refresh_from_db()
    assert incident.mitigated_at == m(12)
    assert incident.updated_at == m(12)
    [entry] = mitigation_entries(incident)
    assert entry.created_at == m(12)
    assert entry.text == "Rolled back"
    assert entry.data["via"] == "action"
    with travel(m(30)), pytest.raises(Conflict, match="already marked mitigated"):
        services.incident_mitigate(incident=incident, actor=Actor.for_user(agent))
    incident.refresh_from_db()
    assert incident.mitigated_at == m(12)
    assert len(mitigation_entries(incident)) == 1


def test_only_open_incidents_are_mitigated(agent: User) -> None:
    incident = file(agent, m(0))
    act(agent, incident, m(5), "resolve")
    with travel(m(6)), pytest.raises(Conflict, match="only open incidents"):
        services.incident_mitigate(incident=incident, actor=Actor.for_user(agent))
    assert Incident.objects.get(pk=incident.pk).mitigated_at is None


def test_a_reporter_may_not_mitigate_own(reporter: User) -> None:
    incident = file(reporter, m(0))
    with travel(m(1)), pytest.raises(Forbidden):
        services.incident_mitigate(incident=incident, actor=Actor.for_user(reporter))
    assert Incident.objects.get(pk=incident.pk).mitigated_at is None
    assert mitigation_entries(incident) == []


def test_a_failed_write_leaves_neither_the_time_nor_the_entry(agent: User) -> None:
    """One transaction: a note that is too long fails before anything is written."""
    incident = file(agent, m(0))
    with pytest.raises(Exception, match="note"):
        services.incident_mitigate(
            incident=incident, actor=Actor.for_user(agent), note="x" * 30_000
        )
    assert Incident.objects.get(pk=incident.pk).mitigated_at is None
    assert mitigation_entries(incident) == []


# --- the API ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.AGENT, Role.RESPONDER, Role.MANAGER, Role.ADMIN])
def test_staff_mitigate_through_the_api(
    make_user: Callable[..., User], reporter: User, role: str
) -> None:
    me = ApiClient(make_user(role))
    incident = file(reporter, m(0))
    before = me.get(f"/api/v1/incidents/{incident.ref}").json()["allowed_actions"]
    assert "mitigate" in before
    response = me.post(f"/api/v1/incidents/{incident.ref}/mitigate", {"note": "Failed over"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["mitigated_at"] is not None
    assert body["status"] == "new"  # the status does not move
    assert "mitigate" not in body["allowed_actions"]
    again = me.post(f"/api/v1/incidents/{incident.number}/mitigate")
    assert again.status_code == 409
    assert "already marked mitigated" in again.json()["detail"]


def test_a_reporter_gets_403_on_own_and_404_on_others(
    make_user: Callable[..., User], agent: User
) -> None:
    owner = make_user(Role.REPORTER)
    own = file(owner, m(0))
    others = file(agent, m(1))
    client = ApiClient(owner)
    assert "mitigate" not in client.get(f"/api/v1/incidents/{own.ref}").json()["allowed_actions"]
    assert client.post(f"/api/v1/incidents/{own.ref}/mitigate").status_code == 403
    assert client.post(f"/api/v1/incidents/{others.ref}/mitigate").status_code == 404
    assert client.post("/api/v1/incidents/INC-999999/mitigate").status_code == 404
    assert Incident.objects.filter(mitigated_at__isnull=False).count() == 0
    # the reporter's reply leaves the desk's time out
    assert "mitigated_at" not in client.get(f"/api/v1/incidents/{own.ref}").json()


def test_the_api_refuses_a_resolved_incident_and_a_bad_note(agent: User) -> None:
    client = ApiClient(agent)
    incident = file(agent, m(0))
    bad = client.post(f"/api/v1/incidents/{incident.ref}/mitigate", {"note": 5})
    assert bad.status_code == 422
    act(agent, incident, m(1), "resolve")
    response = client.post(f"/api/v1/incidents/{incident.ref}/mitigate")
    assert response.status_code == 409
    assert "only open incidents" in response.json()["detail"]
    assert client.get("/api/v1/incidents/" + incident.ref).json()["mitigated_at"] is None


def test_without_a_token_the_api_answers_401(agent: User) -> None:
    incident = file(agent, m(0))
    assert Client().post(f"/api/v1/incidents/{incident.ref}/mitigate").status_code == 401


# --- the incident page -------------------------------------------------------------------


def test_the_page_offers_mark_mitigated_then_shows_the_time(agent: User) -> None:
    incident = file(agent, m(0))
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)
    page = client.get(f"/incidents/{incident.ref}/")
    html = page.content.decode()
    assert "Mark mitigated" in html
    assert f'action="/incidents/{incident.ref}/mitigate/"' in html
    token = page.cookies["csrftoken"].value
    # without the CSRF token: refused, nothing written
    assert client.post(f"/incidents/{incident.ref}/mitigate/").status_code == 403
    # a GET changes nothing
    assert client.get(f"/incidents/{incident.ref}/mitigate/").status_code == 302
    assert Incident.objects.get(pk=incident.pk).mitigated_at is None
    done = client.post(
        f"/incidents/{incident.ref}/mitigate/", {"csrfmiddlewaretoken": token}, follow=True
    )
    assert done.status_code == 200
    html = done.content.decode()
    assert "marked mitigated" in html
    assert "Mark mitigated" not in html
    stored = Incident.objects.get(pk=incident.pk).mitigated_at
    assert stored is not None
    assert "<dt>Mitigated</dt><dd>—</dd>" not in html
    assert 'class="mitigated-note">Mitigated ' in html  # in the actions bar
    assert "marked it mitigated" in html  # the timeline says what happened
    # a second post (another tab): a conflict, the time stays
    again = client.post(f"/incidents/{incident.ref}/mitigate/", {"csrfmiddlewaretoken": token})
    assert again.status_code == 409
    assert "already marked mitigated" in again.content.decode()
    assert Incident.objects.get(pk=incident.pk).mitigated_at == stored


def test_the_page_hides_the_action_when_resolved_and_from_the_reporter(
    agent: User, reporter: User
) -> None:
    own = file(reporter, m(0))
    client = Client()
    client.force_login(reporter)
    html = client.get(f"/incidents/{own.ref}/").content.decode()
    assert "Mark mitigated" not in html
    assert "<dt>Mitigated</dt>" not in html  # a desk field
    client.post(f"/incidents/{own.ref}/mitigate/")
    assert Incident.objects.get(pk=own.pk).mitigated_at is None
    act(agent, own, m(1), "resolve")
    staff = Client()
    staff.force_login(agent)
    assert "Mark mitigated" not in staff.get(f"/incidents/{own.ref}/").content.decode()


# --- a stakeholder update saying "monitoring" ---------------------------------------------


def test_a_monitoring_update_marks_it_mitigated_once(agent: User) -> None:
    incident = file(agent, m(0))
    with travel(m(5)):
        update_post(incident=incident, actor=Actor.for_user(agent), status="identified", body="DNS")
    assert Incident.objects.get(pk=incident.pk).mitigated_at is None
    with travel(m(9)):
        update_post(
            incident=incident,
            actor=Actor.for_user(agent),
            status=UpdateStatus.MONITORING,
            body="A fix is in; we are watching.",
        )
    incident.refresh_from_db()
    assert incident.mitigated_at == m(9)
    [entry] = mitigation_entries(incident)
    assert entry.data["via"] == "update"
    with travel(m(20)):
        update_post(
            incident=incident, actor=Actor.for_user(agent), status="monitoring", body="Still ok"
        )
    incident.refresh_from_db()
    assert incident.mitigated_at == m(9)  # the first time only
    assert len(mitigation_entries(incident)) == 1


def test_a_monitoring_update_keeps_an_earlier_mark(agent: User) -> None:
    incident = file(agent, m(0))
    with travel(m(3)):
        services.incident_mitigate(incident=incident, actor=Actor.for_user(agent))
    with travel(m(9)):
        update_post(incident=incident, actor=Actor.for_user(agent), status="monitoring", body="ok")
    incident.refresh_from_db()
    assert incident.mitigated_at == m(3)


def test_a_monitoring_update_on_a_resolved_incident_changes_nothing(agent: User) -> None:
    incident = file(agent, m(0))
    act(agent, incident, m(5), "resolve")
    with travel(m(9)):
        update_post(incident=incident, actor=Actor.for_user(agent), status="monitoring", body="ok")
    assert Incident.objects.get(pk=incident.pk).mitigated_at is None


# --- the postmortem draft ------------------------------------------------------------------


def test_the_postmortem_draft_prefers_the_incidents_mitigation(agent: User) -> None:
    incident = file(agent, m(0))
    with travel(m(4)):
        update_post(
            incident=incident, actor=Actor.for_user(agent), status="monitoring", body="watching"
        )
    incident.refresh_from_db()
    assert key_times(incident).mitigation == m(4)
    # an incident recorded before mitigated_at existed: the first "monitoring" update
    Incident.objects.filter(pk=incident.pk).update(mitigated_at=None)
    incident.refresh_from_db()
    assert key_times(incident).mitigation == m(4)
    Incident.objects.filter(pk=incident.pk).update(mitigated_at=m(2))
    incident.refresh_from_db()
    assert key_times(incident).mitigation == m(2)
