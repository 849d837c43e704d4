from django.apps import AppConfig


class LearningConfig(AppConfig):
    name = "tocsin.learning"
    label = "learning"
    verbose_name = "Learning from incidents"

    def ready(self) -> None:
        from tocsin.learning import wiring

        wiring.register()
