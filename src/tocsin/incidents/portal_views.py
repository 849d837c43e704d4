"""The reporter's portal: report a problem (or a follow-up), and what waits for them.

Thin like the other views: forms parse, services write, selectors read and gate.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from tocsin.core.errors import Invalid, NotFound, TocsinError
from tocsin.core.web import apply_error, error_page
from tocsin.incidents import hooks, selectors, services
from tocsin.incidents.forms import ConfirmForm, PortalReportForm
from tocsin.incidents.models import OPEN_STATUSES, Incident, Source, Status
from tocsin.incidents.views import PAGE_SIZE, _actor, _file_incident
from tocsin.incidents.views import incident_confirm as incident_page_confirm


def _follow_up_of(request: HttpRequest, ref: str) -> Incident | None:
    """The earlier incident a follow-up refers to, if this person may see it."""
    if not ref:
        return None
    return selectors.access_incident(request.user, ref)  # type: ignore[arg-type]


def _mine(request: HttpRequest) -> Any:
    """This person's incidents: those waiting for their confirmation first, then the
    open ones, then the closed, each by latest activity."""
    return (
        selectors.incident_list_for(
            request.user,  # type: ignore[arg-type]
            selectors.IncidentFilters(status=["all"], reporter=request.user.username),
        )
        .annotate(
            waiting=Case(
                When(status=Status.RESOLVED, then=Value(0)),
                When(status__in=OPEN_STATUSES, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            )
        )
        .order_by("waiting", "-updated_at")
    )


@login_required
@require_http_methods(["GET", "POST"])
def portal(request: HttpRequest) -> HttpResponse:
    """A reporter's home: report a problem (or a follow-up), and their incidents."""
    form = PortalReportForm(request.POST or None, request.FILES or None)
    status = 200
    follow_ref = (request.POST if request.method == "POST" else request.GET).get("follow_up", "")
    try:
        follow_up = _follow_up_of(request, follow_ref)
    except NotFound as exc:
        return error_page(request, exc)
    if follow_up is not None and request.method == "GET":
        form = PortalReportForm(
            initial={
                "follow_up": follow_up.ref,
                "title": f"Follow-up to {follow_up.ref}: {follow_up.title}"[:200],
                "service": follow_up.service_id,
            }
        )
    if request.method == "POST":
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            try:
                incident = _file_incident(
                    _actor(request),
                    data["attachments"],
                    title=data["title"],
                    description=data["description"],
                    service=data["service"],
                    source=Source.PORTAL,
                    related_to=follow_up,
                )
            except Invalid as exc:
                apply_error(form, exc)
            except TocsinError as exc:
                return error_page(request, exc)
            else:
                messages.success(request, f"Thank you — we have your report as {incident.ref}.")
                return redirect("incident", ref=incident.ref)
    mine = _mine(request)
    page = Paginator(mine, PAGE_SIZE).get_page(request.GET.get("page"))
    waiting = mine.filter(status=Status.RESOLVED).count()
    return render(
        request,
        "incidents/portal.html",
        {"form": form, "page": page, "follow_up": follow_up, "waiting": waiting}
        | hooks.new_incident_context(request.user),  # e.g. suggested articles
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def portal_confirm(request: HttpRequest, ref: str) -> HttpResponse:
    """Confirm (or reopen) from the portal's row; back to the portal when it worked, to
    the incident page with the error when it did not (e.g. a reopen without a reason)."""
    if request.method == "GET":
        return redirect("portal")
    form = ConfirmForm(request.POST)
    if not form.is_valid():
        return incident_page_confirm(request, ref)
    try:
        incident = selectors.access_incident(request.user, ref)  # type: ignore[arg-type]
        services.incident_confirm(
            incident=incident,
            actor=_actor(request),
            accept=form.cleaned_data["accept"],
            note=form.cleaned_data["note"],
        )
    except (Invalid, TocsinError):
        return incident_page_confirm(request, ref)
    if form.cleaned_data["accept"]:
        messages.success(request, f"Thank you — {incident.ref} is closed.")
    else:
        messages.success(request, f"We have reopened {incident.ref} and will look at it again.")
    return redirect("portal")
