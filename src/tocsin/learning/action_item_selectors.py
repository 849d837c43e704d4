"""Action items: reads and access gates (the API and the pages ask the same ones).

Staff see every action item; anyone else (reporters) is told 404 for each of them and
for the lists, so their existence does not leak."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import F, Q, QuerySet

from tocsin.accounts.models import Team, User
from tocsin.accounts.permissions import Action, can
from tocsin.core.clock import now
from tocsin.core.errors import NotFound
from tocsin.incidents.models import Incident
from tocsin.learning.models import ActionItem, Postmortem
from tocsin.learning.models.actions import OPEN_STATUSES

# How many overdue items a person's or a team's page lists (a count beside them).
OVERDUE_SHOWN = 20


# soonest due first, no due date last (NULLs sort first on SQLite, last on PostgreSQL)
DUE_ORDER = F("due_at").asc(nulls_last=True)


def may_view(user: User | None) -> bool:
    return can(user, Action.ACTION_ITEM_VIEW)


def _base() -> QuerySet[ActionItem]:
    return ActionItem.objects.select_related("owner", "incident", "postmortem")


def access_action_item(user: User | None, item_id: int) -> ActionItem:
    """The item if this person may see it; NotFound otherwise (no leak)."""
    if not may_view(user):
        raise NotFound(f"no action item {item_id}")
    found = _base().filter(pk=item_id).first()
    if found is None:
        raise NotFound(f"no action item {item_id}")
    return found


def access_action_items(user: User | None) -> None:
    """The lists: staff only, 404 for anyone else."""
    if not may_view(user):
        raise NotFound("no such page")


@dataclass(frozen=True)
class Filters:
    owner: User | None = None
    team: Team | None = None
    # items owned by a member of any of these teams ("my teams" on the list page)
    teams: tuple[int, ...] | None = None
    status: str | None = None
    overdue: bool | None = None
    postmortem: Postmortem | None = None
    incident: Incident | None = None


def overdue_q(at: dt.datetime) -> Q:
    return Q(status__in=OPEN_STATUSES, due_at__isnull=False, due_at__lt=at)


def action_item_list(filters: Filters, *, at: dt.datetime | None = None) -> QuerySet[ActionItem]:
    """Items matching every filter given, soonest due first (no due date last)."""
    at = at or now()
    qs = _base()
    if filters.owner is not None:
        qs = qs.filter(owner=filters.owner)
    if filters.team is not None:
        qs = qs.filter(owner__teams=filters.team).distinct()
    if filters.teams is not None:
        qs = qs.filter(owner__teams__in=filters.teams).distinct()
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.overdue is True:
        qs = qs.filter(overdue_q(at))
    elif filters.overdue is False:
        qs = qs.exclude(overdue_q(at))
    if filters.postmortem is not None:
        qs = qs.filter(postmortem=filters.postmortem)
    if filters.incident is not None:
        qs = qs.filter(incident=filters.incident)
    return qs.order_by(DUE_ORDER, "pk")


def incident_items(incident: Incident) -> list[ActionItem]:
    return list(_base().filter(incident=incident).order_by(DUE_ORDER, "pk"))


def postmortem_items(postmortem: Postmortem) -> list[ActionItem]:
    return list(_base().filter(postmortem=postmortem).order_by(DUE_ORDER, "pk"))


def overdue_of_person(
    person: User, *, at: dt.datetime | None = None
) -> tuple[list[ActionItem], int]:
    """The person's overdue items (the first OVERDUE_SHOWN) and how many there are."""
    qs = action_item_list(Filters(owner=person, overdue=True), at=at)
    return list(qs[:OVERDUE_SHOWN]), qs.count()


def overdue_of_team(team: Team, *, at: dt.datetime | None = None) -> tuple[list[ActionItem], int]:
    """The overdue items owned by the team's members."""
    qs = action_item_list(Filters(team=team, overdue=True), at=at)
    return list(qs[:OVERDUE_SHOWN]), qs.count()
