from django.contrib import admin
from django.http import HttpRequest

from tocsin.core.models import AuditEntry

admin.site.site_header = "Tocsin administration"
admin.site.site_title = "Tocsin admin"
admin.site.index_title = "Configuration"


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the audit log is append-only (written by the services, never edited)."""

    list_display = ("at", "actor_label", "action", "object_type", "object_label", "ip")
    list_filter = ("action", "object_type", "actor_kind")
    search_fields = ("object_label", "actor_label", "request_id")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
