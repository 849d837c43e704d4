"""Routes of the action item pages (learning/action_item_views.py)."""

from __future__ import annotations

from django.urls import path

from tocsin.learning import action_item_views as views

urlpatterns = [
    path("action-items/", views.action_item_list, name="action-items"),
    path("action-items/new/", views.action_item_new, name="action-item-new"),
    path("action-items/<int:item_id>/", views.action_item_detail, name="action-item"),
    path(
        "action-items/<int:item_id>/accept-risk/",
        views.action_item_accept_risk,
        name="action-item-accept-risk",
    ),
]
