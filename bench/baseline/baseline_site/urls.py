from __future__ import annotations

from django.urls import path

from baseline_site import views

urlpatterns = [
    path("empty", views.empty),
    path("insert", views.insert),
]
