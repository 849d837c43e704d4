from __future__ import annotations

from django.db import models
from django.db.models import Q

from tocsin.accounts.models import User
from tocsin.catalog.models import Integration, Service
from tocsin.incidents.models import Incident


class InboxState(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Done"


class Outcome(models.TextChoices):
    CREATED = "created", "Created an alert"
    MERGED = "merged", "Merged into an open alert"
    REFRESHED = "refreshed", "Refreshed an open alert"
    UPDATED = "updated", "Acknowledged or resolved an alert"
    SUPPRESSED = "suppressed", "Suppressed"
    IGNORED = "ignored", "Ignored"
    REJECTED = "rejected", "Rejected"
    RECORDED = "recorded", "Recorded (change event or ping)"


class InboxEvent(models.Model):
    """An accepted request, committed before the 2xx (N1); the engine gives it an outcome (N2).

    `events` holds the adapter's normalised events (see alerts/adapters/base.py); `payload`
    the raw body, size-capped, kept for TOCSIN_INBOX_RETENTION_DAYS.
    """

    integration = models.ForeignKey(Integration, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, default="event")  # event | change | heartbeat
    received_at = models.DateTimeField()
    events = models.JSONField(default=list)
    payload = models.TextField(blank=True)
    payload_truncated = models.BooleanField(default=False)
    request_id = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=10, choices=InboxState.choices, default=InboxState.PENDING)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    outcome_detail = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["state", "id"]),
            # The per-key rate limit looks at an integration's newest rows.
            models.Index(fields=["integration", "id"]),
        ]

    def __str__(self) -> str:
        return f"inbox #{self.pk} ({self.state})"


class AlertStatus(models.TextChoices):
    TRIGGERED = "triggered", "Triggered"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class Severity(models.TextChoices):
    CRITICAL = "critical", "Critical"
    ERROR = "error", "Error"
    WARNING = "warning", "Warning"
    INFO = "info", "Info"


class Alert(models.Model):
    """One alert from monitoring: deduplicated by (integration, dedup_key) while open."""

    # No index of their own: (integration, dedup_key) and (service, status) lead with them.
    # Every index costs each of a snapshot's 100 inserts (docs/benchmarks.md).
    integration = models.ForeignKey(
        Integration, on_delete=models.PROTECT, related_name="alerts", db_index=False
    )
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, related_name="alerts", db_index=False
    )
    dedup_key = models.CharField(max_length=255)
    group_key = models.TextField(blank=True)
    grouping_key = models.CharField(max_length=64, db_index=True, blank=True)
    status = models.CharField(
        max_length=20, choices=AlertStatus.choices, default=AlertStatus.TRIGGERED
    )
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.ERROR)
    summary = models.CharField(max_length=1024)
    source = models.CharField(max_length=255, blank=True)
    details = models.JSONField(default=dict, blank=True)
    links = models.JSONField(default=list, blank=True)
    labels = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField()
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    occurrences = models.PositiveIntegerField(default=1)
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.PROTECT, related_name="alerts"
    )
    suppressed_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-last_seen_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "dedup_key"],
                condition=~Q(status="resolved"),
                name="alert_one_open_per_key",
            )
        ]
        indexes = [
            models.Index(fields=["service", "status"]),
            models.Index(fields=["integration", "dedup_key"]),
        ]

    def __str__(self) -> str:
        return f"{self.summary[:60]} ({self.status})"


class ChangeEvent(models.Model):
    """A deploy or config change (PagerDuty change events): listed, never paging."""

    integration = models.ForeignKey(Integration, on_delete=models.PROTECT, related_name="+")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="change_events")
    summary = models.CharField(max_length=1024)
    source = models.CharField(max_length=255, blank=True)
    timestamp = models.DateTimeField()
    details = models.JSONField(default=dict, blank=True)
    links = models.JSONField(default=list, blank=True)
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-timestamp", "-id"]

    def __str__(self) -> str:
        return self.summary[:80]


class MaintenanceWindow(models.Model):
    """While in a window, a service's alerts are recorded but open no incident."""

    services = models.ManyToManyField(Service, related_name="maintenance_windows")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-starts_at"]

    def __str__(self) -> str:
        return f"{self.starts_at:%Y-%m-%d %H:%M} – {self.ends_at:%Y-%m-%d %H:%M} {self.reason}"


class Silence(models.Model):
    """Alerts whose labels match every matcher, in the time span, open no incident."""

    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.PROTECT, related_name="silences"
    )
    matchers = models.JSONField(help_text='[{"label": "env", "value": "staging"}, ...]')
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    comment = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-starts_at"]

    def __str__(self) -> str:
        return ", ".join(f"{m.get('label')}={m.get('value')}" for m in self.matchers or [])


class Heartbeat(models.Model):
    """Expected pings of a heartbeat integration; the engine opens an incident when late."""

    integration = models.OneToOneField(
        Integration, on_delete=models.PROTECT, related_name="heartbeat"
    )
    interval_seconds = models.PositiveIntegerField()
    grace_seconds = models.PositiveIntegerField(default=60)
    last_ping_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    state = models.CharField(max_length=10, default="new")  # new | up | down

    class Meta:
        verbose_name = "integration heartbeat"

    def __str__(self) -> str:
        return f"heartbeat {self.integration_id} ({self.state})"


class AlertStorm(models.Model):
    """The one "alert storm" incident of a service while it is open: new alerts beyond
    the service's storm threshold join it instead of opening one incident each.

    `label_counts` counts the values of a few telling labels (alertname, instance, ...)
    over the alerts that joined; the incident's title and description show the count and
    the top values, refreshed at most every few seconds (`shown_count`, `shown_at`).
    """

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="alert_storms")
    incident = models.OneToOneField(Incident, on_delete=models.PROTECT, related_name="alert_storm")
    started_at = models.DateTimeField()
    alert_count = models.PositiveIntegerField(default=0)
    label_counts = models.JSONField(default=dict, blank=True)
    shown_count = models.PositiveIntegerField(default=0)
    shown_at = models.DateTimeField()

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"storm on {self.service_id}: {self.alert_count} alerts"


class SeenSignature(models.Model):
    """A request signature an integration has already accepted (Grafana's HMAC), kept until
    `expires_at`: the same signature again within that window is a replay and is dropped
    without an inbox row. Expired rows are deleted as new ones are written."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="+")
    signature = models.CharField(max_length=64)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["integration", "signature"], name="seen_signature_once")
        ]

    def __str__(self) -> str:
        return f"signature {self.signature[:12]}… (until {self.expires_at:%Y-%m-%d %H:%M})"
