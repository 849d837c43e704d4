from django.contrib import admin
from django.urls import include, path

from tocsin.api import api
from tocsin.core import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("", include("tocsin.web_urls")),
]
