"""The fact table's alert-noise columns (alert_count, page_count, no_human_action) follow
the record through `facts.refresh()`: an alert that joins, an alert that joins a storm
(which writes nothing on the incident's timeline), a page, a person's action. And an
upgrade that adds columns has the worker rebuild every fact a batch a turn."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest
import time_machine

from tests.alerts.engine.helpers import drain, make_integration, push, trigger
from tocsin.accounts.models import Role, User
from tocsin.accounts.services import contact_method_add
from tocsin.alerts.models import Alert, AlertStorm
from tocsin.catalog.models import Service
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.escalation import feedback
from tocsin.escalation.engine import EscalationModule
from tocsin.escalation.models import ClimbState, Escalation, Page
from tocsin.escalation.policies import policy_create, service_paging_set
from tocsin.incidents import services
from tocsin.incidents.models import Incident, TimelineEntry
from tocsin.reports import facts
from tocsin.reports.engine import ReportFactsModule
from tocsin.reports.models import FactsWatermark, IncidentFact

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("monitoring")
LATER = dt.timedelta(minutes=3)  # more than facts.OVERLAP


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False) as t:
        yield t


def fact(incident: Incident | int) -> IncidentFact:
    pk = incident if isinstance(incident, int) else incident.pk
    return IncidentFact.objects.get(pk=pk)


def test_an_alert_that_joins_shows_after_refresh(clock: time_machine.Coordinates) -> None:
    service = Service.objects.create(name="Checkout")
    pd = make_integration(service, "pagerduty", "PD")
    push(pd, trigger("k1", group_key="web"))
    drain()
    incident = Alert.objects.get(dedup_key="k1").incident
    assert incident is not None
    facts.refresh()
    assert fact(incident).alert_count == 1
    clock.shift(LATER)  # beyond the refresh's overlap: only what is written now is read
    push(pd, trigger("k2", group_key="web"), trigger("k3", group_key="web"))
    drain()
    assert Alert.objects.filter(incident=incident).count() == 3  # they joined it
    facts.refresh()
    assert fact(incident).alert_count == 3


def test_alerts_that_join_a_storm_show_after_refresh() -> None:
    """A storm's new alerts only count on the storm row: nothing on the incident's
    timeline, nothing on its row. The refresh recounts an open storm's incident anyway."""
    service = Service.objects.create(name="Checkout", storm_threshold=1)
    pd = make_integration(service, "pagerduty", "PD")
    push(pd, trigger("first"))
    push(pd, trigger("second"))
    drain()
    storm = AlertStorm.objects.get()
    # a refresh a while later (beyond its overlap: the storm's opening is not read again
    # next time); the storm goes on (its window is a minute, so the clock stays here)
    facts.refresh(at=now() + LATER)
    assert fact(storm.incident_id).alert_count == 1
    entries = TimelineEntry.objects.filter(incident_id=storm.incident_id).count()
    updated = Incident.objects.get(pk=storm.incident_id).updated_at
    push(pd, trigger("third"), trigger("fourth"))
    drain()
    assert TimelineEntry.objects.filter(incident_id=storm.incident_id).count() == entries
    assert Incident.objects.get(pk=storm.incident_id).updated_at == updated
    facts.refresh(at=now() + 2 * LATER)
    assert fact(storm.incident_id).alert_count == 3


def test_a_page_shows_after_refresh(
    clock: time_machine.Coordinates,
    make_user: Callable[..., User],
    make_incident: Callable[..., Incident],
) -> None:
    first = make_user(Role.RESPONDER, username="first")
    contact_method_add(user=first, kind="email", address=first.email, actor=SYSTEM)
    policy = policy_create(
        actor=SYSTEM,
        name="Payments",
        levels=[{"delay_minutes": 5, "targets": [{"type": "user", "id": "first"}]}],
    )
    service = Service.objects.create(name="Payments API")
    service_paging_set(service=service, actor=SYSTEM, policy=policy)
    incident = make_incident(first, title="Cards failing", service=service, impact=1, urgency=1)
    facts.refresh()
    assert fact(incident).page_count == 0
    climb = Escalation.objects.get(incident=incident)
    clock.move_to(climb.next_at)  # five minutes on: beyond the refresh's overlap
    assert EscalationModule().tick(now()) == 1
    assert Page.objects.filter(incident=incident).count() == 1
    facts.refresh()
    assert fact(incident).page_count == 1


def test_a_persons_action_decides_no_human_action(
    clock: time_machine.Coordinates, make_user: Callable[..., User]
) -> None:
    """Resolved by the system with nobody acting: no human action. A person's note before
    the resolution: an action. An answer to "was this page actionable?": not one. Open:
    not decided (False)."""
    pat = make_user(Role.RESPONDER, username="pat")
    quiet = services.incident_create(actor=SYSTEM, title="flap", source="monitoring")
    noted = services.incident_create(actor=SYSTEM, title="disk", source="monitoring")
    answered = services.incident_create(actor=SYSTEM, title="cpu", source="monitoring")
    facts.refresh()
    assert not fact(quiet).no_human_action  # open: not decided yet
    clock.shift(LATER)
    services.incident_add_note(incident=noted, actor=Actor.for_user(pat), text="looking")
    climb = Escalation.objects.create(incident=answered, state=ClimbState.ACTIVE)
    page = Page.objects.create(
        escalation=climb, incident=answered, person=pat, step=1, level=0, cycle=0
    )
    feedback.page_feedback_give(person=pat, actor=Actor.for_user(pat), actionable=False, page=page)
    facts.refresh()
    clock.shift(LATER)
    for incident in (quiet, noted, answered):
        services.incident_resolve(
            incident=Incident.objects.get(pk=incident.pk),
            actor=SYSTEM,
            resolution_code="fixed",
            resolution_notes="Alerts resolved.",
        )
    facts.refresh()
    assert fact(quiet).no_human_action
    assert not fact(noted).no_human_action
    assert fact(answered).no_human_action


def test_an_upgrade_rebuilds_every_fact_a_batch_a_turn(
    make_user: Callable[..., User], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What migration reports/0003 leaves: facts from before (here: the new columns still
    at their defaults), the watermark emptied and the build to start at the first
    incident. The worker rebuilds them all, a batch a turn, and then refreshes."""
    service = Service.objects.create(name="Checkout")
    pd = make_integration(service, "pagerduty", "PD")
    for n in range(5):
        push(pd, trigger(f"k{n}", group_key=f"g{n}"), trigger(f"k{n}b", group_key=f"g{n}"))
    drain()
    facts.rebuild()
    IncidentFact.objects.update(alert_count=0)  # as the migration's new column leaves it
    FactsWatermark.objects.filter(key="facts").update(refreshed_to=None, build_after=0)
    monkeypatch.setattr(facts, "BATCH", 2)
    module = ReportFactsModule()
    turns = [module.tick(now()) for _ in range(4)]
    assert turns == [1, 1, 1, 0]
    assert facts.refreshed_to() is not None
    counts = dict(IncidentFact.objects.values_list("pk", "alert_count"))
    assert len(counts) == 5 and set(counts.values()) == {2}
