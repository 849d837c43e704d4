"""The automation webhook pages (automation_views.py), included at "" by tocsin/urls.py."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from tocsin.comms import automation_views as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("settings/webhooks/", views.webhook_list, name="automation-webhooks"),
    path("settings/webhooks/new/", views.webhook_new, name="automation-webhook-new"),
    path("settings/webhooks/<int:webhook_id>/", views.webhook_detail, name="automation-webhook"),
    path(
        "settings/webhooks/<int:webhook_id>/edit/",
        views.webhook_edit,
        name="automation-webhook-edit",
    ),
    path(
        "settings/webhooks/<int:webhook_id>/active/",
        views.webhook_active,
        name="automation-webhook-active",
    ),
    path(
        "settings/webhooks/<int:webhook_id>/test/",
        views.webhook_test,
        name="automation-webhook-test",
    ),
    path(
        "settings/webhooks/<int:webhook_id>/rotate/",
        views.webhook_rotate,
        name="automation-webhook-rotate",
    ),
    path(
        "settings/webhooks/<int:webhook_id>/delete/",
        views.webhook_delete,
        name="automation-webhook-delete",
    ),
]
