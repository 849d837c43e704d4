"""Escalation policies and the durable state of every climb (issue 10).

A policy is ordered levels; each level has targets (people, schedules, a team's on-call)
and a delay before the next level; the whole policy repeats `repeat` more times. An
incident on a service with a policy gets an `Escalation` (one climb); so does every
"page now". The engine module fires each climb's next step when `next_at` comes: it
finds who the level's targets are at that moment, writes one `Page` per person and, per
person, one outbox message per notification rule (delayed by the rule's minutes),
all in one transaction with the timeline entry. Acknowledge stops the climb and cancels
the queued messages; resolve cancels every pending page.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from tocsin.accounts.models import Team
from tocsin.core.clock import now

REPEAT_MAX = 9
LEVELS_MAX = 20
TARGETS_MAX = 20
DELAY_MAX_MINUTES = 1440


class EscalationPolicy(models.Model):
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="escalation_policies"
    )
    # How many more times the whole policy runs after the first pass (0: once).
    repeat = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=now, editable=False)
    updated_at = models.DateTimeField(default=now)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "escalation policies"
        constraints = [
            models.UniqueConstraint(
                models.functions.Lower("name"),
                condition=Q(archived_at__isnull=True),
                name="escalation_policy_name_ci_unique",
                violation_error_message="another escalation policy already has this name",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class LevelMode(models.TextChoices):
    ALL = "all", "Notify every target"
    ROUND_ROBIN = "round_robin", "Rotate among the targets"


class EscalationLevel(models.Model):
    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="levels")
    position = models.PositiveSmallIntegerField()  # 0 is the first level
    delay_minutes = models.PositiveIntegerField(default=15)  # before the next level
    mode = models.CharField(max_length=12, choices=LevelMode.choices, default=LevelMode.ALL)
    # Round-robin: the next target's index (taken with a compare-and-set when it fires).
    rr_next = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["policy", "position"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "position"], name="escalation_level_position")
        ]

    def __str__(self) -> str:
        return f"{self.policy.name} level {self.position + 1}"


class TargetKind(models.TextChoices):
    USER = "user", "Person"
    SCHEDULE = "schedule", "Schedule"
    TEAM = "team", "Team's on-call"


class EscalationTarget(models.Model):
    level = models.ForeignKey(EscalationLevel, on_delete=models.CASCADE, related_name="targets")
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=10, choices=TargetKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    schedule = models.ForeignKey(
        "oncall.Schedule", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["level", "position"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="user", user__isnull=False, schedule__isnull=True, team__isnull=True)
                    | Q(
                        kind="schedule",
                        user__isnull=True,
                        schedule__isnull=False,
                        team__isnull=True,
                    )
                    | Q(kind="team", user__isnull=True, schedule__isnull=True, team__isnull=False)
                ),
                name="escalation_target_one_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} target of {self.level}"


def default_high_priorities() -> list[int]:
    return [1, 2]


class ServicePaging(models.Model):
    """How a service pages: its escalation policy and which priorities are high urgency.

    A table of the escalation app (the catalog sits below it and knows no policies);
    `PATCH /api/v1/services/{id}` with `escalation_policy` writes it through a hook."""

    service = models.OneToOneField(
        "catalog.Service", primary_key=True, on_delete=models.CASCADE, related_name="paging"
    )
    policy = models.ForeignKey(
        EscalationPolicy, null=True, blank=True, on_delete=models.PROTECT, related_name="services"
    )
    high_urgency_priorities = models.JSONField(default=default_high_priorities)

    def __str__(self) -> str:
        return f"paging of service {self.service_id}"


class ClimbState(models.TextChoices):
    ACTIVE = "active", "Climbing"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"
    EXHAUSTED = "exhausted", "Stopped: nothing to page"
    REPLACED = "replaced", "Replaced"
    # Not a climb: the holder of a responder request's pages (escalation/responders.py).
    # The engine never fires it and acknowledging the incident does not stop it.
    RESPONDERS = "responders", "Responder request"


class Escalation(models.Model):
    """One climb of one incident: a policy's levels (or one ad-hoc target, "page now")."""

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.PROTECT, related_name="escalations"
    )
    policy = models.ForeignKey(
        EscalationPolicy, null=True, blank=True, on_delete=models.PROTECT, related_name="climbs"
    )
    # "Page now" to one schedule or person: no policy, one level, no repeat.
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    target_schedule = models.ForeignKey(
        "oncall.Schedule", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    target_team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    urgency = models.CharField(max_length=4, default="high")
    state = models.CharField(max_length=12, choices=ClimbState.choices, default=ClimbState.ACTIVE)
    # The next level to fire at `next_at`; `next_at` is empty once every level has been
    # paged (the climb stays active, its pages' later messages still go out, until
    # acknowledged or resolved).
    level = models.PositiveSmallIntegerField(default=0)
    cycle = models.PositiveSmallIntegerField(default=0)  # which pass of the policy
    step = models.PositiveIntegerField(default=0)  # steps fired so far: the claim's version
    next_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(default=now)
    ended_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["started_at", "pk"]
        indexes = [models.Index(fields=["state", "next_at"])]

    def __str__(self) -> str:
        return f"climb {self.pk} of incident {self.incident_id}"


class PageState(models.TextChoices):
    OPEN = "open", "Waiting for acknowledgement"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    CANCELLED = "cancelled", "Cancelled"


class Page(models.Model):
    """One person paged at one step of one climb (N3: one row each, a unique constraint).

    Its outbox messages (one per notification rule) carry `payload["page"] = pk` and the
    dedup key `page:<pk>:<contact method>:<delay>`."""

    escalation = models.ForeignKey(Escalation, on_delete=models.PROTECT, related_name="pages")
    incident = models.ForeignKey("incidents.Incident", on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    step = models.PositiveIntegerField()
    level = models.PositiveSmallIntegerField()
    cycle = models.PositiveSmallIntegerField()
    urgency = models.CharField(max_length=4, default="high")
    via = models.CharField(max_length=200, blank=True)  # "schedule Payments primary"
    state = models.CharField(max_length=12, choices=PageState.choices, default=PageState.OPEN)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["escalation", "step", "person"], name="escalation_page_once"
            )
        ]
        indexes = [models.Index(fields=["person", "state"]), models.Index(fields=["incident"])]

    def __str__(self) -> str:
        return f"page {self.pk} to {self.person_id}"


class SlaNotice(models.Model):
    """A warning (75 %) or breach notice sent for one due time of one target: the marker
    that makes each happen once, whatever the number of workers."""

    incident = models.ForeignKey("incidents.Incident", on_delete=models.PROTECT, related_name="+")
    target = models.CharField(max_length=10)  # response, resolution
    kind = models.CharField(max_length=10)  # warning, breach
    due_at = models.DateTimeField()
    created_at = models.DateTimeField(default=now)
    notified = models.JSONField(default=list, blank=True)  # usernames

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "target", "kind", "due_at"], name="escalation_sla_notice_once"
            )
        ]

    def __str__(self) -> str:
        return f"SLA {self.kind} for {self.target} of incident {self.incident_id}"


# --- hierarchical escalation (issue 11): "notify management" ---------------------------------


class ManagementTo(models.TextChoices):
    TEAM_MANAGER = "team_manager", "The team's manager"
    EXECUTIVES = "executives", "The executive list"


class ManagementTrigger(models.TextChoices):
    """Who asked: a person by hand, or the SLA module at a breach (one per target)."""

    MANUAL = "manual", "By hand"
    SLA_RESPONSE = "sla_response", "Response target breached"
    SLA_RESOLUTION = "sla_resolution", "Resolution target breached"


class ManagementNotice(models.Model):
    """One "notify management" on an incident: the reason sent to the incident team's
    manager or to the executive list. The reports count hierarchical escalations as
    these rows (functional ones as timeline entries of kind ESCALATION)."""

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.PROTECT, related_name="management_notices"
    )
    to = models.CharField(max_length=20, choices=ManagementTo.choices)
    trigger = models.CharField(
        max_length=20, choices=ManagementTrigger.choices, default=ManagementTrigger.MANUAL
    )
    reason = models.TextField()
    recipients = models.JSONField(default=list, blank=True)  # usernames, as sent
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    by_label = models.CharField(max_length=200, blank=True)  # "ann", "Tocsin · sla"
    at = models.DateTimeField(default=now, db_index=True)

    class Meta:
        ordering = ["-at", "-pk"]
        constraints = [
            # an SLA breach notifies management once per incident and target
            models.UniqueConstraint(
                fields=["incident", "trigger"],
                condition=~Q(trigger="manual"),
                name="escalation_management_sla_once",
            )
        ]

    def __str__(self) -> str:
        return f"management notice to {self.to} for incident {self.incident_id}"


class ExecutiveMember(models.Model):
    """A person on the executive list that "notify management → executives" reaches."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    added_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["added_at", "pk"]

    def __str__(self) -> str:
        return f"executive {self.user_id}"


# --- responders (issue 11): "add responders" asks people to join the response ----------


class ResponderRequest(models.Model):
    """One target of one "add responders": a person, a schedule's or a team's on-call,
    with a message. Its pages hang off `climb` (an Escalation in state `responders`,
    which no engine step fires), so they reuse the Page and outbox machinery."""

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.PROTECT, related_name="responder_requests"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    message = models.TextField(blank=True)
    target_kind = models.CharField(max_length=10, choices=TargetKind.choices)
    target_id = models.PositiveIntegerField()  # the user's, schedule's or team's id
    target_name = models.CharField(max_length=200)  # as it was named when asked
    missed = models.CharField(max_length=300, blank=True)  # "nobody is on call"
    climb = models.OneToOneField(
        Escalation, on_delete=models.PROTECT, related_name="responder_request"
    )
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["incident", "created_at"])]

    def __str__(self) -> str:
        return f"responder request {self.pk} on incident {self.incident_id}"


class AskState(models.TextChoices):
    PENDING = "pending", "Waiting"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"


class ResponderAsk(models.Model):
    """One person asked by one responder request, and their answer. "No answer" is not
    stored: a pending ask older than the timeout (responders.NO_ANSWER_AFTER)."""

    request = models.ForeignKey(ResponderRequest, on_delete=models.PROTECT, related_name="asks")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    page = models.OneToOneField(Page, on_delete=models.PROTECT, related_name="responder_ask")
    via = models.CharField(max_length=200, blank=True)
    state = models.CharField(max_length=10, choices=AskState.choices, default=AskState.PENDING)
    created_at = models.DateTimeField(default=now)
    answered_at = models.DateTimeField(null=True, blank=True)
    # who answered: the person, or an administrator on their behalf
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=500, blank=True)  # a decline's reason

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["request", "person"], name="responder_ask_once")
        ]
        indexes = [models.Index(fields=["person", "state"])]

    def __str__(self) -> str:
        return f"responder ask {self.pk} to {self.person_id}"


# --- "was this page actionable?" (issue 13, alert noise) ------------------------------------

FEEDBACK_NOTE_MAX = 1000


class PageFeedback(models.Model):
    """One person's answer to "was this page actionable?": about one of their pages (the
    paged person, from the page's link or the incident page), or, with no page, about
    the incident's paging as a whole (any staff member, from the incident page). One
    answer per person per page, and one per person per incident without a page; a new
    answer replaces the old one (`at` moves). Written by escalation/feedback.py."""

    page = models.ForeignKey(
        Page, null=True, blank=True, on_delete=models.PROTECT, related_name="feedback"
    )
    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.PROTECT, related_name="page_feedback"
    )
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    actionable = models.BooleanField()
    note = models.CharField(max_length=FEEDBACK_NOTE_MAX, blank=True)
    at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["page", "person"],
                condition=Q(page__isnull=False),
                name="page_feedback_once_per_page",
            ),
            models.UniqueConstraint(
                fields=["incident", "person"],
                condition=Q(page__isnull=True),
                name="page_feedback_once_per_incident",
            ),
        ]

    def __str__(self) -> str:
        answer = "actionable" if self.actionable else "not actionable"
        return f"{answer} from {self.person_id} on incident {self.incident_id}"
