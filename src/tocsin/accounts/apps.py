from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "tocsin.accounts"
    label = "accounts"
    verbose_name = "People and teams"

    def ready(self) -> None:
        from tocsin.accounts.permissions import can
        from tocsin.core.web import register_permission_check

        register_permission_check(can)
