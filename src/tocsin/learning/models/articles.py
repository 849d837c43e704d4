"""The knowledge base: articles in Markdown, public (reporters read them in the portal)
or internal (staff alone)."""

from __future__ import annotations

from django.db import models

from tocsin.accounts.models import User
from tocsin.catalog.models import Category, Service
from tocsin.core.clock import now


class ArticleVisibility(models.TextChoices):
    PUBLIC = "public", "Public (reporters too)"
    INTERNAL = "internal", "Internal (staff)"


class Article(models.Model):
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)  # Markdown
    visibility = models.CharField(
        max_length=10, choices=ArticleVisibility.choices, default=ArticleVisibility.INTERNAL
    )
    # space-separated lower-case tags ("vpn network"), searched with the text
    tags = models.CharField(max_length=500, blank=True)
    services = models.ManyToManyField(Service, related_name="+", blank=True)
    categories = models.ManyToManyField(Category, related_name="+", blank=True)
    version = models.PositiveIntegerField(default=1)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=now)
    updated_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return self.title
