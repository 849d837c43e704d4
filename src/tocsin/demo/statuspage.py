"""The demo's status page (issue 11): a few components in two groups, mapped to the
demo's services, and one public incident from three days ago, resolved, linked to an
internal incident of the Customer portal. Written through the status-page services on
a clock set in the past, so the components have a month of history."""

from __future__ import annotations

import datetime as dt

from tocsin.accounts.models import User
from tocsin.catalog.models import Service
from tocsin.comms import statuspage
from tocsin.comms.models import Component
from tocsin.core.actors import Actor
from tocsin.core.clock import travel
from tocsin.incidents.models import Incident

# (group, component, service, rule)
COMPONENTS: list[tuple[str, str, str, str]] = [
    ("Customers", "Customer portal", "Customer portal", "manual"),
    ("Customers", "Sign-in", "Single sign-on", "derived"),
    ("Staff", "VPN", "VPN", "derived"),
    ("Staff", "File storage", "File storage", "manual"),
]


def write_statuspage(end: dt.datetime) -> None:
    if Component.objects.exists():
        return
    admin = Actor.for_user(User.objects.get(username="ada"))
    agent = Actor.for_user(User.objects.get(username="sam"))
    services = {s.name: s for s in Service.objects.all()}
    with travel(end - dt.timedelta(days=30)):
        statuspage.page_configure(
            actor=admin,
            changes={
                "name": "Example Corp status",
                "intro": "The services our customers and staff rely on.",
            },
        )
        groups = {
            name: statuspage.group_create(actor=admin, name=name)
            for name in dict.fromkeys(g for g, *_ in COMPONENTS)
        }
        components = {
            name: statuspage.component_create(
                actor=admin,
                name=name,
                group=groups[group],
                services=[services[service]] if service in services else [],
                rule=rule,
            )
            for group, name, service, rule in COMPONENTS
        }
    portal = components["Customer portal"]
    start = end - dt.timedelta(days=3, hours=2)
    with travel(start):
        pi = statuspage.public_incident_create(
            actor=agent,
            title="Customer portal pages load slowly",
            body="Some customers see slow pages and time-outs on the customer portal. "
            "We are investigating.",
            impact="minor",
            components={portal.pk: "degraded_performance"},
            incidents=list(
                Incident.objects.filter(service__name="Customer portal").order_by("pk")[:1]
            ),
            publish=True,
        )
    with travel(start + dt.timedelta(minutes=25)):
        statuspage.public_incident_post_update(
            actor=agent,
            public_incident=pi,
            status="identified",
            body="We found the cause: a slow database query after this morning's release. "
            "A fix is being rolled out.",
        )
    with travel(start + dt.timedelta(minutes=70)):
        statuspage.public_incident_post_update(
            actor=agent,
            public_incident=pi,
            status="resolved",
            body="The fix is out and the portal is fast again. Sorry for the trouble.",
        )
    with travel(end - dt.timedelta(hours=1)):
        statuspage.maintenance_create(
            actor=agent,
            title="File storage upgrade",
            body="The shared drives will be read-only for up to an hour.",
            components=[components["File storage"]],
            scheduled_for=end + dt.timedelta(days=6),
            scheduled_until=end + dt.timedelta(days=6, hours=1),
        )
