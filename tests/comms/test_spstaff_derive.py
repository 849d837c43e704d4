"""Derived component statuses and public maintenances that follow the clock, driven tick
by tick through the engine module on a controlled clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import time_machine

from tests.conftest import ApiClient
from tocsin.accounts.models import User
from tocsin.alerts.services.windows import maintenance_window_create, maintenance_window_end
from tocsin.catalog.models import Service
from tocsin.catalog.services import service_create
from tocsin.comms import events, statuspage
from tocsin.comms.derive import StatusDeriveModule
from tocsin.comms.models import (
    Component,
    ComponentStatusChange,
    PublicMaintenance,
    PublicUpdate,
)
from tocsin.comms.services import status_page
from tocsin.core.actors import Actor
from tocsin.engine.engine import default_modules, run_tick
from tocsin.incidents.models import Incident
from tocsin.incidents.services import incident_create, incident_resolve, incident_update

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def service(db: None) -> Service:
    return service_create(name="Payments", actor=Actor.system("t"))


@pytest.fixture
def derived(admin: User, service: Service) -> Component:
    return statuspage.component_create(
        actor=Actor.for_user(admin),
        name="Checkout",
        services=[service],
        rule="derived",
        derive_map={"3": "operational"},  # P3 does not show publicly
    )


def history(component: Component) -> list[str]:
    return list(
        ComponentStatusChange.objects.filter(component=component)
        .order_by("at", "pk")
        .values_list("status", flat=True)
    )


def status(component: Component) -> str:
    return Component.objects.get(pk=component.pk).status


def incident(agent: User, service: Service, priority: int) -> Incident:
    return incident_create(
        actor=Actor.for_user(agent),
        title="Payment provider timeouts",
        reporter=agent,
        service=service,
        priority=priority,
        priority_reason="test",
    )


def test_module_is_in_the_engine() -> None:
    # (wrapped in engine.Every: it looks at most once a second while nothing changes)
    assert any(
        isinstance(getattr(m, "module", m), StatusDeriveModule) for m in default_modules("w")
    )


def test_derived_status_follows_open_incidents(
    clock: Any, agent: User, service: Service, derived: Component
) -> None:
    module = StatusDeriveModule()
    module.tick(T0)
    assert status(derived) == "operational"
    assert history(derived) == ["operational"]  # the row written when it was created

    # a P3 maps to operational here: nothing changes
    p3 = incident(agent, service, 3)
    clock.shift(60)
    module.tick(T0)
    assert history(derived) == ["operational"]

    p2 = incident(agent, service, 2)
    rev = status_page().revision
    clock.shift(60)
    assert module.tick(T0) == 1
    assert status(derived) == "partial_outage"
    assert history(derived) == ["operational", "partial_outage"]
    assert status_page().revision == rev + 1
    last = ComponentStatusChange.objects.filter(component=derived).last()
    assert last is not None and last.by is None
    assert "INC" not in last.reason  # the reason names no internal incident

    # nothing changed: nothing written, the revision stays
    for _ in range(3):
        assert module.tick(T0) == 0
    assert history(derived) == ["operational", "partial_outage"]
    assert status_page().revision == rev + 1

    # the priority rises: two workers' modules see it, one row is written
    clock.shift(60)
    incident_update(
        incident=p2, actor=Actor.for_user(agent), changes={"priority": 1}, priority_reason="worse"
    )
    other = StatusDeriveModule()
    module.tick(T0)
    # as if the other worker read the old fingerprint before the first stored the new one
    status_page().__class__.objects.filter(pk=1).update(derive_key="")
    other.tick(T0)
    assert history(derived) == ["operational", "partial_outage", "major_outage"]

    clock.shift(60)
    for inc in (p2, p3):
        incident_resolve(
            incident=Incident.objects.get(pk=inc.pk),
            actor=Actor.for_user(agent),
            resolution_code="fixed",
            resolution_notes="provider back",
        )
    run_tick([module, other])
    assert status(derived) == "operational"
    assert history(derived) == ["operational", "partial_outage", "major_outage", "operational"]


def test_rule_change_recomputes_and_manual_components_stay(
    clock: Any, admin: User, agent: User, service: Service
) -> None:
    manual = statuspage.component_create(
        actor=Actor.for_user(admin), name="Website", services=[service]
    )
    module = StatusDeriveModule()
    incident(agent, service, 1)
    module.tick(T0)
    assert status(manual) == "operational"  # manual: incidents do not move it
    statuspage.component_update(
        actor=Actor.for_user(admin), component=manual, changes={"rule": "derived"}
    )
    module.tick(T0)
    assert status(manual) == "major_outage"


def test_no_work_without_change(
    clock: Any,
    agent: User,
    service: Service,
    derived: Component,
    django_assert_max_num_queries: Any,
) -> None:
    module = StatusDeriveModule()
    module.tick(T0)
    with django_assert_max_num_queries(4):
        assert module.tick(T0) == 0


@pytest.fixture
def heard() -> Iterator[list[dict[str, Any]]]:
    got: list[dict[str, Any]] = []

    def listener(*, event: str, incident: Any, actor: Any, data: dict[str, Any]) -> None:
        got.append({"event": event, **data})

    events.listen(listener)
    yield got
    events._listeners.remove(listener)


def test_maintenance_from_a_window_follows_the_clock(
    clock: Any,
    agent: User,
    admin: User,
    service: Service,
    derived: Component,
    api: Callable[[User], ApiClient],
    heard: list[dict[str, Any]],
) -> None:
    window = maintenance_window_create(
        actor=Actor.for_user(agent),
        services=[service],
        starts_at=T0 + dt.timedelta(hours=1),
        ends_at=T0 + dt.timedelta(hours=3),
        reason="db01 kernel upgrade (internal)",
    )
    as_agent = api(agent)
    rev = status_page().revision
    r = as_agent.post(
        "/api/v1/status/maintenances",
        {"window": window.pk, "title": "Database upgrade", "components": [derived.pk]},
    )
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["status"] == "scheduled"
    assert body["window"] == window.pk
    assert body["scheduled_for"].startswith("2026-03-02T11:00")
    assert body["published"] is True
    assert status_page().revision == rev + 1
    assert [h["event"] for h in heard] == ["public_update"]
    assert heard[0]["maintenance_id"] == body["id"]
    r = as_agent.post(
        "/api/v1/status/maintenances", {"window": window.pk, "title": "Again", "components": []}
    )
    assert r.status_code == 409

    module = StatusDeriveModule()
    module.tick(T0)
    assert status(derived) == "operational"
    clock.move_to(T0 + dt.timedelta(hours=1, minutes=5))
    now = T0 + dt.timedelta(hours=1, minutes=5)
    module.tick(now)
    m = PublicMaintenance.objects.get(pk=body["id"])
    assert m.status == "in_progress"
    assert status(derived) == "under_maintenance"
    assert PublicUpdate.objects.filter(maintenance=m).count() == 2
    assert len(heard) == 2
    module.tick(now)
    StatusDeriveModule().tick(now)
    assert PublicUpdate.objects.filter(maintenance=m).count() == 2

    # the window ends early: the maintenance follows it and completes
    clock.move_to(T0 + dt.timedelta(hours=2))
    maintenance_window_end(actor=Actor.for_user(agent), window=window)
    module.tick(T0 + dt.timedelta(hours=2))
    m.refresh_from_db()
    assert m.status == "completed"
    assert m.scheduled_until == T0 + dt.timedelta(hours=2)
    assert status(derived) == "operational"
    assert history(derived)[-2:] == ["under_maintenance", "operational"]
    r = as_agent.post(f"/api/v1/status/maintenances/{m.pk}/updates", {"body": "more"})
    assert r.status_code == 409


def test_maintenance_status_set_by_hand_stops_following_the_clock(
    clock: Any, agent: User, api: Callable[[User], ApiClient]
) -> None:
    as_agent = api(agent)
    r = as_agent.post(
        "/api/v1/status/maintenances",
        {
            "title": "Network work",
            "scheduled_for": (T0 - dt.timedelta(hours=1)).isoformat(),
            "scheduled_until": (T0 + dt.timedelta(minutes=30)).isoformat(),
        },
    )
    assert r.status_code == 201, r.json()
    m_id = r.json()["id"]
    assert r.json()["status"] == "in_progress"
    r = as_agent.post(
        f"/api/v1/status/maintenances/{m_id}/updates",
        {"body": "Checking everything works.", "status": "verifying"},
    )
    assert r.status_code == 201
    assert r.json()["status_set_by_hand"] is True
    later = T0 + dt.timedelta(hours=2)
    clock.move_to(later)
    StatusDeriveModule().tick(later)
    assert PublicMaintenance.objects.get(pk=m_id).status == "verifying"
    r = as_agent.post(
        f"/api/v1/status/maintenances/{m_id}/updates", {"body": "x", "status": "paused"}
    )
    assert r.status_code == 422
    r = as_agent.post(
        "/api/v1/status/maintenances",
        {
            "title": "Backwards",
            "scheduled_for": later.isoformat(),
            "scheduled_until": T0.isoformat(),
        },
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "scheduled_until"]


def test_hand_set_components_follow_their_maintenance(
    clock: Any, admin: User, agent: User, heard: list[dict[str, Any]]
) -> None:
    actor = Actor.for_user(admin)
    db = statuspage.component_create(actor=actor, name="Database")
    degraded = statuspage.component_create(actor=actor, name="Search")
    m = statuspage.maintenance_create(
        actor=Actor.for_user(agent),
        title="Database upgrade",
        components=[db, degraded],
        scheduled_for=T0 + dt.timedelta(minutes=30),
        scheduled_until=T0 + dt.timedelta(hours=1),
    )
    assert status(db) == "operational"
    module = StatusDeriveModule()
    start = T0 + dt.timedelta(minutes=31)
    clock.move_to(start)
    module.tick(start)
    assert status(db) == status(degraded) == "under_maintenance"
    update = PublicUpdate.objects.filter(maintenance=m).order_by("-pk").first()
    assert update is not None and update.status == "in_progress"
    assert {a["name"] for a in update.affected_components} == {"Database", "Search"}
    # someone sets Search by hand meanwhile: completing leaves it as they set it
    statuspage.component_set_status(
        actor=Actor.for_user(agent),
        component=Component.objects.get(pk=degraded.pk),
        status="degraded_performance",
        reason="slow after upgrade",
    )
    end = T0 + dt.timedelta(hours=1, minutes=1)
    clock.move_to(end)
    module.tick(end)
    assert status(db) == "operational"
    assert status(degraded) == "degraded_performance"
    assert history(db) == ["operational", "under_maintenance", "operational"]
