from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from tocsin import __version__
from tocsin.core.theme import theme_of


def tocsin(request: HttpRequest) -> dict[str, Any]:
    # who may see what is asked in templates with `{% load access %}` and `user|can:"..."`
    # the colour theme chosen in the top bar ("system": follow prefers-color-scheme)
    return {"tocsin_version": __version__, "theme": theme_of(request)}
