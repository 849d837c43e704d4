"""Responders in the browser: a commander adds a person and a team's on-call from the
incident page, the page reaches the person's webhook on loopback, its link opens the
Accept/Decline page on a phone, Accept makes them a participant, and the Responders
section shows each answer. Screenshots (desktop 1280, phone 390) in test-output/."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.escalation.paging_helpers import always_on_call
from tests.notify.test_channels_http import Receiver
from tocsin.accounts.models import Role, Team, User
from tocsin.accounts.services import contact_method_add
from tocsin.core.actors import Actor
from tocsin.engine.engine import run_tick
from tocsin.escalation.models import AskState, ResponderAsk
from tocsin.incidents.models import Incident, Participant
from tocsin.notify.engine import OutboxModule

from .conftest import Watched

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install '.[dev]')"
)
expect = sync_api.expect
SETUP = Actor.system("test setup")
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _deliver(seen: Callable[[], bool], seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not seen():
        assert time.monotonic() < deadline, "the outbox did not deliver in time"
        run_tick([OutboxModule()])
        time.sleep(0.05)


def test_add_responders_answer_from_the_link_on_a_phone(
    make_user: Callable[..., User],
    make_incident: Callable[..., Incident],
    open_as: Callable[[str], Watched],
    browser: Any,
    live_server: Any,
    receiver: Receiver,
    settings: Any,
    shots: Path,
) -> None:
    settings.TOCSIN_OUTBOUND_ALLOW = ["127.0.0.1/32"]
    settings.BASE_URL = live_server.url
    make_user(Role.AGENT, username="cora", name="Cora Commander")
    ann = make_user(Role.RESPONDER, username="ann", name="Ann Archer")
    bob = make_user(Role.RESPONDER, username="bob", name="Bob Baker")
    for person in (ann, bob):
        contact_method_add(
            user=person,
            kind="webhook",
            address=receiver.url(f"/pager/{person.username}"),
            actor=SETUP,
        )
    team = Team.objects.create(name="Network")
    always_on_call(bob, name="Network primary", team=team)
    reporter = make_user(Role.REPORTER, username="rita")
    incident = make_incident(reporter, title="Card payments failing", impact=1, urgency=1)

    watched = open_as("cora")
    page = watched.page
    page.goto(f"/incidents/{incident.ref}/")
    section = page.locator("#responders")
    expect(section.get_by_text("No one has been asked to respond.")).to_be_visible()
    section.get_by_label("People").select_option(label="Ann Archer")
    section.get_by_label("Teams").select_option(label="Network")
    section.get_by_label("Message").fill("Need someone who knows the <card> gateway.")
    section.get_by_role("button", name="Ask to respond").click()
    page.wait_for_load_state()
    expect(page.get_by_text("Asked 2 people to respond")).to_be_visible()
    expect(section.get_by_text("Need someone who knows the <card> gateway.")).to_be_visible()

    _deliver(lambda: {s.path for s in receiver.seen} >= {"/pager/ann", "/pager/bob"})
    [doc] = [json.loads(s.body) for s in receiver.seen if s.path == "/pager/ann"]
    link = urlsplit(doc["links"]["respond"]).path

    # Ann opens the link on her phone, without signing in
    context = browser.new_context(viewport=PHONE, base_url=live_server.url)
    phone = context.new_page()
    phone.goto(link)
    expect(phone.get_by_role("button", name=f"Accept: join {incident.ref}")).to_be_visible()
    phone.screenshot(path=str(shots / "link-phone.png"), full_page=True)
    phone.get_by_role("button", name=f"Accept: join {incident.ref}").click()
    phone.wait_for_load_state()
    expect(phone.get_by_text("Accepted: you (Ann Archer) are now working on")).to_be_visible()
    phone.screenshot(path=str(shots / "link-accepted-phone.png"), full_page=True)
    context.close()
    desktop = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    bob_ask = ResponderAsk.objects.get(person=bob)
    from tocsin.escalation.links import page_token

    link_page = desktop.new_page()
    link_page.goto(f"/p/{page_token(bob_ask.page_id, 'respond')}/")
    link_page.screenshot(path=str(shots / "link-desktop.png"), full_page=True)
    desktop.close()
    assert Participant.objects.filter(incident=incident, user=ann).exists()

    # Bob declines from the incident page
    bob_view = open_as("bob").page
    bob_view.goto(f"/incidents/{incident.ref}/")
    mine = bob_view.locator("#responders")
    mine.get_by_label("Reason for declining (optional)").fill("Driving home")
    mine.get_by_role("button", name="Decline").click()
    bob_view.wait_for_load_state()
    expect(bob_view.get_by_text("Bob Baker: declined.")).to_be_visible()
    assert ResponderAsk.objects.get(person=bob).state == AskState.DECLINED

    page.reload()
    section = page.locator("#responders")
    expect(section.get_by_text("Accepted")).to_be_visible()
    expect(section.get_by_text("Declined")).to_be_visible()
    expect(section.get_by_text("“Driving home”")).to_be_visible()
    section.screenshot(path=str(shots / "section-desktop.png"))
    page.set_viewport_size(PHONE)
    section.screenshot(path=str(shots / "section-phone.png"))
    assert watched.problems() == []
