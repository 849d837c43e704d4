"""Issue 12's first acceptance path, end to end through the API: a P1 incident resolved
→ its postmortem drafted from its timeline → action items on it → the owner's reminder
delivered by real SMTP → published, and complete once every item is settled."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import time_machine

from tests.conftest import ApiClient
from tests.escalation.paging_helpers import reachable
from tests.notify.conftest import Inbox, _serve
from tocsin.accounts.models import Role, User
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.incidents.models import Incident
from tocsin.incidents.services import incident_resolve
from tocsin.learning.engine import ActionItemReminderModule
from tocsin.notify.engine import OutboxModule

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[Inbox]:
    yield from _serve(settings, Inbox())


def test_p1_resolved_to_postmortem_to_items_to_reminder_to_complete(
    make_user: Callable[..., User],
    make_incident: Callable[..., Incident],
    api: Callable[[User], ApiClient],
    smtp_server: Inbox,
) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        reporter = make_user(Role.REPORTER)
        agent = make_user(Role.AGENT, username="alice", name="Alice Agent")
        owner = make_user(Role.RESPONDER, username="rob", name="Rob Responder")
        manager = make_user(Role.MANAGER, username="maya")
        reachable(owner, "email")
        incident = make_incident(reporter, title="Checkout down", impact=1, urgency=1)
        assert incident.priority == 1
        clock.move_to(T0 + dt.timedelta(minutes=40))
        incident_resolve(
            incident=incident,
            actor=Actor.for_user(agent),
            resolution_code="fixed",
            resolution_notes="Rolled back the gateway deploy.",
        )

        # the postmortem is drafted from the record, due in five days
        listed = api(agent).get("/api/v1/postmortems").json()
        assert listed["count"] == 1
        postmortem = listed["items"][0]
        assert postmortem["incident"] == incident.ref and postmortem["status"] == "draft"
        drafted = api(agent).get(f"/api/v1/postmortems/{postmortem['id']}").json()
        assert "Checkout down" in drafted["markdown"] and "## Root cause" in drafted["markdown"]

        # two action items from it: one for Rob due in four days, one a manager accepts
        made = [
            api(agent).post(
                "/api/v1/action-items",
                {
                    "postmortem": postmortem["id"],
                    "title": title,
                    "owner": "rob",
                    "due_at": (now() + 4 * DAY).isoformat(),
                },
            )
            for title in ("Alert on the payment gateway's error rate", "Replace the gateway")
        ]
        assert [r.status_code for r in made] == [201, 201], made[0].content
        first, second = (r.json() for r in made)

        # two days before the due date the owner is reminded, by real mail
        clock.move_to(now() + 2 * DAY)
        assert ActionItemReminderModule().tick(now()) == 2
        OutboxModule().tick(now())
        reminders = [m for m in smtp_server.messages if m["Subject"].startswith("Action item")]
        assert len(reminders) == 2  # (the reporter's "resolved" mail went too)
        assert {m["To"] for m in reminders} == {owner.email}
        assert all("due 2026-03-06" in m["Subject"] for m in reminders)

        # published: not complete while an item is open
        path = f"/api/v1/postmortems/{postmortem['id']}"
        for status in ("in_review", "published"):
            assert api(agent).patch(path, {"status": status}).status_code == 200
        assert api(agent).get(path).json()["completed_at"] is None
        done = api(owner).patch(f"/api/v1/action-items/{first['id']}", {"status": "done"})
        assert done.status_code == 200
        assert api(agent).get(path).json()["completed_at"] is None
        # the second is accepted as a risk by a manager: now it is complete
        risk = api(manager).post(
            f"/api/v1/action-items/{second['id']}/accept-risk",
            {"reason": "The gateway is replaced with the next contract."},
        )
        assert risk.status_code == 200
        assert api(agent).get(path).json()["completed_at"] is not None
