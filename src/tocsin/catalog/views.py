"""The service pages: services, a service's alert settings and integrations (routes in
catalog/web_urls.py). Other apps add their parts of these pages through catalog.hooks.

Thin: forms parse, catalog.services writes, selectors read and gate. The page that shows
a new key is the answer to the POST itself (never stored, never shown again).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tocsin.accounts.permissions import Action, can, require
from tocsin.catalog import hooks, selectors, services, snippets
from tocsin.catalog.forms import AlertSettingsForm, IntegrationForm, WarRoomTemplatesForm
from tocsin.catalog.models import Integration, Service
from tocsin.core.actors import Actor
from tocsin.core.crypto import decrypt, encrypt
from tocsin.core.errors import Conflict, Invalid, TocsinError
from tocsin.core.web import apply_error, error_page, staff_required


def _service_or_error(request: HttpRequest, service_id: int) -> Service | HttpResponse:
    try:
        return selectors.service_get(service_id)
    except TocsinError as exc:
        return error_page(request, exc)


def service_page_context(
    request: HttpRequest, service: Service, bound: dict[str, forms.Form] | None = None
) -> dict[str, Any]:
    """Everything the service page shows; `bound` holds a form that failed to validate.

    Apps above the catalog add their parts of the page (alerts: open alerts, recent
    changes, maintenance windows, silences) through `catalog.hooks`; their POST handlers
    render this page again with their bound form."""
    bound = bound or {}
    user = request.user
    can_manage = can(user, Action.INTEGRATION_MANAGE)
    integrations = list(selectors.integrations_for(service))
    for integration in integrations:
        integration.endpoint = snippets.integration_url(integration.kind)  # type: ignore[attr-defined]
    parts, context = hooks.service_page_parts(request, service, bound)
    context |= {
        "service": service,
        "can_manage": can_manage,
        "integrations": integrations,
        "severity_rows": [
            (severity, pair[0], pair[1])
            for severity, pair in (service.severity_map or {}).items()
            if isinstance(pair, list) and len(pair) == 2
        ],
        "parts": parts,
        "form_error": next(iter(bound), ""),
    }
    if can_manage:
        context["settings_form"] = bound.get("settings") or AlertSettingsForm.for_service(service)
        context["war_room_form"] = bound.get("war_room") or WarRoomTemplatesForm(
            initial={
                "chat_url_template": service.chat_url_template,
                "video_url_template": service.video_url_template,
            }
        )
    return context


@staff_required
@require_GET
def service_list(request: HttpRequest) -> HttpResponse:
    rows = list(selectors.service_list())
    live = selectors.live_integration_counts()
    health = selectors.service_health(rows)
    for service in rows:
        service.integration_count = live.get(service.pk, 0)  # type: ignore[attr-defined]
        service.health = health[service.pk]  # type: ignore[attr-defined]
    parts, context = hooks.service_list_parts(request, rows)
    context |= {
        "services": rows,
        "parts": parts,
        "columns": 4 + len(parts.get("head", [])),
    }
    return render(request, "catalog/services.html", context)


@staff_required
@require_GET
def service_detail(request: HttpRequest, service_id: int) -> HttpResponse:
    service = _service_or_error(request, service_id)
    if isinstance(service, HttpResponse):
        return service
    return render(request, "catalog/service.html", service_page_context(request, service))


@staff_required
@require_POST
def service_settings(request: HttpRequest, service_id: int) -> HttpResponse:
    service = _service_or_error(request, service_id)
    if isinstance(service, HttpResponse):
        return service
    try:
        require(request.user, Action.INTEGRATION_MANAGE)
    except TocsinError as exc:
        return error_page(request, exc)
    form = AlertSettingsForm(request.POST)
    if form.is_valid():
        try:
            services.service_update_alert_settings(
                service=service, changes=form.changes(), actor=Actor.for_request(request)
            )
        except Invalid as exc:
            apply_error(form, exc)
        else:
            messages.success(request, "Alert settings saved.")
            return redirect("service", service_id=service.pk)
    context = service_page_context(request, service, {"settings": form})
    return render(request, "catalog/service.html", context, status=422)


@staff_required
@require_POST
def service_war_room(request: HttpRequest, service_id: int) -> HttpResponse:
    """The war-room link templates (managers and administrators, as the alert settings)."""
    service = _service_or_error(request, service_id)
    if isinstance(service, HttpResponse):
        return service
    try:
        require(request.user, Action.INTEGRATION_MANAGE)
    except TocsinError as exc:
        return error_page(request, exc)
    form = WarRoomTemplatesForm(request.POST)
    if form.is_valid():
        try:
            services.service_update_war_room(
                service=service,
                chat_url_template=form.cleaned_data["chat_url_template"],
                video_url_template=form.cleaned_data["video_url_template"],
                actor=Actor.for_request(request),
            )
        except Invalid as exc:
            apply_error(form, exc)
        else:
            messages.success(request, "War room templates saved.")
            return redirect("service", service_id=service.pk)
    context = service_page_context(request, service, {"war_room": form})
    return render(request, "catalog/service.html", context, status=422)


_NEW_KEY = "tocsin_new_integration_key"


def _show_key_once(
    request: HttpRequest, integration: Integration, key: str, rotated: bool = False
) -> HttpResponse:
    """Post/redirect/get: the key waits in the session (encrypted) for exactly one view,
    so reloading the page neither shows it again nor creates a second integration."""
    request.session[_NEW_KEY] = {
        "integration": integration.pk,
        "key": encrypt(key),
        "rotated": rotated,
    }
    return redirect(
        "integration-key", service_id=integration.service_id, integration_id=integration.pk
    )


@staff_required
@require_http_methods(["GET"])
def integration_key(request: HttpRequest, service_id: int, integration_id: int) -> HttpResponse:
    integration = _integration_or_error(request, service_id, integration_id)
    if isinstance(integration, HttpResponse):
        return integration
    waiting = request.session.get(_NEW_KEY) or {}
    if waiting.get("integration") != integration.pk:
        messages.info(request, "A key is shown only once. Rotate the integration for a new one.")
        return redirect("service", service_id=service_id)
    del request.session[_NEW_KEY]
    return _key_page(request, integration, decrypt(waiting["key"]), bool(waiting["rotated"]))


def _key_page(
    request: HttpRequest, integration: Integration, key: str, rotated: bool = False
) -> HttpResponse:
    response = render(
        request,
        "catalog/integration_key.html",
        {
            "service": integration.service,
            "integration": integration,
            "key": key,
            "url": snippets.integration_url(integration.kind, key),
            "snippets": snippets.integration_snippets(integration, key),
            "rotated": rotated,
        },
    )
    response["Cache-Control"] = "no-store"
    return response


@staff_required
@require_http_methods(["GET", "POST"])
def integration_new(request: HttpRequest, service_id: int) -> HttpResponse:
    service = _service_or_error(request, service_id)
    if isinstance(service, HttpResponse):
        return service
    try:
        require(request.user, Action.INTEGRATION_MANAGE)
    except TocsinError as exc:
        return error_page(request, exc)
    form = IntegrationForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                integration, key = services.integration_setup(
                    service=service,
                    kind=form.cleaned_data["kind"],
                    name=form.cleaned_data["name"],
                    options=form.options(),
                    actor=Actor.for_request(request),
                )
            except Invalid as exc:
                apply_error(form, exc)
            except Conflict as exc:
                form.add_error(None, exc.message)
                status = 409
            else:
                return _show_key_once(request, integration, key)
    return render(
        request,
        "catalog/integration_new.html",
        {"service": service, "form": form},
        status=status,
    )


def _integration_or_error(
    request: HttpRequest, service_id: int, integration_id: int
) -> Integration | HttpResponse:
    try:
        require(request.user, Action.INTEGRATION_MANAGE)
        return selectors.integration_get(selectors.service_get(service_id), integration_id)
    except TocsinError as exc:
        return error_page(request, exc)


@staff_required
@require_POST
def integration_rotate(request: HttpRequest, service_id: int, integration_id: int) -> HttpResponse:
    integration = _integration_or_error(request, service_id, integration_id)
    if isinstance(integration, HttpResponse):
        return integration
    try:
        integration, key = services.integration_rotate(
            integration=integration, actor=Actor.for_request(request)
        )
    except TocsinError as exc:
        return error_page(request, exc)
    return _show_key_once(request, integration, key, rotated=True)


@staff_required
@require_POST
def integration_revoke(request: HttpRequest, service_id: int, integration_id: int) -> HttpResponse:
    integration = _integration_or_error(request, service_id, integration_id)
    if isinstance(integration, HttpResponse):
        return integration
    services.integration_revoke(integration=integration, actor=Actor.for_request(request))
    messages.success(request, f"{integration.name} revoked: its key no longer works.")
    return redirect("service", service_id=service_id)
