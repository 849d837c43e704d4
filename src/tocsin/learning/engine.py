"""The learning app's engine modules (listed in tocsin.engine.engine.default_modules)."""

from __future__ import annotations

import datetime as dt

from tocsin.core.budget import budget_spent
from tocsin.learning.action_item_reminders import action_item_remind, reminder_due


class ActionItemReminderModule:
    """action_item_reminders: reminds owners before and at their items' due dates, each
    reminder once (learning/action_item_reminders.py). Only the clock makes work due, so
    it runs under `Every(...)`."""

    name = "action_item_reminders"
    batch = 100

    def tick(self, now: dt.datetime) -> int:
        done = 0
        for pk in reminder_due(now, self.batch):
            if budget_spent():
                return max(done, 1)  # the rest on the next turn, at once
            done += 1 if action_item_remind(item_id=pk, at=now) else 0
        return done
