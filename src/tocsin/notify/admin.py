from __future__ import annotations

from django.contrib import admin

from tocsin.core.admin import ReadOnlyAdmin
from tocsin.notify.models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    note = "Read-only here: the outbox is written by Tocsin and sent by the worker."
    list_display = ("created_at", "channel", "recipient", "subject", "state", "attempts", "sent_at")
    list_filter = ("state", "channel")
