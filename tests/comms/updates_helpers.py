"""Shared set-up for the stakeholder-update tests (issue 11, point 6)."""

from __future__ import annotations

from email.message import Message
from importlib import import_module
from pathlib import Path
from typing import Any

from django.test import Client

from tocsin.accounts.models import Role, User
from tocsin.accounts.services import contact_method_add, user_create
from tocsin.catalog.models import Service
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.incidents.models import Incident
from tocsin.incidents.services import incident_add_note, incident_create
from tocsin.notify.engine import OutboxModule

SETUP = Actor.system("test setup")
SECRET_NOTE = "INTERNAL-ONLY: root password is hunter2 on db-7"
SECRET_DESCRIPTION = "Private detail: customer Acme's card data path"


def seeded() -> None:
    """The rows the migrations seed (update templates, built-in incident roles): a
    live-server or transactional test earlier in the run flushed every table."""
    from django.apps import apps

    folder = Path(import_module("tocsin.comms.migrations").__file__ or "").parent
    [name] = [p.stem for p in folder.glob("*_updates_subscribers.py")]  # renumbered on merge
    import_module(f"tocsin.comms.migrations.{name}").seed_templates(apps, None)
    [name] = [p.stem for p in folder.glob("*_public_service_in_templates.py")]
    import_module(f"tocsin.comms.migrations.{name}").forward(apps, None)
    import_module("tocsin.incidents.migrations.0013_builtin_roles").add(apps, None)  # type: ignore[arg-type]


def person(username: str, role: str = Role.RESPONDER, **kwargs: Any) -> User:
    return user_create(
        username=username,
        email=kwargs.pop("email", f"{username}@example.com"),
        name=kwargs.pop("name", username.title()),
        role=role,
        password="correct horse battery",
        actor=SETUP,
        **kwargs,
    )


def reachable(user: User, *kinds: str) -> None:
    for kind in kinds or ("email",):
        address = {"email": user.email, "sms": "+441632960001"}.get(kind, "")
        contact_method_add(user=user, kind=kind, address=address, actor=SETUP)


def incident_with_secrets(reporter: User, service: Service | None = None) -> Incident:
    incident = incident_create(
        actor=Actor.for_user(reporter),
        reporter=reporter,
        title="Checkout failing",
        description=SECRET_DESCRIPTION,
        impact=2,
        urgency=2,
        service=service,
    )
    incident_add_note(incident=incident, actor=SETUP, text=SECRET_NOTE, visibility="internal")
    return incident


def signed_in(user: User, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def deliver() -> int:
    """Run the outbox module until nothing is left to send now."""
    total = 0
    module = OutboxModule()
    while done := module.tick(now()):
        total += done
    return total


def text_of(mail: Message) -> str:
    parts = [str(value) for value in mail.values()]
    for part in mail.walk():
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            parts.append(payload.decode("utf-8", "replace"))
    return "\n".join(parts)
