"""The knowledge base: articles in Markdown, public (reporters read them in the portal)
or internal (staff alone)."""

from __future__ import annotations

from django.db import models

from tocsin.accounts.models import User
from tocsin.catalog.models import Category, Service
from tocsin.core.clock import now
from tocsin.incidents.models import Incident


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


class ArticleVersion(models.Model):
    """One saved state of an article: every save (the first included) keeps one, so the
    article page can show who changed what and when, and any older text."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    visibility = models.CharField(max_length=10, choices=ArticleVisibility.choices)
    tags = models.CharField(max_length=500, blank=True)
    note = models.CharField(max_length=200, blank=True)  # "what changed", optional
    created_at = models.DateTimeField(default=now)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["article", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["article", "number"], name="learning_article_version")
        ]

    def __str__(self) -> str:
        return f"{self.article_id} v{self.number}"


class ArticleSolution(models.Model):
    """ "This article solved it": an article that resolved an incident (feeds first-contact
    resolution in the reports). Once per incident and article."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="+")
    article = models.ForeignKey(Article, on_delete=models.PROTECT, related_name="solutions")
    by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "article"], name="learning_article_solution"
            )
        ]

    def __str__(self) -> str:
        return f"{self.article_id} solved {self.incident_id}"
