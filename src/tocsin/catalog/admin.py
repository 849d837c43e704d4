"""Services and categories in Django admin, saved through catalog.services (names, the
severity map and every alert setting are checked there); nothing is deleted."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from tocsin.catalog import services
from tocsin.catalog.models import Category, Service
from tocsin.core.admin import ServiceWriteAdmin, admin_actor

BASICS = ("name", "description", "team", "is_active")


@admin.register(Service)
class ServiceAdmin(ServiceWriteAdmin):
    list_display = ("name", "team", "is_active")
    list_filter = ("is_active", "team")
    search_fields = ("name",)
    fields = (*BASICS, *services.ALERT_SETTINGS)

    def write(
        self, request: HttpRequest, current: Any, data: dict[str, Any], changed: list[str]
    ) -> Service:
        actor = admin_actor(request)
        if current is None:
            service = services.service_create(
                name=data["name"],
                description=data.get("description") or "",
                team=data.get("team"),
                actor=actor,
            )
            if not data.get("is_active", True):
                service = services.service_update(service=service, is_active=False, actor=actor)
        elif set(BASICS) & set(changed):
            service = services.service_update(
                service=current,
                name=data["name"] if "name" in changed else None,
                description=data["description"] if "description" in changed else None,
                team=data["team"] if "team" in changed else None,
                clear_team="team" in changed and data["team"] is None,
                is_active=data["is_active"] if "is_active" in changed else None,
                actor=actor,
            )
        else:
            service = current
        alert_changes = {name: data[name] for name in services.ALERT_SETTINGS if name in changed}
        return services.service_update_alert_settings(
            service=service, changes=alert_changes, actor=actor
        )


@admin.register(Category)
class CategoryAdmin(ServiceWriteAdmin):
    list_display = ("__str__", "parent", "is_active")
    list_filter = ("parent", "is_active")
    search_fields = ("name",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # name and place are checked by category_create; there is no service to move or
        # rename a category, so once made only its active flag changes here
        return ("name", "parent") if obj else ()

    def write(
        self, request: HttpRequest, current: Any, data: dict[str, Any], changed: list[str]
    ) -> Category:
        actor = admin_actor(request)
        if current is None:
            category = services.category_create(
                name=data["name"], parent=data.get("parent"), actor=actor
            )
            if data.get("is_active") is False:
                category = services.category_set_active(
                    category=category, is_active=False, actor=actor
                )
            return category
        if "is_active" in changed:
            return services.category_set_active(
                category=current, is_active=data["is_active"], actor=actor
            )
        return current
