from __future__ import annotations

from django.db import models

from tocsin.accounts.models import Team
from tocsin.core.clock import now


def default_severity_map() -> dict[str, list[int]]:
    """Monitoring severity -> [impact, urgency] (1 highest … 4 lowest)."""
    return {"critical": [1, 1], "error": [2, 2], "warning": [3, 3], "info": [4, 4]}


class Grouping(models.TextChoices):
    KEY = "key", "By group key (Alertmanager/Grafana) or dedup key"
    LABELS = "labels", "Same values of chosen labels within a time window"


class Service(models.Model):
    """Something users depend on and incidents affect."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="services"
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=now, editable=False)

    # Alert handling (see alerts/engine.py).
    severity_map = models.JSONField(default=default_severity_map, blank=True)
    auto_resolve = models.BooleanField(
        default=True, help_text="Resolve the incident when all its alerts resolve"
    )
    grouping = models.CharField(max_length=10, choices=Grouping.choices, default=Grouping.KEY)
    group_labels = models.JSONField(default=list, blank=True)
    group_window_minutes = models.PositiveIntegerField(default=60)
    storm_threshold = models.PositiveIntegerField(
        default=20, help_text="New incidents a minute beyond which alerts join one storm incident"
    )
    ack_timeout_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="An acknowledged incident returns to new after this many minutes without "
        "progress (empty: never)",
    )
    ingest_rate_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Events a minute per integration key (empty: no limit)"
    )
    # War room (issue 11): links filled in on each new incident of the service, with the
    # variables {number}, {ref} and {service} (see catalog/war_room.py).
    chat_url_template = models.CharField(max_length=500, blank=True)
    video_url_template = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Category(models.Model):
    """Two-level taxonomy: a category (no parent) and its subcategories."""

    name = models.CharField(max_length=100)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["parent__name", "name"]
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="category_unique_name"),
            models.UniqueConstraint(
                fields=["name"],
                condition=models.Q(parent__isnull=True),
                name="category_unique_top_name",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.parent.name} › {self.name}" if self.parent is not None else self.name


class IntegrationKind(models.TextChoices):
    PAGERDUTY = "pagerduty", "PagerDuty Events v2"
    OPSGENIE = "opsgenie", "Opsgenie alert API"
    ALERTMANAGER = "alertmanager", "Prometheus Alertmanager"
    GRAFANA = "grafana", "Grafana Alerting"
    WEBHOOK = "webhook", "Generic JSON webhook"
    EMAIL = "email", "Email"
    HEARTBEAT = "heartbeat", "Heartbeat"


class Integration(models.Model):
    """A way in for events to one service, with its own key (stored hashed, shown once)."""

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="integrations")
    kind = models.CharField(max_length=20, choices=IntegrationKind.choices)
    name = models.CharField(max_length=100, blank=True)
    key_hash = models.CharField(max_length=64, unique=True)
    key_prefix = models.CharField(max_length=8)
    options = models.JSONField(default=dict, blank=True)
    # Secrets Tocsin must check later (Grafana HMAC secret, Basic password, bearer token),
    # encrypted with tocsin.core.crypto.
    secret_encrypted = models.TextField(blank=True)
    created_at = models.DateTimeField()
    rotated_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["service__name", "kind", "id"]

    def __str__(self) -> str:
        return f"{self.service.name}: {self.get_kind_display()} ({self.key_prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
