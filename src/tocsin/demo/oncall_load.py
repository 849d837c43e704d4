"""A month of paging history for the demo, so the on-call load report has something to
show: every answered incident (resolved, closed or acknowledged) of the last 28 days on
a service with an escalation policy gets the page its on-call person would have had
(whoever the team's schedule names at that moment, else the team's people in turn), and
the urgent ones a second page a few minutes later when nobody answered at once.

These are past climbs, written as finished rows (the climb resolved or acknowledged, the
last page acknowledged), like the rest of the history: nothing is queued or sent.
"""

from __future__ import annotations

import datetime as dt
import random

from django.db.models import Q

from tocsin.accounts.models import User
from tocsin.escalation.models import ClimbState, Escalation, Page, PageState
from tocsin.incidents.models import Incident, Status
from tocsin.oncall import selectors
from tocsin.oncall.models import Schedule

DAYS = 28
FINISHED = (Status.RESOLVED, Status.CLOSED)


def _oncall_person(schedules: list[Schedule], at: dt.datetime) -> int | None:
    for schedule in schedules:
        shift = selectors.oncall(schedule, at).shift
        if shift is not None:
            return shift.user
    return None


def write_oncall_load(end: dt.datetime, *, seed: int = 13) -> int:
    """Pages for the last four weeks' incidents (those without pages yet); how many."""
    rng = random.Random(seed)
    already = set(Page.objects.values_list("incident_id", flat=True))
    found = (
        Incident.objects.filter(
            reported_at__gte=end - dt.timedelta(days=DAYS),
            reported_at__lt=end,
            service__paging__policy__isnull=False,
        )
        # someone answered: finished work, or open work already acknowledged
        .filter(Q(status__in=FINISHED) | Q(acknowledged_at__isnull=False))
        .exclude(pk__in=already)
        .select_related("service__paging__policy__team")
        .order_by("reported_at", "pk")
    )
    turns: dict[int, int] = {}
    written = 0
    for incident in found:
        policy = incident.service.paging.policy  # type: ignore[union-attr]
        team = policy.team if policy is not None else None
        if policy is None or team is None:
            continue
        schedules = list(Schedule.objects.filter(team=team, archived_at__isnull=True))
        at = incident.reported_at + dt.timedelta(minutes=rng.randint(1, 4))
        person = _oncall_person(schedules, at)
        if person is None:
            people = list(
                User.objects.filter(teams=team, is_active=True)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            if not people:
                continue
            turn = turns.get(team.pk, 0)
            person = people[turn % len(people)]
            turns[team.pk] = turn + 1
        climb = Escalation.objects.create(
            incident=incident,
            policy=policy,
            urgency="high" if incident.priority <= 2 else "low",
            state=ClimbState.RESOLVED if incident.status in FINISHED else ClimbState.ACKNOWLEDGED,
            step=1,
            started_at=at,
            ended_at=at + dt.timedelta(minutes=30),
            reason="demo history",
        )
        pages = [at]
        if incident.priority <= 2 and rng.random() < 0.6:
            pages.append(at + dt.timedelta(minutes=rng.randint(5, 25)))  # nobody answered
        for step, when in enumerate(pages):
            Page.objects.create(
                escalation=climb,
                incident=incident,
                person_id=person,
                step=step,
                level=0,
                cycle=0,
                urgency=climb.urgency,
                via="demo history",
                state=PageState.ACKNOWLEDGED if step == len(pages) - 1 else PageState.CANCELLED,
                created_at=when,
            )
            written += 1
    return written
