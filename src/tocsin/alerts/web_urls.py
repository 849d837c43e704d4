"""The alerts UI's routes (included at "" by tocsin/urls.py)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
