"""The status-page administration (statuspage_views.py), included at "status-admin/" by
tocsin/urls.py. The public status page lives under /status/ (another module)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from tocsin.comms import statuspage_views as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.overview, name="status-admin"),
    path("components/new/", views.component_new, name="status-component-new"),
    path("components/<int:component_id>/", views.component_edit, name="status-component"),
    path(
        "components/<int:component_id>/status/",
        views.component_status,
        name="status-component-status",
    ),
    path("components/<int:component_id>/move/", views.component_move, name="status-component-move"),
    path(
        "components/<int:component_id>/archive/",
        views.component_archive,
        name="status-component-archive",
    ),
    path("groups/new/", views.group_form, name="status-group-new"),
    path("groups/<int:group_id>/", views.group_form, name="status-group"),
    path("groups/<int:group_id>/move/", views.group_move, name="status-group-move"),
    path("groups/<int:group_id>/archive/", views.group_archive, name="status-group-archive"),
    path("incidents/new/", views.incident_new, name="status-incident-new"),
    path("incidents/<int:pi_id>/", views.incident_detail, name="status-incident"),
    path("incidents/<int:pi_id>/publish/", views.incident_publish, name="status-incident-publish"),
    path("incidents/<int:pi_id>/update/", views.incident_update, name="status-incident-update"),
    path("incidents/<int:pi_id>/link/", views.incident_link, name="status-incident-link"),
    path("incidents/<int:pi_id>/unlink/", views.incident_unlink, name="status-incident-unlink"),
    path("incidents/<int:pi_id>/delete/", views.incident_delete, name="status-incident-delete"),
    path("maintenances/new/", views.maintenance_new, name="status-maintenance-new"),
    path("maintenances/<int:m_id>/", views.maintenance_detail, name="status-maintenance"),
    path(
        "maintenances/<int:m_id>/update/",
        views.maintenance_update,
        name="status-maintenance-update",
    ),
    path(
        "maintenances/<int:m_id>/publish/",
        views.maintenance_publish,
        name="status-maintenance-publish",
    ),
    path(
        "maintenances/<int:m_id>/delete/",
        views.maintenance_delete,
        name="status-maintenance-delete",
    ),
    path("page/", views.branding, name="status-branding"),
    path("logo", views.logo, name="status-admin-logo"),
]
