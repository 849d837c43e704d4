"""The demo's action items (demo/learning_actions.py): every state, two overdue, on the
timeline of their incidents, the worker finds no reminder left to send at load time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tocsin.accounts.models import Role, User
from tocsin.core.clock import now
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
    for title in ("Checkout down", "VPN flapping", "Mail delayed"):
        incident = make_incident(rita, title=title)
        Incident.objects.filter(pk=incident.pk).update(status=Status.RESOLVED)
    end = now()
    write_action_items(end)
    items = list(ActionItem.objects.all())
    assert {i.status for i in items} == {"open", "in_progress", "done", "accepted_risk"}
    assert sum(i.overdue_at(end) for i in items) == 2
    risk = ActionItem.objects.get(status="accepted_risk")
    assert risk.risk_reason and risk.closed_at is not None
    assert TimelineEntry.objects.filter(kind=EntryKind.ACTION_ITEM).count() >= len(items)
    assert ActionItemReminderModule().tick(end) == 0
    assert not OutboxMessage.objects.exists()
