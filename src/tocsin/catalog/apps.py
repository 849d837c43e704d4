from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "tocsin.catalog"
    label = "catalog"
    verbose_name = "Services and categories"
