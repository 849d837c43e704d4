from django.apps import AppConfig


class EngineConfig(AppConfig):
    name = "tocsin.engine"
    label = "engine"
    verbose_name = "Worker"
