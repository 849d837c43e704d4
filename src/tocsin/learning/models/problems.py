"""Problems (ITIL problem management) and known errors.

A problem links the incidents it caused, holds the investigation and root cause, becomes
a known error once a workaround is known, and is resolved by a permanent fix (a change
reference)."""

from __future__ import annotations

from django.db import models

from tocsin.accounts.models import User
from tocsin.catalog.models import Category, Service
from tocsin.core.clock import now
from tocsin.incidents.models import Incident


class ProblemStatus(models.TextChoices):
    OPEN = "open", "Open"  # being investigated
    KNOWN_ERROR = "known_error", "Known error"  # root cause and workaround known
    RESOLVED = "resolved", "Resolved"  # fixed for good (`fix_change_ref`)


class Problem(models.Model):
    number = models.PositiveIntegerField(unique=True)  # shown as PRB-n
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(
        max_length=16, choices=ProblemStatus.choices, default=ProblemStatus.OPEN
    )
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    owner = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    investigation = models.TextField(blank=True)  # Markdown
    root_cause = models.TextField(blank=True)  # Markdown
    workaround = models.TextField(blank=True)  # Markdown; set on a known error
    fix_change_ref = models.CharField(max_length=200, blank=True)
    incidents: models.ManyToManyField[Incident, ProblemIncident] = models.ManyToManyField(
        Incident, through="ProblemIncident", related_name="problems", blank=True
    )
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)
    known_error_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"{self.ref} {self.title}"

    @property
    def ref(self) -> str:
        return f"PRB-{self.number}"


class ProblemIncident(models.Model):
    problem = models.ForeignKey(Problem, on_delete=models.CASCADE, related_name="links")
    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="+")
    linked_at = models.DateTimeField(default=now)
    linked_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["problem", "incident"], name="learning_problem_incident"
            )
        ]

    def __str__(self) -> str:
        return f"{self.problem_id} ↔ {self.incident_id}"
