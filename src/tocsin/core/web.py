"""Web helpers shared by every app's views: the error page, the service-desk gate, and
showing a service's `Invalid` on a form.

`core` imports no app, so the permission check itself is registered at start-up by the
accounts app (`accounts.permissions.can`); until then every gate refuses.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tocsin.core.errors import Conflict, Forbidden, Invalid, NotFound, TocsinError

PermissionCheck = Callable[[Any, str], bool]

DESK_ACTION = "desk.view"

_permission_check: list[PermissionCheck] = []


def register_permission_check(check: PermissionCheck) -> None:
    """Called once by the accounts app: `check(user, action)` answers every web gate."""
    _permission_check[:] = [check]


def allowed(user: Any, action: str) -> bool:
    return bool(_permission_check) and _permission_check[0](user, action)


def error_page(request: HttpRequest, exc: TocsinError) -> HttpResponse:
    """A page for a domain error that is not about one form: 404, 403 or 409."""
    message = sentence(exc.message)
    if isinstance(exc, NotFound):
        return render(request, "404.html", {"message": message}, status=404)
    if isinstance(exc, Forbidden):
        return render(request, "403.html", {"message": message}, status=403)
    status = exc.status if isinstance(exc, (Conflict, Invalid)) else 400
    return render(request, "error.html", {"message": message, "status": status}, status=status)


def staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Logged in and staff; reporters get a 403 page pointing to their portal."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not allowed(request.user, DESK_ACTION):
            return error_page(
                request, Forbidden("This page is for the service desk. Use “Report a problem”.")
            )
        return view(request, *args, **kwargs)

    return wrapper


_PREDICATE_STARTS = ("is ", "are ", "must ", "cannot ", "can ", "has ", "should ", "may ")


def sentence(message: str, subject: str = "") -> str:
    """A message in the UI's one voice: a capitalised sentence ending in a full stop.

    A service's detail that starts with its verb ("is required", "must be 1, 2 or 3")
    gets `subject` (the field's label) in front: "Support level must be 1, 2 or 3."."""
    text = str(message).strip()
    if not text:
        return text
    if subject and text.startswith(_PREDICATE_STARTS):
        text = f"{subject} {text}"
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".?!…" else text + "."


def apply_error(form: forms.Form, exc: Invalid) -> None:
    """Show a service's Invalid on the field it names, or on the form, as a sentence."""
    field = exc.field if exc.field in form.fields else None
    if field is None and exc.field == "file" and "attachments" in form.fields:
        field = "attachments"
    if field is None and exc.field == "file" and "files" in form.fields:
        field = "files"
    if field:
        label = form.fields[field].label or field.replace("_", " ").capitalize()
        form.add_error(field, sentence(exc.detail, str(label)))
    else:
        form.add_error(None, sentence(exc.message))
