"""update_reminders: reminds the communications lead when a promised stakeholder update
is due (comms/updates.py `update_remind`).

Each reminder is claimed with a compare-and-set on `StakeholderUpdate.reminded_at`
(`UPDATE ... WHERE reminded_at IS NULL` changing exactly one row), committed with its
outbox messages and timeline entry: of two workers, one sends it and the other changes
nothing; a crash rolls the whole reminder back and the next turn sends it.
"""

from __future__ import annotations

import datetime as dt

from tocsin.comms.updates import reminder_due, update_remind
from tocsin.core.budget import budget_spent


class UpdateReminderModule:
    name = "update_reminders"
    batch = 100
    # A reminder a few seconds late is still in time: look at most this often.
    interval = dt.timedelta(seconds=5)

    def __init__(self) -> None:
        self._last: dt.datetime | None = None

    def tick(self, now: dt.datetime) -> int:
        if self._last is not None and self._last <= now < self._last + self.interval:
            return 0
        self._last = now
        due = reminder_due(now, self.batch)
        done = 0
        for pk in due:
            if budget_spent():
                self._last = None  # the rest next turn, at once
                return max(done, 1)
            done += 1 if update_remind(update_id=pk, at=now) else 0
        return done
