from __future__ import annotations

from typing import ClassVar, Self

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower

from tocsin.core.clock import is_zone, now


def validate_time_zone(value: str) -> None:
    if not is_zone(value):
        raise ValidationError(f"{value!r} is not a known time zone")


def default_time_zone() -> str:
    return settings.TIME_ZONE


class Role(models.TextChoices):
    REPORTER = "reporter", "Reporter"
    AGENT = "agent", "Service-desk agent"
    RESPONDER = "responder", "Responder"
    MANAGER = "manager", "Manager"
    ADMIN = "admin", "Administrator"


# Who may do what with each role: accounts/permissions.py, the one place.


class User(AbstractUser):
    """A person. Deactivated, never deleted."""

    name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.REPORTER)
    time_zone = models.CharField(
        max_length=64, default=default_time_zone, validators=[validate_time_zone]
    )
    # Paging preferences (issue 10): how long before a shift the "you are on call" notice
    # goes out (0: none), and whether low-urgency pages wait for the person's working
    # hours (Monday to Friday, 09:00-17:00 in their own zone).
    handoff_notice_minutes = models.PositiveIntegerField(default=60)
    low_urgency_working_hours = models.BooleanField(default=False)

    objects: ClassVar[UserManager[Self]] = UserManager()

    class Meta:
        ordering = ["username"]
        constraints = [
            # One person per email address, whatever its case (email intake finds the
            # sender by address); blank is allowed for accounts made outside the services.
            models.UniqueConstraint(
                Lower("email"),
                condition=~models.Q(email=""),
                name="accounts_user_email_ci_unique",
                violation_error_message="another person already has this email address",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name or self.get_full_name() or self.username


HANDOFF_TEMPLATE_DEFAULT = "What was tried: \nWhy escalate: \nCustomer impact: "
HANDOFF_TEMPLATE_MAX = 2000


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    manager = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="managed_teams"
    )
    # Functional escalation (issue 11): what the escalate form's note starts with when the
    # incident is handed to this team (its manager or an administrator edits it).
    handoff_template = models.TextField(blank=True, default=HANDOFF_TEMPLATE_DEFAULT)
    members = models.ManyToManyField(User, blank=True, related_name="teams")
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ApiToken(models.Model):
    """A bearer token: shown once, stored as a SHA-256 hash (tokens are long and random)."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=12, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"
        verbose_name_plural = "API tokens"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user.username})"


class ContactKind(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    VOICE = "voice", "Voice call"
    SLACK = "slack", "Slack"
    TEAMS = "teams", "Microsoft Teams"
    NTFY = "ntfy", "ntfy"
    WEBHOOK = "webhook", "Webhook"
    APPRISE = "apprise", "Apprise"


# Kinds whose address may carry a secret: stored encrypted (tocsin.core.crypto), shown masked.
SECRET_CONTACT_KINDS = frozenset({ContactKind.WEBHOOK, ContactKind.APPRISE})


class ContactMethod(models.Model):
    """One way to reach a person (paging). Never deleted (outbox rows point here): disabled."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="contact_methods")
    kind = models.CharField(max_length=10, choices=ContactKind.choices)
    # Plain for most kinds; a Fernet token for SECRET_CONTACT_KINDS (read via services).
    address = models.TextField()
    label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=now, editable=False)
    last_delivery_at = models.DateTimeField(null=True, blank=True)
    last_delivery_ok = models.BooleanField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user.username}"


class Urgency(models.TextChoices):
    """How hard a page tries: P1-P2 page as high urgency, P3-P4 as low (per service)."""

    HIGH = "high", "High urgency"
    LOW = "low", "Low urgency"


class NotificationRule(models.Model):
    """ "Notify me by <contact method> <delay> minutes after a page starts", per urgency.

    A person with no stored rule for an urgency gets the defaults
    (`tocsin.accounts.selectors.effective_rules`), so new people and new contact methods
    are covered at once. Rules pointing at a disabled method are skipped when paging.
    """

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="notification_rules")
    urgency = models.CharField(max_length=4, choices=Urgency.choices)
    contact_method = models.ForeignKey(
        ContactMethod, on_delete=models.PROTECT, related_name="notification_rules"
    )
    delay_minutes = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["user", "urgency", "delay_minutes", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "urgency", "contact_method", "delay_minutes"],
                name="accounts_rule_unique",
            )
        ]

    def __str__(self) -> str:
        kind = self.contact_method.kind
        return f"{self.user.username} {self.urgency}: {kind} +{self.delay_minutes}m"
