"""/learning/: the main menu's one entry for the learning loop, with what is waiting."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from django.test import Client

from tocsin.accounts.models import Role, User
from tocsin.core.clock import now
from tocsin.incidents.models import Incident
from tocsin.learning.models import (
    ActionItem,
    ActionItemStatus,
    Article,
    Postmortem,
    Problem,
    ProblemStatus,
)

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(html: bytes) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.decode()))


def test_staff_see_what_is_waiting_and_the_menu_leads_there(
    make_user: Callable[..., User], make_incident: Callable[..., Incident]
) -> None:
    agent = make_user(Role.AGENT)
    incident = make_incident(make_user(Role.REPORTER))
    late = now() - dt.timedelta(days=1)
    Postmortem.objects.create(incident=incident, title="<b>Outage</b>", due_at=late)
    ActionItem.objects.create(incident=incident, title="Fix", owner=agent, due_at=late)
    ActionItem.objects.create(incident=incident, title="Done", status=ActionItemStatus.DONE)
    Problem.objects.create(number=1, title="Router", status=ProblemStatus.KNOWN_ERROR)
    Article.objects.create(title="VPN")
    page = signed_in(agent).get("/learning/")
    assert page.status_code == 200
    shown = text(page.content)
    assert "1 in draft or review" in shown and "1 overdue" in shown
    assert "1 open" in shown and "1 mine" in shown
    assert "1 known errors" in shown and "1 articles" in shown
    assert b'href="/learning/" aria-current="page"' in page.content
    # the other learning pages keep the menu entry current
    assert b'href="/learning/" aria-current="page"' in signed_in(agent).get("/problems/").content


def test_reporters_get_404_and_their_menu_offers_help_articles(
    make_user: Callable[..., User],
) -> None:
    reporter = make_user(Role.REPORTER)
    client = signed_in(reporter)
    assert client.get("/learning/").status_code == 404
    portal = client.get("/portal/")
    assert b'href="/learning/"' not in portal.content
    assert b"Help articles" in portal.content
    assert Client().get("/learning/").status_code == 302  # sign in first
    assert signed_in(make_user(Role.AGENT)).post("/learning/").status_code == 405
