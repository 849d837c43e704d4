"""Hand-built incident histories for the metrics tests: every write goes through the real
services at a chosen moment (`tocsin.core.clock.travel`), so the record is the one a
desk would leave; the answers are worked out by hand in each test."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tocsin.accounts.models import Role, Team, User
from tocsin.catalog.models import Service
from tocsin.core.actors import Actor
from tocsin.core.clock import travel
from tocsin.incidents import services
from tocsin.incidents.models import Incident, ResolutionCode

# A Monday, 10:00 UTC. Metrics tests look at the day from here: [T0, T0 + 1 day).
T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def m(minutes: float) -> dt.datetime:
    """T0 + `minutes`."""
    return T0 + dt.timedelta(minutes=minutes)


def file(by: User, at: dt.datetime, **fields: Any) -> Incident:
    with travel(at):
        return services.incident_create(
            actor=Actor.for_user(by), reporter=by, title="Mail is slow", **fields
        )


def act(by: User, incident: Incident, at: dt.datetime, action: str, **kw: Any) -> Incident:
    with travel(at):
        if action == "resolve":
            kw.setdefault("resolution_code", ResolutionCode.FIXED)
            kw.setdefault("resolution_notes", "Restarted the queue")
        return services.incident_act(
            incident=incident, actor=Actor.for_user(by), action=action, **kw
        )


def mitigate(by: User, incident: Incident, at: dt.datetime) -> Incident:
    with travel(at):
        return services.incident_mitigate(incident=incident, actor=Actor.for_user(by))


def escalate(by: User, incident: Incident, at: dt.datetime, level: int = 2) -> Incident:
    with travel(at):
        return services.incident_escalate(
            incident=incident, actor=Actor.for_user(by), support_level=level, note="Needs L2"
        )


def merge(by: User, incident: Incident, into: Incident, at: dt.datetime) -> Incident:
    with travel(at):
        return services.incident_merge(incident=incident, into=into, actor=Actor.for_user(by))


@dataclass
class Cast:
    """The people, teams and services the hand-built histories share: Agnes (agent) files
    and acts; Maya (manager) manages team Beta; services Mail and Web."""

    agent: User
    boss: User
    alpha: Team
    beta: Team
    mail: Service
    web: Service


def cast(make_user: Callable[..., User]) -> Cast:
    agent = make_user(Role.AGENT, username="agnes")
    boss = make_user(Role.MANAGER, username="maya")
    return Cast(
        agent=agent,
        boss=boss,
        alpha=Team.objects.create(name="Alpha"),
        beta=Team.objects.create(name="Beta", manager=boss),
        mail=Service.objects.create(name="Mail"),
        web=Service.objects.create(name="Web"),
    )
