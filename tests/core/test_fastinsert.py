"""core.fastinsert writes the row the ORM's create() would, and refuses models it cannot."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from tocsin.accounts.models import User
from tocsin.core.actors import Actor
from tocsin.core.fastinsert import insert
from tocsin.core.models import AuditEntry
from tocsin.incidents.models import Incident, TimelineEntry
from tocsin.notify.models import OutboxMessage

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 12, 6, 20, 30, 15, 123456, tzinfo=dt.UTC)


def _columns(obj: Any) -> dict[str, Any]:
    found = type(obj).objects.filter(pk=obj.pk).values().get()
    found.pop("id")
    return found


def test_a_timeline_entry_reads_back_as_the_orms_does(
    agent: User, make_incident: Callable[..., Incident]
) -> None:
    incident = make_incident(agent)
    fields: dict[str, Any] = {
        "incident": incident,
        "created_at": AT,
        "kind": "note",
        "visibility": "public",
        "text": "Paged Inês — ünïcode, 'quotes'",
        "data": {"paged": ["ines"], "level": 2, "nested": {"a": None}},
        **Actor.for_user(agent).timeline_fields(),
    }
    fast = insert(TimelineEntry(**fields))
    orm = TimelineEntry.objects.create(**fields)
    assert fast.pk is not None and fast.pk != orm.pk
    assert not fast._state.adding
    assert _columns(fast) == _columns(orm)
    assert TimelineEntry.objects.get(pk=fast.pk).data == fields["data"]


def _message(recipient: str) -> OutboxMessage:
    return OutboxMessage(
        channel="email", recipient=recipient, dedup_key="k1", created_at=AT, not_before=AT
    )


def test_defaults_are_filled_and_a_unique_clash_raises() -> None:
    message = insert(_message("a@example.com"))
    stored = OutboxMessage.objects.get(pk=message.pk)
    assert stored.message_id == message.message_id  # the model's default, sent
    assert stored.state == OutboxMessage._meta.get_field("state").default
    assert stored.payload == {}
    with pytest.raises(IntegrityError), transaction.atomic():
        insert(_message("b@example.com"))


def test_a_model_with_a_save_of_its_own_is_refused() -> None:
    with pytest.raises(TypeError, match="save"):
        insert(AuditEntry(action="x"))
