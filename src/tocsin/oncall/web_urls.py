"""The on-call web routes: schedule pages, the layer editor. The calendar feeds
(`/calendar/<token>.ics`) are in calendar_urls.py, mounted at /calendar/."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("", include("tocsin.oncall.ui_urls")),
    path("", include("tocsin.oncall.editor_urls")),
    path("", include("tocsin.oncall.hours_urls")),
]
