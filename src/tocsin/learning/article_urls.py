"""The knowledge base's pages (article_views.py), included at "" by tocsin/urls.py."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from tocsin.learning import article_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("kb/", article_views.kb_index, name="kb"),
    path("kb/new/", article_views.kb_new, name="kb-new"),
    path("kb/suggest/", article_views.kb_suggest, name="kb-suggest"),
    path("kb/<int:article_id>/", article_views.kb_article, name="kb-article"),
    path("kb/<int:article_id>/edit/", article_views.kb_edit, name="kb-edit"),
    path("kb/<int:article_id>/archive/", article_views.kb_archive, name="kb-archive"),
    path(
        "kb/<int:article_id>/versions/<int:number>/",
        article_views.kb_version,
        name="kb-version",
    ),
    path(
        "incidents/<str:ref>/articles/<int:article_id>/solved/",
        article_views.incident_article_solved,
        name="incident-article-solved",
    ),
]
