"""Runbooks: ordered steps for a service or a category, ticked off during an incident;
an automated step calls an HTTP endpoint through the outbox."""

from __future__ import annotations

from django.conf import settings
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


class RunbookRun(models.Model):
    """A runbook started on an incident. Its steps are copied at the start (a snapshot),
    so editing the runbook later does not change a run. One run per runbook and incident."""

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.PROTECT, related_name="runbook_runs"
    )
    runbook = models.ForeignKey(Runbook, on_delete=models.PROTECT, related_name="runs")
    name = models.CharField(max_length=200)  # the runbook's name at the start
    started_at = models.DateTimeField(default=now)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # who, as people read it ("Inês Duarte", "Tocsin · run on open")
    started_by_label = models.CharField(max_length=200, blank=True)
    automatic = models.BooleanField(default=False)  # started by run_on_open

    class Meta:
        ordering = ["started_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "runbook"], name="learning_runbook_run_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} on incident {self.incident_id}"


class CallState(models.TextChoices):
    NONE = "", "Manual step"
    QUEUED = "queued", "Queued"
    RETRYING = "retrying", "Retrying"
    SENT = "sent", "Answered"
    FAILED = "failed", "Failed"


class RunbookRunStep(models.Model):
    """One step of a run: the copy of the runbook's step, whether it is done, and for an
    automated step the state of its call and what the endpoint answered."""

    run = models.ForeignKey(RunbookRun, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.URLField(max_length=500, blank=True)
    body_template = models.TextField(blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    done_by_label = models.CharField(max_length=200, blank=True)
    # the automated call (the latest one)
    call_state = models.CharField(
        max_length=10, choices=CallState.choices, default=CallState.NONE, blank=True
    )
    calls = models.PositiveIntegerField(default=0)
    message = models.ForeignKey(
        "notify.OutboxMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    response_status = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    result_reason = models.TextField(blank=True)
    result_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "position"], name="learning_runbook_run_step_position"
            )
        ]

    def __str__(self) -> str:
        return f"run {self.run_id}.{self.position} {self.title}"

    @property
    def automated(self) -> bool:
        return bool(self.url)
