"""What the comms app hooks into the apps below it at start-up (one function per
feature, each owned by the module that implements it)."""

from __future__ import annotations


def register() -> None:
    from tocsin.comms import (
        automation,
        major_views,
        mitigation,
        statuspage_views,
        subscriptions,
        update_views,
    )
    from tocsin.incidents import hooks as incident_hooks

    # first, so that its webhooks hear of a change (a priority raised to P1) before what
    # the change causes (the major incident declared by that raise)
    automation.register()  # automation webhooks: incident hooks, comms events, the channel
    # the incident page's sections, in this order: major incident, stakeholder updates
    major_views.register()
    incident_hooks.register(incident_hooks.incident_page_sections, update_views.updates_section)
    statuspage_views.register()  # the incident page's status-page section, the services button
    subscriptions.register()  # status-page subscribers hear of each public update
    mitigation.register()  # an update saying "monitoring" marks the incident mitigated
