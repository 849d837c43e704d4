"""The staff home page (`/home/`): what needs me now.

Pages waiting for my acknowledgement, incidents assigned to me, major incidents, my next
shift and who is on call now. Every list is bounded (LIST_MAX rows, a count beside it),
so the page costs a fixed handful of queries whatever the size of the installation.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from tocsin.accounts.models import User
from tocsin.accounts.permissions import Action, can
from tocsin.core.clock import now
from tocsin.core.errors import Invalid
from tocsin.core.web import staff_required
from tocsin.escalation.models import ClimbState, Page, PageState
from tocsin.incidents.models import Incident, Status
from tocsin.oncall import selectors as oncall_selectors

LIST_MAX = 20
OPEN = (Status.NEW, Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.ON_HOLD)
# How far ahead "my next shift" looks.
SHIFT_HORIZON = dt.timedelta(days=28)


def _incidents() -> QuerySet[Incident]:
    return Incident.objects.select_related("service", "assignee", "acknowledged_by")


def waiting_pages(user: User) -> tuple[list[Page], int]:
    """My open pages on incidents nobody has taken yet, newest first, one per incident."""
    qs = Page.objects.filter(
        person=user, state=PageState.OPEN, incident__status=Status.NEW
    ).exclude(escalation__state=ClimbState.RESPONDERS)  # answered on the incident, not acked
    rows = list(
        qs.select_related("incident", "incident__service").order_by("-created_at", "-pk")[
            : LIST_MAX * 3
        ]
    )
    seen: set[int] = set()
    pages: list[Page] = []
    for page in rows:
        if page.incident_id not in seen:
            seen.add(page.incident_id)
            pages.append(page)
    total = qs.values("incident_id").distinct().count()
    return pages[:LIST_MAX], total


def assigned_to(user: User) -> tuple[list[Incident], int]:
    qs = _incidents().filter(assignee=user, status__in=OPEN)
    return list(qs.order_by("priority", "-reported_at", "-pk")[:LIST_MAX]), qs.count()


def major_incidents() -> tuple[list[Incident], int]:
    qs = _incidents().filter(priority=1, status__in=OPEN)
    return list(qs.order_by("-reported_at", "-pk")[:LIST_MAX]), qs.count()


def next_shift(user: User, at: dt.datetime) -> dict[str, Any] | None:
    """My current or next shift within SHIFT_HORIZON (None: none, or too much to work
    out)."""
    try:
        shifts = oncall_selectors.user_shifts(user, at, at + SHIFT_HORIZON)
    except Invalid:
        return None
    if not shifts:
        return None
    schedule, shift = shifts[0]
    return {
        "schedule": schedule,
        "start": shift.start,
        "end": shift.end,
        "now": shift.start <= at < shift.end,
        "override": shift.override is not None,
    }


def oncall_now(user: User, at: dt.datetime) -> list[Any]:
    if not can(user, Action.SCHEDULE_VIEW):
        return []
    return oncall_selectors.organisation_oncall(user=user, at=at)


@staff_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    at = now()
    pages, pages_total = waiting_pages(user)
    mine, mine_total = assigned_to(user)
    major, major_total = major_incidents()
    context = {
        "at": at,
        "pages": pages,
        "pages_total": pages_total,
        "mine": mine,
        "mine_total": mine_total,
        "major": major,
        "major_total": major_total,
        "shift": next_shift(user, at),
        "oncall": oncall_now(user, at),
        "can_schedules": can(user, Action.SCHEDULE_VIEW),
        "zone": zoneinfo.ZoneInfo(user.time_zone),
        "list_max": LIST_MAX,
    }
    return render(request, "escalation/home.html", context)
