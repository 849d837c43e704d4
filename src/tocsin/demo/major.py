"""The demo's major-incident set-up (issue 11): the Platform policy is paged on a
declaration, the Platform primary rota when nobody takes the commander role in ten
minutes, and a P2 on the first Platform service is major.

The history's P1 incidents were declared major as they were filed (by the incident
hooks); that history predates the set-up, so their commander deadlines that fell due in
the past are closed here rather than paging anyone when the worker starts."""

from __future__ import annotations

import datetime as dt

from tocsin.catalog.models import Service
from tocsin.comms import major
from tocsin.comms.models import CommanderDeadline, DeadlineState
from tocsin.core.actors import Actor
from tocsin.escalation.models import EscalationPolicy
from tocsin.oncall.models import Schedule

ACTOR = Actor.system("demo")


def write_major(end: dt.datetime) -> None:
    CommanderDeadline.objects.filter(state=DeadlineState.PENDING, due_at__lte=end).update(
        state=DeadlineState.DROPPED, settled_at=end
    )
    service = Service.objects.filter(team__name="Platform").order_by("name").first()
    major.major_settings_set(
        actor=ACTOR,
        policy=EscalationPolicy.objects.filter(name="Platform escalation").first(),
        commander_schedule=Schedule.objects.filter(name="Platform primary").first(),
        commander_minutes=10,
        checklist=major.default_major_checklist(),
        p2_services=[service] if service is not None else [],
    )
