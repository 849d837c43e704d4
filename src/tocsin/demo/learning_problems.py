"""The demo organisation's problems: a known error behind several past incidents of one
category on one service, whose workaround the triage of an open incident of that service
and category offers (not linked yet, so "Link to PRB-n" is there to click), and an open
problem still under investigation, linking two incidents of another pair."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q

from tocsin.accounts.models import Role, User
from tocsin.core.actors import Actor
from tocsin.core.clock import travel
from tocsin.incidents.models import OPEN_STATUSES, Incident, Status
from tocsin.learning import problems
from tocsin.learning.models import ProblemStatus

DONE = (Status.RESOLVED, Status.CLOSED)


def _triaged() -> Q:
    return Q(service__isnull=False, category__isnull=False, duplicate_of__isnull=True)


def _past_of(incident: Incident) -> list[Incident]:
    """Resolved or closed incidents of the same service and category, oldest first."""
    return list(
        Incident.objects.filter(
            _triaged(),
            service=incident.service,
            category=incident.category,
            status__in=DONE,
        ).order_by("number")[:3]
    )


def write_problems(end: dt.datetime) -> None:
    owner = (
        User.objects.filter(role__in=[Role.MANAGER, Role.AGENT], is_active=True)
        .order_by("role", "pk")
        .first()
    )
    actor = Actor.for_user(owner) if owner is not None else Actor.system("demo")
    candidates = Incident.objects.filter(_triaged(), status__in=OPEN_STATUSES).order_by("-number")
    target, past = None, []
    for incident in candidates[:50]:
        past = _past_of(incident)
        if len(past) >= 2:
            target = incident
            break
    if target is None or target.service is None or target.category is None:
        return
    service, category = target.service, target.category
    with travel(end - dt.timedelta(days=4)):
        known = problems.problem_create(
            actor=actor,
            title=f"{category.name} failures on {service.name} after the nightly config push",
            description=(
                f"{len(past)} {category.name.lower()} incidents on {service.name} in a few "
                "weeks, each starting shortly after the nightly configuration push."
            ),
            service=service,
            category=category,
            owner=owner,
            investigation=(
                "- Compared the config push log with the incident start times: every "
                "incident began within 20 minutes of a push.\n"
                "- The push restarts the service's workers one node at a time, but the "
                "load balancer's health check only looks at the first node.\n"
                "- Ruled out: network changes, certificate expiry, database load."
            ),
            root_cause=(
                "The load balancer keeps sending traffic to nodes that are still "
                "restarting, because its **health check** only probes one node."
            ),
            incidents=past,
        )
    with travel(end - dt.timedelta(days=2)):
        problems.problem_transition(
            problem=known,
            actor=actor,
            status=ProblemStatus.KNOWN_ERROR,
            workaround=(
                f"1. Drain the failing node from the {service.name} pool in the load "
                "balancer.\n"
                "2. Wait for its workers to finish restarting (about 2 minutes), then put "
                "it back.\n\n"
                "Until the permanent fix (per-node health checks) ships, do this instead "
                "of restarting the whole service."
            ),
        )
    # an open problem on another pair, still being investigated
    others = (
        Incident.objects.filter(_triaged())
        .exclude(service_id=service.pk, category_id=category.pk)
        .exclude(problems__isnull=False)
        .order_by("number")
    )
    first = others.first()
    if first is None or first.service is None or first.category is None:
        return
    other_service, other_category = first.service, first.category
    pair = list(others.filter(service=other_service, category=other_category)[:2])
    with travel(end - dt.timedelta(days=1)):
        problems.problem_create(
            actor=actor,
            title=f"Intermittent {other_category.name.lower()} trouble on {other_service.name}",
            description="Reported by several people; no pattern found yet.",
            service=other_service,
            category=other_category,
            owner=owner,
            investigation="Collecting timings from the affected users. Nothing conclusive yet.",
            incidents=pair,
        )
