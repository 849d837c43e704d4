"""Responders end to end: the page reaches real receivers on loopback (a webhook and an
SMTP server), its signed link answers Accept or Decline without a session, two workers
send each message once, a reply to the page accepts, and the incident page's Responders
section and forms (who sees them, what they show, bad input as messages)."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test import Client

from tests.escalation.paging_helpers import always_on_call, reachable
from tests.escalation.test_sms_reply import post as sms_post
from tests.escalation.test_sms_reply import (
    providers,  # noqa: F401 - fixture
    said,
)
from tests.escalation.test_sms_reply import sms as sms_params
from tests.notify.test_channels_http import Receiver
from tocsin.accounts.models import Role, Team, User
from tocsin.accounts.services import contact_method_add
from tocsin.core.actors import Actor
from tocsin.engine.engine import run_tick
from tocsin.escalation import responders
from tocsin.escalation.links import check_token, page_token
from tocsin.escalation.models import AskState, Page, PageState, ResponderAsk
from tocsin.escalation.services import page_act
from tocsin.incidents.models import EntryKind, Incident, Participant, TimelineEntry
from tocsin.notify.engine import OutboxModule
from tocsin.notify.models import OutboxMessage, OutboxState

SETUP = Actor.system("test setup")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def world(make_user: Callable[..., User], make_incident: Callable[..., Incident]) -> dict[str, Any]:
    ana = make_user(Role.RESPONDER, username="ana", name="Ana Asked")
    cora = make_user(Role.AGENT, username="cora", name="Cora Commander")
    reporter = make_user(Role.REPORTER, username="rita")
    incident = make_incident(reporter, title="Card <payments> failing", impact=1, urgency=1)
    return {"ana": ana, "cora": cora, "reporter": reporter, "incident": incident}


def _add(world: dict[str, Any], **targets: Any) -> list[ResponderAsk]:
    targets.setdefault("users", [world["ana"]])
    requests = responders.responders_add(
        incident=world["incident"],
        actor=Actor.for_user(world["cora"]),
        message="Need the payments DBA",
        **targets,
    )
    return list(ResponderAsk.objects.filter(request__in=requests).order_by("pk"))


def _link(ask: ResponderAsk) -> str:
    return f"/p/{page_token(ask.page_id, 'respond')}/"


# --- real receivers ----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_page_reaches_a_webhook_and_an_smtp_server_and_its_link_accepts(
    receiver: Receiver, smtp_server: Any, settings: Any, world: dict[str, Any]
) -> None:
    settings.TOCSIN_OUTBOUND_ALLOW = ["127.0.0.1/32"]
    settings.BASE_URL = "https://tocsin.example.org"
    ana = world["ana"]
    contact_method_add(user=ana, kind="email", address=ana.email, actor=SETUP)
    contact_method_add(user=ana, kind="webhook", address=receiver.url("/pager/ana"), actor=SETUP)
    [ask] = _add(world)
    queued = OutboxMessage.objects.filter(payload__responder=ask.pk)
    assert sorted(queued.values_list("channel", flat=True)) == ["email", "webhook"]
    OutboxModule().tick(queued.first().not_before)  # type: ignore[union-attr]
    assert set(queued.values_list("state", flat=True)) == {OutboxState.SENT}

    [got] = receiver.seen
    doc = got.json()
    assert doc["purpose"] == "page" and doc["person"] == "ana"
    assert doc["payload"]["responder"] == ask.pk and doc["payload"]["urgency"] == "high"
    assert doc["payload"]["message"] == "Need the payments DBA"
    [mail] = smtp_server.messages
    assert mail["To"] == ana.email
    text = mail.get_payload(decode=True).decode() if not mail.is_multipart() else str(mail)
    assert "Cora Commander asks you to join the response" in text

    # the link in the page: GET shows Accept and Decline and changes nothing
    link = doc["links"]["respond"]
    assert link.startswith("https://tocsin.example.org/p/")
    token = urlsplit(link).path.split("/")[2]
    claim = check_token(token)
    assert claim is not None and (claim.page_id, claim.action) == (ask.page_id, "respond")
    client = Client()  # no session, no CSRF cookie: a phone opening the link
    shown = client.get(f"/p/{token}/")
    assert shown.status_code == 200
    html = shown.content.decode()
    assert 'value="accept"' in html and 'value="decline"' in html
    assert "Need the payments DBA" in html and "Card &lt;payments&gt; failing" in html
    assert shown["Referrer-Policy"] == "no-referrer" and "no-store" in shown["Cache-Control"]
    assert ResponderAsk.objects.get(pk=ask.pk).state == AskState.PENDING

    done = client.post(f"/p/{token}/", {"token": token, "answer": "accept"})
    assert done.status_code == 200
    assert "Accepted: you (Ana Asked) are now working on" in done.content.decode()
    ask.refresh_from_db()
    assert ask.state == AskState.ACCEPTED and ask.answered_by_id == ana.pk
    assert Participant.objects.get(incident=world["incident"], user=ana).via == "responder"
    assert Page.objects.get(pk=ask.page_id).state == PageState.ACKNOWLEDGED
    # the incident itself is not acknowledged by accepting
    world["incident"].refresh_from_db()
    assert world["incident"].status == "new"

    # pressing again: nothing more, said so; the other answer: 409
    again = client.post(f"/p/{token}/", {"token": token, "answer": "accept"})
    assert again.status_code == 200 and "Already accepted" in again.content.decode()
    other = client.post(f"/p/{token}/", {"token": token, "answer": "decline"})
    assert other.status_code == 409
    assert TimelineEntry.objects.filter(kind=EntryKind.RESPONDER).count() == 2


@pytest.mark.django_db
def test_the_link_declines_with_a_reason_and_needs_its_token_in_the_form(
    world: dict[str, Any],
) -> None:
    [ask] = _add(world)
    client = Client()
    path = _link(ask)
    token = path.split("/")[2]
    assert client.post(path, {"answer": "decline"}).status_code == 400
    assert client.post(path, {"token": token, "answer": "maybe"}).status_code == 422
    assert ResponderAsk.objects.get(pk=ask.pk).state == AskState.PENDING
    done = client.post(path, {"token": token, "answer": "decline", "reason": "Driving <home>"})
    assert done.status_code == 200 and "Declined." in done.content.decode()
    ask.refresh_from_db()
    assert ask.state == AskState.DECLINED and ask.reason == "Driving <home>"
    entry = TimelineEntry.objects.filter(kind=EntryKind.RESPONDER).last()
    assert entry is not None and entry.text.endswith("Reason: Driving <home>")
    assert not Participant.objects.filter(user=world["ana"]).exists()


@pytest.mark.django_db
def test_forged_links_and_respond_links_of_ordinary_pages_are_404(
    world: dict[str, Any], make_user: Callable[..., User]
) -> None:
    [ask] = _add(world)
    client = Client()
    assert client.get(f"/p/{page_token(ask.page_id, 'respond')}x/").status_code == 404
    # a respond link for a page that is not a responder page
    from tocsin.escalation.services import page_now

    other = make_user(Role.RESPONDER, username="olga")
    climb = page_now(incident=world["incident"], actor=SETUP, user=other)
    from tocsin.escalation.engine import EscalationModule

    EscalationModule().tick(climb.next_at)  # type: ignore[arg-type]
    page = Page.objects.get(escalation=climb)
    assert client.get(f"/p/{page_token(page.pk, 'respond')}/").status_code == 404


@pytest.mark.django_db
def test_a_reply_that_acknowledges_the_page_accepts_and_resolve_is_refused(
    world: dict[str, Any],
) -> None:
    """SMS and voice replies call page_act: on a responder page, acknowledge = accept."""
    [ask] = _add(world)
    page = Page.objects.get(pk=ask.page_id)
    from tocsin.core.errors import Invalid

    with pytest.raises(Invalid):
        page_act(page=page, action="resolve")
    incident = page_act(page=page, action="acknowledge")
    assert incident.status == "new"
    assert ResponderAsk.objects.get(pk=ask.pk).state == AskState.ACCEPTED


# --- two workers ------------------------------------------------------------------------------


def _worker(errors: list[BaseException], give_up: float) -> None:
    try:
        while time.monotonic() < give_up:
            run_tick([OutboxModule()])
            if not OutboxMessage.objects.filter(
                state__in=[OutboxState.QUEUED, OutboxState.SENDING]
            ).exists():
                return
            time.sleep(0.01)
    except BaseException as exc:
        errors.append(exc)
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_two_workers_page_each_person_once(
    receiver: Receiver, settings: Any, make_user: Callable[..., User], make_incident: Any
) -> None:
    settings.TOCSIN_OUTBOUND_ALLOW = ["127.0.0.1/32"]
    cora = make_user(Role.AGENT, username="cora")
    people = [make_user(Role.RESPONDER, username=f"r{n}") for n in range(6)]
    for person in people:
        contact_method_add(
            user=person, kind="webhook", address=receiver.url(f"/p/{person.username}"), actor=SETUP
        )
    team = Team.objects.create(name="Payments")
    always_on_call(people[0], name="Payments primary", team=team)
    incident = make_incident(cora, title="Outage", impact=1, urgency=1)
    responders.responders_add(
        incident=incident, actor=Actor.for_user(cora), users=people, teams=[team]
    )
    assert OutboxMessage.objects.filter(purpose="page").count() == 6
    errors: list[BaseException] = []
    give_up = time.monotonic() + 60
    workers = [threading.Thread(target=_worker, args=(errors, give_up)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=90)
    assert not errors
    delivered = Counter(seen.path for seen in receiver.seen)
    assert delivered == {f"/p/r{n}": 1 for n in range(6)}
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {OutboxState.SENT}


# --- the incident page ---------------------------------------------------------------------------


def signed_in(user: User, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def flashes(html: str) -> list[str]:
    return [
        re.sub(r"\s+", " ", m).strip() for m in re.findall(r'class="flash[^"]*">(.*?)</p>', html)
    ]


@pytest.mark.django_db
def test_the_section_lists_each_answer_and_only_staff_see_it(
    world: dict[str, Any], make_user: Callable[..., User]
) -> None:
    ben = make_user(Role.RESPONDER, username="ben", name="Ben Busy")
    reachable(world["ana"])
    asks = _add(world, users=[world["ana"], ben])
    responders.responder_answer(
        ask=asks[1], actor=Actor.for_user(ben), answer="decline", reason="On <leave>"
    )
    ref = world["incident"].ref
    html = signed_in(world["cora"]).get(f"/incidents/{ref}/").content.decode()
    assert 'id="responders"' in html and "Add responders" in html
    assert "Ana Asked" in html and "Waiting" in html
    assert "Declined" in html and "On &lt;leave&gt;" in html
    assert "Need the payments DBA" in html
    # Cora may not answer for Ana: no buttons for her asks
    assert f"/responders/{asks[0].pk}/answer/" not in html
    # Ana sees her own Accept / Decline
    mine = signed_in(world["ana"]).get(f"/incidents/{ref}/").content.decode()
    assert f"/responders/{asks[0].pk}/answer/" in mine
    # the reporter sees the incident but not the section, and may not post to it
    reporter = signed_in(world["reporter"])
    theirs = reporter.get(f"/incidents/{ref}/")
    assert theirs.status_code == 200 and 'id="responders"' not in theirs.content.decode()
    assert reporter.post(f"/incidents/{ref}/responders/", {"users": ["ana"]}).status_code == 404
    answer = f"/incidents/{ref}/responders/{asks[0].pk}/answer/"
    assert reporter.post(answer, {"answer": "accept"}).status_code == 404
    assert ResponderAsk.objects.get(pk=asks[0].pk).state == AskState.PENDING


@pytest.mark.django_db
def test_the_forms_add_and_answer_and_say_what_is_wrong(
    world: dict[str, Any], make_user: Callable[..., User]
) -> None:
    ref = world["incident"].ref
    cora = signed_in(world["cora"], csrf=True)
    # CSRF is checked
    assert cora.post(f"/incidents/{ref}/responders/", {"users": ["ana"]}).status_code == 403
    cora = signed_in(world["cora"])
    reply = cora.post(f"/incidents/{ref}/responders/", {"message": "help"}, follow=True)
    assert any(m.startswith("People: Name at least one") for m in flashes(reply.content.decode()))
    reply = cora.post(f"/incidents/{ref}/responders/", {"users": ["ghost"]}, follow=True)
    assert any(m.startswith("People:") for m in flashes(reply.content.decode()))
    reply = cora.post(
        f"/incidents/{ref}/responders/", {"users": ["ana"], "message": "x" * 1001}, follow=True
    )
    assert any(m.startswith("Message:") for m in flashes(reply.content.decode()))
    assert not ResponderAsk.objects.exists()
    reply = cora.post(
        f"/incidents/{ref}/responders/", {"users": ["ana"], "message": "DBA?"}, follow=True
    )
    assert "Asked 1 person to respond" in " ".join(flashes(reply.content.decode()))
    ask = ResponderAsk.objects.get()
    answer = f"/incidents/{ref}/responders/{ask.pk}/answer/"
    # someone else's ask: refused, said so
    reply = cora.post(answer, {"answer": "accept"}, follow=True)
    assert "may not" in " ".join(flashes(reply.content.decode()))
    ana = signed_in(world["ana"])
    reply = ana.post(answer, {"answer": "accept"}, follow=True)
    assert "Ana Asked: accepted." in flashes(reply.content.decode())
    assert Participant.objects.filter(user=world["ana"]).exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("providers")
def test_an_sms_reply_with_the_code_accepts(
    make_user: Callable[..., User], make_incident: Callable[..., Incident]
) -> None:
    rob = make_user(Role.RESPONDER, username="rob", name="Rob Replies")
    contact_method_add(user=rob, kind="sms", address="+44 1632 960001", actor=SETUP)
    cora = make_user(Role.AGENT, username="cora")
    incident = make_incident(cora, title="Card payments failing", impact=1, urgency=1)
    responders.responders_add(incident=incident, actor=Actor.for_user(cora), users=[rob])
    ask = ResponderAsk.objects.get()
    message = OutboxMessage.objects.get(payload__responder=ask.pk)
    assert message.channel == "sms"
    reply = said(sms_post(sms_params(str(ask.page_id))))
    assert reply == f"{incident.ref}: you accepted the request to respond."
    assert ResponderAsk.objects.get(pk=ask.pk).state == AskState.ACCEPTED
    incident.refresh_from_db()
    assert incident.status == "new"  # accepting is not acknowledging


@pytest.mark.django_db
def test_a_responder_page_is_not_among_the_pages_waiting_on_the_home_page(
    world: dict[str, Any],
) -> None:
    from tocsin.escalation.home_views import waiting_pages

    _add(world)
    assert waiting_pages(world["ana"]) == ([], 0)


@pytest.mark.django_db(transaction=True)
def test_two_answers_at_once_one_wins(
    make_user: Callable[..., User], make_incident: Callable[..., Incident], admin: User
) -> None:
    """The person accepts while an administrator declines for them: one answer is written,
    the other is refused (409), one timeline entry, and no half-done participant."""
    from tocsin.core.errors import Conflict

    ana = make_user(Role.RESPONDER, username="ana", name="Ana Asked")
    cora = make_user(Role.AGENT, username="cora")
    incident = make_incident(cora, title="Outage", impact=1, urgency=1)
    responders.responders_add(incident=incident, actor=Actor.for_user(cora), users=[ana])
    ask = ResponderAsk.objects.select_related("request").get()
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def answer(who: User, what: str) -> None:
        try:
            start.wait(5)
            responders.responder_answer(
                ask=ResponderAsk.objects.select_related("request").get(pk=ask.pk),
                actor=Actor.for_user(who),
                answer=what,
            )
            outcomes.append(what)
        except Conflict:
            outcomes.append("conflict")
        except BaseException as exc:
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=answer, args=(ana, "accept")),
        threading.Thread(target=answer, args=(admin, "decline")),
    ]
    if connection.vendor == "sqlite":
        # the in-memory shared-cache test database answers "table is locked" at once
        # instead of waiting (a file database waits): there the two take turns (as in
        # test_engine_race.py); on PostgreSQL they really overlap
        start = threading.Barrier(1)
        for thread in threads:
            thread.start()
            thread.join(30)
    else:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert sorted(outcomes) in (["accept", "conflict"], ["conflict", "decline"])
    final = ResponderAsk.objects.get(pk=ask.pk)
    won = "accept" if "accept" in outcomes else "decline"
    assert final.state == ("accepted" if won == "accept" else "declined")
    answers = TimelineEntry.objects.filter(kind=EntryKind.RESPONDER, data__has_key="answer")
    assert answers.count() == 1
    assert Participant.objects.filter(incident=incident).exists() == (won == "accept")
