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


def test_insert_many_writes_the_rows_bulk_create_would(
    agent: User, make_incident: Callable[..., Incident]
) -> None:
    from tocsin.comms.models import MajorChecklistItem
    from tocsin.core.fastinsert import insert_many

    fast_incident, orm_incident = make_incident(agent), make_incident(agent)

    def items(incident: Incident) -> list[MajorChecklistItem]:
        return [
            MajorChecklistItem(
                incident=incident,
                position=i,
                text=f"Step {i}: ünïcode ‘{i}’",
                done_at=AT if i == 0 else None,
                done_by=agent if i == 0 else None,
            )
            for i in range(4)
        ]

    insert_many(items(fast_incident))
    MajorChecklistItem.objects.bulk_create(items(orm_incident))

    def stored(incident: Incident) -> list[dict[str, Any]]:
        rows = list(
            MajorChecklistItem.objects.filter(incident=incident).order_by("position").values()
        )
        for row in rows:
            row.pop("id"), row.pop("incident_id")
        return rows

    assert stored(fast_incident) == stored(orm_incident)
    assert len(stored(fast_incident)) == 4
    insert_many([])  # nothing to write: no statement, no error
    with pytest.raises(TypeError, match="one model"):
        insert_many([*items(fast_incident)[:1], _message("c@example.com")])  # type: ignore[list-item]


def test_update_writes_what_save_update_fields_writes(
    agent: User, make_incident: Callable[..., Incident]
) -> None:
    from django.db import DatabaseError

    from tocsin.core.fastinsert import update

    fast, orm = make_incident(agent), make_incident(agent)
    before = {incident.pk: _columns(incident) for incident in (fast, orm)}
    for incident in (fast, orm):
        incident.major_declared_at = AT
        incident.updated_at = AT + dt.timedelta(seconds=1)
        incident.title = "not written: not in the list"
    update(fast, ["major_declared_at", "updated_at"])
    orm.save(update_fields=["major_declared_at", "updated_at"])
    changes = []
    for incident in (fast, orm):
        after = _columns(incident)
        old = before[incident.pk]
        changes.append({k: v for k, v in after.items() if old[k] != v})
    assert changes[0] == changes[1]
    assert sorted(changes[0]) == ["major_declared_at", "updated_at"]
    stored = Incident.objects.get(pk=fast.pk)
    assert (stored.major_declared_at, stored.updated_at) == (AT, AT + dt.timedelta(seconds=1))
    assert stored.title != "not written: not in the list"
    gone = Incident.objects.get(pk=orm.pk)
    Incident.objects.filter(pk=gone.pk).update(duplicate_of=None)  # (a row to lose)
    gone.pk = 987654321
    with pytest.raises(DatabaseError, match="did not affect any rows"):
        update(gone, ["updated_at"])
    with pytest.raises(TypeError, match="plain columns"):
        update(fast, ["id"])


def test_values_that_need_the_fields_conversion_still_get_it(
    agent: User, make_incident: Callable[..., Incident]
) -> None:
    """Only a value of the exact type a field passes through unchanged skips the field's
    conversion: a lazy string, a number for a text column, a date for a timestamp are
    converted as the ORM converts them."""
    from django.utils.functional import lazy

    incident = make_incident(agent)
    lazy_text = lazy(lambda: "Paged — lazily", str)()
    fields: dict[str, Any] = {
        "incident": incident,
        "created_at": AT,
        "kind": "note",
        "visibility": "public",
        "text": lazy_text,
        "data": {},
        **Actor.for_user(agent).timeline_fields(),
    }
    fast = insert(TimelineEntry(**fields))
    orm = TimelineEntry.objects.create(**fields)
    assert _columns(fast) == _columns(orm)
    assert TimelineEntry.objects.get(pk=fast.pk).text == "Paged — lazily"
    numbered = insert(TimelineEntry(**{**fields, "text": 12345}))
    assert TimelineEntry.objects.get(pk=numbered.pk).text == "12345"
