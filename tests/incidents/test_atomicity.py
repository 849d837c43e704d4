"""A failure inside a service leaves neither the change nor its timeline entry behind.

These tests run with real transactions (transaction=True): the service's own
transaction.atomic is the outermost one, so its rollback is the real thing, and the
state is re-read from the database afterwards.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.incidents.helpers import bring_to, snapshot
from tocsin.core.actors import Actor
from tocsin.core.models import Counter
from tocsin.incidents import lifecycle, sla
from tocsin.incidents.models import Incident, TimelineEntry
from tocsin.incidents.services import (
    incident_acknowledge,
    incident_create,
    incident_merge,
    incident_resolve,
    incident_update,
    merge,
    notes,
    record,
)


class Boom(Exception):
    pass


def explode_after(real: Any, calls: list[Any]) -> Any:
    """Wrap `real`: run it (so its write happens), remember the result, then fail."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls.append(real(*args, **kwargs))
        raise Boom("the disk is on fire")

    return wrapper


@pytest.mark.django_db(transaction=True)
def test_failed_transition_leaves_nothing(agent, reporter, make_incident, monkeypatch):
    incident = make_incident(reporter)
    before = snapshot(incident)
    entries_before = TimelineEntry.objects.count()
    written: list[Any] = []
    monkeypatch.setattr(
        lifecycle, "timeline_append", explode_after(lifecycle.timeline_append, written)
    )
    with pytest.raises(Boom):
        incident_acknowledge(incident=incident, actor=Actor.for_user(agent))
    # the status change and the transition entry were both written inside the service...
    assert len(written) == 1
    assert written[0].data["to"] == "acknowledged"
    # ...and neither survived.
    assert not TimelineEntry.objects.filter(pk=written[0].pk).exists()
    assert TimelineEntry.objects.count() == entries_before
    after = Incident.objects.get(pk=incident.pk)
    assert after.status == "new"
    assert after.acknowledged_at is None
    assert after.response_met_at is None
    assert snapshot(incident) == before


@pytest.mark.django_db(transaction=True)
def test_failed_resolve_leaves_nothing(agent, reporter, make_incident, monkeypatch):
    incident = bring_to(make_incident(reporter), "in_progress", agent)
    before = snapshot(incident)
    written: list[Any] = []
    monkeypatch.setattr(
        lifecycle, "timeline_append", explode_after(lifecycle.timeline_append, written)
    )
    with pytest.raises(Boom):
        incident_resolve(
            incident=incident,
            actor=Actor.for_user(agent),
            resolution_code="fixed",
            resolution_notes="rebooted",
        )
    assert written
    after = Incident.objects.get(pk=incident.pk)
    assert (after.status, after.resolved_at, after.resolution_code) == ("in_progress", None, "")
    assert snapshot(incident) == before


@pytest.mark.django_db(transaction=True)
def test_failed_sla_step_leaves_nothing(agent, reporter, make_incident, monkeypatch):
    incident = make_incident(reporter)
    before = snapshot(incident)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise Boom("clock broke")

    monkeypatch.setattr(sla, "sla_reprioritise", broken)
    with pytest.raises(Boom):
        incident_update(
            incident=incident, actor=Actor.for_user(agent), changes={"impact": 1, "urgency": 1}
        )
    # the field entries were appended before the SLA step; they are gone with the change
    assert snapshot(incident) == before
    assert Incident.objects.get(pk=incident.pk).priority == 3


@pytest.mark.django_db(transaction=True)
def test_failed_create_leaves_no_incident_and_no_number(reporter, monkeypatch):
    first = incident_create(actor=Actor.for_user(reporter), title="first")
    written: list[Any] = []
    monkeypatch.setattr(record, "timeline_append", explode_after(record.timeline_append, written))
    with pytest.raises(Boom):
        incident_create(actor=Actor.for_user(reporter), title="doomed")
    assert written and written[0].incident.title == "doomed"
    assert not Incident.objects.filter(title="doomed").exists()
    assert not TimelineEntry.objects.filter(pk=written[0].pk).exists()
    assert Counter.objects.get(name="incident").value == first.number
    monkeypatch.undo()
    second = incident_create(actor=Actor.for_user(reporter), title="second")
    assert second.number == first.number + 1


@pytest.mark.django_db(transaction=True)
def test_failed_merge_leaves_both_incidents_untouched(agent, reporter, make_incident, monkeypatch):
    duplicate = make_incident(reporter, title="dup")
    original = make_incident(reporter, title="original")
    before = (snapshot(duplicate), snapshot(original))
    real = merge.timeline_append
    calls: list[Any] = []

    def fail_on_the_original(**kwargs: Any) -> Any:
        entry = real(**kwargs)
        calls.append(entry)
        if kwargs["incident"].pk == original.pk:
            raise Boom("late failure")
        return entry

    monkeypatch.setattr(merge, "timeline_append", fail_on_the_original)
    with pytest.raises(Boom):
        incident_merge(incident=duplicate, into=original, actor=Actor.for_user(agent))
    assert len(calls) == 2  # the duplicate's merge entry, then the original's
    assert (snapshot(duplicate), snapshot(original)) == before
    assert Incident.objects.get(pk=duplicate.pk).duplicate_of_id is None


@pytest.mark.django_db(transaction=True)
def test_failed_attachment_leaves_no_row_and_no_file(
    reporter, make_incident, monkeypatch, settings, tmp_path
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tocsin.incidents.models import Attachment
    from tocsin.incidents.services import incident_attach

    settings.MEDIA_ROOT = tmp_path
    incident = make_incident(reporter)
    before = snapshot(incident)
    written: list[Any] = []
    monkeypatch.setattr(notes, "timeline_append", explode_after(notes.timeline_append, written))
    upload = SimpleUploadedFile("log.txt", b"stack trace", content_type="text/plain")
    with pytest.raises(Boom):
        incident_attach(incident=incident, actor=Actor.for_user(reporter), upload=upload)
    assert written
    assert Attachment.objects.count() == 0
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    assert snapshot(incident) == before
