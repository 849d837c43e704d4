"""Communication: the public status page (issue 11).

The status page is written separately from the internal record: components (mapped to
services), public incidents with public updates, and public maintenances. Nothing here
points the public at an internal incident; `PublicIncident.incidents` links them for
staff only. Every change that the public may see bumps `StatusPage.revision`, which the
public side uses to render once per change and serve from a cache.
"""

from __future__ import annotations

from django.db import models

from tocsin.accounts.models import User
from tocsin.catalog.models import Service
from tocsin.core.clock import now
from tocsin.incidents.models import Incident


class StatusPage(models.Model):
    """The one status page of the installation (a single row, pk 1): its name, logo and
    colours, and the revision counter of what the public sees."""

    name = models.CharField(max_length=100, default="Service status")
    intro = models.CharField(max_length=500, blank=True)
    logo = models.FileField(upload_to="status/", blank=True, max_length=300)
    # colours as #rrggbb; the public page checks their contrast (WCAG 2.2 AA)
    brand_colour = models.CharField(max_length=7, default="#1f4e8c")
    time_zone = models.CharField(max_length=64, default="UTC")
    revision = models.PositiveBigIntegerField(default=1)
    changed_at = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return self.name


class ComponentStatus(models.TextChoices):
    # Atlassian Statuspage's value set, in order of severity
    OPERATIONAL = "operational", "Operational"
    DEGRADED = "degraded_performance", "Degraded performance"
    PARTIAL = "partial_outage", "Partial outage"
    MAJOR = "major_outage", "Major outage"
    MAINTENANCE = "under_maintenance", "Under maintenance"


class ComponentRule(models.TextChoices):
    MANUAL = "manual", "Set by hand"
    DERIVED = "derived", "Derived from open incidents"


class ComponentGroup(models.Model):
    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=300, blank=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Component(models.Model):
    """A thing the public recognises ("API", "Website"), mapped to internal services.

    With the `derived` rule its status follows the open incidents of its services:
    `derive_map` maps a priority ("1".."4") to a status (defaults: P1 major outage, P2
    partial outage, P3 degraded performance, P4 operational)."""

    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=300, blank=True)
    group = models.ForeignKey(
        ComponentGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="components"
    )
    position = models.PositiveIntegerField(default=0)
    services = models.ManyToManyField(Service, blank=True, related_name="status_components")
    status = models.CharField(
        max_length=30, choices=ComponentStatus.choices, default=ComponentStatus.OPERATIONAL
    )
    rule = models.CharField(
        max_length=10, choices=ComponentRule.choices, default=ComponentRule.MANUAL
    )
    derive_map = models.JSONField(default=dict, blank=True)
    showcase = models.BooleanField(default=True)  # shown on the public page
    only_show_if_degraded = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["group__position", "position", "name"]

    def __str__(self) -> str:
        return self.name


class ComponentStatusChange(models.Model):
    """The history of a component's status: the 90-day uptime bars come from it."""

    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="history")
    status = models.CharField(max_length=30, choices=ComponentStatus.choices)
    at = models.DateTimeField()
    by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["component", "at", "id"]
        indexes = [models.Index(fields=["component", "at"])]

    def __str__(self) -> str:
        return f"{self.component_id} {self.status} at {self.at:%Y-%m-%d %H:%M}"


class PublicIncidentStatus(models.TextChoices):
    INVESTIGATING = "investigating", "Investigating"
    IDENTIFIED = "identified", "Identified"
    MONITORING = "monitoring", "Monitoring"
    RESOLVED = "resolved", "Resolved"


class PublicImpact(models.TextChoices):
    NONE = "none", "None"
    MINOR = "minor", "Minor"
    MAJOR = "major", "Major"
    CRITICAL = "critical", "Critical"


class PublicIncident(models.Model):
    """What the public reads about an outage: a public title and public updates only.
    A draft (published_at empty) never reaches the status page."""

    title = models.CharField(max_length=200)
    status = models.CharField(
        max_length=20,
        choices=PublicIncidentStatus.choices,
        default=PublicIncidentStatus.INVESTIGATING,
    )
    impact = models.CharField(
        max_length=10, choices=PublicImpact.choices, default=PublicImpact.MINOR
    )
    components = models.ManyToManyField(Component, blank=True, related_name="public_incidents")
    incidents = models.ManyToManyField(Incident, blank=True, related_name="public_incidents")
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


class PublicUpdate(models.Model):
    """One public message on a public incident or a maintenance (exactly one of them)."""

    public_incident = models.ForeignKey(
        PublicIncident, null=True, blank=True, on_delete=models.CASCADE, related_name="updates"
    )
    maintenance = models.ForeignKey(
        "PublicMaintenance", null=True, blank=True, on_delete=models.CASCADE, related_name="updates"
    )
    status = models.CharField(max_length=20)
    body = models.TextField()
    # the component statuses this update set, [{"code": id, "name": …, "old_status": …,
    # "new_status": …}] as Statuspage's affected_components
    affected_components = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=now)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(public_incident__isnull=False, maintenance__isnull=True)
                    | models.Q(public_incident__isnull=True, maintenance__isnull=False)
                ),
                name="public_update_has_one_subject",
            )
        ]

    def __str__(self) -> str:
        return f"{self.status}: {self.body[:40]}"


class MaintenanceStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    IN_PROGRESS = "in_progress", "In progress"
    VERIFYING = "verifying", "Verifying"
    COMPLETED = "completed", "Completed"


class PublicMaintenance(models.Model):
    """A maintenance window marked public: its public title and body, the components it
    affects. Its times follow the window; its status follows the clock unless set."""

    window = models.OneToOneField(
        "alerts.MaintenanceWindow",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="public",
    )
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    components = models.ManyToManyField(Component, blank=True, related_name="maintenances")
    scheduled_for = models.DateTimeField()
    scheduled_until = models.DateTimeField()
    status = models.CharField(
        max_length=20, choices=MaintenanceStatus.choices, default=MaintenanceStatus.SCHEDULED
    )
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-scheduled_for", "-id"]

    def __str__(self) -> str:
        return self.title


# --- the public side (sppublic): rendered cache, subscribers, throttle ---------------------


class PublicRender(models.Model):
    """One rendered public document (the page, a JSON document, a feed, an incident page)
    for one revision of the status page: rendered once, served from here by every web
    process (a row, so several processes and machines share it).

    `valid_until` bounds documents that also depend on the clock (the day of the uptime
    bars, a maintenance starting or ending); `etag` is a digest of the bytes."""

    key = models.CharField(max_length=100, unique=True)
    revision = models.PositiveBigIntegerField()
    page_changed_at = models.DateTimeField()  # StatusPage.changed_at of that revision
    valid_until = models.DateTimeField()
    rendered_at = models.DateTimeField()
    content_type = models.CharField(max_length=100)
    status = models.PositiveSmallIntegerField(default=200)
    etag = models.CharField(max_length=80)
    body = models.BinaryField()

    def __str__(self) -> str:
        return f"{self.key} r{self.revision}"


class SubscriberKind(models.TextChoices):
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook"


class StatusSubscriber(models.Model):
    """Someone outside who follows the status page: by email, or a webhook URL (with an
    email address to confirm it). Confirmed through the link mailed to `email` (double
    opt-in); `token` addresses confirmation and unsubscription. No components: all."""

    kind = models.CharField(max_length=10, choices=SubscriberKind.choices)
    email = models.EmailField(max_length=254)
    url = models.URLField(max_length=500, blank=True)
    components = models.ManyToManyField(Component, blank=True, related_name="subscribers")
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["kind", "email"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.email}"


class SubscribeThrottle(models.Model):
    """Subscribe requests counted per address and per email, so the form cannot be used
    to bomb a mailbox (see comms/subscriptions.py)."""

    scope = models.CharField(max_length=10)  # "ip" or "email"
    key = models.CharField(max_length=300)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="subscribe_throttle_key")
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}: {self.count}"
