from django.apps import AppConfig


class CommsConfig(AppConfig):
    name = "tocsin.comms"
    label = "comms"
    verbose_name = "Communication and status page"

    def ready(self) -> None:
        from tocsin.comms import wiring

        wiring.register()
