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
    # what the status-derive engine module last computed from (comms/derive.py): a
    # fingerprint of the open incidents and the maintenances in progress; emptied by
    # every change to a component's rule or services, so the next tick recomputes
    derive_key = models.CharField(max_length=200, blank=True)

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
    archived_at = models.DateTimeField(null=True, blank=True)

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
    # set by a person: the status no longer follows the clock
    status_set_by_hand = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-scheduled_for", "-id"]

    def __str__(self) -> str:
        return self.title


# --- stakeholder updates and internal subscribers (issue 11, point 6) ---------------------


class UpdateStatus(models.TextChoices):
    INVESTIGATING = "investigating", "Investigating"
    IDENTIFIED = "identified", "Identified"
    MONITORING = "monitoring", "Monitoring"
    RESOLVED = "resolved", "Resolved"


class UpdateTemplate(models.Model):
    """A starting text for a stakeholder update, edited by administrators. The body may
    use the variables {public_service} {service} {impact} {priority} {ref} {title}
    {next_update}
    (comms/updates.py checks them and fills them in; never Django template syntax)."""

    name = models.CharField(max_length=60, unique=True)
    status = models.CharField(
        max_length=20, choices=UpdateStatus.choices, default=UpdateStatus.INVESTIGATING
    )
    body = models.TextField()
    position = models.PositiveSmallIntegerField(default=100)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position", "name", "id"]

    def __str__(self) -> str:
        return self.name


# --- automation webhooks (docs/automation-webhooks.md) ------------------------------------


class AutomationEvent(models.TextChoices):
    """The incident events an automation webhook may subscribe to (`test` is sent by the
    "Send test" button and needs no subscription)."""

    CREATED = "created", "Incident created"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    ESCALATED = "escalated", "Escalated (level or team)"
    PRIORITY_CHANGED = "priority_changed", "Priority changed"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"
    UPDATE_POSTED = "update_posted", "Stakeholder update posted"
    ROLE_ASSIGNED = "role_assigned", "Incident role assigned"
    MAJOR_DECLARED = "major_declared", "Major incident declared"


class AutomationWebhook(models.Model):
    """An outbound webhook on incident events: one service's (`service`) or every
    service's (`service` null: global, administrators only). Each event becomes one
    outbox row per matching active webhook, sent by the notify webhook channel, signed
    with this webhook's own secret (stored encrypted, shown once)."""

    name = models.CharField(max_length=100)
    service = models.ForeignKey(
        Service,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="automation_webhooks",
    )
    url = models.CharField(max_length=500)
    secret_encrypted = models.TextField()
    events = models.JSONField(default=list)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    # how many tests were sent (the test's dedup key counter)
    tests_sent = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["active", "service"], name="automation_active_service")]

    def __str__(self) -> str:
        return self.name


class StakeholderUpdate(models.Model):
    """An update posted to an incident's stakeholders: on the timeline as a public entry
    and sent to the subscribers. `reminded_at` is set (compare-and-set) when the
    communications lead was reminded that the promised next update is due."""

    incident = models.ForeignKey(
        Incident, on_delete=models.PROTECT, related_name="stakeholder_updates"
    )
    status = models.CharField(max_length=20, choices=UpdateStatus.choices)
    body = models.TextField()
    next_update_at = models.DateTimeField(null=True, blank=True)
    posted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    posted_at = models.DateTimeField()
    template = models.ForeignKey(
        UpdateTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    entry = models.ForeignKey(
        "incidents.TimelineEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recipients = models.PositiveIntegerField(default=0)
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-posted_at", "-id"]
        indexes = [
            models.Index(fields=["incident", "-posted_at"]),
            models.Index(fields=["reminded_at", "next_update_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.status} on {self.incident_id} at {self.posted_at:%Y-%m-%d %H:%M}"


class SubscriptionChannel(models.TextChoices):
    EMAIL = "email", "Email"
    CONTACT = "contact", "My contact methods (low urgency)"


class Subscription(models.Model):
    """Who receives the stakeholder updates of an incident or of a service's incidents: a
    person, a team (each member) or an outside email address (exactly one of them)."""

    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.CASCADE, related_name="subscriptions"
    )
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.CASCADE, related_name="subscriptions"
    )
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="subscriptions"
    )
    team = models.ForeignKey(
        "accounts.Team",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="subscriptions",
    )
    email = models.EmailField(blank=True)
    channel = models.CharField(
        max_length=10, choices=SubscriptionChannel.choices, default=SubscriptionChannel.EMAIL
    )
    created_at = models.DateTimeField(default=now)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(incident__isnull=False, service__isnull=True)
                    | models.Q(incident__isnull=True, service__isnull=False)
                ),
                name="subscription_one_subject",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(user__isnull=False, team__isnull=True, email="")
                    | models.Q(user__isnull=True, team__isnull=False, email="")
                    | (models.Q(user__isnull=True, team__isnull=True) & ~models.Q(email=""))
                ),
                name="subscription_one_recipient",
            ),
            models.UniqueConstraint(
                fields=["incident", "user"],
                condition=models.Q(incident__isnull=False, user__isnull=False),
                name="subscription_incident_user_once",
            ),
            models.UniqueConstraint(
                fields=["incident", "team"],
                condition=models.Q(incident__isnull=False, team__isnull=False),
                name="subscription_incident_team_once",
            ),
            models.UniqueConstraint(
                fields=["incident", "email"],
                condition=models.Q(incident__isnull=False) & ~models.Q(email=""),
                name="subscription_incident_email_once",
            ),
            models.UniqueConstraint(
                fields=["service", "user"],
                condition=models.Q(service__isnull=False, user__isnull=False),
                name="subscription_service_user_once",
            ),
            models.UniqueConstraint(
                fields=["service", "team"],
                condition=models.Q(service__isnull=False, team__isnull=False),
                name="subscription_service_team_once",
            ),
            models.UniqueConstraint(
                fields=["service", "email"],
                condition=models.Q(service__isnull=False) & ~models.Q(email=""),
                name="subscription_service_email_once",
            ),
        ]

    def __str__(self) -> str:
        who = self.email or (f"team {self.team_id}" if self.team_id else f"user {self.user_id}")
        if self.incident_id:
            return f"{who} on incident {self.incident_id}"
        return f"{who} on service {self.service_id}"


class AutomationDelivery(models.Model):
    """Which outbox message carried which event to which webhook (the delivery log)."""

    webhook = models.ForeignKey(
        AutomationWebhook, on_delete=models.CASCADE, related_name="deliveries"
    )
    message = models.OneToOneField(
        "notify.OutboxMessage", on_delete=models.CASCADE, related_name="+"
    )
    event = models.CharField(max_length=30)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["webhook", "-created_at"], name="automation_delivery_recent")
        ]

    def __str__(self) -> str:
        return f"{self.event} to webhook {self.webhook_id}"


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
    # a webhook subscriber's own signing secret (random, encrypted; shown on confirmation)
    secret_encrypted = models.TextField(blank=True)
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
