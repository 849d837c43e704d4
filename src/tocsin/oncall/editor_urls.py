"""The schedule editor's routes (included at "" by web_urls.py): create, edit, preview
and archive. The schedule list and page (/schedules/, /schedules/<id>/) are ui_urls.py's."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from tocsin.oncall import editor_views as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("schedules/new/", views.schedule_new, name="schedule-new"),
    path("schedules/<int:schedule_id>/edit/", views.schedule_edit, name="schedule-edit"),
    path("schedules/<int:schedule_id>/archive/", views.schedule_archive, name="schedule-archive"),
    path(
        "schedules/editor/preview/",
        views.schedule_editor_preview,
        name="schedule-editor-preview",
    ),
]
