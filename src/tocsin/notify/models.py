from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class OutboxState(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class OutboxMessage(models.Model):
    """Every outbound message is a row here, committed with the change that caused it.

    The worker claims a row with a short lease (state `sending` + deadline, counted from
    the moment of the claim) before it calls the channel; a worker that dies mid-send
    lets the lease expire and the row is sent again with the same message id, so a
    receiver can drop the repeat. Only the holder of the claim (`sending` with the
    `attempts` it set) may record the outcome.
    """

    message_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    channel = models.CharField(max_length=20, default="email")
    recipient = models.CharField(max_length=320)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    # What a channel needs besides subject and body (a page's urgency, buttons, links).
    payload = models.JSONField(default=dict, blank=True)
    # Enqueueing twice with the same key yields one row (e.g. "page:<incident>:<step>").
    dedup_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    state = models.CharField(max_length=10, choices=OutboxState.choices, default=OutboxState.QUEUED)
    created_at = models.DateTimeField()
    not_before = models.DateTimeField(db_index=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    # The provider's own id for the message (an SMTP Message-ID, an SMS provider's sid).
    provider_message_id = models.CharField(max_length=300, blank=True)
    last_error = models.TextField(blank=True)
    incident = models.ForeignKey(
        "incidents.Incident", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Whom the message is for: a person (pages, personal mail), or nobody (a reporter
    # known only by address, a subscriber list).
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # The person's contact method the message goes to (the column was a plain integer
    # before contact methods existed; same column name).
    contact_method = models.ForeignKey(
        "accounts.ContactMethod",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # What the message is for, shown in the delivery log: a page, a hand-off notice,
    # a test, mail to a reporter, an automation webhook, ...
    purpose = models.CharField(max_length=20, default="mail", db_index=True)
    # A page that went out inside another one (the throttle's bundle, "12 more incidents
    # for Payments"): the message that carried it. Its provider_message_id is
    # "bundled:<message_id of the carrier>".
    bundled_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["state", "not_before"]),
            models.Index(fields=["incident", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.recipient}: {self.subject}"
