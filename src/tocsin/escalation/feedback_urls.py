"""The "was this page actionable?" forms (escalation/feedback_views.py), included at ""."""

from __future__ import annotations

from django.urls import URLPattern, path

from tocsin.escalation import feedback_views

urlpatterns: list[URLPattern] = [
    path("p/<str:token>/feedback/", feedback_views.page_link_feedback, name="page-link-feedback"),
    path(
        "incidents/<str:ref>/page-feedback/",
        feedback_views.incident_page_feedback,
        name="incident-page-feedback",
    ),
]
