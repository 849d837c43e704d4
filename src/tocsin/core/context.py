from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from tocsin import __version__


def tocsin(request: HttpRequest) -> dict[str, Any]:
    # who may see what is asked in templates with `{% load access %}` and `user|can:"..."`
    return {"tocsin_version": __version__}
