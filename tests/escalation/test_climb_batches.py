"""Steps fired several to a transaction (ADR 0008): every due climb pages its person once,
a step that fails is rolled back alone while the others page, each policy's levels are
read once per batch, and settings read inside a batch come from one read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tocsin.accounts.models import Role, User
from tocsin.catalog.models import Service
from tocsin.core.clock import now
from tocsin.core.memo import batch_memo
from tocsin.escalation import services
from tocsin.escalation.engine import EscalationModule
from tocsin.escalation.models import ClimbState, Escalation, Page
from tocsin.escalation.policies import policy_create, service_paging_set
from tocsin.incidents.models import Incident, PriorityMatrixCell
from tocsin.incidents.priority import priority_for
from tocsin.notify.models import OutboxMessage

from .paging_helpers import SETUP, reachable

pytestmark = pytest.mark.django_db


def _storm(
    make_user: Callable[..., User], make_incident: Callable[..., Incident], count: int
) -> tuple[User, list[Incident]]:
    rita = make_user(Role.RESPONDER, username="rita")
    reachable(rita)
    policy = policy_create(
        actor=SETUP,
        name="Payments",
        levels=[{"delay_minutes": 5, "targets": [{"type": "user", "id": "rita"}]}],
    )
    service = Service.objects.create(name="Payments API")
    service_paging_set(service=service, actor=SETUP, policy=policy)
    reporter = make_user(Role.AGENT)
    incidents = [
        make_incident(reporter, title=f"Card payments failing {n}", service=service)
        for n in range(count)
    ]
    return rita, incidents


def test_a_batch_pages_every_due_climb_once(
    make_user: Callable[..., User], make_incident: Callable[..., Incident]
) -> None:
    rita, incidents = _storm(make_user, make_incident, 6)
    at = now() + dt.timedelta(seconds=1)
    assert EscalationModule().tick(at) == 6
    for incident in incidents:
        assert Page.objects.filter(incident=incident, person=rita).count() == 1
        assert OutboxMessage.objects.filter(incident=incident, purpose="page").count() == 1
        assert incident.timeline.filter(text__startswith="Paged Rita").count() == 1
    # the next level is due in five minutes: nothing more fires now
    assert EscalationModule().tick(at + dt.timedelta(seconds=1)) == 0
    assert Page.objects.count() == 6


def test_a_failing_step_is_rolled_back_alone_and_tried_again(
    make_user: Callable[..., User],
    make_incident: Callable[..., Incident],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _rita, incidents = _storm(make_user, make_incident, 3)
    broken = incidents[1]
    real = services.page_content

    def content(*, page: Page, incident: Incident) -> Any:
        if incident.pk == broken.pk:
            raise RuntimeError("template broke")
        return real(page=page, incident=incident)

    monkeypatch.setattr(services, "page_content", content)
    at = now() + dt.timedelta(seconds=1)
    assert EscalationModule().tick(at) == 2
    assert Page.objects.filter(incident=broken).count() == 0  # its whole step rolled back
    assert not broken.timeline.filter(text__startswith="Paged").exists()
    climb = Escalation.objects.get(incident=broken)
    assert climb.state == ClimbState.ACTIVE and climb.step == 0 and climb.next_at is not None
    for other in (incidents[0], incidents[2]):
        assert Page.objects.filter(incident=other).count() == 1
    monkeypatch.setattr(services, "page_content", real)
    assert EscalationModule().tick(at + dt.timedelta(seconds=1)) == 1  # fired on the next turn
    assert Page.objects.filter(incident=broken).count() == 1
    assert Page.objects.count() == 3


def test_a_batch_reads_each_policy_once(
    make_user: Callable[..., User],
    make_incident: Callable[..., Incident],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _storm(make_user, make_incident, 5)
    # one batch for all five: on a loaded machine five steps can pass the CPU target,
    # which ends a batch early (and the next one reads the policy again, as it should)
    monkeypatch.setitem(services.STEPS_TARGET, "sqlite", 10.0)
    monkeypatch.setattr(services, "STEPS_TARGET_OTHER", 10.0)
    at = now() + dt.timedelta(seconds=1)
    with CaptureQueriesContext(connection) as queries:
        assert EscalationModule().tick(at) == 5
    levels = [
        q for q in queries.captured_queries if 'FROM "escalation_escalationlevel"' in q["sql"]
    ]
    rules = [q for q in queries.captured_queries if 'FROM "accounts_notificationrule"' in q["sql"]]
    assert len(levels) == 1
    assert len(rules) == 1  # the same person five times: her rules read once


def test_settings_are_read_once_inside_a_batch_and_afresh_after_it() -> None:
    PriorityMatrixCell.objects.update_or_create(impact=1, urgency=1, defaults={"priority": 2})
    with batch_memo(), CaptureQueriesContext(connection) as queries:
        assert priority_for(1, 1) == 2
        assert priority_for(1, 1) == 2
    assert len(queries.captured_queries) == 1
    PriorityMatrixCell.objects.filter(impact=1, urgency=1).update(priority=1)
    assert priority_for(1, 1) == 1  # outside a batch: a plain read
    with batch_memo():
        assert priority_for(1, 1) == 1  # a new batch reads again
