"""The demo's action items (demo/learning_actions.py): every state, two overdue, on the
timeline of their incidents, the worker finds no reminder left to send at load time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from tocsin.accounts.models import Role, User
from tocsin.core.clock import now, travel
from tocsin.demo.learning_actions import write_action_items
from tocsin.incidents.models import EntryKind, Incident, Status, TimelineEntry
from tocsin.learning.engine import ActionItemReminderModule
from tocsin.learning.models import ActionItem
from tocsin.notify.models import OutboxMessage

pytestmark = pytest.mark.django_db


def test_items_in_every_state_some_overdue(
    make_user: Callable[..., User], make_incident: Callable[..., Incident], settings: Any
) -> None:
    rita = make_user(Role.REPORTER, username="rita")
    for name, role in (("alice", Role.AGENT), ("rob", Role.RESPONDER), ("maya", Role.MANAGER)):
        make_user(role, username=name)
    end = now()
    # incidents of two months ago: their items are written after their history
    with travel(end - dt.timedelta(days=60)):
        for title in ("Checkout down", "VPN flapping", "Mail delayed"):
            incident = make_incident(rita, title=title)
            Incident.objects.filter(pk=incident.pk).update(status=Status.RESOLVED)
    write_action_items(end)
    items = list(ActionItem.objects.all())
    assert {i.status for i in items} == {"open", "in_progress", "done", "accepted_risk"}
    assert sum(i.overdue_at(end) for i in items) == 2
    risk = ActionItem.objects.get(status="accepted_risk")
    assert risk.risk_reason and risk.closed_at is not None
    assert TimelineEntry.objects.filter(kind=EntryKind.ACTION_ITEM).count() >= len(items)
    # every item's entries come after its incident's own history
    for item in items:
        assert item.incident is not None
        kinds = list(item.incident.timeline.values_list("kind", flat=True))
        assert kinds[0] == EntryKind.CREATED
    assert ActionItemReminderModule().tick(end) == 0
    assert not OutboxMessage.objects.exists()
