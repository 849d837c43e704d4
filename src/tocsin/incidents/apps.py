from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "tocsin.incidents"
    label = "incidents"
    verbose_name = "Incidents, priorities and SLAs"
