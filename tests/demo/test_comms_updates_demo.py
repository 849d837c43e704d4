"""The demo organisation shows stakeholder updates: two on its most urgent open incident,
public on its timeline, with subscribers; no mail to the demo's made-up addresses."""

from __future__ import annotations

import pytest

from tests.comms.updates_helpers import seeded
from tocsin.comms.models import StakeholderUpdate, Subscription
from tocsin.demo import load_demo
from tocsin.incidents.models import EntryKind, TimelineEntry
from tocsin.notify.models import OutboxMessage

pytestmark = pytest.mark.django_db


def test_the_demo_has_updates_and_subscribers() -> None:
    seeded()
    load_demo()
    found = list(StakeholderUpdate.objects.order_by("posted_at"))
    assert [u.status for u in found] == ["investigating", "identified"]
    assert "{" not in found[0].body and "{" not in found[1].body
    incident = found[0].incident
    entries = TimelineEntry.objects.filter(incident=incident, kind=EntryKind.UPDATE)
    assert {e.visibility for e in entries} == {"public"}
    assert Subscription.objects.filter(incident=incident).count() == 2
    assert found[1].recipients > 0
    assert not OutboxMessage.objects.filter(purpose="update").exists()
