"""Two people giving the commander role at the same moment (issue 11): on PostgreSQL they
really overlap (the incident's row lock orders them); the role ends up held once, the
history shows both assignments in order, and each new holder is told exactly once."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from tests.escalation.paging_helpers import reachable
from tocsin.accounts.models import Role, User
from tocsin.core.actors import Actor
from tocsin.incidents import services
from tocsin.incidents.models import EntryKind, Incident, IncidentRole, RoleAssignment, TimelineEntry
from tocsin.notify.models import OutboxMessage


def _race(*works: Callable[[], Any]) -> list[Any]:
    if connection.vendor == "sqlite":  # in-memory shared cache: turns, as in test_engine_race
        return [work() for work in works]
    barrier = threading.Barrier(len(works))
    results: list[Any] = [None] * len(works)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = works[index]()
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(works))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


@pytest.mark.django_db(transaction=True)
def test_two_assignments_at_once_leave_one_holder(
    make_user: Callable[..., User], make_incident: Callable[..., Incident]
) -> None:
    reporter = make_user(Role.REPORTER, username="rita")
    incident = make_incident(reporter)
    ann = make_user(Role.RESPONDER, username="ann")
    bob = make_user(Role.RESPONDER, username="bob")
    lead = make_user(Role.MANAGER, username="lead")
    for person in (ann, bob):
        reachable(person)
    commander = IncidentRole.objects.get(key="commander")

    def give(person: User) -> Callable[[], Any]:
        return lambda: (
            services.role_assign(
                incident=incident, role=commander, user=person, actor=Actor.for_user(lead)
            ).pk
        )

    for _ in range(3):
        _race(give(ann), give(bob))
    open_rows = RoleAssignment.objects.filter(incident=incident, ended_at__isnull=True)
    assert open_rows.count() == 1
    rows = list(RoleAssignment.objects.filter(incident=incident).order_by("assigned_at", "id"))
    # each row but the last was ended by the next one
    for earlier, later in itertools.pairwise(rows):
        assert earlier.ended_at is not None and earlier.ended_at <= later.assigned_at
        assert earlier.user_id != later.user_id
    entries = TimelineEntry.objects.filter(incident=incident, kind=EntryKind.ROLE)
    assert entries.count() == len(rows)
    messages = OutboxMessage.objects.filter(purpose="role")
    assert sorted(m.dedup_key for m in messages) == sorted(
        f"role:{r.pk}:{r.user.contact_methods.get().pk}" for r in rows
    )
