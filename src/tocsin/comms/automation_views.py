"""The automation webhook pages under /settings/webhooks/ (docs/automation-webhooks.md).

Thin views over comms.automation: the same gate (`webhook_get`, `may_use`) and services as
the API. A webhook one may not manage is a 404; staff who manage none get a 403 page
saying why; reporters a 404. The signing secret is shown in the reply to the POST that
creates or rotates it, never again (no redirect carries it).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tocsin.accounts.permissions import Action, can
from tocsin.catalog.models import Service
from tocsin.comms import automation
from tocsin.comms.models import AutomationEvent, AutomationWebhook
from tocsin.core.actors import Actor
from tocsin.core.errors import Forbidden, Invalid, NotFound, TocsinError
from tocsin.core.web import error_page, sentence

GLOBAL = ""


class WebhookForm(forms.Form):
    name = forms.CharField(label="Name", max_length=automation.NAME_MAX)
    service = forms.ChoiceField(
        label="Service", required=False, help_text="Whose incidents send events."
    )
    url = forms.CharField(
        label="URL",
        max_length=automation.URL_MAX,
        help_text="http:// or https://; no user name or password (requests are signed).",
        widget=forms.URLInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )
    events = forms.MultipleChoiceField(
        label="Events",
        choices=AutomationEvent.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one event."},
    )
    active = forms.BooleanField(
        label="Active", required=False, help_text="Unticked: no events are sent."
    )

    def __init__(self, *args: Any, user: Any, current: Service | None = None, **kw: Any):
        super().__init__(*args, **kw)
        choices: list[tuple[str, str]] = []
        if automation.may_manage(user, None):
            choices.append((GLOBAL, "Every service (global)"))
        services = list(automation.manageable_services(user))
        if current is not None and current.pk not in {s.pk for s in services}:
            services.append(current)
        choices += [(str(s.pk), s.name) for s in services]
        field = self.fields["service"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices


def _gate(request: HttpRequest) -> HttpResponse | None:
    """None when this person manages webhooks; else the page that says no."""
    if automation.may_use(request.user):
        return None
    if not can(request.user, Action.DESK_VIEW):
        return error_page(request, NotFound("no such page"))
    return error_page(
        request,
        Forbidden(
            "automation webhooks are managed by administrators and the managers of a service's team"
        ),
    )


def _webhook(request: HttpRequest, webhook_id: int) -> AutomationWebhook | HttpResponse:
    try:
        return automation.webhook_get(webhook_id, user=request.user)
    except TocsinError as exc:
        return error_page(request, exc)


def _service_param(request: HttpRequest) -> Service | None:
    raw = request.GET.get("service", "")
    if not raw.isdigit():
        return None
    return automation.manageable_services(request.user).filter(pk=int(raw)).first()


def _apply_errors(form: forms.Form, exc: Invalid) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, sentence(exc.detail))


def _changes(form: WebhookForm, user: Any) -> dict[str, Any]:
    data = form.cleaned_data
    raw = data["service"]
    return {
        "name": data["name"],
        "service": automation.service_for_field(user, int(raw) if raw else None),
        "url": data["url"],
        "events": automation.events_check(list(data["events"])),
        "active": bool(data["active"]),
    }


@login_required
@require_GET
def webhook_list(request: HttpRequest) -> HttpResponse:
    if refused := _gate(request):
        return refused
    service = _service_param(request)
    rows = list(automation.webhook_list_for(request.user, service=service))
    return render(
        request,
        "comms/automation_list.html",
        {
            "rows": rows,
            "service": service,
            "event_labels": dict(AutomationEvent.choices),
            "can_global": automation.may_manage(request.user, None),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def webhook_new(request: HttpRequest) -> HttpResponse:
    if refused := _gate(request):
        return refused
    service = _service_param(request)
    initial = {
        "service": str(service.pk) if service else GLOBAL,
        "active": True,
        "events": [AutomationEvent.CREATED, AutomationEvent.RESOLVED],
    }
    if service is None and not automation.may_manage(request.user, None):
        first = automation.manageable_services(request.user).first()
        initial["service"] = str(first.pk) if first else GLOBAL
    form = WebhookForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            changes = _changes(form, request.user)
            webhook, secret = automation.automation_webhook_create(
                actor=Actor.for_request(request), **changes
            )
        except Invalid as exc:
            _apply_errors(form, exc)
        except TocsinError as exc:
            return error_page(request, exc)
        else:
            return _detail(request, webhook, secret=secret, status=201, created=True)
    status = 422 if request.method == "POST" else 200
    return render(
        request, "comms/automation_form.html", {"form": form, "webhook": None}, status=status
    )


def _detail(
    request: HttpRequest,
    webhook: AutomationWebhook,
    *,
    secret: str | None = None,
    status: int = 200,
    created: bool = False,
) -> HttpResponse:
    response = render(
        request,
        "comms/automation_detail.html",
        {
            "webhook": webhook,
            "deliveries": automation.deliveries_of(webhook),
            "event_labels": dict(AutomationEvent.choices),
            "secret": secret,
            "created": created,
        },
        status=status,
    )
    if secret:
        response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def webhook_detail(request: HttpRequest, webhook_id: int) -> HttpResponse:
    webhook = _webhook(request, webhook_id)
    if isinstance(webhook, HttpResponse):
        return webhook
    return _detail(request, webhook)


@login_required
@require_http_methods(["GET", "POST"])
def webhook_edit(request: HttpRequest, webhook_id: int) -> HttpResponse:
    webhook = _webhook(request, webhook_id)
    if isinstance(webhook, HttpResponse):
        return webhook
    initial = {
        "name": webhook.name,
        "service": str(webhook.service_id) if webhook.service_id else GLOBAL,
        "url": webhook.url,
        "events": list(webhook.events or []),
        "active": webhook.active,
    }
    form = WebhookForm(
        request.POST or None, user=request.user, current=webhook.service, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        try:
            changes = _changes(form, request.user)
            automation.automation_webhook_update(
                webhook=webhook, actor=Actor.for_request(request), changes=changes
            )
        except Invalid as exc:
            _apply_errors(form, exc)
        except TocsinError as exc:
            return error_page(request, exc)
        else:
            messages.success(request, f"Saved “{changes['name']}”.")
            return redirect("automation-webhook", webhook.pk)
    status = 422 if request.method == "POST" else 200
    return render(
        request, "comms/automation_form.html", {"form": form, "webhook": webhook}, status=status
    )


@login_required
@require_POST
def webhook_active(request: HttpRequest, webhook_id: int) -> HttpResponse:
    webhook = _webhook(request, webhook_id)
    if isinstance(webhook, HttpResponse):
        return webhook
    active = request.POST.get("active") == "1"
    try:
        automation.automation_webhook_update(
            webhook=webhook, actor=Actor.for_request(request), changes={"active": active}
        )
    except TocsinError as exc:
        return error_page(request, exc)
    messages.success(request, f"“{webhook.name}” is {'active' if active else 'disabled'}.")
    return redirect("automation-webhook", webhook.pk)


@login_required
@require_POST
def webhook_test(request: HttpRequest, webhook_id: int) -> HttpResponse:
    webhook = _webhook(request, webhook_id)
    if isinstance(webhook, HttpResponse):
        return webhook
    try:
        automation.automation_webhook_test(webhook=webhook, actor=Actor.for_request(request))
    except TocsinError as exc:
        return error_page(request, exc)
    messages.success(request, "Test queued: it is sent within seconds; see the delivery log.")
    return redirect(reverse("automation-webhook", args=[webhook.pk]) + "#h-deliveries")


@login_required
@require_POST
def webhook_rotate(request: HttpRequest, webhook_id: int) -> HttpResponse:
    webhook = _webhook(request, webhook_id)
    if isinstance(webhook, HttpResponse):
        return webhook
    try:
        secret = automation.automation_webhook_rotate_secret(
            webhook=webhook, actor=Actor.for_request(request)
        )
    except TocsinError as exc:
        return error_page(request, exc)
    webhook.refresh_from_db()
    return _detail(request, webhook, secret=secret)


@login_required
@require_POST
def webhook_delete(request: HttpRequest, webhook_id: int) -> HttpResponse:
    webhook = _webhook(request, webhook_id)
    if isinstance(webhook, HttpResponse):
        return webhook
    service_id = webhook.service_id
    try:
        automation.automation_webhook_delete(webhook=webhook, actor=Actor.for_request(request))
    except TocsinError as exc:
        return error_page(request, exc)
    messages.success(request, f"Deleted “{webhook.name}”.")
    target = reverse("automation-webhooks")
    return redirect(target + (f"?service={service_id}" if service_id else ""))


# --- the service page's link (registered by automation.register) ---------------------------


def service_page_link(request: HttpRequest, service: Service, bound: Any) -> dict[str, Any]:
    return {"automation_link": automation.may_manage(request.user, service)}


def register_catalog() -> None:
    from tocsin.catalog import hooks

    hooks.add_service_page_part(
        hooks.ServicePagePart("actions", "comms/automation_service_link.html", service_page_link)
    )
