""" "Was this page actionable?" (issue 13): from the page's link, the incident page and
the API; one answer per person per page, changeable; only the paged person answers about
a page; a timeline entry with every new or changed answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tocsin.accounts.models import Role, User
from tocsin.accounts.services import contact_method_add
from tocsin.catalog.models import Service
from tocsin.core.actors import Actor
from tocsin.escalation.engine import EscalationModule
from tocsin.escalation.links import page_token
from tocsin.escalation.models import Escalation, Page, PageFeedback
from tocsin.escalation.policies import policy_create, service_paging_set
from tocsin.incidents.models import Incident, TimelineEntry

SETUP = Actor.system("test setup")
pytestmark = pytest.mark.django_db


@pytest.fixture
def paged(make_user: Callable[..., User], make_incident: Callable[..., Incident]) -> dict[str, Any]:
    """pat is paged (level 1 of a policy) for an incident quinn reported."""
    pat = make_user(Role.RESPONDER, username="pat", name="Pat Paged")
    quinn = make_user(Role.RESPONDER, username="quinn", name="Quinn Other")
    for person in (pat, quinn):
        contact_method_add(user=person, kind="email", address=person.email, actor=SETUP)
    policy = policy_create(
        actor=SETUP,
        name="Feedback",
        levels=[{"delay_minutes": 5, "targets": [{"type": "user", "id": "pat"}]}],
    )
    service = Service.objects.create(name="Checkout")
    service_paging_set(service=service, actor=SETUP, policy=policy)
    incident = make_incident(quinn, title="Checkout down", service=service, impact=1, urgency=1)
    climb = Escalation.objects.get(incident=incident)
    assert climb.next_at is not None
    assert EscalationModule().tick(climb.next_at) == 1
    page = Page.objects.get(incident=incident, person=pat)
    return {"pat": pat, "quinn": quinn, "incident": incident, "page": page}


def _entries(incident: Incident) -> list[TimelineEntry]:
    return list(TimelineEntry.objects.filter(incident=incident, data__has_key="feedback"))


def _link(page: Page, action: str = "acknowledge") -> str:
    return f"/p/{page_token(page.pk, action)}/"


# --- the page's link --------------------------------------------------------------------------


def test_link_page_asks_once_acted_and_get_changes_nothing(paged: dict[str, Any]) -> None:
    page = paged["page"]
    token = page_token(page.pk, "acknowledge")
    # before acting, the link page offers its one button only
    assert "Was this page actionable?" not in Client().get(f"/p/{token}/").content.decode()
    response = Client().post(f"/p/{token}/", {"token": token})
    assert "Was this page actionable?" in response.content.decode()
    response = Client().get(f"/p/{token}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Was this page actionable?" in html
    assert f'action="/p/{token}/feedback/"' in html
    assert PageFeedback.objects.count() == 0
    feedback_url = f"/p/{token}/feedback/"
    assert Client().get(feedback_url).status_code == 405
    assert PageFeedback.objects.count() == 0


def test_answer_from_the_link_then_change_it(paged: dict[str, Any]) -> None:
    page, incident, pat = paged["page"], paged["incident"], paged["pat"]
    token = page_token(page.pk, "acknowledge")
    url = f"/p/{token}/feedback/"
    client = Client(enforce_csrf_checks=True)  # no session on the phone: the token is the proof
    response = client.post(url, {"token": token, "actionable": "no", "note": "flaps nightly"})
    assert response.status_code == 200, response.content
    assert "your answer is saved" in response.content.decode()
    fb = PageFeedback.objects.get()
    assert (fb.page_id, fb.incident_id, fb.person_id, fb.actionable, fb.note) == (
        page.pk,
        incident.pk,
        pat.pk,
        False,
        "flaps nightly",
    )
    [entry] = _entries(incident)
    assert entry.actor_user_id == pat.pk and entry.kind == "page"
    assert "Pat Paged said the page" in entry.text and "not actionable" in entry.text
    incident.refresh_from_db()
    assert incident.status == "new"  # answering is not acknowledging

    # the same answer again: nothing new
    client.post(url, {"token": token, "actionable": "no", "note": "flaps nightly"})
    assert len(_entries(incident)) == 1
    # changed: still one answer, a second entry
    response = client.post(url, {"token": token, "actionable": "yes"})
    assert response.status_code == 200
    fb = PageFeedback.objects.get()
    assert (fb.actionable, fb.note) == (True, "")
    assert len(_entries(incident)) == 2
    assert "changed their answer" in _entries(incident)[1].text
    # the link page shows the answer
    assert "yes, actionable" in Client().get(_link(page)).content.decode()


def test_link_feedback_bad_input(paged: dict[str, Any]) -> None:
    page = paged["page"]
    token = page_token(page.pk, "resolve")
    url = f"/p/{token}/feedback/"
    client = Client()
    # the form must carry the address's token
    assert client.post(url, {"actionable": "yes"}).status_code == 400
    response = client.post(url, {"token": token, "actionable": "maybe"})
    assert response.status_code == 422
    assert "Answer must be yes or no" in response.content.decode()
    response = client.post(url, {"token": token, "actionable": "yes", "note": "x" * 1001})
    assert response.status_code == 422
    assert "Note must be at most 1000 characters" in response.content.decode()
    # forged, or an "open" link: no such page
    assert client.post("/p/forged/feedback/", {"token": "forged"}).status_code == 404
    opened = page_token(page.pk, "open")
    assert client.post(f"/p/{opened}/feedback/", {"token": opened}).status_code == 404
    assert PageFeedback.objects.count() == 0


# --- the incident page ------------------------------------------------------------------------


def test_incident_page_section_and_answers(paged: dict[str, Any]) -> None:
    incident, page, pat = paged["incident"], paged["page"], paged["pat"]
    client = Client()
    client.force_login(pat)
    html = client.get(f"/incidents/{incident.ref}/").content.decode()
    assert "Was paging actionable?" in html
    assert f'name="page" value="{page.pk}"' in html
    url = f"/incidents/{incident.ref}/page-feedback/"
    response = client.post(url, {"page": page.pk, "actionable": "yes", "note": "real outage"})
    assert response.status_code == 302
    assert PageFeedback.objects.get(page=page).actionable is True
    # about the incident's paging as a whole
    client.post(url, {"actionable": "no"})
    assert PageFeedback.objects.get(page=None).actionable is False
    assert len(_entries(incident)) == 2
    assert client.get(url).status_code == 405


def test_incident_form_needs_csrf(paged: dict[str, Any]) -> None:
    incident = paged["incident"]
    client = Client(enforce_csrf_checks=True)
    client.force_login(paged["pat"])
    response = client.post(
        f"/incidents/{incident.ref}/page-feedback/", {"page": paged["page"].pk, "actionable": "yes"}
    )
    assert response.status_code == 403
    assert PageFeedback.objects.count() == 0


def test_only_the_paged_person_answers_about_a_page(
    paged: dict[str, Any], make_user: Callable[..., User]
) -> None:
    incident, page = paged["incident"], paged["page"]
    quinn = paged["quinn"]
    url = f"/incidents/{incident.ref}/page-feedback/"
    client = Client()
    client.force_login(quinn)
    response = client.post(url, {"page": page.pk, "actionable": "no"}, follow=True)
    assert "Only the person who was paged may answer" in response.content.decode()
    assert PageFeedback.objects.count() == 0
    # quinn may answer about the incident's paging
    client.post(url, {"actionable": "no"})
    assert PageFeedback.objects.filter(person=quinn, page=None).count() == 1
    # bad page ids
    for bad in ("abc", "999999"):
        response = client.post(url, {"page": bad, "actionable": "no"}, follow=True)
        assert "Page must be a page id" in response.content.decode() or "has no page" in (
            response.content.decode()
        )
    # a reporter (even of this incident) gets 404
    rita = make_user(Role.REPORTER, username="rita")
    client.force_login(rita)
    assert client.post(url, {"actionable": "no"}).status_code == 404
    assert PageFeedback.objects.count() == 1


# --- the API -----------------------------------------------------------------------------------


def test_api_page_feedback(paged: dict[str, Any], api: Any, make_user: Callable[..., User]) -> None:
    page, incident = paged["page"], paged["incident"]
    pat = api(paged["pat"])
    url = f"/api/v1/pages/{page.pk}/feedback"
    response = pat.post(url, {"actionable": False, "note": "noise"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["page"] == page.pk and body["incident"] == incident.ref
    assert body["person"] == "pat" and body["actionable"] is False and body["note"] == "noise"
    response = pat.post(url, {"actionable": True})
    assert response.status_code == 200 and response.json()["actionable"] is True
    assert PageFeedback.objects.count() == 1 and len(_entries(incident)) == 2

    # somebody else's page: 403; a reporter: 404; no such page: 404
    assert api(paged["quinn"]).post(url, {"actionable": True}).status_code == 403
    assert api(make_user(Role.REPORTER)).post(url, {"actionable": True}).status_code == 404
    assert pat.post("/api/v1/pages/999999/feedback", {"actionable": True}).status_code == 404
    # bad bodies: 422 naming the field
    for body in (
        {},
        {"actionable": "yes"},
        {"actionable": True, "note": "x" * 1001},
        {
            "actionable": True,
            "extra": 1,
        },
    ):
        response = pat.post(url, body)
        assert response.status_code == 422, body
    assert pat.client.get(url, headers=pat._headers(None)).status_code == 405
    assert PageFeedback.objects.get().actionable is True


def test_api_incident_feedback(
    paged: dict[str, Any],
    api: Any,
    make_user: Callable[..., User],
    make_incident: Callable[..., Incident],
) -> None:
    incident = paged["incident"]
    alice = api(make_user(Role.AGENT, username="alice"))
    url = f"/api/v1/incidents/{incident.ref}/page-feedback"
    response = alice.post(url, {"actionable": False, "note": "test alert"})
    assert response.status_code == 201
    assert response.json()["page"] is None
    listed = alice.get(url).json()
    assert listed["count"] == 1 and listed["items"][0]["person"] == "alice"
    # an incident that paged nobody has no paging to judge
    quiet = make_incident(paged["quinn"], title="Nobody paged")
    response = alice.post(f"/api/v1/incidents/{quiet.ref}/page-feedback", {"actionable": True})
    assert response.status_code == 409
    # a reporter: 404, even on their own incident
    rita = make_user(Role.REPORTER, username="rita")
    own = make_incident(rita, title="Mine", service=incident.service)
    assert (
        api(rita)
        .post(f"/api/v1/incidents/{own.ref}/page-feedback", {"actionable": True})
        .status_code
        == 404
    )
    assert api(rita).get(f"/api/v1/incidents/{own.ref}/page-feedback").status_code == 404
