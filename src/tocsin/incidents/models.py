from __future__ import annotations

import datetime as dt
import zoneinfo

from django.core.exceptions import ValidationError
from django.db import models

from tocsin.accounts.models import ApiToken, Team, User
from tocsin.catalog.models import Category, Service
from tocsin.core.clock import now


class Status(models.TextChoices):
    NEW = "new", "New"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    IN_PROGRESS = "in_progress", "In progress"
    ON_HOLD = "on_hold", "On hold"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


OPEN_STATUSES = (Status.NEW, Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.ON_HOLD)


class Source(models.TextChoices):
    PORTAL = "portal", "Portal"
    EMAIL = "email", "Email"
    PHONE = "phone", "Phone"
    CHAT = "chat", "Chat"
    MONITORING = "monitoring", "Monitoring"
    API = "api", "API"


class Level(models.IntegerChoices):
    """Impact and urgency share one 1 (highest) – 4 (lowest) scale."""

    CRITICAL = 1, "1 – Critical"
    HIGH = 2, "2 – High"
    MEDIUM = 3, "3 – Medium"
    LOW = 4, "4 – Low"


class Priority(models.IntegerChoices):
    P1 = 1, "P1"
    P2 = 2, "P2"
    P3 = 3, "P3"
    P4 = 4, "P4"


class ResolutionCode(models.TextChoices):
    FIXED = "fixed", "Fixed"
    WORKAROUND = "workaround", "Workaround provided"
    CONFIGURATION = "configuration", "Configuration change"
    USER_ERROR = "user-error", "User error / training"
    NO_FAULT = "no-fault-found", "No fault found"
    DUPLICATE = "duplicate", "Duplicate"
    THIRD_PARTY = "third-party", "Fixed by third party"
    AUTO_RESOLVED = "auto-resolved", "Auto-resolved by monitoring"
    CANCELLED = "cancelled", "Cancelled by reporter"


class Incident(models.Model):
    number = models.PositiveIntegerField(unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.PORTAL)

    reporter = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="reported_incidents"
    )
    reporter_name = models.CharField(max_length=150, blank=True)
    reporter_email = models.EmailField(blank=True)

    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.PROTECT, related_name="incidents"
    )
    affected_services = models.ManyToManyField(
        Service, blank=True, related_name="affecting_incidents"
    )
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    subcategory = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    impact = models.PositiveSmallIntegerField(choices=Level.choices, default=Level.MEDIUM)
    urgency = models.PositiveSmallIntegerField(choices=Level.choices, default=Level.MEDIUM)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.P3)
    priority_override_reason = models.CharField(max_length=500, blank=True)

    assignee = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="assigned_incidents"
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="incidents"
    )
    support_level = models.PositiveSmallIntegerField(default=1)

    resolution_code = models.CharField(max_length=30, choices=ResolutionCode.choices, blank=True)
    resolution_notes = models.TextField(blank=True)

    reported_at = models.DateTimeField()
    detected_at = models.DateTimeField(null=True, blank=True)
    impact_started_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    # Who holds the current acknowledgement ("Acknowledged by Inês"); None when none does.
    acknowledged_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Mitigated: the impact has stopped (a workaround, a rollback, a "monitoring" update),
    # the fix may come later; the first time only (reports' time to mitigate).
    mitigated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()
    # When the current acknowledgement times out (the service's ack timeout), if ever.
    ack_expires_at = models.DateTimeField(null=True, blank=True, db_index=True)

    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="duplicates"
    )
    related_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="follow_ups"
    )

    # SLA clock (see incidents/sla.py). Due times are stored and recomputed on
    # pause, resume and priority change; consumed seconds are working seconds.
    sla_running_since = models.DateTimeField(null=True, blank=True)
    sla_paused_at = models.DateTimeField(null=True, blank=True)
    response_consumed = models.FloatField(default=0)
    resolution_consumed = models.FloatField(default=0)
    response_due_at = models.DateTimeField(null=True, blank=True)
    response_met_at = models.DateTimeField(null=True, blank=True)
    response_breached_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    resolution_met_at = models.DateTimeField(null=True, blank=True)
    resolution_breached_at = models.DateTimeField(null=True, blank=True)
    # Response (issue 11): a major incident is declared (automatically for P1, by a
    # per-service rule for P2, or by hand) and stays major until declared otherwise.
    major_declared_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # The war room: a chat channel and a video bridge (filled from the service's
    # templates when empty).
    chat_url = models.URLField(max_length=500, blank=True)
    video_url = models.URLField(max_length=500, blank=True)
    # Functional escalation (issue 11): when it was last escalated (support level or team
    # hand-off); the queue shows "escalated to L2 Network" from this, the level and the
    # team, without reading the timeline.
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-number"]
        indexes = [
            models.Index(fields=["status", "priority", "resolution_due_at"]),
            models.Index(fields=["reporter", "status"]),
            models.Index(fields=["status", "resolved_at"]),
            # the portal: a reporter's incidents, latest change first (bench/ui)
            models.Index(fields=["reporter", "-updated_at"], name="incident_reporter_updated"),
        ]

    def __str__(self) -> str:
        return f"{self.ref} {self.title}"

    @property
    def ref(self) -> str:
        return f"INC-{self.number}"

    @property
    def priority_label(self) -> str:
        return f"P{self.priority}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_major(self) -> bool:
        return self.major_declared_at is not None

    @property
    def escalation_label(self) -> str:
        """ "escalated to L2 Network" once escalated (level and team as they are now)."""
        if self.escalated_at is None:
            return ""
        team = self.team.name if self.team_id and self.team is not None else ""
        return f"escalated to L{self.support_level}" + (f" {team}" if team else "")

    @property
    def reporter_display(self) -> str:
        if self.reporter_id:
            return self.reporter.display_name  # type: ignore[union-attr]
        return self.reporter_name or self.reporter_email or "—"


class PriorityMatrixCell(models.Model):
    """Impact × urgency → priority; an administrator can edit the 16 cells."""

    impact = models.PositiveSmallIntegerField(choices=Level.choices)
    urgency = models.PositiveSmallIntegerField(choices=Level.choices)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices)

    class Meta:
        ordering = ["urgency", "impact"]
        verbose_name = "priority matrix cell"
        verbose_name_plural = "priority matrix"
        constraints = [
            models.UniqueConstraint(fields=["impact", "urgency"], name="matrix_cell_unique"),
        ]

    def __str__(self) -> str:
        return f"impact {self.impact} × urgency {self.urgency} → P{self.priority}"


class BusinessCalendar(models.Model):
    """Working hours for SLA clocks that do not run 24×7."""

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    weekdays = models.CharField(
        max_length=20, default="0,1,2,3,4", help_text="Working days, 0 = Monday … 6 = Sunday"
    )
    day_start = models.TimeField(default=dt.time(9, 0))
    day_end = models.TimeField(default=dt.time(17, 0))
    holidays = models.JSONField(default=list, blank=True, help_text="ISO dates, e.g. 2026-12-25")

    class Meta:
        verbose_name = "business-hours calendar"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        days = [d.strip() for d in self.weekdays.split(",") if d.strip()]
        if not days or any(not d.isdigit() or int(d) > 6 for d in days):
            raise ValidationError(
                {"weekdays": "Give working days as 0–6 (0 = Monday), e.g. 0,1,2,3,4"}
            )
        if self.day_end <= self.day_start:
            raise ValidationError({"day_end": "The working day must end after it starts"})
        try:
            zoneinfo.ZoneInfo(self.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValidationError(
                {"time_zone": f"{self.time_zone!r} is not a known time zone"}
            ) from None
        for day in self.holidays or []:
            try:
                dt.date.fromisoformat(str(day))
            except ValueError:
                raise ValidationError({"holidays": f"{day!r} is not an ISO date"}) from None


class SlaTarget(models.Model):
    """Response (acknowledge) and resolution targets for one priority."""

    priority = models.PositiveSmallIntegerField(choices=Priority.choices, unique=True)
    response_minutes = models.PositiveIntegerField("response target (minutes)")
    resolution_minutes = models.PositiveIntegerField("resolution target (minutes)")
    calendar = models.ForeignKey(
        BusinessCalendar,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="Empty: the clock runs 24×7",
    )

    class Meta:
        ordering = ["priority"]
        verbose_name = "SLA target"
        verbose_name_plural = "SLA targets"

    def __str__(self) -> str:
        return f"P{self.priority}: {self.response_minutes} min / {self.resolution_minutes} min"

    def clean(self) -> None:
        if not self.response_minutes or not self.resolution_minutes:
            raise ValidationError("Targets must be at least one minute")
        if self.response_minutes > self.resolution_minutes:
            raise ValidationError(
                {"response_minutes": "The response target cannot exceed the resolution target"}
            )
        if self.calendar_id is None:
            return
        from tocsin.incidents.sla import working_seconds

        # The target must fit in the calendar's working time within two years.
        start = now()
        available = working_seconds(self.calendar, start, start + dt.timedelta(days=730))
        if available < self.resolution_minutes * 60:
            raise ValidationError(
                {"calendar": "This calendar has too little working time for these targets"}
            )


class Visibility(models.TextChoices):
    INTERNAL = "internal", "Internal"
    PUBLIC = "public", "Public"


class EntryKind(models.TextChoices):
    CREATED = "created", "Created"
    FIELD = "field", "Field changed"
    TRANSITION = "transition", "Status changed"
    NOTE = "note", "Note"
    ATTACHMENT = "attachment", "Attachment"
    ASSIGNMENT = "assignment", "Assignment"
    ESCALATION = "escalation", "Escalation"
    PRIORITY = "priority", "Priority"
    MERGE = "merge", "Merge"
    SLA = "sla", "SLA"
    CONFIRMATION = "confirmation", "Reporter confirmation"
    PAGE = "page", "Paging"
    # response and communication (issue 11)
    ROLE = "role", "Role"
    MAJOR = "major", "Major incident"
    RESPONDER = "responder", "Responder"
    MANAGEMENT = "management", "Management notified"
    UPDATE = "update", "Stakeholder update"
    WAR_ROOM = "war_room", "War room"
    # learning (issue 12)
    POSTMORTEM = "postmortem", "Postmortem"
    ACTION_ITEM = "action_item", "Action item"
    PROBLEM = "problem", "Problem"
    ARTICLE = "article", "Knowledge article"
    RUNBOOK = "runbook", "Runbook"


class TimelineEntry(models.Model):
    """Append-only history of an incident; only the text can be redacted, by an admin."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="timeline")
    created_at = models.DateTimeField(db_index=True)
    kind = models.CharField(max_length=20, choices=EntryKind.choices)
    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.INTERNAL
    )
    text = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    actor_kind = models.CharField(max_length=20)
    actor_user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_token = models.ForeignKey(
        ApiToken, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    redacted_at = models.DateTimeField(null=True, blank=True)
    redacted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # A highlight: staff pin the entries that matter (they feed the postmortem).
    pinned_at = models.DateTimeField(null=True, blank=True)
    pinned_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "timeline entries"

    def __str__(self) -> str:
        return f"{self.incident.ref} {self.kind} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def pinned(self) -> bool:
        return self.pinned_at is not None


class TimelineOrder(models.TextChoices):
    OLDEST = "oldest", "Oldest first"
    NEWEST = "newest", "Newest first"


class TimelineShow(models.TextChoices):
    ALL = "all", "Everything"
    PEOPLE = "people", "Hide system entries"
    NOTES = "notes", "Notes only"
    PINNED = "pinned", "Highlights"


class TimelineView(models.Model):
    """How one person likes to read incident timelines (remembered between visits)."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="timeline_view")
    order = models.CharField(
        max_length=10, choices=TimelineOrder.choices, default=TimelineOrder.OLDEST
    )
    show = models.CharField(max_length=10, choices=TimelineShow.choices, default=TimelineShow.ALL)

    def __str__(self) -> str:
        return f"{self.user}: {self.order}, {self.show}"


def attachment_path(instance: Attachment, filename: str) -> str:
    return f"incidents/{instance.incident.number}/{filename}"


class Attachment(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=300)
    filename = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField()
    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC
    )

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.filename


class MailReceipt(models.Model):
    """A mail the email intake filed, by its Message-ID, for one email integration.

    The same mail delivered again (the sender never saw the first 250 and retried) is
    answered with what the first delivery became and not filed twice. Kept for
    `email_intake.RECEIPT_KEEP`.
    """

    integration = models.ForeignKey(
        "catalog.Integration", on_delete=models.CASCADE, related_name="+"
    )
    # SHA-256 hex of the Message-ID with the sender, subject and text (email_intake)
    message_key = models.CharField(max_length=64)
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+")
    outcome = models.CharField(max_length=20)
    received_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["integration", "message_key"], name="mail_receipt_once")
        ]

    def __str__(self) -> str:
        return f"{self.message_key[:12]} -> {self.incident_id}"


class SavedView(models.Model):
    """A queue view a person saved: a name and the queue's filters as a query string.

    Only its owner sees it (anyone else gets a 404); the built-in views (Mine, Unassigned,
    Breached, My team's) are not stored."""

    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField(max_length=60)
    query = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="saved_view_name_once")
        ]

    def __str__(self) -> str:
        return self.name


class IncidentRole(models.Model):
    """A role someone holds on an incident: commander, communications lead and scribe
    come built in (`key` fixed, name editable); administrators add their own. An
    archived role keeps its history but cannot be assigned any more."""

    COMMANDER = "commander"
    COMMS_LEAD = "comms_lead"
    SCRIBE = "scribe"

    key = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=60, unique=True)
    description = models.CharField(max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(default=100)
    builtin = models.BooleanField(default=False)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class RoleAssignment(models.Model):
    """Who holds a role on an incident, and since when. Handing a role over ends the
    current holder's row and opens a new one; at most one open row per role."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="roles")
    role = models.ForeignKey(IncidentRole, on_delete=models.PROTECT, related_name="assignments")
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="incident_roles")
    assigned_at = models.DateTimeField()
    assigned_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["role__position", "assigned_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "role"],
                condition=models.Q(ended_at__isnull=True),
                name="role_held_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.role} on {self.incident_id}: {self.user_id}"


class ParticipantVia(models.TextChoices):
    ROLE = "role", "Role"
    RESPONDER = "responder", "Accepted a responder request"
    MANUAL = "manual", "Added"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"


class Participant(models.Model):
    """A person working on an incident (beyond its assignee): who took a role, accepted a
    responder request or was added. Participants are listed on the incident and receive
    its stakeholder updates."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="participants")
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="participations")
    via = models.CharField(max_length=20, choices=ParticipantVia.choices)
    joined_at = models.DateTimeField()

    class Meta:
        ordering = ["joined_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "user"], name="participant_once")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.incident_id}"
