"""escalation: fires every climb's due step (services.climb_step), oldest due first.

A step is claimed with a compare-and-set on the climb's `step`, so several workers never
fire it twice; a worker that dies mid-step rolls the whole step back (pages, messages,
timeline entry) and the next turn fires it again. A stopped worker loses nothing: on
restart every overdue step fires at once, in order of due time (the Grafana OnCall #1206
lesson).
"""

from __future__ import annotations

import datetime as dt
import logging

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
            .values_list("pk", flat=True)[: self.batch]
        )
        done = 0
        for pk in due:
            if budget_spent():
                return max(done, 1)
            done += 1 if services.climb_step(pk, at=now) else 0
        return done if len(due) < self.batch else max(done, 1)
