"""Shared set-up for the major-incident tests: a world with people, a service, a
major-incident policy whose one level pages Ann, and a commander rota with Cid on call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.test import Client

from tests.escalation.paging_helpers import always_on_call, reachable
from tocsin.accounts.models import Role, User
from tocsin.catalog.models import Service
from tocsin.comms import major
from tocsin.core.actors import Actor
from tocsin.escalation.models import EscalationPolicy
from tocsin.escalation.policies import policy_create
from tocsin.incidents.models import Incident, IncidentRole
from tocsin.incidents.services import role_assign
from tocsin.oncall.models import Schedule

SETUP = Actor.system("test setup")


@dataclass
class World:
    admin: User
    agent: User
    ann: User  # on the major-incident policy
    cid: User  # on the commander rota
    reporter: User
    service: Service
    policy: EscalationPolicy
    rota: Schedule
    make_incident: Callable[..., Incident]

    def configure(self, **overrides: Any) -> None:
        values: dict[str, Any] = {
            "policy": self.policy,
            "commander_schedule": self.rota,
            "commander_minutes": 10,
            "checklist": major.default_major_checklist(),
            "p2_services": [],
        }
        values.update(overrides)
        major.major_settings_set(actor=Actor.for_user(self.admin), **values)

    def incident(self, priority: int = 3, **kwargs: Any) -> Incident:
        """An incident filed by the reporter with this priority from the matrix."""
        impact, urgency = {1: (1, 1), 2: (2, 2), 3: (3, 2), 4: (4, 4)}[priority]
        kwargs.setdefault("title", "Card payments failing")
        made = self.make_incident(self.reporter, impact=impact, urgency=urgency, **kwargs)
        made.refresh_from_db()
        assert made.priority == priority
        return made

    def make_commander(self, incident: Incident, person: User | None = None) -> None:
        role_assign(
            incident=incident,
            role=IncidentRole.objects.get(key="commander"),
            user=person or self.agent,
            actor=Actor.for_user(self.agent),
        )


def make_world(make_user: Callable[..., User], make_incident: Callable[..., Incident]) -> World:
    ann = make_user(Role.RESPONDER, username="ann", name="Ann Archer")
    cid = make_user(Role.RESPONDER, username="cid", name="Cid Commander")
    reachable(ann, "email")
    reachable(cid, "email")
    policy = policy_create(
        actor=SETUP,
        name="Major incident bridge",
        levels=[{"delay_minutes": 5, "targets": [{"type": "user", "id": "ann"}]}],
    )
    return World(
        admin=make_user(Role.ADMIN, username="ada", name="Ada Admin"),
        agent=make_user(Role.AGENT, username="alice", name="Alice Agent"),
        ann=ann,
        cid=cid,
        reporter=make_user(Role.REPORTER, username="rita", name="Rita Reporter"),
        service=Service.objects.create(name="Payments API"),
        policy=policy,
        rota=always_on_call(cid, name="Incident commanders"),
        make_incident=make_incident,
    )


def signed_in(user: User, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client
