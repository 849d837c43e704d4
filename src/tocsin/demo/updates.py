"""The demo organisation's stakeholder updates: on the most urgent open incident, two
updates (the first one's promise kept), a subscribed team and an outside address, and the
Service Desk subscribed to the most-used service."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count

from tocsin.accounts.models import Team
from tocsin.catalog.models import Service
from tocsin.comms import updates
from tocsin.core.actors import Actor
from tocsin.core.clock import travel
from tocsin.incidents.models import OPEN_STATUSES, Incident
from tocsin.notify.models import OutboxMessage


def write_updates(end: dt.datetime) -> None:
    incident = (
        Incident.objects.filter(status__in=OPEN_STATUSES, assignee__isnull=False)
        .order_by("priority", "-number")
        .first()
    )
    if incident is None:
        return
    author = incident.assignee
    assert author is not None
    actor = Actor.for_user(author)
    desk = Team.objects.filter(name="Service Desk").first()
    busiest = Service.objects.annotate(n=Count("incidents")).order_by("-n", "pk").first()
    with travel(end - dt.timedelta(minutes=40)):
        if desk is not None:
            updates.subscription_add(actor=actor, incident=incident, team=desk)
            if busiest is not None:
                updates.subscription_add(actor=actor, service=busiest, team=desk)
        updates.subscription_add(actor=actor, incident=incident, email="it-updates@example.com")
        first = updates.update_templates().filter(status="investigating").first()
        if first is not None:
            updates.update_post(
                incident=incident,
                actor=actor,
                status=first.status,
                body=updates.template_prefill(first, incident, 30),
                next_update_minutes=30,
                template=first,
            )
    with travel(end - dt.timedelta(minutes=12)):
        updates.update_post(
            incident=incident,
            actor=actor,
            status="identified",
            body=f"We have found the cause of the problem affecting {{public_service}} "
            f"({incident.ref}) "
            "and are working on a fix. Next update by {next_update}.",
            next_update_minutes=30,
        )
    # the demo's addresses are not real: the updates' mail is not sent
    OutboxMessage.objects.filter(purpose=updates.PURPOSE).delete()
