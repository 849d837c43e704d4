"""Action items: what an incident or its postmortem taught, tracked until applied."""

from __future__ import annotations

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
    updated_at = models.DateTimeField(default=now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "id"]

    def __str__(self) -> str:
        return self.title
