from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "tocsin.notify"
    label = "notify"
    verbose_name = "Outbound messages"
