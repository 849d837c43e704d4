"""The major-incident pages (major_views.py), included at "" by tocsin/urls.py."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from tocsin.comms import major_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("settings/major-incidents/", major_views.settings_page, name="settings-major"),
    path(
        "incidents/<str:ref>/major/declare/",
        major_views.declare_view,
        name="incident-major-declare",
    ),
    path(
        "incidents/<str:ref>/major/stand-down/",
        major_views.stand_down_view,
        name="incident-major-stand-down",
    ),
    path(
        "incidents/<str:ref>/major/checklist/<int:position>/",
        major_views.checklist_view,
        name="incident-major-checklist",
    ),
]
