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


# == major incidents (comms/major.py) ==========================================================


def default_major_checklist() -> list[str]:
    return [
        "Declare the major incident",
        "Assign roles: incident commander and communications lead",
        "Open the war room (chat channel and video bridge)",
        "Send the first stakeholder update",
        "Open an incident on the status page",
    ]


class MajorIncidentSettings(models.Model):
    """How a major incident is run (a single row, pk 1): the policy paged on declaration,
    the rota paged when nobody takes the commander role in time, and the checklist."""

    policy = models.ForeignKey(
        "escalation.EscalationPolicy",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    commander_schedule = models.ForeignKey(
        "oncall.Schedule", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    commander_minutes = models.PositiveSmallIntegerField(default=10)
    checklist = models.JSONField(default=default_major_checklist)
    updated_at = models.DateTimeField(default=now)
    updated_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return "Major-incident settings"


class ServiceMajorRule(models.Model):
    """A P2 incident on this service is a major incident (P1 always is)."""

    service = models.OneToOneField(Service, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return f"P2 on {self.service_id} is major"


class MajorChecklistItem(models.Model):
    """One step of an incident's major-incident checklist (copied from the template when
    the incident is first declared major)."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="major_checklist")
    position = models.PositiveSmallIntegerField()
    text = models.CharField(max_length=200)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["incident", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "position"], name="major_checklist_one_per_position"
            )
        ]

    def __str__(self) -> str:
        return f"{self.incident_id}#{self.position} {self.text}"


class DeadlineState(models.TextChoices):
    PENDING = "pending", "Waiting"
    MET = "met", "A commander took the role in time"
    PAGED = "paged", "The commander rota was paged"
    MISSED = "missed", "No commander, and no rota to page"
    DROPPED = "dropped", "No longer major, or ended"


class CommanderDeadline(models.Model):
    """A declaration's commander deadline: the engine's major module settles it once (a
    compare-and-set on `state`), paging the commander rota if nobody holds the role. One
    row per declaration (`declared_at`), so a re-declared incident gets a new deadline."""

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="commander_deadlines"
    )
    declared_at = models.DateTimeField()
    due_at = models.DateTimeField()
    state = models.CharField(
        max_length=10, choices=DeadlineState.choices, default=DeadlineState.PENDING
    )
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "due_at"], name="major_deadline_due")]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "declared_at"], name="major_deadline_one_per_declaration"
            )
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} commander by {self.due_at:%Y-%m-%d %H:%M} ({self.state})"


# == end major incidents ===========================================================================
