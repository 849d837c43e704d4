from django.urls import path

from tocsin.reports import stub_views

urlpatterns = [path("reports/noise/", stub_views.not_yet, name="reports-noise")]
