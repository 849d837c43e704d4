"""The alerts pages: the alerts view, and the alerts' parts of the service pages (open
alerts, recent changes, maintenance windows and silences; registered with
catalog.hooks in AlertsConfig.ready()). Thin: forms parse, alerts.services writes,
alerts.selectors reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from tocsin.accounts.models import User
from tocsin.alerts import selectors
from tocsin.alerts import services as alert_services
from tocsin.alerts.forms import AlertFilterForm, SilenceForm, WindowForm
from tocsin.alerts.models import MaintenanceWindow, Silence
from tocsin.catalog.models import Service
from tocsin.catalog.selectors import service_get
from tocsin.catalog.views import service_page_context
from tocsin.core.actors import Actor
from tocsin.core.errors import Conflict, Invalid, TocsinError
from tocsin.core.web import apply_error, error_page, staff_required

PAGE_SIZE = 50
CHANGE_EVENTS_SHOWN = 20


def _filters(form: AlertFilterForm) -> selectors.AlertFilters:
    data = form.cleaned_data
    suppressed = {"yes": True, "no": False}.get(data.get("suppressed") or "")
    return selectors.AlertFilters(
        service=data["service"].pk if data.get("service") else None,
        status=data.get("status") or "open",
        integration=data["integration"].pk if data.get("integration") else None,
        suppressed=suppressed,
        q=data.get("q") or "",
    )


@staff_required
@require_GET
def alert_list(request: HttpRequest) -> HttpResponse:
    form = AlertFilterForm(request.GET or {"status": "open"})
    page = None
    status = 200
    if form.is_valid():
        alerts = selectors.alert_list_for(request.user, _filters(form))  # type: ignore[arg-type]
        page = Paginator(alerts, PAGE_SIZE).get_page(request.GET.get("page"))
    else:
        status = 400
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "alerts/list.html",
        {"form": form, "page": page, "query": params.urlencode(), "filtered": bool(params)},
        status=status,
    )


# --- the alerts' parts of the service pages (catalog.hooks) ------------------------------


def service_page_alerts(
    request: HttpRequest, service: Service, bound: Mapping[str, forms.Form]
) -> dict[str, Any]:
    """What the service page shows of its alerts, changes, windows and silences."""
    user: User = request.user  # type: ignore[assignment]
    windows = list(selectors.maintenance_windows(user, service=service.pk, state="current"))
    silences = list(selectors.silences(user, service=service.pk, state="current"))
    spans: list[MaintenanceWindow | Silence] = [*windows, *silences]
    for span in spans:
        span.state = selectors.span_state(span.starts_at, span.ends_at)  # type: ignore[union-attr]
    return {
        "change_events": list(selectors.change_events_for(service)[:CHANGE_EVENTS_SHOWN]),
        "open_alerts": selectors.open_alerts_for_service(service),
        "windows": windows,
        "silences": silences,
        "window_form": bound.get("window") or WindowForm(),
        "silence_form": bound.get("silence") or SilenceForm(),
    }


def service_list_alerts(request: HttpRequest, services: Sequence[Service]) -> dict[str, Any]:
    """The open-alerts column of the list of services (set on each row)."""
    counts = selectors.open_alert_counts()
    for service in services:
        service.open_alerts = counts.get(service.pk, 0)  # type: ignore[attr-defined]
    return {}


def _service_page(
    request: HttpRequest, service: Service, name: str, form: forms.Form, status: int
) -> HttpResponse:
    context = service_page_context(request, service, {name: form})
    return render(request, "catalog/service.html", context, status=status)


def _write(
    request: HttpRequest,
    service: Service,
    name: str,
    form: forms.Form,
    write: Any,
) -> HttpResponse:
    """Validate, write, redirect to the service page; or show the page with the errors."""
    if form.is_valid():
        try:
            message = write(form.cleaned_data)
        except Invalid as exc:
            apply_error(form, exc)
        except Conflict as exc:
            form.add_error(None, exc.message)
            return _service_page(request, service, name, form, 409)
        except TocsinError as exc:
            return error_page(request, exc)
        else:
            messages.success(request, message)
            return redirect("service", service_id=service.pk)
    return _service_page(request, service, name, form, 422)


@staff_required
@require_POST
def window_create(request: HttpRequest, service_id: int) -> HttpResponse:
    try:
        service = service_get(service_id)
    except TocsinError as exc:
        return error_page(request, exc)

    def write(data: dict[str, Any]) -> str:
        alert_services.maintenance_window_create(
            actor=Actor.for_request(request),
            services=[service],
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            reason=data["reason"],
        )
        return "Maintenance window saved: alerts during it open no incident."

    return _write(request, service, "window", WindowForm(request.POST), write)


@staff_required
@require_POST
def silence_create(request: HttpRequest, service_id: int) -> HttpResponse:
    try:
        service = service_get(service_id)
    except TocsinError as exc:
        return error_page(request, exc)

    def write(data: dict[str, Any]) -> str:
        alert_services.silence_create(
            actor=Actor.for_request(request),
            service=None if data["all_services"] else service,
            matchers=data["matchers"],
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            comment=data["comment"],
        )
        return "Silence saved."

    return _write(request, service, "silence", SilenceForm(request.POST), write)


def _back(request: HttpRequest, fallback: str = "alerts") -> HttpResponse:
    service_id = request.POST.get("service", "")
    if service_id.isdigit():
        return redirect("service", service_id=int(service_id))
    return redirect(fallback)


@staff_required
@require_POST
def window_end(request: HttpRequest, window_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    try:
        window = selectors.access_maintenance_window(user, window_id)
        alert_services.maintenance_window_end(actor=Actor.for_request(request), window=window)
    except TocsinError as exc:
        return error_page(request, exc)
    messages.success(request, "Maintenance window ended.")
    return _back(request)


@staff_required
@require_POST
def silence_expire(request: HttpRequest, silence_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    try:
        silence = selectors.access_silence(user, silence_id)
        alert_services.silence_expire(actor=Actor.for_request(request), silence=silence)
    except TocsinError as exc:
        return error_page(request, exc)
    messages.success(request, "Silence expired.")
    return _back(request)
