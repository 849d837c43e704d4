"""Signed page links (/p/<token>/): one button, no session, GET changes nothing."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.core import signing
from django.test import Client

from tocsin.accounts.models import Role, User
from tocsin.accounts.services import contact_method_add, user_update
from tocsin.catalog.models import Service
from tocsin.core.actors import Actor
from tocsin.core.logsafe import RedactKeysFilter, redact
from tocsin.escalation.engine import EscalationModule
from tocsin.escalation.links import LINK_MAX_AGE, SALT, page_token
from tocsin.escalation.models import ClimbState, Escalation, Page, PageState
from tocsin.escalation.policies import policy_create, service_paging_set
from tocsin.incidents import services as incident_services
from tocsin.incidents.models import Incident, Status, TimelineEntry

SETUP = Actor.system("test setup")
pytestmark = pytest.mark.django_db


@pytest.fixture
def paged(make_user: Callable[..., User], make_incident: Callable[..., Incident]) -> dict[str, Any]:
    """Two responders on a two-level policy; level 1 (pat) has been paged."""
    pat = make_user(Role.RESPONDER, username="pat", name="Pat Paged")
    quinn = make_user(Role.RESPONDER, username="quinn", name="Quinn Other")
    for person in (pat, quinn):
        contact_method_add(user=person, kind="email", address=person.email, actor=SETUP)
    policy = policy_create(
        actor=SETUP,
        name="Links",
        levels=[
            {"delay_minutes": 5, "targets": [{"type": "user", "id": "pat"}]},
            {"delay_minutes": 5, "targets": [{"type": "user", "id": "quinn"}]},
        ],
    )
    service = Service.objects.create(name="Checkout")
    service_paging_set(service=service, actor=SETUP, policy=policy)
    incident = make_incident(
        quinn,
        title='<script>alert("x")</script> & checkout down',
        service=service,
        impact=1,
        urgency=1,
    )
    climb = Escalation.objects.get(incident=incident)
    assert EscalationModule().tick(climb.next_at) == 1
    page = Page.objects.get(incident=incident, person=pat)
    return {"pat": pat, "quinn": quinn, "incident": incident, "page": page, "climb": climb}


def _url(page: Page, action: str) -> str:
    return f"/p/{page_token(page.pk, action)}/"


def _state(incident: Incident) -> tuple[Any, ...]:
    incident.refresh_from_db()
    return (
        incident.status,
        incident.acknowledged_by_id,
        TimelineEntry.objects.filter(incident=incident).count(),
        tuple(Page.objects.filter(incident=incident).values_list("state", flat=True)),
    )


def test_get_shows_one_button_and_changes_nothing(paged: dict[str, Any]) -> None:
    incident, page = paged["incident"], paged["page"]
    before = _state(incident)
    client = Client()
    url = _url(page, "acknowledge")
    for _ in range(3):  # a mail scanner prefetching, a preview, the person
        response = client.get(url)
        assert response.status_code == 200
    assert _state(incident) == before
    html = response.content.decode()
    assert f"Acknowledge {incident.ref}" in html
    assert html.count('type="submit"') == 1
    assert "Pat Paged" in html and "P1" in html
    assert response["Referrer-Policy"] == "no-referrer"
    assert "noindex" in response["X-Robots-Tag"]
    assert '<meta name="robots" content="noindex' in html
    assert "no-store" in response["Cache-Control"]


def test_title_is_escaped(paged: dict[str, Any]) -> None:
    html = Client().get(_url(paged["page"], "acknowledge")).content.decode()
    assert '<script>alert("x")</script>' not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; checkout down" in html


def test_post_acknowledges_as_the_paged_person_without_a_session(paged: dict[str, Any]) -> None:
    incident, page, pat = paged["incident"], paged["page"], paged["pat"]
    client = Client(enforce_csrf_checks=True)  # as a phone would: no session, no cookie
    token = page_token(page.pk, "acknowledge")
    response = client.post(f"/p/{token}/", {"token": token})
    assert response.status_code == 200
    assert "Acknowledged by you" in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == Status.ACKNOWLEDGED
    assert incident.acknowledged_by == pat
    paged["climb"].refresh_from_db()
    assert paged["climb"].state == ClimbState.ACKNOWLEDGED
    entry = TimelineEntry.objects.filter(incident=incident, actor_user=pat).first()
    assert entry is not None  # the timeline names the paged person as the actor


def test_double_post_is_idempotent(paged: dict[str, Any]) -> None:
    incident, page = paged["incident"], paged["page"]
    token = page_token(page.pk, "acknowledge")
    client = Client(enforce_csrf_checks=True)
    assert client.post(f"/p/{token}/", {"token": token}).status_code == 200
    after_first = _state(incident)
    second = client.post(f"/p/{token}/", {"token": token})
    assert second.status_code == 200
    assert "Already acknowledged by you" in second.content.decode()
    assert _state(incident) == after_first


def test_someone_else_acknowledged_first(paged: dict[str, Any]) -> None:
    incident, page, quinn = paged["incident"], paged["page"], paged["quinn"]
    incident_services.incident_acknowledge(incident=incident, actor=Actor.for_user(quinn))
    before = _state(incident)
    html = Client().get(_url(page, "acknowledge")).content.decode()
    assert "Already acknowledged by Quinn Other" in html
    # no action button; only "was this page actionable?" (issue 13) posts, to its own URL
    assert f"Acknowledge {incident.ref}</button>" not in html
    assert '<form method="post" class="stack">' not in html
    token = page_token(page.pk, "acknowledge")
    response = Client().post(f"/p/{token}/", {"token": token})
    assert "Already acknowledged by Quinn Other" in response.content.decode()
    assert _state(incident) == before


def test_resolve_link_resolves_and_cancels_pages(paged: dict[str, Any]) -> None:
    incident, page, pat = paged["incident"], paged["page"], paged["pat"]
    token = page_token(page.pk, "resolve")
    get = Client().get(f"/p/{token}/")
    assert f"Resolve {incident.ref}" in get.content.decode()
    assert _state(incident)[0] == Status.NEW
    response = Client().post(f"/p/{token}/", {"token": token})
    assert response.status_code == 200
    assert "Resolved by you" in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == Status.RESOLVED
    assert not Page.objects.filter(incident=incident, state=PageState.OPEN).exists()
    assert TimelineEntry.objects.filter(incident=incident, actor_user=pat).exists()


def test_open_link_redirects_to_the_incident_page(paged: dict[str, Any]) -> None:
    incident, page = paged["incident"], paged["page"]
    before = _state(incident)
    response = Client().get(_url(page, "open"))
    assert response.status_code == 302
    assert response["Location"] == f"/incidents/{incident.ref}/"
    assert response["Referrer-Policy"] == "no-referrer"
    # the incident page itself still asks for a sign-in
    assert Client().get(response["Location"]).status_code == 302
    assert _state(incident) == before


def test_expired_forged_and_altered_tokens_are_404_and_change_nothing(
    paged: dict[str, Any],
) -> None:
    incident, page = paged["incident"], paged["page"]
    before = _state(incident)
    good = page_token(page.pk, "acknowledge")
    forged = signing.dumps({"p": page.pk, "a": "acknowledge"}, key="not-the-secret", salt=SALT)
    altered = good[:-3] + ("AAA" if good[-3:] != "AAA" else "BBB")
    other_action = signing.dumps({"p": page.pk, "a": "delete"}, salt=SALT)
    no_page = page_token(page.pk + 1000, "acknowledge")
    for token in (forged, altered, other_action, no_page, "junk"):
        for method in ("get", "post"):
            response = getattr(Client(), method)(f"/p/{token}/", {"token": token})
            assert response.status_code == 404, (token, method)
            assert "Link not valid" in response.content.decode()
    later = dt.datetime.now(dt.UTC) + LINK_MAX_AGE + dt.timedelta(minutes=1)
    with time_machine.travel(later, tick=False):
        for method in ("get", "post"):
            response = getattr(Client(), method)(f"/p/{good}/", {"token": good})
            assert response.status_code == 404
            assert "24 hours" in response.content.decode()
    assert _state(incident) == before


def test_post_needs_the_token_in_the_form(paged: dict[str, Any]) -> None:
    incident, page = paged["incident"], paged["page"]
    before = _state(incident)
    token = page_token(page.pk, "acknowledge")
    other = page_token(page.pk, "resolve")
    for data in ({}, {"token": other}):
        response = Client().post(f"/p/{token}/", data)
        assert response.status_code == 400
    assert _state(incident) == before


@pytest.mark.parametrize("change", [{"is_active": False}, {"role": Role.REPORTER}])
def test_link_of_a_person_deactivated_or_no_longer_staff_is_dead(
    paged: dict[str, Any], change: dict[str, Any]
) -> None:
    incident, page, pat = paged["incident"], paged["page"], paged["pat"]
    user_update(user=pat, actor=SETUP, **change)
    token = page_token(page.pk, "acknowledge")
    assert Client().get(f"/p/{token}/").status_code == 404
    assert Client().post(f"/p/{token}/", {"token": token}).status_code == 404
    incident.refresh_from_db()
    assert incident.status == Status.NEW


def test_tokens_never_reach_the_logs(paged: dict[str, Any], caplog: Any) -> None:
    token = page_token(paged["page"].pk, "acknowledge")
    assert token not in redact(f'"GET /p/{token}/ HTTP/1.1" 200')
    assert "/p/…/" in redact(f"GET /p/{token}/")
    # Django logs every 4xx with its path ("Not Found: /p/<token>/"): through the filter
    handler = logging.Handler()
    handler.addFilter(RedactKeysFilter())
    seen: list[str] = []
    handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        bad = token[:-2] + "zz"
        Client().get(f"/p/{bad}/")
    finally:
        logger.removeHandler(handler)
    assert seen and all(bad not in line and token[:20] not in line for line in seen)
    assert any(re.search(r"/p/…", line) for line in seen)
