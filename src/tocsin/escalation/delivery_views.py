"""The delivery log for administrators (Settings → Delivery log): every outbound message,
newest first, filtered by state, channel, purpose, person and incident. Read-only;
addresses masked. Anyone else gets 404 (the page's existence is an administrator's)."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from tocsin.accounts.permissions import Action, can
from tocsin.core.errors import Invalid, NotFound
from tocsin.core.web import error_page, sentence
from tocsin.escalation.incident_selectors import (
    delivery_choices,
    delivery_filters,
    delivery_log,
    outcome_of,
    recipient_masked,
)
from tocsin.notify.models import OutboxState

PAGE_SIZE = 50


class DeliveryFilterForm(forms.Form):
    state = forms.ChoiceField(required=False, label="State")
    channel = forms.ChoiceField(required=False, label="Channel")
    purpose = forms.ChoiceField(required=False, label="Purpose")
    person = forms.CharField(required=False, max_length=150, label="Person (username)")
    incident = forms.CharField(required=False, max_length=30, label="Incident")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        choices = delivery_choices()
        self.fields["state"].choices = [("", "Any state"), *OutboxState.choices]  # type: ignore[attr-defined]
        self.fields["channel"].choices = [("", "Any channel")] + [  # type: ignore[attr-defined]
            (c, c) for c in choices["channels"]
        ]
        self.fields["purpose"].choices = [("", "Any purpose")] + [  # type: ignore[attr-defined]
            (p, p) for p in choices["purposes"]
        ]


@login_required
@require_GET
def delivery_log_page(request: HttpRequest) -> HttpResponse:
    if not can(request.user, Action.DELIVERY_LOG_VIEW):
        return error_page(request, NotFound("no such page"))
    form = DeliveryFilterForm(request.GET)
    page = None
    status = 200
    if form.is_valid():
        data = form.cleaned_data
        try:
            wanted = delivery_filters(
                state=data["state"],
                channel=data["channel"],
                purpose=data["purpose"],
                person=data["person"].strip(),
                incident=data["incident"].strip(),
                viewer=request.user,  # type: ignore[arg-type]
            )
        except Invalid as exc:
            form.add_error(exc.field, sentence(exc.detail))
            status = 400
        else:
            page = Paginator(delivery_log(wanted), PAGE_SIZE).get_page(request.GET.get("page"))
            for message in page.object_list:
                message.address = recipient_masked(message)
                message.outcome = outcome_of(message)
    else:
        status = 400
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "escalation/deliveries.html",
        {"form": form, "page": page, "query": params.urlencode(), "filtered": bool(params)},
        status=status,
    )
