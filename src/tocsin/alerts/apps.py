from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "tocsin.alerts"
    label = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        _register_catalog_hooks()


def _register_catalog_hooks() -> None:
    """What the alerts app adds to the catalog (which cannot import it): heartbeats kept
    in step with their integrations, and its parts of the service pages."""
    from tocsin.alerts.heartbeats import heartbeat_sync
    from tocsin.alerts.views import service_list_alerts, service_page_alerts
    from tocsin.catalog.hooks import (
        ServiceListPart,
        ServicePagePart,
        add_service_list_part,
        add_service_page_part,
        on_integration_changed,
    )

    on_integration_changed(heartbeat_sync)
    for page_part in (
        ServicePagePart("actions", "alerts/_service_actions.html"),
        ServicePagePart("main_top", "alerts/_service_open_alerts.html", service_page_alerts),
        ServicePagePart("main_bottom", "alerts/_service_changes.html"),
        ServicePagePart("side_bottom", "alerts/_service_spans.html"),
    ):
        add_service_page_part(page_part)
    for list_part in (
        ServiceListPart("actions", "alerts/_services_actions.html"),
        ServiceListPart("head", "alerts/_services_head.html", service_list_alerts),
        ServiceListPart("cells", "alerts/_services_cells.html"),
    ):
        add_service_list_part(list_part)
