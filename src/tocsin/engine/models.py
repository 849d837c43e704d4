from __future__ import annotations

from django.db import models


class WorkerHeartbeat(models.Model):
    """One row per worker process, touched every tick: /readyz reads it."""

    worker_id = models.CharField(max_length=200, unique=True)
    started_at = models.DateTimeField()
    last_seen_at = models.DateTimeField(db_index=True)
    ticks = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return self.worker_id
