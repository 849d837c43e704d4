from __future__ import annotations

from django.db import models


class Row(models.Model):
    """One accepted request, like an inbox row: when, and the raw body."""

    received_at = models.DateTimeField()
    payload = models.TextField()

    def __str__(self) -> str:
        return f"row {self.pk}"
