"""`/oncall/hours/`: hours on call (hours_views.py)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from tocsin.oncall import hours_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("oncall/hours/", hours_views.oncall_hours, name="oncall-hours"),
]
