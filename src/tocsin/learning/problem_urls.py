"""The problem pages (problem_views.py), included at "" by tocsin/urls.py."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from tocsin.learning import problem_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("problems/", problem_views.problem_list, name="problems"),
    path("problems/new/", problem_views.problem_new, name="problem-new"),
    path("problems/trends/", problem_views.trend_list, name="problem-trends"),
    path("problems/trends/raise/", problem_views.trend_raise, name="problem-trend-raise"),
    path("problems/<str:ref>/", problem_views.problem_detail, name="problem"),
    path("problems/<str:ref>/edit/", problem_views.problem_edit, name="problem-edit"),
    path("problems/<str:ref>/status/", problem_views.problem_move, name="problem-move"),
    path("problems/<str:ref>/link/", problem_views.problem_link, name="problem-link"),
    path(
        "problems/<str:ref>/unlink/<str:incident_ref>/",
        problem_views.problem_unlink,
        name="problem-unlink",
    ),
]
