"""escalation: fires every climb's due step (services.climb_steps, several a transaction),
oldest due first.

A step is claimed with a compare-and-set on the climb's `step`, so several workers never
fire it twice. Steps are fired several to a transaction (each in a savepoint of its own:
a step that fails is logged and rolled back alone; ADR 0008); a worker that dies
mid-batch rolls the batch's steps back (pages, messages, timeline entries) and the next
turn fires them again. A stopped worker loses nothing: on
restart every overdue step fires at once, in order of due time (the Grafana OnCall #1206
lesson).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import connection

from tocsin.core.budget import budget_spent
from tocsin.escalation import services
from tocsin.escalation.models import ClimbState, Escalation

log = logging.getLogger("tocsin.escalation")


class EscalationModule:
    name = "escalation"
    batch = 200

    def tick(self, now: dt.datetime) -> int:
        due = list(
            Escalation.objects.filter(state=ClimbState.ACTIVE, next_at__lte=now)
            .order_by("next_at", "pk")
            .values_list("pk", "incident_id", "policy_id")[: self.batch]
        )
        done = 0
        start = 0
        # Several steps a transaction (services.climb_steps): during a storm each step's
        # own commit and its policy's read were a good part of its cost.
        limit = services.STEPS_MAX.get(connection.vendor, services.STEPS_MAX_OTHER)
        while start < len(due):
            if budget_spent():
                return max(done, 1)
            looked, fired = services.climb_steps(due[start : start + limit], at=now)
            done += fired
            start += max(looked, 1)
        return done if len(due) < self.batch else max(done, 1)
