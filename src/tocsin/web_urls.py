"""The web UI's routes."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
