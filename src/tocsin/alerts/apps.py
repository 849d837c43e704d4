from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig

if TYPE_CHECKING:
    from tocsin.accounts.models import User
    from tocsin.incidents.hooks import PageSection
    from tocsin.incidents.models import Incident


def incident_alerts_section(user: User | None, incident: Incident) -> PageSection | None:
    """The incident page's "Alerts" table: the incident's alerts, for those who may see
    alerts, and only when there are any."""
    from tocsin.alerts.queries import alerts_for_incident
    from tocsin.incidents.hooks import PageSection

    alerts = alerts_for_incident(user, incident)
    if not alerts:
        return None
    return PageSection("alerts/_incident_alerts.html", {"incident_alerts": alerts})


class AlertsConfig(AppConfig):
    name = "tocsin.alerts"
    label = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        # Incidents do not import alerts; alerts tell incidents what to run, inside the
        # incident's own transaction, when one is resolved or merged.
        from tocsin.alerts.services import alerts_follow_merge, alerts_resolve_for_incident
        from tocsin.incidents import hooks

        hooks.register(hooks.on_resolved, alerts_resolve_for_incident)
        hooks.register(hooks.on_merged, alerts_follow_merge)
        hooks.register(hooks.incident_page_sections, incident_alerts_section)
