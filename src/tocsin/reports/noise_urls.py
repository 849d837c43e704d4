from django.urls import path

from tocsin.reports import noise_views

urlpatterns = [path("reports/noise/", noise_views.noise_page, name="reports-noise")]
