"""The public status page, mounted at /status/ (no sign-in)."""

from __future__ import annotations

from django.urls import path

from tocsin.comms import public_views as views
from tocsin.comms.statuspage_json import DOCUMENTS

urlpatterns = [
    path("", views.page, name="status-page"),
    path("incidents/<int:pk>/", views.incident, name="status-public-incident"),
    path("brand.css", views.brand_css, name="status-brand-css"),
    path("logo", views.logo, name="status-logo"),
    path("feed.atom", views.feed_atom, name="status-feed-atom"),
    path("feed.rss", views.feed_rss, name="status-feed-rss"),
    path("subscribe/", views.subscribe, name="status-subscribe"),
    path(
        "subscribe/confirm/<str:signed>/",
        views.subscribe_confirm,
        name="status-subscribe-confirm",
    ),
    path("unsubscribe/<str:token>", views.unsubscribe, name="status-unsubscribe"),
    *(
        path(
            f"api/v2/{name}",
            views.document(name),
            name="status-api-" + name.removesuffix(".json").replace("/", "-"),
        )
        for name in DOCUMENTS
    ),
]
