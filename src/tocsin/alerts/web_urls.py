"""The alerts UI's routes (included at "" by tocsin/urls.py): alerts, services and their
integrations, maintenance windows and silences."""

from __future__ import annotations

from django.urls import path

from tocsin.alerts import views
from tocsin.catalog import views as catalog_views

urlpatterns = [
    path("alerts/", views.alert_list, name="alerts"),
    path("services/", catalog_views.service_list, name="services"),
    path("services/<int:service_id>/", catalog_views.service_detail, name="service"),
    path(
        "services/<int:service_id>/settings/",
        catalog_views.service_settings,
        name="service-settings",
    ),
    path(
        "services/<int:service_id>/integrations/new/",
        catalog_views.integration_new,
        name="integration-new",
    ),
    path(
        "services/<int:service_id>/integrations/<int:integration_id>/key/",
        catalog_views.integration_key,
        name="integration-key",
    ),
    path(
        "services/<int:service_id>/integrations/<int:integration_id>/rotate/",
        catalog_views.integration_rotate,
        name="integration-rotate",
    ),
    path(
        "services/<int:service_id>/integrations/<int:integration_id>/revoke/",
        catalog_views.integration_revoke,
        name="integration-revoke",
    ),
    path("services/<int:service_id>/maintenance/", views.window_create, name="window-create"),
    path("services/<int:service_id>/silences/", views.silence_create, name="silence-create"),
    path("maintenance/<int:window_id>/end/", views.window_end, name="window-end"),
    path("silences/<int:silence_id>/expire/", views.silence_expire, name="silence-expire"),
]
