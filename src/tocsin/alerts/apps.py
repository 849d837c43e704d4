from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tocsin.accounts.models import User
    from tocsin.catalog.hooks import HealthSignal
    from tocsin.catalog.models import Service
    from tocsin.incidents.hooks import PageSection
    from tocsin.incidents.models import Incident


def incident_alerts_section(user: User | None, incident: Incident) -> PageSection | None:
    """The incident page's "Alerts" summary: each alert's name, status, severity and key
    labels, linked to its page; for those who may see alerts, and only when there are
    any."""
    from tocsin.alerts.display import key_labels
    from tocsin.alerts.models import AlertStatus
    from tocsin.alerts.selectors import alerts_for_incident
    from tocsin.incidents.hooks import PageSection

    alerts = alerts_for_incident(user, incident)
    if not alerts:
        return None
    for alert in alerts:
        alert.key_labels = key_labels(alert)  # type: ignore[attr-defined]
    still_open = sum(1 for alert in alerts if alert.status != AlertStatus.RESOLVED)
    return PageSection(
        "alerts/_incident_alerts.html",
        {"incident_alerts": alerts, "incident_alerts_open": still_open},
    )


def service_health_alerts(services: Sequence[Service]) -> dict[int, list[HealthSignal]]:
    """The list of services' health: open alerts that are not suppressed, by severity
    (critical → critical, error → major, warning → minor; info does not count)."""
    from django.db.models import Count

    from tocsin.alerts.models import Alert
    from tocsin.alerts.selectors import ALERT_OPEN_STATUSES

    rows = (
        Alert.objects.filter(
            status__in=ALERT_OPEN_STATUSES,
            service_id__in=[s.pk for s in services],
            suppressed_reason="",
        )
        .exclude(severity="info")
        .values_list("service_id", "severity")
        .annotate(n=Count("id"))
        .order_by()
    )
    rank = {"critical": 0, "error": 1, "warning": 2}
    result: dict[int, list[HealthSignal]] = {}
    for service_id, severity, n in rows:
        what = f"{n} {severity} alert{'s' if n != 1 else ''}"
        result.setdefault(service_id, []).append((rank[severity], what))
    return result


class AlertsConfig(AppConfig):
    name = "tocsin.alerts"
    label = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        _register_incident_hooks()
        _register_catalog_hooks()


def _register_incident_hooks() -> None:
    """Incidents do not import alerts; alerts tell incidents what to run, inside the
    incident's own transaction, when one is resolved or merged, and add their table to
    the incident page."""
    from tocsin.alerts.services import alerts_follow_merge, alerts_resolve_for_incident
    from tocsin.incidents import hooks

    hooks.register(hooks.on_resolved, alerts_resolve_for_incident)
    hooks.register(hooks.on_merged, alerts_follow_merge)
    hooks.register(hooks.incident_page_sections, incident_alerts_section)


def _register_catalog_hooks() -> None:
    """What the alerts app adds to the catalog (which cannot import it): heartbeats kept
    in step with their integrations, and its parts of the service pages."""
    from tocsin.alerts.heartbeats import heartbeat_sync
    from tocsin.alerts.views import service_list_alerts, service_page_alerts
    from tocsin.catalog.hooks import (
        ServiceListPart,
        ServicePagePart,
        add_service_health_source,
        add_service_list_part,
        add_service_page_part,
        on_integration_changed,
    )

    on_integration_changed(heartbeat_sync)
    for page_part in (
        ServicePagePart("actions", "alerts/_service_actions.html"),
        ServicePagePart("main_top", "alerts/_service_open_alerts.html", service_page_alerts),
        ServicePagePart("main_bottom", "alerts/_service_changes.html"),
        ServicePagePart("side_bottom", "alerts/_service_spans.html"),
    ):
        add_service_page_part(page_part)
    for list_part in (
        ServiceListPart("actions", "alerts/_services_actions.html"),
        ServiceListPart("head", "alerts/_services_head.html", service_list_alerts),
        ServiceListPart("cells", "alerts/_services_cells.html"),
    ):
        add_service_list_part(list_part)
    add_service_health_source(service_health_alerts)
