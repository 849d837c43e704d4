"""People, teams and tokens in Django admin: every save goes through accounts.services
(the last-administrator guard, the e-mail, zone and manager checks); nothing is deleted."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.db.models import QuerySet
from django.http import HttpRequest

from tocsin.accounts import services
from tocsin.accounts.models import ApiToken, Team, User
from tocsin.accounts.permissions import Action, can
from tocsin.core.admin import ReadOnlyAdmin, ServiceWriteAdmin, admin_actor


def _admin_site_allows(request: HttpRequest) -> bool:
    """Django admin is for administrators (config.manage), as everything else asks `can`."""
    return can(request.user, Action.CONFIG_MANAGE)


admin.site.has_permission = _admin_site_allows  # type: ignore[method-assign]

# Tocsin's roles decide who may do what (accounts.permissions); Django's groups do not,
# so they are not offered.
admin.site.unregister(Group)


@admin.register(User)
class UserAdmin(ServiceWriteAdmin, DjangoUserAdmin):
    list_display = ("username", "name", "email", "role", "time_zone", "is_active")
    list_filter = ("role", "is_active", "time_zone")
    search_fields = ("username", "name", "email")
    ordering = ("username",)
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Person", {"fields": ("name", "email", "time_zone")}),
        ("Access", {"fields": ("role", "is_active")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "username",
                    "name",
                    "email",
                    "role",
                    "time_zone",
                    "password1",
                    "password2",
                ),
            },
        ),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # a username is fixed once made (people are addressed by it everywhere)
        return ("last_login", "date_joined", "username") if obj else ()

    def write(
        self, request: HttpRequest, current: Any, data: dict[str, Any], changed: list[str]
    ) -> User:
        if current is None:
            return services.user_create(
                username=data["username"],
                email=data.get("email") or "",
                name=data.get("name") or "",
                role=data["role"],
                time_zone=data.get("time_zone") or "",
                password=data.get("password1") or None,
                actor=admin_actor(request),
            )
        fields = ("email", "name", "role", "time_zone")
        sent = {name: data[name] for name in fields if name in changed}
        return services.user_update(
            user=current,
            is_active=data["is_active"] if "is_active" in changed else None,
            actor=admin_actor(request),
            **sent,
        )


@admin.register(Team)
class TeamAdmin(ServiceWriteAdmin):
    list_display = ("name", "manager")
    search_fields = ("name",)
    # Plain select and multi-select: the admin's filter_horizontal and autocomplete
    # widgets fail the accessibility check (unnamed combobox, ARIA on a plain span).
    fields = ("name", "description", "manager", "members")

    def write(
        self, request: HttpRequest, current: Any, data: dict[str, Any], changed: list[str]
    ) -> Team:
        if current is None:
            return services.team_create(
                name=data["name"],
                description=data.get("description") or "",
                manager=data.get("manager"),
                members=list(data.get("members") or []),
                actor=admin_actor(request),
            )
        return services.team_update(
            team=current,
            name=data["name"] if "name" in changed else None,
            description=data["description"] if "description" in changed else None,
            manager=data["manager"] if "manager" in changed else None,
            clear_manager="manager" in changed and data["manager"] is None,
            members=list(data["members"]) if "members" in changed else None,
            actor=admin_actor(request),
        )


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    note = (
        "Tokens are created with `tocsin token create USERNAME` (the secret is shown once); "
        "select tokens and choose “Revoke” to revoke them."
    )
    list_display = ("prefix", "user", "name", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    fields = ("user", "name", "prefix", "created_at", "last_used_at", "revoked_at")
    actions = ("revoke",)

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        tokens = list(queryset)
        actor = admin_actor(request)
        for token in tokens:
            services.token_revoke(token=token, actor=actor)
        self.message_user(request, f"{len(tokens)} token(s) revoked.", messages.SUCCESS)
