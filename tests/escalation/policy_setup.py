"""Shared set-up for the escalation policy tests (API, pages, service field): people of
every role, two teams with their managers, a schedule with someone on call and one with
nobody, at a fixed instant."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tocsin.accounts.models import Role, Team, User
from tocsin.accounts.services import contact_method_add
from tocsin.core.actors import Actor
from tocsin.escalation.models import EscalationPolicy
from tocsin.escalation.policies import policy_create
from tocsin.oncall import services as oncall_services
from tocsin.oncall import specs
from tocsin.oncall.models import Schedule

SETUP = Actor.system("test setup")
# Wednesday 4 March 2026, 12:00 UTC
NOW = dt.datetime(2026, 3, 4, 12, 0, tzinfo=dt.UTC)


@dataclass
class World:
    people: dict[str, User]
    platform: Team  # managed by maya
    other: Team  # managed by max
    primary: Schedule  # Ann on call around the clock
    empty: Schedule  # no layers: nobody on call
    extra: dict[str, Any] = field(default_factory=dict)

    def policy(self, name: str = "Platform paging", team: Team | None = None) -> EscalationPolicy:
        return policy_create(
            actor=SETUP,
            name=name,
            repeat=1,
            team=team if team is not None else self.platform,
            levels=[
                {"delay_minutes": 5, "targets": [{"type": "schedule", "id": self.primary.pk}]},
                {
                    "delay_minutes": 10,
                    "mode": "round_robin",
                    "targets": [
                        {"type": "user", "id": "bob"},
                        {"type": "team", "id": self.platform.pk},
                    ],
                },
            ],
        )


def make_world(make_user: Callable[..., User]) -> World:
    people = {
        "admin": make_user(Role.ADMIN, username="ada", name="Ada Admin"),
        "manager": make_user(Role.MANAGER, username="maya", name="Maya Manager"),
        "other_manager": make_user(Role.MANAGER, username="max", name="Max Other"),
        "ann": make_user(Role.RESPONDER, username="ann", name="Ann Archer"),
        "bob": make_user(Role.RESPONDER, username="bob", name="Bob <b>Bold</b>"),
        "agent": make_user(Role.AGENT, username="cid", name="Cid Agent"),
        "reporter": make_user(Role.REPORTER, username="rita", name="Rita Reporter"),
    }
    contact_method_add(user=people["ann"], kind="email", address="ann@example.com", actor=SETUP)
    platform = Team.objects.create(name="Platform", manager=people["manager"])
    other = Team.objects.create(name="Other", manager=people["other_manager"])
    layers = specs.parse_layers(
        [{"name": "Weekly", "start": "2026-03-02T09:00", "rotation": "weekly", "users": ["ann"]}]
    )
    primary = oncall_services.schedule_create(
        name="Platform primary",
        time_zone="Europe/Berlin",
        team=platform,
        layers=layers,
        actor=SETUP,
    )
    empty = oncall_services.schedule_create(
        name="Empty <i>rota</i>", time_zone="UTC", team=other, layers=[], actor=SETUP
    )
    return World(people, platform, other, primary, empty)
