"""Postmortems: one per incident, written blamelessly, draft → in review → published.

Configuration: `PostmortemSettings` (one row, pk 1) says for which priorities a
postmortem is required and how many days the owner has; a `ServicePostmortemRule`
overrides the priorities for one service. `PostmortemTemplate` holds the Markdown a
draft starts from (placeholders such as {timeline} are filled from the incident)."""

from __future__ import annotations

from django.db import models

from tocsin.accounts.models import User
from tocsin.catalog.models import Service
from tocsin.core.clock import now
from tocsin.incidents.models import Incident


class PostmortemStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    PUBLISHED = "published", "Published"


def default_required_priorities() -> list[int]:
    return [1, 2]


class PostmortemTemplate(models.Model):
    """The Markdown a postmortem starts from; administrators edit it."""

    name = models.CharField(max_length=100, unique=True)
    body = models.TextField()  # Markdown with {placeholders}
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class PostmortemSettings(models.Model):
    """When a postmortem is required (a single row, pk 1)."""

    required_priorities = models.JSONField(default=default_required_priorities)
    due_days = models.PositiveSmallIntegerField(default=5)
    default_template = models.ForeignKey(
        PostmortemTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=now)
    updated_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return "Postmortem settings"


class ServicePostmortemRule(models.Model):
    """For incidents of this service, a postmortem is required for these priorities
    (instead of the settings' own; an empty list: never required)."""

    service = models.OneToOneField(Service, on_delete=models.CASCADE, related_name="+")
    required_priorities = models.JSONField(default=list)
    created_at = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return f"postmortems of service {self.service_id}: {self.required_priorities}"


class Postmortem(models.Model):
    incident = models.OneToOneField(Incident, on_delete=models.PROTECT, related_name="postmortem")
    title = models.CharField(max_length=200)
    status = models.CharField(
        max_length=16, choices=PostmortemStatus.choices, default=PostmortemStatus.DRAFT
    )
    owner = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_at = models.DateTimeField(null=True, blank=True)
    # the document, in Markdown (rendered through tocsin.learning.markdown)
    markdown = models.TextField(blank=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)
    published_at = models.DateTimeField(null=True, blank=True)
    # set when published and every action item is done or accepted as a risk
    completed_at = models.DateTimeField(null=True, blank=True)
    # drafted because the rules require one (on resolve), or started by hand
    required = models.BooleanField(default=False)
    template = models.ForeignKey(
        PostmortemTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "due_at"], name="learning_pm_status_due")]

    def __str__(self) -> str:
        return self.title


class PostmortemComment(models.Model):
    """A reviewer's comment (Markdown)."""

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField()
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"comment {self.pk} on postmortem {self.postmortem_id}"
