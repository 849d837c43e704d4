from __future__ import annotations

from django.contrib import admin

from tocsin.core.admin import ReadOnlyAdmin
from tocsin.engine.models import WorkerHeartbeat


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyAdmin):
    note = "Read-only here: each worker writes its own heartbeat."
    list_display = ("worker_id", "started_at", "last_seen_at", "ticks")
