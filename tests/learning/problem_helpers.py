"""Shared data for the problem tests: a service, categories and a reporter's incidents."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tocsin.accounts.models import User
from tocsin.catalog.models import Category, Service
from tocsin.core.actors import Actor
from tocsin.incidents.models import EntryKind, Incident, TimelineEntry


@dataclass
class World:
    reporter: User
    agent: User
    make_incident: Callable[..., Incident]
    vpn: Service
    mail: Service
    network: Category
    hardware: Category

    def incident(self, title: str = "VPN drops every hour", **kwargs: Any) -> Incident:
        kwargs.setdefault("description", "Remote staff lose the tunnel to the office")
        staff = kwargs.pop("staff", False)
        if staff:
            kwargs.setdefault("service", self.vpn)
            kwargs.setdefault("category", self.network)
        from tocsin.incidents.services import incident_create

        if staff:
            return incident_create(
                actor=Actor.for_user(self.agent), reporter=self.reporter, title=title, **kwargs
            )
        return self.make_incident(self.reporter, title=title, **kwargs)


def make_world(make_user: Callable[..., User], make_incident: Callable[..., Incident]) -> World:
    from tocsin.accounts.models import Role

    return World(
        reporter=make_user(Role.REPORTER, username="rita"),
        agent=make_user(Role.AGENT, username="alice"),
        make_incident=make_incident,
        vpn=Service.objects.create(name="VPN"),
        mail=Service.objects.create(name="Mail"),
        network=Category.objects.create(name="Network"),
        hardware=Category.objects.create(name="Hardware"),
    )


def problem_entries(incident: Incident) -> list[str]:
    return list(
        TimelineEntry.objects.filter(incident=incident, kind=EntryKind.PROBLEM)
        .order_by("pk")
        .values_list("text", flat=True)
    )
