"""The postmortem pages (postmortem_views.py), included at "" by tocsin/urls.py."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from tocsin.learning import postmortem_views as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("postmortems/", views.postmortem_list, name="postmortems"),
    path("postmortems/new/", views.postmortem_new, name="postmortem-new"),
    path("postmortems/<int:postmortem_id>/", views.postmortem_detail, name="postmortem"),
    path("postmortems/<int:postmortem_id>/edit/", views.postmortem_edit, name="postmortem-edit"),
    path("postmortems/<int:postmortem_id>/move/", views.postmortem_move, name="postmortem-move"),
    path(
        "postmortems/<int:postmortem_id>/comments/",
        views.postmortem_comment,
        name="postmortem-comment",
    ),
    path(
        "postmortems/<int:postmortem_id>/export.md",
        views.postmortem_export,
        name="postmortem-export",
    ),
    path("postmortems/<int:postmortem_id>/print/", views.postmortem_print, name="postmortem-print"),
    path("settings/postmortems/", views.settings_page, name="settings-postmortems"),
    path(
        "settings/postmortems/templates/new/",
        views.template_page,
        name="settings-postmortem-template-new",
    ),
    path(
        "settings/postmortems/templates/<int:template_id>/",
        views.template_page,
        name="settings-postmortem-template",
    ),
]
