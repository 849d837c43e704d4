"""comms: the engine modules of the communication app.

`MajorModule` settles every due commander deadline of a major incident (major.py): a
commander in time, or the commander rota paged once. A deadline is claimed with a
compare-and-set on its state inside the settling transaction, so several workers never
page the rota twice; a worker that dies mid-way rolls the whole settlement back and the
next turn does it again.
"""

from __future__ import annotations

import datetime as dt

from tocsin.comms import major
from tocsin.core.budget import budget_spent


class MajorModule:
    name = "major"
    batch = 100

    def tick(self, now: dt.datetime) -> int:
        due = major.deadlines_due(now, self.batch)
        done = 0
        for pk in due:
            if budget_spent():
                return max(done, 1)
            done += 1 if major.commander_deadline_settle(pk, at=now) else 0
        return done if len(due) < self.batch else max(done, 1)
