from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.apps import AppConfig
from django.db.models.signals import post_migrate

if TYPE_CHECKING:
    from tocsin.catalog.hooks import HealthSignal
    from tocsin.catalog.models import Service


def service_health_incidents(services: Sequence[Service]) -> dict[int, list[HealthSignal]]:
    """The list of services' health: each service's open incidents (as its service or an
    affected one), P1 critical, P2 major, P3–P4 minor."""
    from django.db.models import Count, F

    from tocsin.incidents.models import OPEN_STATUSES, Incident

    ids = [s.pk for s in services]
    open_ = Incident.objects.filter(status__in=OPEN_STATUSES)
    counts: dict[tuple[int, int], int] = {}
    by_service = open_.filter(service_id__in=ids).values_list("service_id", "priority")
    # an affected service counts an incident once, even when it is also its service
    by_affected = (
        open_.filter(affected_services__id__in=ids)
        .exclude(service_id=F("affected_services__id"))
        .values_list("affected_services__id", "priority")
    )
    for rows in (by_service, by_affected):
        for service_id, priority, n in rows.annotate(n=Count("id", distinct=True)).order_by():
            counts[(service_id, priority)] = counts.get((service_id, priority), 0) + n
    result: dict[int, list[HealthSignal]] = {}
    for (service_id, priority), n in sorted(counts.items()):
        severity = {1: 0, 2: 1}.get(priority, 2)
        what = f"{n} open P{priority} incident{'s' if n != 1 else ''}"
        result.setdefault(service_id, []).append((severity, what))
    return result


def builtin_roles_present(sender: AppConfig, using: str = "default", **kwargs: object) -> None:
    """After `migrate` and after a test's flush (which empties every table and then sends
    post_migrate, as Django does for content types): commander, communications lead and
    scribe exist (issue 11). Idempotent; does nothing while the table is not there yet."""
    from importlib import import_module

    from django.apps import apps as global_apps
    from django.db import connections

    if sender.label != "incidents":
        return
    state = kwargs.get("apps", global_apps)
    try:
        model = state.get_model("incidents", "IncidentRole")  # type: ignore[attr-defined]
    except LookupError:  # migrated back to before the roles
        return
    if model._meta.db_table not in connections[using].introspection.table_names():
        return
    if model.objects.using(using).filter(builtin=True).exists():
        return
    import_module("tocsin.incidents.migrations.0013_builtin_roles").add(state, None)


class IncidentsConfig(AppConfig):
    name = "tocsin.incidents"
    label = "incidents"
    verbose_name = "Incidents, priorities and SLAs"

    def ready(self) -> None:
        from tocsin.catalog.hooks import add_service_health_source

        add_service_health_source(service_health_incidents)
        post_migrate.connect(builtin_roles_present, dispatch_uid="incidents-builtin-roles")
