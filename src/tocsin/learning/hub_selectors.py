"""The learning hub's figures: what is waiting, per part of the learning loop."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q

from tocsin.accounts.models import User
from tocsin.core.clock import now
from tocsin.learning.models import (
    ActionItem,
    ActionItemStatus,
    Article,
    Postmortem,
    PostmortemStatus,
    Problem,
    ProblemStatus,
    Runbook,
)

_OPEN_ITEMS = (ActionItemStatus.OPEN, ActionItemStatus.IN_PROGRESS)


@dataclass(frozen=True)
class Figures:
    postmortems_open: int  # draft or in review
    postmortems_overdue: int
    items_open: int
    items_overdue: int
    items_mine: int
    problems_open: int
    known_errors: int
    articles: int
    runbooks: int


def hub_figures(user: User) -> Figures:
    """One query per kind, each a handful of conditional counts."""
    at = now()
    pm = Postmortem.objects.aggregate(
        open=Count("pk", filter=~Q(status=PostmortemStatus.PUBLISHED)),
        overdue=Count("pk", filter=~Q(status=PostmortemStatus.PUBLISHED) & Q(due_at__lt=at)),
    )
    items = ActionItem.objects.filter(status__in=_OPEN_ITEMS).aggregate(
        open=Count("pk"),
        overdue=Count("pk", filter=Q(due_at__lt=at)),
        mine=Count("pk", filter=Q(owner_id=user.pk)),
    )
    problems = Problem.objects.aggregate(
        open=Count("pk", filter=Q(status=ProblemStatus.OPEN)),
        known=Count("pk", filter=Q(status=ProblemStatus.KNOWN_ERROR)),
    )
    return Figures(
        postmortems_open=pm["open"],
        postmortems_overdue=pm["overdue"],
        items_open=items["open"],
        items_overdue=items["overdue"],
        items_mine=items["mine"],
        problems_open=problems["open"],
        known_errors=problems["known"],
        articles=Article.objects.filter(archived_at__isnull=True).count(),
        runbooks=Runbook.objects.filter(archived_at__isnull=True).count(),
    )
