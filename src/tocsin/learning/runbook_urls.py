"""The runbook pages and the incident page's runbook forms (runbook_views.py), included at
"" by tocsin/urls.py."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from tocsin.learning import runbook_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("runbooks/", runbook_views.runbook_list, name="runbooks"),
    path("runbooks/new/", runbook_views.runbook_new, name="runbook-new"),
    path("runbooks/<int:runbook_id>/", runbook_views.runbook_detail, name="runbook"),
    path("runbooks/<int:runbook_id>/edit/", runbook_views.runbook_edit, name="runbook-edit"),
    path(
        "runbooks/<int:runbook_id>/archive/",
        runbook_views.runbook_archive,
        name="runbook-archive",
    ),
    path(
        "incidents/<str:ref>/runbooks/start/",
        runbook_views.run_start_view,
        name="incident-runbook-start",
    ),
    path(
        "incidents/<str:ref>/runbooks/<int:run_id>/steps/<int:position>/",
        runbook_views.run_step_view,
        name="incident-runbook-step",
    ),
    path(
        "incidents/<str:ref>/runbooks/<int:run_id>/steps/<int:position>/call/",
        runbook_views.run_call_view,
        name="incident-runbook-call",
    ),
]
