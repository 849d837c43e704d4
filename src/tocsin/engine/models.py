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


class Lease(models.Model):
    """A named lease one worker holds at a time: what an engine module takes when it must
    run alone (e.g. `ingest:service:7`, so that one service's inbox rows are never applied
    out of order or by two workers at once). See `tocsin.engine.leases`.

    Transient: a lease nobody renews lapses on its own; rows are made on first use.
    """

    name = models.CharField(max_length=100, unique=True)
    holder = models.CharField(max_length=200, blank=True)
    lease_until = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder or 'nobody'} until {self.lease_until:%H:%M:%S}"
