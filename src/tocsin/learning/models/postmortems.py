"""Postmortems: one per incident, written blamelessly, draft → in review → published."""

from __future__ import annotations

from django.db import models

from tocsin.accounts.models import User
from tocsin.core.clock import now
from tocsin.incidents.models import Incident


class PostmortemStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    PUBLISHED = "published", "Published"


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

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title
