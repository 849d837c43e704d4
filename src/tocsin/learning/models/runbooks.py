"""Runbooks: ordered steps for a service or a category, ticked off during an incident;
an automated step calls an HTTP endpoint through the outbox."""

from __future__ import annotations

from django.db import models

from tocsin.catalog.models import Category, Service
from tocsin.core.clock import now


class Runbook(models.Model):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)  # Markdown
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.PROTECT, related_name="runbooks"
    )
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.PROTECT, related_name="runbooks"
    )
    # started on every new incident of its service or category
    run_on_open = models.BooleanField(default=False)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class RunbookStep(models.Model):
    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)  # Markdown: what to do and look at
    # an automated step: POST the templated body to this URL (empty: a manual step)
    url = models.URLField(max_length=500, blank=True)
    body_template = models.TextField(blank=True)

    class Meta:
        ordering = ["runbook", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["runbook", "position"], name="learning_runbook_step_position"
            )
        ]

    def __str__(self) -> str:
        return f"{self.runbook_id}.{self.position} {self.title}"
