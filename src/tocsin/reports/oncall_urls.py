"""`/reports/oncall/` and `/reports/oncall.csv`: on-call load (oncall_views.py)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from tocsin.reports import oncall_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("reports/oncall/", oncall_views.oncall_load_page, name="reports-oncall"),
    path("reports/oncall.csv", oncall_views.oncall_load_csv, name="reports-oncall-csv"),
]
