"""The demo's incident response (issue 11): war-room link templates on two services, and
a commander and a scribe on the newest open P1/P2 incident, with its chat link. The
holders take their roles themselves, so no notification is queued to the demo's
made-up addresses."""

from __future__ import annotations

from tocsin.accounts.models import User
from tocsin.catalog.models import Service
from tocsin.catalog.services import service_update_war_room
from tocsin.core.actors import Actor
from tocsin.incidents import services
from tocsin.incidents.models import OPEN_STATUSES, Incident, IncidentRole

DEMO_ACTOR = Actor.system("demo")
TEMPLATES = {
    "Customer portal": (
        "https://chat.example.com/incident-{number}",
        "https://meet.example.com/{service}-{number}",
    ),
    "Email": ("https://chat.example.com/incident-{number}", ""),
}


def write_response() -> None:
    for name, (chat, video) in TEMPLATES.items():
        service = Service.objects.filter(name=name).first()
        if service is not None:
            service_update_war_room(
                service=service, chat_url_template=chat, video_url_template=video, actor=DEMO_ACTOR
            )
    incident = (
        Incident.objects.filter(status__in=OPEN_STATUSES, priority__lte=2)
        .order_by("-number")
        .first()
    )
    people = {u.username: u for u in User.objects.filter(username__in=["maya", "sam"])}
    if incident is None or len(people) != 2:
        return
    for key, username in (("commander", "maya"), ("scribe", "sam")):
        person = people[username]
        services.role_assign(
            incident=incident,
            role=IncidentRole.objects.get(key=key),
            user=person,
            actor=Actor.for_user(person),
        )
    services.incident_war_room_set(
        incident=incident,
        actor=Actor.for_user(people["maya"]),
        chat_url=f"https://chat.example.com/incident-{incident.number}",
    )
