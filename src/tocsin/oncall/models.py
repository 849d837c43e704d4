"""Schedules: layers of rotations with restrictions, overrides, cover requests, calendar
feeds. The time rules live in `rules.py`; these tables hold what people set up."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from tocsin.accounts.models import Team, validate_time_zone
from tocsin.core.clock import now


class Unit(models.TextChoices):
    HOURS = "hours", "hours"
    DAYS = "days", "days"
    WEEKS = "weeks", "weeks"


class Schedule(models.Model):
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="schedules"
    )
    created_at = models.DateTimeField(default=now, editable=False)
    updated_at = models.DateTimeField(default=now)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                condition=models.Q(archived_at__isnull=True),
                name="oncall_schedule_name_ci_unique",
                violation_error_message="another schedule already has this name",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def has_participant(self, user_id: int) -> bool:
        """Is this person in one of the schedule's layers (for `accounts.permissions`)?"""
        return LayerMember.objects.filter(layer__schedule=self, user_id=user_id).exists()


class Layer(models.Model):
    """One rotation of a schedule. ``position`` 0 is the highest layer."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="layers")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=100)
    # The first hand-off, a local date-time in the schedule's zone (naive on purpose).
    start_date = models.DateField()
    start_time = models.TimeField()
    end_date = models.DateField(null=True, blank=True)
    end_time = models.TimeField(null=True, blank=True)
    every = models.PositiveIntegerField(default=1)
    unit = models.CharField(max_length=5, choices=Unit.choices, default=Unit.WEEKS)
    # Canonical restriction windows (see specs.py):
    # [{"days": [0..6], "start": "HH:MM", "end": "HH:MM", "span_days": n}, ...]
    restrictions = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["schedule", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "position"], name="oncall_layer_position_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def start_local(self) -> dt.datetime:
        return dt.datetime.combine(self.start_date, self.start_time)

    @property
    def end_local(self) -> dt.datetime | None:
        if self.end_date is None:
            return None
        return dt.datetime.combine(self.end_date, self.end_time or dt.time(0))


class LayerMember(models.Model):
    """A place in a layer's order; one person may hold several places."""

    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="members")
    position = models.PositiveSmallIntegerField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="layer_places"
    )

    class Meta:
        ordering = ["layer", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["layer", "position"], name="oncall_layermember_position_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.layer_id}#{self.position}: {self.user_id}"


class Override(models.Model):
    """One person on call for a span: over the whole schedule (``replaces`` empty) or in
    place of one named person."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="overrides")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="overrides"
    )
    replaces = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="overridden",
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    note = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        ordering = ["start", "id"]
        indexes = [models.Index(fields=["schedule", "end"], name="oncall_override_sched_end")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="oncall_override_end_after"
            )
        ]

    def __str__(self) -> str:
        return f"override {self.pk} on {self.schedule_id}"


class CoverState(models.TextChoices):
    OPEN = "open", "open"
    ACCEPTED = "accepted", "accepted"
    WITHDRAWN = "withdrawn", "withdrawn"


class CoverRequest(models.Model):
    """A person asks for cover for a span of their shifts; whoever accepts becomes an
    override in their place."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="cover_requests")
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="cover_requests"
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    note = models.CharField(max_length=500, blank=True)
    state = models.CharField(max_length=10, choices=CoverState.choices, default=CoverState.OPEN)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="covers_accepted",
    )
    override = models.OneToOneField(
        Override, null=True, blank=True, on_delete=models.SET_NULL, related_name="cover_request"
    )
    created_at = models.DateTimeField(default=now, editable=False)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["start", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="oncall_cover_end_after"
            )
        ]

    def __str__(self) -> str:
        return f"cover request {self.pk} on {self.schedule_id}"


class CalendarFeed(models.Model):
    """A secret calendar address: a person's shifts (``schedule`` empty) or a schedule's
    final schedule. The token is shown once and stored as a SHA-256 hash."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="calendar_feeds"
    )
    schedule = models.ForeignKey(
        Schedule, null=True, blank=True, on_delete=models.CASCADE, related_name="feeds"
    )
    prefix = models.CharField(max_length=12)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"calendar feed {self.prefix}…"
