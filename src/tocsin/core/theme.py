"""The colour theme a person chose in the top bar (light, dark, or the system's), kept in
a cookie so it works before sign-in and without JavaScript; and /favicon.ico.

Without a choice the stylesheet follows the system setting (`prefers-color-scheme`);
a choice puts `data-theme="light"` or `"dark"` on <html>, which app.css honours.
"""

from __future__ import annotations

from typing import Literal

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
)
from django.utils.cache import patch_cache_control
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods

ThemeName = Literal["light", "dark", "system"]
THEMES: tuple[ThemeName, ...] = ("light", "dark", "system")
THEME_COOKIE = "tocsin_theme"
THEME_COOKIE_AGE = 400 * 24 * 3600  # the longest a browser keeps a cookie


def theme_of(request: HttpRequest) -> ThemeName:
    """The person's choice: "light", "dark", or "system" (no choice, or a bad cookie)."""
    value = request.COOKIES.get(THEME_COOKIE, "")
    return "light" if value == "light" else "dark" if value == "dark" else "system"


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/"


@require_http_methods(["GET", "POST"])
def theme_set(request: HttpRequest) -> HttpResponse:
    """POST theme=light|dark|system: remember it and go back to the page (or answer 204
    to the top bar's script, which has already switched the page). A GET (a reload of the
    form's address) changes nothing and goes to the start page."""
    if request.method == "GET":
        return HttpResponseRedirect("/")
    theme = request.POST.get("theme", "")
    if theme not in THEMES:
        return HttpResponseBadRequest(
            "Choose a theme: light, dark or system.", content_type="text/plain; charset=utf-8"
        )
    quiet = request.headers.get("X-Requested-With") == "fetch"
    response = HttpResponse(status=204) if quiet else HttpResponseRedirect(_back(request))
    if theme == "system":
        response.delete_cookie(THEME_COOKIE, samesite="Lax")
    else:
        response.set_cookie(
            THEME_COOKIE,
            theme,
            max_age=THEME_COOKIE_AGE,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=False,  # the admin's pages read it to follow the same choice
        )
    return response


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page says: answer with Tocsin's icon."""
    path = finders.find("tocsin/img/icon.svg")
    if not path:  # pragma: no cover - the icon ships with the package
        return HttpResponse(status=404)
    with open(path, "rb") as icon:
        response = HttpResponse(icon.read(), content_type="image/svg+xml")
    patch_cache_control(response, public=True, max_age=7 * 24 * 3600)
    return response
