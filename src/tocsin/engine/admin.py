from __future__ import annotations

from django.contrib import admin

from tocsin.engine.models import WorkerHeartbeat


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ("worker_id", "started_at", "last_seen_at", "ticks")
