"""The queue: what is burning, at a glance. Thin: the filter form parses, selectors read.

- a summary line (open, P1, P2, SLA breached, unassigned, mine) whose numbers are links
  to those filters;
- views with counts: the built-in ones (All open, Mine, Unassigned, Breached, My team's)
  and the ones a person saves (`SavedView`, also under /api/v1/views);
- sortable columns, the filters (applied with the button or Enter), the rows, pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from tocsin.accounts.models import User
from tocsin.accounts.permissions import Action, can
from tocsin.core.clock import now
from tocsin.core.errors import Invalid, NotFound, TocsinError
from tocsin.core.web import apply_error, error_page, staff_required
from tocsin.incidents import selectors
from tocsin.incidents.queue_forms import QueueFilterForm, queue_form, queue_query_clean
from tocsin.incidents.services.saved_views import (
    saved_view_create,
    saved_view_delete,
)
from tocsin.incidents.sla import Targets
from tocsin.incidents.views import PAGE_SIZE, sla_views

QUEUE_REFRESH_SECONDS = 20

# (heading, sort key or "" for none, the sort of a first click, numeric)
QUEUE_COLUMNS = (
    ("Number", "number", "-number", False),
    ("Priority", "priority", "priority", False),
    ("Title", "title", "title", False),
    ("Status", "status", "status", False),
    ("Service", "service", "service", False),
    ("Category", "", "", False),
    ("Assignee", "assignee", "assignee", False),
    ("Team", "team", "team", False),
    ("Opened", "age", "-age", True),
    ("SLA", "sla", "sla", False),
)

# The built-in views: (name, the filters they set, the summary count they show)
BUILT_IN_VIEWS = (
    ("All open", "", "open"),
    ("Mine", "assignee=me", "mine"),
    ("Unassigned", "assignee=unassigned", "unassigned"),
    ("Breached", "sla=breached", "breached"),
    ("My team's", "team=mine", "team"),
)


@dataclass
class QueueView:
    name: str
    query: str
    count: int | None
    current: bool = False
    saved_id: int | None = None

    @property
    def url(self) -> str:
        return reverse("queue") + (f"?{self.query}" if self.query else "")


def _url(query: str) -> str:
    return reverse("queue") + (f"?{query}" if query else "")


def _columns(filters_query: str, sort: str) -> list[dict[str, Any]]:
    current = sort or "priority"
    columns = []
    for label, key, first, numeric in QUEUE_COLUMNS:
        column: dict[str, Any] = {"label": label, "key": key, "numeric": numeric}
        if key:
            if current.removeprefix("-") == key:
                column["aria_sort"] = "descending" if current.startswith("-") else "ascending"
                target = key if current.startswith("-") else f"-{key}"
            else:
                target = first
            params = QueryDict(filters_query, mutable=True)
            params["sort"] = target
            column["url"] = _url(params.urlencode())
        columns.append(column)
    return columns


def _empty_message(form: QueueFilterForm) -> str:
    """A calm, specific line for a queue with nothing to show."""
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    set_ = {k for k, v in data.items() if v not in (None, "") and k != "sort"}
    if not set_:
        return "No open incidents — all clear."
    if set_ == {"priority"}:
        return f"No open P{data['priority']} incidents — all clear."
    if set_ == {"sla"}:
        return "No open incident has breached its SLA."
    if set_ == {"assignee"} and data["assignee"] == "me":
        return "Nothing open is assigned to you."
    if set_ == {"assignee"} and data["assignee"] == "unassigned":
        return "Every open incident has an assignee."
    if set_ == {"team"} and data["team"] == "mine":
        return "Your teams have no open incidents."
    if "q" in set_:
        return f"No incidents match “{data['q']}” with these filters."
    return "No incidents match these filters."


def _views(
    user: User, summary: dict[str, int], current_query: str, full_query: str
) -> list[QueueView]:
    has_team = summary["teams"] > 0
    views = [
        QueueView(name, query, summary[count], current=query == current_query)
        for name, query, count in BUILT_IN_VIEWS
        if count != "team" or has_team
    ]
    for saved in selectors.saved_views_for(user):
        try:
            count: int | None = selectors.incident_list_for(
                user, queue_form(saved.query).filters(user)
            ).count()
        except Invalid:  # a filter that no longer exists (a deleted team): still listed
            count = None
        views.append(
            QueueView(
                saved.name,
                saved.query,
                count,
                current=saved.query in (current_query, full_query),
                saved_id=saved.pk,
            )
        )
    return views


def _queue_context(request: HttpRequest) -> tuple[dict[str, Any], int]:
    user: User = request.user  # type: ignore[assignment]
    params = request.GET.copy()
    params.pop("page", None)
    form = QueueFilterForm(params)
    status = 200
    page = None
    if params and not form.is_valid():
        status = 400
    else:
        if not params:
            form.is_valid()
        try:
            filters = form.filters(user)
            qs = selectors.incident_list_for(user, filters)
        except Invalid as exc:
            apply_error(form, exc)
            status = 400
        else:
            page = selectors.incident_page(
                qs, request.GET.get("page"), PAGE_SIZE, searched=bool(filters.q.strip())
            )
            at = now()
            targets = Targets()
            for incident in page.object_list:
                incident.sla = sla_views(incident, at, targets)
                incident.sla_breached = any(
                    v["tone"] == "breached" and not v["met_at"] for v in incident.sla.values()
                )
    query = form.canonical_query()
    filters_query = form.canonical_query(without=("sort",))
    summary = selectors.queue_summary_for(user)
    return {
        "form": form,
        "page": page,
        "query": query,
        "summary": summary,
        "views": _views(user, summary, filters_query, query),
        "filters_query": filters_query,
        "columns": _columns(filters_query, form.data.get("sort", "")),
        "empty_message": _empty_message(form),
        "live_url": reverse("queue-rows") + (f"?{request.GET.urlencode()}" if request.GET else ""),
        "refresh_seconds": QUEUE_REFRESH_SECONDS,
        "filtered": bool(filters_query),
        "filter_count": len([k for k in QueryDict(filters_query) if k != "q"]),
        "errors": bool(form.errors),
    }, status


@login_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    if not can(request.user, Action.DESK_VIEW):
        return redirect("portal")
    if any(not value for value in request.GET.values()):
        # The filter form sends every field: keep the address short, shareable and
        # comparable with the views' (a redirect, no change of state).
        query = QueueFilterForm(request.GET).canonical_query()
        page = request.GET.get("page")
        if page:
            query += ("&" if query else "") + urlencode({"page": page})
        return redirect(_url(query))
    context, status = _queue_context(request)
    return render(request, "incidents/queue.html", context, status=status)


@staff_required
@require_GET
def queue_rows(request: HttpRequest) -> HttpResponse:
    """The parts of the queue that refresh themselves (fetched by app.js)."""
    context, status = _queue_context(request)
    return render(request, "incidents/_queue_live.html", context, status=status)


@staff_required
@require_http_methods(["GET", "POST"])
def queue_view_save(request: HttpRequest) -> HttpResponse:
    """Save the filters on screen as a named view. GET (a reload of the form's URL)
    answers with the queue, never a blank 405."""
    if request.method == "GET":
        return redirect("queue")
    user: User = request.user  # type: ignore[assignment]
    query = request.POST.get("query", "")
    try:
        view = saved_view_create(
            owner=user, name=request.POST.get("name", ""), query=queue_query_clean(query)
        )
    except TocsinError as exc:
        field = getattr(exc, "field", "")
        label = "View name" if field == "name" else "Filters"
        detail = getattr(exc, "detail", exc.message)
        messages.error(request, f"The view was not saved. {label}: {detail}")
        return redirect(_url(query.removeprefix("?")))
    messages.success(request, f"Saved the view “{view.name}”.")
    return redirect(_url(view.query))


@staff_required
@require_http_methods(["GET", "POST"])
def queue_view_delete(request: HttpRequest, view_id: int) -> HttpResponse:
    if request.method == "GET":
        return redirect("queue")
    user: User = request.user  # type: ignore[assignment]
    try:
        view = selectors.access_saved_view(user, view_id)
    except NotFound as exc:
        return error_page(request, exc)
    name = view.name
    saved_view_delete(view=view)
    messages.success(request, f"Deleted the view “{name}”.")
    return redirect("queue")
