from __future__ import annotations

import uuid

from django.db import models


class OutboxState(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class OutboxMessage(models.Model):
    """Every outbound message is a row here, committed with the change that caused it.

    The worker claims a row with a short lease (state `sending` + deadline) before it
    calls the provider; a worker that dies mid-send lets the lease expire and the row is
    sent again with the same message id, so a receiver can drop the repeat.
    """

    message_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    channel = models.CharField(max_length=20, default="email")
    recipient = models.CharField(max_length=320)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    state = models.CharField(max_length=10, choices=OutboxState.choices, default=OutboxState.QUEUED)
    created_at = models.DateTimeField()
    not_before = models.DateTimeField(db_index=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    incident = models.ForeignKey(
        "incidents.Incident", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["state", "not_before"])]

    def __str__(self) -> str:
        return f"{self.channel} to {self.recipient}: {self.subject}"
