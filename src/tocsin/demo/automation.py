"""The demo's automation webhooks (docs/automation-webhooks.md): a global one to a ticket
system and one service's to a chat tool, both disabled (their example.com addresses go
nowhere; an administrator points them at real tools and enables them)."""

from __future__ import annotations

from tocsin.catalog.models import Service
from tocsin.comms.automation import automation_webhook_create
from tocsin.core.actors import Actor

ACTOR = Actor.system("demo")


def write_webhooks() -> None:
    automation_webhook_create(
        actor=ACTOR,
        name="Ticket system (example)",
        service=None,
        url="https://tickets.example.com/hooks/tocsin",
        events=["created", "priority_changed", "resolved", "closed"],
        active=False,
    )
    service = Service.objects.filter(team__manager__isnull=False).order_by("pk").first()
    if service is not None:
        automation_webhook_create(
            actor=ACTOR,
            name=f"{service.name} chat channel (example)",
            service=service,
            url="https://chat.example.com/hooks/incident-channel",
            events=["created", "major_declared", "role_assigned", "update_posted"],
            active=False,
        )
