"""Status-page data for the public side's tests, made with the ORM and `status_changed()`
as the staff services (spstaff) do."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from tocsin.comms.models import (
    Component,
    ComponentGroup,
    ComponentStatus,
    ComponentStatusChange,
    MaintenanceStatus,
    PublicIncident,
    PublicMaintenance,
    PublicUpdate,
)
from tocsin.comms.public import forget
from tocsin.comms.services import status_changed
from tocsin.core.clock import now


@dataclass
class Page:
    api: Component
    web: Component
    mail: Component
    incident: PublicIncident
    resolved: PublicIncident
    draft: PublicIncident
    upcoming: PublicMaintenance
    active: PublicMaintenance
    updates: list[PublicUpdate] = field(default_factory=list)


def component(name: str, group: ComponentGroup | None, status: str, position: int = 0) -> Component:
    at = now()
    c = Component.objects.create(
        name=name,
        group=group,
        status=status,
        position=position,
        created_at=at - dt.timedelta(days=120),
    )
    ComponentStatusChange.objects.create(
        component=c, status=ComponentStatus.OPERATIONAL, at=at - dt.timedelta(days=120)
    )
    if status != ComponentStatus.OPERATIONAL:
        ComponentStatusChange.objects.create(
            component=c, status=status, at=at - dt.timedelta(hours=2)
        )
    return c


def build() -> Page:
    at = now()
    core = ComponentGroup.objects.create(name="Core", position=1)
    api = component("Public API", core, ComponentStatus.PARTIAL, 1)
    web = component("Website", core, ComponentStatus.OPERATIONAL, 2)
    mail = component("Email delivery", None, ComponentStatus.OPERATIONAL, 3)
    # a bad day three days ago for the website: 6 hours of major outage
    ComponentStatusChange.objects.create(
        component=web, status=ComponentStatus.MAJOR, at=at - dt.timedelta(days=3, hours=8)
    )
    ComponentStatusChange.objects.create(
        component=web, status=ComponentStatus.OPERATIONAL, at=at - dt.timedelta(days=3, hours=2)
    )
    incident = PublicIncident.objects.create(
        title="Elevated API error rates",
        status="identified",
        impact="major",
        published_at=at - dt.timedelta(hours=2),
        created_at=at - dt.timedelta(hours=2),
    )
    incident.components.set([api])
    u1 = PublicUpdate.objects.create(
        public_incident=incident,
        status="investigating",
        body="We are looking into errors on the API.",
        created_at=at - dt.timedelta(hours=2),
        affected_components=[
            {
                "code": str(api.pk),
                "name": api.name,
                "old_status": "operational",
                "new_status": "partial_outage",
            }
        ],
    )
    u2 = PublicUpdate.objects.create(
        public_incident=incident,
        status="identified",
        body="We found the cause & are fixing it <soon>.",
        created_at=at - dt.timedelta(hours=1),
    )
    resolved = PublicIncident.objects.create(
        title="Slow website",
        status="resolved",
        impact="minor",
        published_at=at - dt.timedelta(days=3, hours=8),
        created_at=at - dt.timedelta(days=3, hours=8),
        resolved_at=at - dt.timedelta(days=3, hours=2),
    )
    resolved.components.set([web])
    u3 = PublicUpdate.objects.create(
        public_incident=resolved,
        status="resolved",
        body="The website is fast again.",
        created_at=at - dt.timedelta(days=3, hours=2),
    )
    draft = PublicIncident.objects.create(title="Draft: not yet public", status="investigating")
    PublicUpdate.objects.create(public_incident=draft, status="investigating", body="draft body")
    upcoming = PublicMaintenance.objects.create(
        title="Database upgrade",
        body="The API is read-only during the upgrade.",
        scheduled_for=at + dt.timedelta(days=2),
        scheduled_until=at + dt.timedelta(days=2, hours=2),
        published_at=at - dt.timedelta(hours=5),
    )
    upcoming.components.set([api])
    active = PublicMaintenance.objects.create(
        title="Mail relay move",
        scheduled_for=at - dt.timedelta(minutes=30),
        scheduled_until=at + dt.timedelta(hours=1),
        status=MaintenanceStatus.SCHEDULED,  # the clock makes it "in progress"
        published_at=at - dt.timedelta(days=1),
    )
    active.components.set([mail])
    status_changed()
    forget()
    return Page(api, web, mail, incident, resolved, draft, upcoming, active, [u1, u2, u3])
