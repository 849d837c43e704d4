"""The incident timeline on the page: how each person reads it, and highlights (pins).

Thin like the other views: the selectors read and gate, the services write.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from tocsin.accounts.models import User
from tocsin.accounts.permissions import Action, can
from tocsin.core.actors import Actor
from tocsin.core.errors import Invalid, TocsinError
from tocsin.core.web import error_page
from tocsin.incidents import selectors, services
from tocsin.incidents.models import Incident, TimelineOrder, TimelineShow
from tocsin.incidents.templatetags.tocsin_ui import timeline_summary


def _names_in(entries: list[Any]) -> dict[str, str]:
    """People's names for the usernames in the entries' data (assignments)."""
    usernames: set[str] = set()
    for entry in entries:
        data = entry.data or {}
        for key in ("assignee", "team"):
            change = data.get(key)
            if isinstance(change, dict):
                usernames.update(v for v in change.values() if isinstance(v, str))
        if data.get("field") == "assignee":
            usernames.update(v for v in (data.get("old"), data.get("new")) if isinstance(v, str))
    if not usernames:
        return {}
    return {u.username: u.display_name for u in User.objects.filter(username__in=usernames)}


def timeline_context(user: Any, incident: Incident) -> dict[str, Any]:
    """The timeline part of the incident page's context: the entries this person may see,
    in the order and with the filter they chose last, each with its wording."""
    order, show = selectors.timeline_view_for(user if isinstance(user, User) else None)
    staff = can(user, Action.TIMELINE_INTERNAL_VIEW)
    # Reporters read a short, public timeline: the order is theirs to choose, not filters.
    shows = list(TimelineShow.choices) if staff else [(TimelineShow.ALL, "Everything")]
    if show not in dict(shows):
        show = TimelineShow.ALL
    entries = list(selectors.timeline_for(user, incident, order=order, show=show))
    names = _names_in(entries)
    for entry in entries:
        entry.summary = timeline_summary(entry, names, staff=staff)  # type: ignore[attr-defined]
    hidden = 0
    if show != TimelineShow.ALL:
        hidden = selectors.timeline_for(user, incident).count() - len(entries)
    return {
        "timeline": entries,
        "timeline_order": order,
        "timeline_show": show,
        "timeline_show_label": dict(shows)[show],
        "timeline_hidden": hidden,
        "timeline_orders": TimelineOrder.choices,
        "timeline_shows": shows,
        "can_pin": can(user, Action.INCIDENT_TRIAGE, incident),
    }


def _back(ref: str, anchor: str = "timeline") -> HttpResponse:
    return redirect(reverse("incident", kwargs={"ref": ref}) + f"#{anchor}")


@login_required
@require_http_methods(["GET", "POST"])
def timeline_view(request: HttpRequest, ref: str) -> HttpResponse:
    """Remember how this person reads timelines (order, which entries); GET only returns
    to the page."""
    try:
        incident = selectors.access_incident(request.user, ref)  # type: ignore[arg-type]
    except TocsinError as exc:
        return error_page(request, exc)
    if request.method == "POST":
        current_order, current_show = selectors.timeline_view_for(request.user)  # type: ignore[arg-type]
        try:
            services.timeline_view_set(
                actor=Actor.for_user(request.user, getattr(request, "request_id", "")),
                order=request.POST.get("order") or current_order,
                show=request.POST.get("show") or current_show,
            )
        except Invalid as exc:
            return error_page(request, exc)
    return _back(incident.ref)


@login_required
@require_http_methods(["GET", "POST"])
def timeline_pin(request: HttpRequest, ref: str, entry_id: int) -> HttpResponse:
    """Pin an entry as a highlight (pinned=1) or unpin it (pinned=0); GET returns to it."""
    try:
        entry = selectors.access_timeline_entry(request.user, ref, entry_id)  # type: ignore[arg-type]
    except TocsinError as exc:
        return error_page(request, exc)
    if request.method == "POST":
        wanted = request.POST.get("pinned", "1")
        if wanted not in ("0", "1"):
            return error_page(request, Invalid("pinned", "must be 1 (pin) or 0 (unpin)"))
        try:
            services.timeline_pin(
                entry=entry,
                actor=Actor.for_user(request.user, getattr(request, "request_id", "")),
                pinned=wanted == "1",
            )
        except TocsinError as exc:
            return error_page(request, exc)
        messages.success(
            request, "Pinned as a highlight." if wanted == "1" else "Removed from the highlights."
        )
    return _back(entry.incident.ref, f"entry-{entry.pk}")
