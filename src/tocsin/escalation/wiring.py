"""Registers the escalation app's hooks in the apps below it (called from `ready()`)."""

from __future__ import annotations


def register() -> None:
    from tocsin.escalation import services, sla  # noqa: F401 - sla holds the SlaNotice model
    from tocsin.escalation.incident_views import paging_section
    from tocsin.incidents import hooks as incident_hooks
    from tocsin.notify import hooks as notify_hooks

    incident_hooks.register(incident_hooks.on_created, services.climbs_on_created)
    incident_hooks.register(incident_hooks.on_transition, services.climbs_on_transition)
    notify_hooks.register(services.page_delivery_outcome)
    incident_hooks.register(incident_hooks.incident_page_sections, paging_section)
