"""The alerts pages: the alerts view (with acknowledge and resolve, one alert or the
selected ones), one alert's page, and the alerts' parts of the service pages (open
alerts, recent changes, maintenance windows and silences; registered with
catalog.hooks in AlertsConfig.ready()). Thin: forms parse, alerts.services writes,
alerts.selectors reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tocsin.accounts.models import User
from tocsin.accounts.permissions import Action, can
from tocsin.alerts import display, selectors
from tocsin.alerts import services as alert_services
from tocsin.alerts.forms import AlertFilterForm, SilenceForm, WindowForm
from tocsin.alerts.models import Alert, MaintenanceWindow, Silence
from tocsin.catalog.models import Service
from tocsin.catalog.selectors import service_get
from tocsin.catalog.views import service_page_context
from tocsin.core.actors import Actor
from tocsin.core.errors import Conflict, Forbidden, Invalid, NotFound, TocsinError
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


def _empty_text(form: AlertFilterForm) -> str:
    """A calm, specific line for a list with no alerts: what was asked for, not a
    complaint about the filters."""
    data = form.cleaned_data
    status = data.get("status") or "open"
    service, integration = data.get("service"), data.get("integration")
    suppressed, q = data.get("suppressed") or "", (data.get("q") or "").strip()
    if status == "open" and not (service or integration or suppressed or q):
        return "No open alerts — all quiet."
    words = ["No"]
    if suppressed == "yes":
        words.append("suppressed")
    elif suppressed == "no":
        words.append("unsuppressed")
    if status != "all":
        words.append(status)
    words.append("alerts")
    if service is not None:
        words.append(f"for {service.name}")
    if integration is not None:
        words.append(f"from {integration.name}")
    if q:
        words.append(f"matching “{q}”")
    return " ".join(words) + "."


def _list_context(request: HttpRequest, params: QueryDict) -> tuple[dict[str, Any], int]:
    """The alerts list for these query parameters: (context, status)."""
    form = AlertFilterForm(params or {"status": "open"})
    page = None
    status = 200
    empty_text = ""
    if form.is_valid():
        alerts = selectors.alert_list_for(request.user, _filters(form))  # type: ignore[arg-type]
        page = Paginator(alerts, PAGE_SIZE).get_page(params.get("page"))
        empty_text = _empty_text(form)
    else:
        status = 400
        for name in form.errors:
            if name in form.fields:
                attrs = form.fields[name].widget.attrs
                attrs.update({"aria-invalid": "true", "aria-describedby": f"err-{name}"})
    query = params.copy()
    query.pop("page", None)
    return (
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "filtered": bool(query),
            "empty_text": empty_text,
            "here": f"{reverse('alerts')}?{params.urlencode()}" if params else reverse("alerts"),
        },
        status,
    )


@staff_required
@require_GET
def alert_list(request: HttpRequest) -> HttpResponse:
    context, status = _list_context(request, request.GET)
    return render(request, "alerts/list.html", context, status=status)


# --- one alert, and acting on alerts ---------------------------------------------------------


def _access(request: HttpRequest, alert_id: int) -> Alert:
    """The alert, or NotFound: who may not see alerts is not told that it exists."""
    try:
        return selectors.access_alert(request.user, alert_id)  # type: ignore[arg-type]
    except Forbidden:
        raise NotFound(f"no alert with id {alert_id}") from None


def _alert_page(
    request: HttpRequest, alert: Alert, *, error: str = "", status: int = 200
) -> HttpResponse:
    context = {
        "alert": alert,
        "labels": display.labels_of(alert),
        "annotations": display.annotations_of(alert),
        "details": display.details_of(alert),
        "links": (links := display.links_of(alert)),
        "links_refused": len(alert.links if isinstance(alert.links, list) else []) - len(links),
        "page_error": error,
        "back": _next_url(request, ""),
    }
    return render(request, "alerts/alert.html", context, status=status)


@login_required
@require_GET
def alert_page(request: HttpRequest, alert_id: int) -> HttpResponse:
    try:
        alert = _access(request, alert_id)
    except TocsinError as exc:
        return error_page(request, exc)
    return _alert_page(request, alert)


def _next_url(request: HttpRequest, fallback: str) -> str:
    """Where to go back to after an action: the alerts list (with its filters) or an
    alert page of this site; anything else is the fallback."""
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if (
        wanted.startswith("/alerts/")
        and url_has_allowed_host_and_scheme(wanted, allowed_hosts=None)
        and "\\" not in wanted
    ):
        return wanted
    return fallback


_DONE = {"acknowledge": "acknowledged", "resolve": "resolved"}


@login_required
@require_http_methods(["GET", "POST"])
def alert_act(request: HttpRequest, alert_id: int, action: str) -> HttpResponse:
    """Acknowledge or resolve one alert, from its page or its row of the list. A GET (a
    reload of the form's address) goes to the alert's page."""
    if request.method != "POST":
        return redirect("alert", alert_id=alert_id)
    try:
        alert = _access(request, alert_id)
    except TocsinError as exc:
        return error_page(request, exc)
    if action not in alert_services.ALERT_ACTIONS:
        return error_page(request, NotFound(f"no action {action!r} on alerts"))
    try:
        alert_services.alerts_act(
            actor=Actor.for_request(request), alert_ids=[alert.pk], action=action, strict=True
        )
    except Conflict as exc:
        return _alert_page(request, _access(request, alert_id), error=exc.message, status=409)
    except TocsinError as exc:
        return error_page(request, exc)
    messages.success(request, f"Alert {_DONE[action]}: {alert.summary[:120]}")
    return redirect(_next_url(request, reverse("alert", args=[alert.pk])))


@login_required
@require_http_methods(["GET", "POST"])
def alerts_bulk(request: HttpRequest) -> HttpResponse:
    """Acknowledge or resolve the alerts chosen on the list (checkboxes + one button)."""
    if request.method != "POST":
        return redirect("alerts")
    user: User = request.user  # type: ignore[assignment]
    if not can(user, Action.ALERTS_VIEW):
        return error_page(request, NotFound("no such page"))
    action = request.POST.get("action", "")
    raw = request.POST.getlist("alert")
    ids = [int(value) for value in raw if value.isdigit()]
    back = _next_url(request, reverse("alerts"))
    problem = ""
    if action not in alert_services.ALERT_ACTIONS:
        problem = "Choose Acknowledge or Resolve for the selected alerts."
    elif not ids or len(ids) != len(raw):
        problem = f"Select at least one alert to {action}: tick its box in the list."
    elif len(ids) > alert_services.BULK_MAX:
        problem = f"Select at most {alert_services.BULK_MAX} alerts at once."
    if not problem:
        try:
            done = alert_services.alerts_act(
                actor=Actor.for_request(request), alert_ids=ids, action=action
            )
        except Invalid as exc:
            problem = exc.detail
        except TocsinError as exc:
            return error_page(request, exc)
        else:
            messages.success(request, _bulk_message(done))
            return redirect(back)
    params = QueryDict(urlsplit(back).query)
    context, _ = _list_context(request, params)
    context["bulk_error"] = problem
    context["chosen"] = {str(i) for i in ids}
    return render(request, "alerts/list.html", context, status=422)


def _bulk_message(done: alert_services.AlertsChanged) -> str:
    n = len(done.changed)
    text = f"{n} alert{pluralize(n)} {_DONE[done.action]}."
    if done.skipped:
        k = len(done.skipped)
        text += f" {k} left as {'they were' if k != 1 else 'it was'}: " + "; ".join(
            reason for _, reason in done.skipped[:5]
        )
        text += "…" if k > 5 else "."
    if done.incidents_resolved:
        m = len(done.incidents_resolved)
        text += (
            f" {m} incident{pluralize(m)} resolved with {'their' if m != 1 else 'its'} last alert."
        )
    return text


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
