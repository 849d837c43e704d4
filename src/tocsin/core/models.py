from __future__ import annotations

from django.db import models
from django.db.models import F


class Counter(models.Model):
    """A named counter whose values are never reused (incident numbers)."""

    name = models.CharField(max_length=50, unique=True)
    value = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"

    @classmethod
    def next_value(cls, name: str) -> int:
        """Increment inside the caller's transaction; the row lock serialises writers."""
        cls.objects.get_or_create(name=name)
        cls.objects.filter(name=name).update(value=F("value") + 1)
        return cls.objects.values_list("value", flat=True).get(name=name)


class IdempotencyRecord(models.Model):
    """The first answer to a create with an Idempotency-Key, replayed for 24 hours."""

    owner = models.CharField(max_length=150)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    # SHA-256 of the request body (JSON canonicalised, forms by field and file content):
    # the same key with another body is refused, not answered with the first reply.
    request_hash = models.CharField(max_length=64, blank=True, default="")
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField()
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="idempotency_owner_key"),
        ]

    def __str__(self) -> str:
        return f"{self.owner}:{self.key}"
