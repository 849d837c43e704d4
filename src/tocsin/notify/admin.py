from __future__ import annotations

from django.contrib import admin

from tocsin.notify.models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ("created_at", "channel", "recipient", "subject", "state", "attempts", "sent_at")
    list_filter = ("state", "channel")
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]
