"""The action item pages: the list and its filters, the create and edit forms, accept as
a risk, the incident page's section and the person page's overdue items; 404 for
reporters; user text escaped; bad input re-shown with the field marked."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import time_machine
from django.test import Client

from tocsin.accounts.models import Role, Team, User
from tocsin.core.actors import Actor
from tocsin.incidents.models import EntryKind, Incident, TimelineEntry
from tocsin.learning import action_items
from tocsin.learning.models import ActionItem

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def world(
    clock: Any, make_user: Callable[..., User], make_incident: Callable[..., Incident]
) -> dict[str, Any]:
    rita = make_user(Role.REPORTER, username="rita")
    alice = make_user(Role.AGENT, username="alice", name="Alice Agent")
    rob = make_user(Role.RESPONDER, username="rob", name="Rob Responder")
    maya = make_user(Role.MANAGER, username="maya", name="Maya Manager")
    incident = make_incident(rita, title="Checkout down")
    return {"rita": rita, "alice": alice, "rob": rob, "maya": maya, "incident": incident}


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def add(
    world: dict[str, Any], title: str, owner: User | None, due: dt.datetime | None
) -> ActionItem:
    return action_items.action_item_create(
        actor=Actor.for_user(world["alice"]),
        incident=world["incident"],
        title=title,
        owner=owner,
        due_at=due,
    )


def test_reporters_get_404_and_no_section(world: dict[str, Any]) -> None:
    item = add(world, "Fix it", world["rob"], T0 + DAY)
    rita = login(world["rita"])
    for path in (
        "/action-items/",
        "/action-items/new/?incident=INC-1",
        f"/action-items/{item.pk}/",
    ):
        assert rita.get(path).status_code == 404, path
    assert rita.post(f"/action-items/{item.pk}/", {"title": "x"}).status_code == 404
    assert rita.post(f"/action-items/{item.pk}/accept-risk/", {"reason": "x"}).status_code == 404
    page = rita.get("/incidents/INC-1/").content.decode()
    assert "Fix it" not in page and 'id="action-items"' not in page
    assert "Action item #" not in page  # the timeline entries are internal


def test_add_from_the_incident_page_then_edit(world: dict[str, Any]) -> None:
    alice = login(world["alice"])
    page = alice.get("/incidents/INC-1/").content.decode()
    assert 'id="action-items"' in page and "Add action item" in page
    form = alice.get("/action-items/new/?incident=INC-1")
    assert form.status_code == 200 and 'value="INC-1"' in form.content.decode()
    reply = alice.post(
        "/action-items/new/?incident=INC-1&back=/incidents/INC-1/",
        {
            "incident": "INC-1",
            "title": XSS,
            "owner": "rob",
            "due_at": "2026-03-09T17:00",
            "priority": "2",
            "tracker_url": "https://tracker.example.com/OPS-7",
            "description": "Because <b>reasons</b>",
        },
    )
    assert reply.status_code == 302 and reply["Location"] == "/incidents/INC-1/"
    item = ActionItem.objects.get()
    assert item.title == XSS and item.owner == world["rob"] and item.priority == 2
    assert item.due_at == dt.datetime(2026, 3, 9, 17, 0, tzinfo=dt.UTC)  # alice's zone: UTC
    for path in ("/incidents/INC-1/", "/action-items/", f"/action-items/{item.pk}/"):
        html = alice.get(path).content.decode()
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html, path
        assert XSS not in html, path
    saved = alice.post(
        f"/action-items/{item.pk}/",
        {
            "title": "Alert on disk space",
            "status": "done",
            "owner": "rob",
            "due_at": "2026-03-09T17:00",
            "priority": "2",
            "tracker_url": "https://tracker.example.com/OPS-7",
            "description": "",
        },
    )
    assert saved.status_code == 302
    item.refresh_from_db()
    assert item.status == "done" and item.title == "Alert on disk space"
    assert TimelineEntry.objects.filter(kind=EntryKind.ACTION_ITEM).count() == 2


def test_bad_input_is_shown_on_the_field_and_saves_nothing(world: dict[str, Any]) -> None:
    alice = login(world["alice"])
    base = {"incident": "INC-1", "title": "Do it", "priority": "3", "owner": ""}
    for extra, message in [
        ({"tracker_url": "javascript:alert(1)"}, "Must be an http:// or https:// address."),
        ({"due_at": "2026-03-01T09:00"}, "The due date is in the past."),
        ({"incident": "INC-77"}, "No incident has this number."),
        ({"title": ""}, "This field is required."),
    ]:
        reply = alice.post("/action-items/new/", {**base, **extra})
        assert reply.status_code == 422, extra
        assert message in reply.content.decode(), extra
    assert not ActionItem.objects.exists()


def test_accept_as_risk_is_for_managers(world: dict[str, Any]) -> None:
    item = add(world, "Rewrite the cache", world["rob"], T0 + DAY)
    alice, maya = login(world["alice"]), login(world["maya"])
    assert "Accept as a risk" not in alice.get(f"/action-items/{item.pk}/").content.decode()
    refused = alice.post(f"/action-items/{item.pk}/accept-risk/", {"reason": "No"})
    assert refused.status_code == 403
    assert "Accept as a risk" in maya.get(f"/action-items/{item.pk}/").content.decode()
    empty = maya.post(f"/action-items/{item.pk}/accept-risk/", {"reason": ""})
    assert empty.status_code == 422
    done = maya.post(f"/action-items/{item.pk}/accept-risk/", {"reason": "Replaced in May."})
    assert done.status_code == 302
    page = maya.get(f"/action-items/{item.pk}/").content.decode()
    assert "Accepted as a risk" in page and "Replaced in May." in page


def test_overdue_items_on_the_owners_page_and_the_list_filters(
    world: dict[str, Any], clock: Any
) -> None:
    team = Team.objects.create(name="Payments")
    team.members.add(world["rob"], world["alice"])
    add(world, "Late for Rob", world["rob"], T0 + DAY)
    add(world, "Later for Rob", world["rob"], T0 + 9 * DAY)
    add(world, "Late for Maya", world["maya"], T0 + DAY)
    clock.move_to(T0 + 2 * DAY)
    rob = login(world["rob"])
    mine = rob.get("/me/paging/").content.decode()
    assert "Overdue action items" in mine and "You have 1 overdue action item" in mine
    assert "Late for Rob" in mine and "Later for Rob" not in mine and "Late for Maya" not in mine
    # an administrator looking at Maya's page sees hers
    admin = login(User.objects.create_superuser("ada", "ada@example.com", "pw", role=Role.ADMIN))
    hers = admin.get("/people/maya/paging/").content.decode()
    assert "Maya Manager has 1 overdue action item" in hers and "Late for Maya" in hers

    def listed(query: str) -> list[str]:
        html = rob.get(f"/action-items/{query}").content.decode()
        return [t for t in ("Late for Rob", "Later for Rob", "Late for Maya") if t in html]

    assert listed("") == ["Late for Rob", "Later for Rob", "Late for Maya"]
    assert listed("?mine=1") == ["Late for Rob", "Later for Rob"]
    assert listed("?overdue=1") == ["Late for Rob", "Late for Maya"]
    assert listed("?myteams=1") == ["Late for Rob", "Later for Rob"]  # Maya: not in Payments
    assert listed("?myteams=1&overdue=1") == ["Late for Rob"]
    # the team's own view: its members' items and how many are overdue
    assert listed(f"?team={team.pk}") == ["Late for Rob", "Later for Rob"]
    team_page = rob.get(f"/action-items/?team={team.pk}").content.decode()
    assert "Action items · Payments" in team_page
    assert "Payments has 1 overdue action item." in team_page
    assert f'href="/action-items/?team={team.pk}"' in rob.get("/action-items/").content.decode()
    assert listed("?status=done") == []
    assert 'class="pill ai-overdue"' in rob.get("/action-items/?mine=1").content.decode()


@pytest.mark.parametrize(
    "back", ["//evil.example.com/", "/\\evil.example.com", "https://evil.example.com/"]
)
def test_back_never_leaves_the_site(world: dict[str, Any], back: str) -> None:
    reply = login(world["alice"]).post(
        f"/action-items/new/?incident=INC-1&back={back}",
        {"incident": "INC-1", "title": "Stay here", "priority": "3", "owner": ""},
    )
    item = ActionItem.objects.get()
    assert reply.status_code == 302 and reply["Location"] == f"/action-items/{item.pk}/"
