"""The alerts UI's routes (included at "" by tocsin/urls.py): alerts, and maintenance
windows and silences (shown on the service page, tocsin.catalog.web_urls)."""

from __future__ import annotations

from django.urls import path

from tocsin.alerts import views

urlpatterns = [
    path("alerts/", views.alert_list, name="alerts"),
    path("alerts/bulk/", views.alerts_bulk, name="alerts-bulk"),
    path("alerts/<int:alert_id>/", views.alert_page, name="alert"),
    path("alerts/<int:alert_id>/<slug:action>/", views.alert_act, name="alert-act"),
    path("services/<int:service_id>/maintenance/", views.window_create, name="window-create"),
    path("services/<int:service_id>/silences/", views.silence_create, name="silence-create"),
    path("maintenance/<int:window_id>/end/", views.window_end, name="window-end"),
    path("silences/<int:silence_id>/expire/", views.silence_expire, name="silence-expire"),
]
