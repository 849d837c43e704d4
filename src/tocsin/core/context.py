from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from tocsin import __version__


def tocsin(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    return {
        "tocsin_version": __version__,
        "is_staff_role": bool(user and user.is_authenticated and user.is_staff_role),
    }
