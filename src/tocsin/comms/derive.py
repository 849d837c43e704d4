"""status-derive: components with the `derived` rule follow the open incidents of their
services, and public maintenances follow the clock (engine module).

Cheap when nothing changed: each tick reads one fingerprint of the open incidents (how
many, their latest `updated_at`, the sum of their priorities and services) and of the
published maintenances in progress, and compares it with `StatusPage.derive_key`, the
fingerprint the last recomputation used; services that change a component's rule or
services empty the key. Only when it differs are the derived components recomputed.

A component's status is written with a compare-and-set on its old status, and a history
row only when that succeeds, so two workers computing at once write each change once.

The rule: while a published maintenance that names the component is in progress (or
verifying), `under_maintenance`; otherwise the worst status its map gives the priorities
of its services' open incidents (defaults P1 major outage, P2 partial outage, P3
degraded performance, P4 operational); no open incident: operational.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict

from django.db import transaction
from django.db.models import Count, Max, Sum

from tocsin.comms.models import (
    Component,
    ComponentRule,
    ComponentStatus,
    MaintenanceStatus,
    PublicMaintenance,
    StatusPage,
)
from tocsin.comms.services import status_changed, status_page
from tocsin.comms.statuspage import (
    DEFAULT_DERIVE_MAP,
    SEVERITY,
    component_status_write,
    maintenances_follow_clock,
)
from tocsin.incidents.models import OPEN_STATUSES, Incident

ACTIVE_MAINTENANCE = (MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING)


def fingerprint() -> str:
    agg = Incident.objects.filter(status__in=OPEN_STATUSES).aggregate(
        n=Count("pk"), last=Max("updated_at"), p=Sum("priority"), s=Sum("service_id")
    )
    maintenances = list(
        PublicMaintenance.objects.filter(published_at__isnull=False, status__in=ACTIVE_MAINTENANCE)
        .order_by("pk")
        .values_list("pk", "updated_at")
    )
    raw = f"{agg['n']}|{agg['last']}|{agg['p']}|{agg['s']}|{maintenances}"
    return hashlib.sha256(raw.encode()).hexdigest()


def desired_statuses() -> dict[int, str]:
    """What each derived, unarchived component should show now."""
    components = list(
        Component.objects.filter(
            rule=ComponentRule.DERIVED, archived_at__isnull=True
        ).prefetch_related("services")
    )
    if not components:
        return {}
    service_ids = {s.pk for c in components for s in c.services.all()}
    priorities: dict[int, set[int]] = defaultdict(set)
    for service_id, priority in Incident.objects.filter(
        status__in=OPEN_STATUSES, service_id__in=service_ids
    ).values_list("service_id", "priority"):
        priorities[service_id].add(priority)
    in_maintenance = set(
        PublicMaintenance.components.through.objects.filter(
            publicmaintenance__published_at__isnull=False,
            publicmaintenance__status__in=ACTIVE_MAINTENANCE,
        ).values_list("component_id", flat=True)
    )
    result: dict[int, str] = {}
    for component in components:
        if component.pk in in_maintenance:
            result[component.pk] = ComponentStatus.MAINTENANCE
            continue
        mapping = {**DEFAULT_DERIVE_MAP, **(component.derive_map or {})}
        worst = 0
        for service in component.services.all():
            for priority in priorities.get(service.pk, ()):
                status = mapping.get(str(priority), ComponentStatus.OPERATIONAL)
                if status in SEVERITY:
                    worst = max(worst, SEVERITY.index(status))
        result[component.pk] = SEVERITY[worst]
    return result


def recompute(at: dt.datetime) -> int:
    """Write the derived components whose status differs; how many changed."""
    changed = 0
    with transaction.atomic():
        desired = desired_statuses()
        components = Component.objects.in_bulk(list(desired))
        for pk, status in desired.items():
            component = components[pk]
            reason = (
                "maintenance in progress"
                if status == ComponentStatus.MAINTENANCE
                else "derived from open incidents"
            )
            if component_status_write(
                component=component, status=status, by=None, reason=reason, at=at
            ):
                changed += 1
        if changed:
            status_changed()
    return changed


class StatusDeriveModule:
    name = "status_derive"

    def tick(self, now: dt.datetime) -> int:
        moved = maintenances_follow_clock(now)
        key = fingerprint()
        page = status_page()
        if page.derive_key == key:
            return moved
        changed = recompute(now)
        StatusPage.objects.filter(pk=1).update(derive_key=key)
        return moved + changed
