from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "tocsin.reports"
    label = "reports"
    verbose_name = "Metrics and reports"
