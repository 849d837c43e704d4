"""What the comms app hooks into the apps below it at start-up (one function per
feature, each owned by the module that implements it)."""

from __future__ import annotations


def register() -> None:
    from tocsin.comms import update_views
    from tocsin.incidents import hooks as incident_hooks

    incident_hooks.register(incident_hooks.incident_page_sections, update_views.updates_section)
    from tocsin.comms import automation

    automation.register()  # automation webhooks: incident hooks, comms events, the channel
    from tocsin.comms import statuspage_views

    statuspage_views.register()
    from tocsin.comms import subscriptions

    subscriptions.register()
