"""The escalation policy pages (views.py), included at "" by tocsin/urls.py."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from tocsin.escalation import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("escalation-policies/", views.policy_list, name="escalation-policies"),
    path("escalation-policies/new/", views.policy_new, name="escalation-policy-new"),
    path("escalation-policies/<int:policy_id>/", views.policy_detail, name="escalation-policy"),
    path(
        "escalation-policies/<int:policy_id>/edit/",
        views.policy_edit,
        name="escalation-policy-edit",
    ),
    path(
        "escalation-policies/<int:policy_id>/archive/",
        views.policy_archive,
        name="escalation-policy-archive",
    ),
    path(
        "services/<int:service_id>/escalation-policy/",
        views.service_policy,
        name="service-escalation-policy",
    ),
]
