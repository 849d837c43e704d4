"""Reads of incidents, with the access gates every view and API handler uses."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Case, Count, F, Q, QuerySet, Value, When, Window
from django.db.models.functions import Least, Lower

from tocsin.accounts.models import User
from tocsin.accounts.permissions import Action, can
from tocsin.core.clock import now
from tocsin.core.errors import Invalid, NotFound
from tocsin.incidents.lifecycle import allowed_actions
from tocsin.incidents.models import (
    OPEN_STATUSES,
    Attachment,
    Incident,
    SavedView,
    Source,
    Status,
    TimelineEntry,
    TimelineOrder,
    TimelineShow,
    TimelineView,
    Visibility,
)

_REF = re.compile(r"^(?:INC-)?(\d{1,9})$", re.IGNORECASE)  # in search text
# An incident's reference in a path or a field, exactly: "INC-42" or "42" (no spaces,
# control characters or leading zeros: `/incidents/7%0C` is no incident).
_EXACT_REF = re.compile(r"(?:INC-)?([1-9][0-9]{0,8})")


def parse_ref(ref: str | int) -> int:
    match = _EXACT_REF.fullmatch(str(ref))
    if not match:
        raise NotFound(f"no incident {ref!r} (expected INC-42 or 42)")
    return int(match.group(1))


def _base() -> QuerySet[Incident]:
    return Incident.objects.select_related(
        "reporter", "assignee", "acknowledged_by", "team", "service", "category", "subcategory"
    ).prefetch_related("affected_services")


def access_incident(user: User | None, ref: str | int) -> Incident:
    """The incident `ref` if this person may see it; NotFound otherwise (no leak)."""
    number = parse_ref(ref)
    try:
        incident = _base().get(number=number)
    except Incident.DoesNotExist:
        raise NotFound(f"no incident INC-{number}") from None
    if not can(user, Action.INCIDENT_VIEW, incident):
        raise NotFound(f"no incident INC-{number}")
    return incident


# --- the queue's columns, summary and views ------------------------------------------

# Sort keys of the queue's columns; ascending is the order of the values shown (age:
# youngest first); "-key" reverses. Ties fall back to the queue's own order.
QUEUE_SORTS: dict[str, tuple[Any, ...]] = {
    "number": (F("number").asc(),),
    "priority": (F("priority").asc(),),
    "title": (Lower("title").asc(),),
    "status": (
        Case(
            *(When(status=s, then=Value(i)) for i, s in enumerate(Status.values)),
            default=Value(len(Status.values)),
        ).asc(),
    ),
    "service": (F("service__name").asc(nulls_last=True),),
    "assignee": (F("assignee__name").asc(nulls_last=True), F("assignee__username").asc()),
    "team": (F("team__name").asc(nulls_last=True),),
    "age": (F("reported_at").desc(),),
    "sla": (F("next_due_at").asc(nulls_last=True),),
}


def _sort_order(sort: str) -> list[Any]:
    reverse = sort.startswith("-")
    order = []
    for expression in QUEUE_SORTS[sort.removeprefix("-")]:
        if reverse:
            nulls_last = getattr(expression, "nulls_last", None)
            expression = expression.copy()
            expression.descending = not expression.descending
            expression.nulls_last = nulls_last  # a missing value stays at the bottom
            expression.nulls_first = None
        order.append(expression)
    if sort.removeprefix("-") != "number":
        order += ["priority", F("next_due_at").asc(nulls_last=True), "-number"]
    return order


def breached_q(at: dt.datetime) -> Q:
    """Incidents with a target breached now: not met and past its due time (or marked
    breached by the worker). A target met late stays on the record but burns no more."""
    return (
        Q(response_met_at__isnull=True, response_due_at__lt=at)
        | Q(resolution_met_at__isnull=True, resolution_due_at__lt=at)
        | Q(response_met_at__isnull=True, response_breached_at__isnull=False)
        | Q(resolution_met_at__isnull=True, resolution_breached_at__isnull=False)
    )


def team_ids_of(user: User) -> list[int]:
    return list(user.teams.values_list("id", flat=True))


def queue_summary_for(user: User) -> dict[str, int]:
    """The queue's summary line, in one query: open incidents, of them P1, P2, SLA
    breached, unassigned, assigned to this person, and of this person's teams (and how
    many teams they are in)."""
    teams = team_ids_of(user)
    qs = Incident.objects.filter(status__in=OPEN_STATUSES)
    if not can(user, Action.INCIDENT_VIEW):
        qs = qs.filter(reporter=user)
    return {"teams": len(teams)} | qs.aggregate(
        open=Count("id"),
        p1=Count("id", filter=Q(priority=1)),
        p2=Count("id", filter=Q(priority=2)),
        breached=Count("id", filter=breached_q(now())),
        unassigned=Count("id", filter=Q(assignee__isnull=True)),
        mine=Count("id", filter=Q(assignee=user)),
        team=Count("id", filter=Q(team_id__in=teams)),
    )


def saved_views_for(user: User) -> QuerySet[SavedView]:
    """This person's own saved queue views (nobody sees another's)."""
    return SavedView.objects.filter(owner=user)


def access_saved_view(user: User, view_id: int) -> SavedView:
    """The saved view if it is this person's; NotFound otherwise (no leak)."""
    view = SavedView.objects.filter(pk=view_id, owner=user).select_related("owner").first()
    if view is None:
        raise NotFound(f"no saved view {view_id}")
    return view


@dataclass
class IncidentFilters:
    status: list[str] = field(default_factory=list)  # empty: open ones; ["all"]: every status
    priority: list[int] = field(default_factory=list)
    team: int | None = None
    assignee: str | None = None  # username, or "none"
    service: int | None = None
    category: int | None = None
    source: str | None = None
    reporter: str | None = None
    q: str = ""
    breached: bool = False  # only incidents whose SLA is breached
    teams: list[int] | None = None  # only incidents of these teams ("my team's")
    sort: str = ""  # a key of QUEUE_SORTS, "-" first for the reverse; "" the queue's order


def _check_filters(filters: IncidentFilters) -> None:
    for status in filters.status:
        if status not in (*Status.values, "all", "open"):
            raise Invalid("status", f"unknown status {status!r}")
    for priority in filters.priority:
        if priority not in (1, 2, 3, 4):
            raise Invalid("priority", "must be P1–P4")
    if filters.source and filters.source not in Source.values:
        raise Invalid("source", f"must be one of {', '.join(Source.values)}")
    if filters.sort and filters.sort.removeprefix("-") not in QUEUE_SORTS:
        raise Invalid("sort", f"must be one of {', '.join(QUEUE_SORTS)}")


def incident_page(
    qs: QuerySet[Incident], number: str | int | None, size: int, *, searched: bool = False
) -> Page:
    """One page of `qs`, in its order, as `Paginator.get_page` reads `number`. The
    database sorts the ids alone (a narrow row) and then reads the page's rows whole:
    sorting every joined row of 100,000 incidents to show 25 cost several times as much
    (bench/ui, the queue over every status).

    A text search (`searched`) reads every incident's title and description, whatever
    else narrows it: its page's ids and the count of its matches come from that one scan
    (`COUNT(*) OVER ()`), not a second one. Without a search the count is cheap (an
    index, or a few hundred open incidents) and counting in the sort costs more than it
    saves (the queue over every status: 62 ms instead of 33 at 100,000 incidents)."""
    ids = qs.values_list("pk", flat=True)
    wanted = _page_number(number)
    if searched and not qs.query.distinct and wanted is not None:
        start = (wanted - 1) * size
        rows = list(
            qs.annotate(total=Window(Count("pk"))).values_list("pk", "total")[start : start + size]
        )
        if rows or wanted == 1:  # past the last page: the count decides which page is last
            paginator = Paginator(ids, size)
            paginator.count = rows[0][1] if rows else 0
            return _rows_of(qs, Page([pk for pk, _ in rows], wanted, paginator))
    return _rows_of(qs, Paginator(ids, size).get_page(number))


def _page_number(number: str | int | None) -> int | None:
    """The page asked for, as `Paginator.get_page` reads it: 1 when it is no whole
    number; None when it is below 1 (the last page, once the count is known)."""
    if number is None:
        return 1
    try:
        page = int(number)
    except ValueError:
        return 1
    return page if page >= 1 else None


def _rows_of(qs: QuerySet[Incident], page: Page) -> Page:
    """The page with its incidents whole, in the order of its ids."""
    ids = list(page.object_list)
    rows = {incident.pk: incident for incident in qs.filter(pk__in=ids).order_by()}
    page.object_list = [rows[pk] for pk in ids if pk in rows]
    return page


def incident_list_for(user: User, filters: IncidentFilters) -> QuerySet[Incident]:
    """The queue: what this person may see, filtered, by priority then nearest SLA deadline."""
    _check_filters(filters)
    qs = _base()
    if not can(user, Action.INCIDENT_VIEW):
        qs = qs.filter(reporter=user)
    statuses = [s for s in filters.status if s != "open"]
    if "all" in filters.status:
        pass
    elif statuses or "open" in filters.status:
        wanted = set(statuses)
        if "open" in filters.status:
            wanted |= set(OPEN_STATUSES)
        qs = qs.filter(status__in=wanted)
    else:
        qs = qs.filter(status__in=OPEN_STATUSES)
    if filters.priority:
        qs = qs.filter(priority__in=filters.priority)
    if filters.team:
        qs = qs.filter(team_id=filters.team)
    if filters.assignee:
        if filters.assignee == "none":
            qs = qs.filter(assignee__isnull=True)
        else:
            qs = qs.filter(assignee__username=filters.assignee)
    if filters.service:
        qs = qs.filter(Q(service_id=filters.service) | Q(affected_services__id=filters.service))
    if filters.category:
        qs = qs.filter(Q(category_id=filters.category) | Q(subcategory_id=filters.category))
    if filters.source:
        qs = qs.filter(source=filters.source)
    if filters.reporter:
        qs = qs.filter(reporter__username=filters.reporter)
    text = filters.q.strip()
    if text:
        ref = _REF.match(text)
        condition = Q(title__icontains=text) | Q(description__icontains=text)
        if ref:
            condition |= Q(number=int(ref.group(1)))
        qs = qs.filter(condition)
    if filters.teams is not None:
        qs = qs.filter(team_id__in=filters.teams)
    if filters.breached:
        qs = qs.filter(breached_q(now()))
    if filters.service:
        qs = qs.distinct()
    # The nearest unmet deadline: the response target until it is met, then resolution.
    # Held incidents have no due time (the clock is paused) and sort last in their priority.
    next_due = Case(
        When(
            response_met_at__isnull=True,
            response_due_at__isnull=False,
            resolution_due_at__isnull=False,
            then=Least("response_due_at", "resolution_due_at"),
        ),
        default=F("resolution_due_at"),
    )
    qs = qs.annotate(next_due_at=next_due)
    if filters.sort:
        return qs.order_by(*_sort_order(filters.sort))
    return qs.order_by("priority", F("next_due_at").asc(nulls_last=True), "-number")


# An entry that arrived by mail is a person's, though an integration filed it.
_BY_EMAIL = Q(actor_kind="integration", actor_label__startswith="by email from ")
# Entries people made (or sent by mail), as opposed to Tocsin's and monitoring's own.
_BY_PEOPLE = Q(actor_kind__in=("user", "token")) | _BY_EMAIL


def timeline_for(
    user: User | None,
    incident: Incident,
    *,
    order: str = TimelineOrder.OLDEST,
    show: str = TimelineShow.ALL,
) -> QuerySet[TimelineEntry]:
    """The entries this person may see, oldest or newest first; `show` narrows them to
    what people did ("people"), people's notes ("notes") or the highlights ("pinned")."""
    if order not in TimelineOrder.values:
        raise Invalid("order", f"must be one of {', '.join(TimelineOrder.values)}")
    if show not in TimelineShow.values:
        raise Invalid("show", f"must be one of {', '.join(TimelineShow.values)}")
    qs = incident.timeline.select_related("actor_user", "redacted_by", "pinned_by")
    if not can(user, Action.TIMELINE_INTERNAL_VIEW):
        qs = qs.filter(visibility=Visibility.PUBLIC)
    if show == TimelineShow.PEOPLE:
        qs = qs.filter(_BY_PEOPLE)
    elif show == TimelineShow.NOTES:
        qs = qs.filter(_BY_PEOPLE, kind="note")
    elif show == TimelineShow.PINNED:
        qs = qs.filter(pinned_at__isnull=False)
    if order == TimelineOrder.NEWEST:
        return qs.order_by("-created_at", "-id")
    return qs.order_by("created_at", "id")


def timeline_view_for(user: User | None) -> tuple[str, str]:
    """How this person reads timelines: (order, show); the defaults for anyone else."""
    if user is None or not user.is_authenticated:
        return TimelineOrder.OLDEST, TimelineShow.ALL
    view = TimelineView.objects.filter(user=user).first()
    if view is None:
        return TimelineOrder.OLDEST, TimelineShow.ALL
    return view.order, view.show


def attachments_for(user: User | None, incident: Incident) -> QuerySet[Attachment]:
    qs = incident.attachments.select_related("uploaded_by")
    if not can(user, Action.TIMELINE_INTERNAL_VIEW):
        qs = qs.filter(visibility=Visibility.PUBLIC)
    return qs


def access_attachment(user: User | None, ref: str | int, attachment_id: int) -> Attachment:
    incident = access_incident(user, ref)
    try:
        return attachments_for(user, incident).get(pk=attachment_id)
    except Attachment.DoesNotExist:
        raise NotFound(f"no attachment {attachment_id} on {incident.ref}") from None


def access_timeline_entry(user: User | None, ref: str | int, entry_id: int) -> TimelineEntry:
    incident = access_incident(user, ref)
    try:
        return timeline_for(user, incident).get(pk=entry_id)
    except TimelineEntry.DoesNotExist:
        raise NotFound(f"no timeline entry {entry_id} on {incident.ref}") from None


def incident_actions_for(user: User | None, incident: Incident) -> list[str]:
    """The actions this person may take on the incident now (API: paths under /incidents/{ref}/)."""
    actions = [a for a in allowed_actions(incident.status) if can(user, f"incident.{a}", incident)]
    if incident.is_open and can(user, Action.INCIDENT_ESCALATE):
        actions.append("escalate")
    if incident.is_open and can(user, Action.INCIDENT_MERGE):
        actions.append("merge")
    if (
        incident.is_open
        and incident.mitigated_at is None
        and can(user, Action.INCIDENT_MITIGATE, incident)
    ):
        actions.append("mitigate")
    if incident.status == Status.RESOLVED and can(user, Action.INCIDENT_CONFIRM, incident):
        actions.append("confirm")
    return actions


def incident_neighbours(user: User, incident: Incident) -> tuple[str | None, str | None]:
    """The refs of the open incidents just before and after this one (by number) that this
    person may see: the incident page's previous/next links and their shortcuts."""
    qs = Incident.objects.filter(status__in=OPEN_STATUSES)
    if not can(user, Action.INCIDENT_VIEW):
        qs = qs.filter(reporter=user)
    before = (
        qs.filter(number__lt=incident.number).order_by("-number").values_list("number", flat=True)
    ).first()
    after = (
        qs.filter(number__gt=incident.number).order_by("number").values_list("number", flat=True)
    ).first()
    return (
        f"INC-{before}" if before is not None else None,
        f"INC-{after}" if after is not None else None,
    )
