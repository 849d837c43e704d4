"""The service pages' routes (included at "" by tocsin/urls.py): services, their alert
settings and their integrations."""

from __future__ import annotations

from django.urls import path

from tocsin.catalog import views

urlpatterns = [
    path("services/", views.service_list, name="services"),
    path("services/<int:service_id>/", views.service_detail, name="service"),
    path("services/<int:service_id>/settings/", views.service_settings, name="service-settings"),
    path("services/<int:service_id>/war-room/", views.service_war_room, name="service-war-room"),
    path(
        "services/<int:service_id>/integrations/new/",
        views.integration_new,
        name="integration-new",
    ),
    path(
        "services/<int:service_id>/integrations/<int:integration_id>/key/",
        views.integration_key,
        name="integration-key",
    ),
    path(
        "services/<int:service_id>/integrations/<int:integration_id>/rotate/",
        views.integration_rotate,
        name="integration-rotate",
    ),
    path(
        "services/<int:service_id>/integrations/<int:integration_id>/revoke/",
        views.integration_revoke,
        name="integration-revoke",
    ),
]
