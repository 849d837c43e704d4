"""Calendar feeds, mounted at /calendar/: the secret `<token>.ics` addresses and the page
that manages them (calendar_views.py)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from tocsin.oncall import calendar_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("feeds/", calendar_views.feeds, name="calendar-feeds"),
    path("feeds/<int:feed_id>/revoke", calendar_views.feed_revoke, name="calendar-feed-revoke"),
    path("<str:token>.ics", calendar_views.feed, name="calendar-feed"),
]
