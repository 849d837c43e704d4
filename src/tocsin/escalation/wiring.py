"""Registers the escalation app's hooks in the apps below it (called from `ready()`)."""

from __future__ import annotations


def register() -> None:
    from tocsin.core.memo import register_service_primer
    from tocsin.escalation import services, views
    from tocsin.escalation.incident_views import paging_section
    from tocsin.incidents import hooks as incident_hooks
    from tocsin.notify import hooks as notify_hooks

    incident_hooks.register(incident_hooks.on_created, services.climbs_on_created)
    incident_hooks.register(incident_hooks.on_transition, services.climbs_on_transition)
    notify_hooks.register(services.page_delivery_outcome)
    register_service_primer(services.prime_service_paging)  # an ingest turn's services at once
    views.register_catalog()  # the service page's paging part, the service API's fields
    incident_hooks.register(incident_hooks.incident_page_sections, paging_section)
    # issue 11: functional escalation pages the receiving team; "notify management"
    from tocsin.escalation import functional
    from tocsin.escalation.hierarchy_views import management_section

    incident_hooks.register(incident_hooks.on_escalated, functional.page_receiving_team)
    incident_hooks.register(incident_hooks.incident_page_sections, management_section)
    from tocsin.escalation.responder_views import responders_section

    incident_hooks.register(incident_hooks.incident_page_sections, responders_section)
    from tocsin.escalation import role_notify  # issue 11: role holders are told

    incident_hooks.register(incident_hooks.on_role_assigned, role_notify.notify_role_holder)
    from tocsin.escalation.feedback_views import feedback_section  # issue 13: page feedback

    incident_hooks.register(incident_hooks.incident_page_sections, feedback_section)
