"""/learning/: one entry in the main menu for the whole learning loop (staff)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from tocsin.accounts.permissions import Action, can
from tocsin.core.errors import NotFound
from tocsin.core.web import error_page
from tocsin.learning.hub_selectors import hub_figures


@login_required
@require_GET
def hub(request: HttpRequest) -> HttpResponse:
    if not can(request.user, Action.POSTMORTEM_VIEW):
        return error_page(request, NotFound("Page not found"))
    context = {"figures": hub_figures(request.user), "current": "learning"}  # type: ignore[arg-type]
    return render(request, "learning/hub.html", context)
