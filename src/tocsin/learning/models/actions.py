"""Action items: what an incident or its postmortem taught, tracked until applied."""

from __future__ import annotations

import datetime as dt

from django.db import models

from tocsin.accounts.models import User
from tocsin.core.clock import now
from tocsin.incidents.models import Incident, Priority
from tocsin.learning.models.postmortems import Postmortem


class ActionItemStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    # a manager decided not to do it, and said why (`risk_reason`)
    ACCEPTED_RISK = "accepted_risk", "Accepted as risk"


class ActionItem(models.Model):
    # from a postmortem (and so its incident) or from an incident alone
    postmortem = models.ForeignKey(
        Postmortem, null=True, blank=True, on_delete=models.PROTECT, related_name="action_items"
    )
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.PROTECT, related_name="action_items"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="action_items"
    )
    due_at = models.DateTimeField(null=True, blank=True)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.P3)
    status = models.CharField(
        max_length=16, choices=ActionItemStatus.choices, default=ActionItemStatus.OPEN
    )
    tracker_url = models.URLField(max_length=500, blank=True)
    risk_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=now)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=now)
    closed_at = models.DateTimeField(null=True, blank=True)
    # The owner's reminders (learning/reminders.py), each sent once: the time it was
    # claimed (compare-and-set from NULL), cleared when the due date or the owner changes.
    reminded_before_at = models.DateTimeField(null=True, blank=True)
    reminded_due_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["status", "due_at"], name="learning_action_status_due")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def overdue_at(self, at: dt.datetime) -> bool:
        """Still to do and past its due date."""
        return self.is_open and self.due_at is not None and self.due_at < at

    @property
    def overdue(self) -> bool:
        return self.overdue_at(now())


# The statuses that still ask for work (reminded, shown as overdue).
OPEN_STATUSES = (ActionItemStatus.OPEN, ActionItemStatus.IN_PROGRESS)
# The statuses that let a published postmortem count as complete.
SETTLED_STATUSES = (ActionItemStatus.DONE, ActionItemStatus.ACCEPTED_RISK)
