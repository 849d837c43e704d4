"""The reports' overview, team pages, drill-down lists, charts and exports (views.py)."""

from django.urls import path

from tocsin.reports import views

urlpatterns = [
    path("reports/", views.overview_page, name="reports"),
    path("reports/teams/", views.team_list, name="reports-teams"),
    path("reports/teams/<int:team_id>/", views.team_page, name="reports-team"),
    path("reports/incidents/", views.drill_page, name="reports-drill"),
    path("reports/incidents.csv", views.drill_csv, name="reports-drill-csv"),
    path("reports/export.csv", views.export_csv, name="reports-export-csv"),
    path("reports/export.json", views.export_json, name="reports-export-json"),
    path("reports/charts/<slug:name>.svg", views.chart_svg, name="reports-chart"),
]
