from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "tocsin.reports"
    label = "reports"
    verbose_name = "Metrics and reports"

    def ready(self) -> None:
        # Modules that register metrics of their own (reports/metrics.register_metric).
        from tocsin.reports import wiring

        wiring.register()
