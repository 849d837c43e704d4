from django.apps import AppConfig


class EscalationConfig(AppConfig):
    name = "tocsin.escalation"
    label = "escalation"
    verbose_name = "Escalation and paging"

    def ready(self) -> None:
        from tocsin.escalation import wiring

        wiring.register()
