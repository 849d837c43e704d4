from __future__ import annotations

from django.contrib import admin

from tocsin.catalog.models import Category, Service


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ("name", "team", "is_active")
    list_filter = ("is_active", "team")
    search_fields = ("name",)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("__str__", "parent", "is_active")
    list_filter = ("parent", "is_active")
    search_fields = ("name",)
