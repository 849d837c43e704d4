"""Shared set-up for the incident paging tests (API, pages, delivery log, SLA warnings)."""

from __future__ import annotations

from typing import Any

from tocsin.accounts.models import Team, User
from tocsin.accounts.services import contact_method_add
from tocsin.core.actors import Actor
from tocsin.escalation.models import EscalationPolicy
from tocsin.escalation.policies import policy_create
from tocsin.oncall import services as oncall_services
from tocsin.oncall import specs
from tocsin.oncall.models import Schedule

SETUP = Actor.system("test setup")


def reachable(person: User, *kinds: str) -> None:
    """Give `person` contact methods (email by default)."""
    for kind in kinds or ("email",):
        address = {"email": person.email, "sms": "+441632960001"}.get(kind)
        if kind == "webhook":
            address = "https://hooks.example.invalid/secret-path/abc123"
        if kind == "slack":
            address = "https://hooks.slack.com/services/T000/B000/XXXXSECRET"
        contact_method_add(user=person, kind=kind, address=address or "", actor=SETUP)


def two_level_policy(first: User, second: User, name: str = "Payments") -> EscalationPolicy:
    return policy_create(
        actor=SETUP,
        name=name,
        levels=[
            {"delay_minutes": 5, "targets": [{"type": "user", "id": first.username}]},
            {"delay_minutes": 5, "targets": [{"type": "user", "id": second.username}]},
        ],
    )


def always_on_call(person: User, *, name: str = "Primary", team: Team | None = None) -> Schedule:
    """A schedule on which `person` is on call around the clock."""
    layers = specs.parse_layers(
        [
            {
                "name": "All",
                "start": "2020-01-06T00:00",
                "rotation": "daily",
                "users": [person.username],
            }
        ]
    )
    return oncall_services.schedule_create(
        name=name, time_zone="UTC", team=team, layers=layers, actor=SETUP
    )


def json_of(response: Any) -> Any:
    return response.json()
