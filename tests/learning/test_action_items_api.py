"""Action items through the REST API (issue 12, point 2): created from an incident or a
postmortem, changed, accepted as a risk by a manager, every change on the incident's
timeline; reporters see none of it (404); bad input is a 422 naming the field and
changes nothing; a published postmortem is complete exactly when its items are settled."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import time_machine

from tocsin.accounts.models import Role, Team, User
from tocsin.incidents.models import EntryKind, Incident, TimelineEntry
from tocsin.learning.models import ActionItem, Postmortem

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
URL = "/api/v1/action-items"


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


def iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def create(api: Any, user: User, **body: Any) -> Any:
    body.setdefault("title", "Add a disk-space alert")
    body.setdefault("incident", "INC-1")
    return api(user).post(URL, body)


def entries(incident: Incident) -> list[str]:
    return list(
        TimelineEntry.objects.filter(incident=incident, kind=EntryKind.ACTION_ITEM)
        .order_by("pk")
        .values_list("text", flat=True)
    )


def test_create_change_and_every_change_on_the_timeline(world: dict[str, Any], api: Any) -> None:
    reply = create(
        api,
        world["alice"],
        owner="rob",
        due_at=iso(T0 + 5 * DAY),
        priority=2,
        description="Page at 90 %.",
        tracker_url="https://tracker.example.com/OPS-12",
    )
    assert reply.status_code == 201, reply.content
    item = reply.json()
    assert item["status"] == "open" and item["owner"] == "rob" and item["incident"] == "INC-1"
    assert item["priority"] == 2 and item["overdue"] is False and item["created_by"] == "alice"
    assert item["tracker_url"] == "https://tracker.example.com/OPS-12"
    client = api(world["rob"])
    changed = client.patch(f"{URL}/{item['id']}", {"status": "in_progress"}).json()
    assert changed["status"] == "in_progress"
    # the same value again changes nothing and writes nothing
    client.patch(f"{URL}/{item['id']}", {"status": "in_progress"})
    done = client.patch(f"{URL}/{item['id']}", {"status": "done", "owner": "alice"}).json()
    assert done["status"] == "done" and done["closed_at"] and done["owner"] == "alice"
    assert client.get(f"{URL}/{item['id']}").json()["status"] == "done"
    texts = entries(world["incident"])
    assert len(texts) == 3
    assert texts[0].startswith(f"Action item #{item['id']} added: Add a disk-space alert")
    assert "open → in progress" in texts[1]
    assert "in progress → done" in texts[2] and "Rob Responder → Alice Agent" in texts[2]
    entry = TimelineEntry.objects.filter(kind=EntryKind.ACTION_ITEM).last()
    assert entry is not None and entry.actor_user_id == world["rob"].pk  # type: ignore[attr-defined]


def test_reporters_are_told_404_for_everything(world: dict[str, Any], api: Any) -> None:
    item = create(api, world["alice"]).json()
    rita = api(world["rita"])  # the reporter of INC-1 itself
    assert rita.get(URL).status_code == 404
    assert rita.get(f"{URL}/{item['id']}").status_code == 404
    assert rita.get(f"{URL}/999").status_code == 404
    assert create(api, world["rita"]).status_code == 404
    assert rita.patch(f"{URL}/{item['id']}", {"status": "done"}).status_code == 404
    assert rita.post(f"{URL}/{item['id']}/accept-risk", {"reason": "x"}).status_code == 404
    assert ActionItem.objects.get().status == "open"
    # staff of every role see and change them
    for who in ("alice", "rob", "maya"):
        assert api(world[who]).get(f"{URL}/{item['id']}").status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"due_at": iso(T0 - dt.timedelta(minutes=1))}, "due_at"),
        ({"due_at": "2026-03-09T10:00:00"}, "due_at"),  # no time zone
        ({"tracker_url": "javascript:alert(1)"}, "tracker_url"),
        ({"tracker_url": "ftp://files.example.com/x"}, "tracker_url"),
        ({"tracker_url": "data:text/html,<script>alert(1)</script>"}, "tracker_url"),
        ({"owner": "nobody-here"}, "owner"),
        ({"owner": "rita"}, "owner"),  # a reporter cannot own one
        ({"incident": "INC-99"}, "incident"),
        ({"incident": None}, "incident"),
        ({"postmortem": 4242, "incident": None}, "postmortem"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"priority": 5}, "priority"),
        ({"priority": "1"}, "priority"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_creates_nothing(
    world: dict[str, Any], api: Any, body: dict[str, Any], field: str
) -> None:
    reply = create(api, world["alice"], **body)
    assert reply.status_code == 422, reply.content
    assert field in [e["loc"][-1] for e in reply.json()["detail"]]
    assert not ActionItem.objects.exists()
    assert entries(world["incident"]) == []


def test_bad_changes_are_refused_and_change_nothing(world: dict[str, Any], api: Any) -> None:
    item = create(api, world["alice"], due_at=iso(T0 + DAY), owner="rob").json()
    client = api(world["alice"])
    path = f"{URL}/{item['id']}"
    for body, field in [
        ({"status": "accepted_risk"}, "status"),
        ({"status": "closed"}, "status"),
        ({"title": None}, "title"),
        ({"due_at": iso(T0 - DAY)}, "due_at"),
        ({"tracker_url": "javascript:alert(1)", "title": "New title"}, "tracker_url"),
    ]:
        reply = client.patch(path, body)
        assert reply.status_code == 422, (body, reply.content)
        assert reply.json()["detail"][0]["loc"][-1] == field
    fresh = client.get(path).json()
    assert fresh["title"] == "Add a disk-space alert" and fresh["status"] == "open"
    assert len(entries(world["incident"])) == 1  # the creation alone


def test_an_overdue_item_keeps_its_due_date_when_edited(
    world: dict[str, Any], api: Any, clock: Any
) -> None:
    item = create(api, world["alice"], due_at=iso(T0 + DAY), owner="rob").json()
    clock.move_to(T0 + 3 * DAY)
    client = api(world["rob"])
    got = client.get(f"{URL}/{item['id']}").json()
    assert got["overdue"] is True
    edited = client.patch(
        f"{URL}/{item['id']}", {"title": "Add the alert", "due_at": got["due_at"]}
    )
    assert edited.status_code == 200 and edited.json()["overdue"] is True
    assert client.patch(f"{URL}/{item['id']}", {"status": "done"}).json()["overdue"] is False


def test_accepting_a_risk_takes_a_manager_and_a_reason(world: dict[str, Any], api: Any) -> None:
    item = create(api, world["alice"]).json()
    path = f"{URL}/{item['id']}/accept-risk"
    assert api(world["alice"]).post(path, {"reason": "Too costly"}).status_code == 403
    assert api(world["rob"]).post(path, {"reason": "Too costly"}).status_code == 403
    empty = api(world["maya"]).post(path, {"reason": "  "})
    assert empty.status_code == 422 and empty.json()["detail"][0]["loc"] == ["body", "reason"]
    assert api(world["maya"]).post(path, {}).status_code == 422
    accepted = api(world["maya"]).post(path, {"reason": "The disk is replaced in May."})
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "accepted_risk"
    assert accepted.json()["risk_reason"] == "The disk is replaced in May."
    assert api(world["maya"]).post(path, {"reason": "again"}).status_code == 409
    assert entries(world["incident"])[-1].endswith(
        "accepted as a risk: The disk is replaced in May."
    )
    # reopened by anyone on the staff: the reason goes with the decision
    reopened = api(world["alice"]).patch(f"{URL}/{item['id']}", {"status": "open"}).json()
    assert reopened["status"] == "open" and reopened["risk_reason"] == ""


def test_a_postmortem_is_complete_when_published_and_every_item_is_settled(
    world: dict[str, Any], api: Any, make_incident: Callable[..., Incident]
) -> None:
    postmortem = Postmortem.objects.create(
        incident=world["incident"], title="Checkout down", status="published"
    )
    one = create(api, world["alice"], postmortem=postmortem.pk, incident=None).json()
    two = create(api, world["alice"], postmortem=postmortem.pk, title="Runbook").json()
    assert one["incident"] == "INC-1" and one["postmortem"] == postmortem.pk

    def complete() -> bool:
        postmortem.refresh_from_db()
        return postmortem.completed_at is not None

    alice = api(world["alice"])
    assert not complete()
    alice.patch(f"{URL}/{one['id']}", {"status": "done"})
    assert not complete()
    api(world["maya"]).post(f"{URL}/{two['id']}/accept-risk", {"reason": "Rare."})
    assert complete()
    # a new item, or one reopened, makes it incomplete again
    three = create(api, world["alice"], postmortem=postmortem.pk, title="Dashboards").json()
    assert not complete()
    alice.patch(f"{URL}/{three['id']}", {"status": "done"})
    assert complete()
    alice.patch(f"{URL}/{one['id']}", {"status": "in_progress"})
    assert not complete()
    # a draft postmortem is never complete, whatever its items
    draft_incident = make_incident(world["rita"], title="Other")
    draft = Postmortem.objects.create(incident=draft_incident, title="Other", status="draft")
    four = create(api, world["alice"], postmortem=draft.pk, incident=None).json()
    alice.patch(f"{URL}/{four['id']}", {"status": "done"})
    draft.refresh_from_db()
    assert draft.completed_at is None
    # items of another incident's postmortem cannot be pinned on this incident
    wrong = create(api, world["alice"], postmortem=draft.pk, incident="INC-1")
    assert wrong.status_code == 422


def test_filters(world: dict[str, Any], api: Any, clock: Any) -> None:
    team = Team.objects.create(name="Payments")
    team.members.add(world["rob"])
    postmortem = Postmortem.objects.create(incident=world["incident"], title="PM")
    a = create(api, world["alice"], title="A", owner="rob", due_at=iso(T0 + DAY)).json()
    b = create(api, world["alice"], title="B", owner="alice", due_at=iso(T0 + 9 * DAY)).json()
    c = create(api, world["alice"], title="C", postmortem=postmortem.pk, incident=None).json()
    api(world["alice"]).patch(f"{URL}/{b['id']}", {"status": "done"})
    clock.move_to(T0 + 2 * DAY)
    client = api(world["alice"])

    def titles(**params: Any) -> list[str]:
        reply = client.get(URL, params)
        assert reply.status_code == 200, reply.content
        body = reply.json()
        assert body["count"] == len(body["items"]) or "limit" in params
        return [i["title"] for i in body["items"]]

    assert titles() == ["A", "B", "C"]  # soonest due first, no due date last
    assert titles(owner="rob") == ["A"]
    assert titles(team=team.pk) == ["A"]
    assert titles(status="done") == ["B"]
    assert titles(overdue="true") == ["A"]
    assert titles(overdue="false") == ["B", "C"]
    assert titles(postmortem=postmortem.pk) == ["C"]
    assert titles(incident="INC-1") == ["A", "B", "C"]
    assert titles(limit=1, offset=1) == ["B"]
    assert client.get(URL, {"owner": "ghost"}).status_code == 422
    assert client.get(URL, {"status": "later"}).status_code == 422
    assert client.get(URL, {"team": 999}).status_code == 422
    assert a["id"] and c["id"]


def test_create_honours_idempotency_key(world: dict[str, Any], api: Any) -> None:
    client = api(world["alice"])
    body = {"title": "Once", "incident": "INC-1"}
    first = client.post(URL, body, headers={"Idempotency-Key": "k1"})
    again = client.post(URL, body, headers={"Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert ActionItem.objects.count() == 1
