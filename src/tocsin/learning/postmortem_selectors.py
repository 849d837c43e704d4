"""Reads and access gates for postmortems. Staff see every postmortem; anyone else gets
404 (a postmortem's existence is not shown to reporters)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from tocsin.accounts.models import User
from tocsin.accounts.permissions import Action, can
from tocsin.core.clock import now
from tocsin.core.errors import Invalid, NotFound
from tocsin.incidents.models import Incident
from tocsin.learning.models import (
    Postmortem,
    PostmortemComment,
    PostmortemStatus,
    PostmortemTemplate,
)


def _base() -> QuerySet[Postmortem]:
    return Postmortem.objects.select_related("incident", "owner", "template", "created_by")


def access_postmortem(user: User | None, postmortem_id: int) -> Postmortem:
    """The postmortem if this person may see postmortems; NotFound otherwise."""
    if not can(user, Action.POSTMORTEM_VIEW):
        raise NotFound(f"no postmortem {postmortem_id}")
    found = _base().filter(pk=postmortem_id).first()
    if found is None:
        raise NotFound(f"no postmortem {postmortem_id}")
    return found


def require_postmortems(user: User | None) -> None:
    """404 for anyone who may not see postmortems (the whole feature is hidden)."""
    if not can(user, Action.POSTMORTEM_VIEW):
        raise NotFound("not found")


def postmortem_of(incident: Incident) -> Postmortem | None:
    return _base().filter(incident=incident).first()


def is_overdue(postmortem: Postmortem) -> bool:
    return (
        postmortem.status != PostmortemStatus.PUBLISHED
        and postmortem.due_at is not None
        and postmortem.due_at < now()
    )


def postmortem_list_for(
    user: User | None,
    *,
    status: str | None = None,
    owner: str | None = None,
    overdue: bool | None = None,
) -> QuerySet[Postmortem]:
    """The postmortems this person sees, filtered: `status`, `owner` (a username, or
    "none" for those without one), `overdue` (not published and past due)."""
    require_postmortems(user)
    qs = _base()
    if status:
        if status not in PostmortemStatus.values:
            raise Invalid("status", f"One of {', '.join(PostmortemStatus.values)}.")
        qs = qs.filter(status=status)
    if owner:
        qs = qs.filter(owner__isnull=True) if owner == "none" else qs.filter(owner__username=owner)
    late = Q(due_at__lt=now()) & ~Q(status=PostmortemStatus.PUBLISHED)
    if overdue is True:
        qs = qs.filter(late)
    elif overdue is False:
        qs = qs.exclude(late)
    return qs


def comments_of(postmortem: Postmortem) -> QuerySet[PostmortemComment]:
    return PostmortemComment.objects.filter(postmortem=postmortem).select_related("author")


def templates(*, archived: bool = False) -> QuerySet[PostmortemTemplate]:
    return PostmortemTemplate.objects.filter(archived_at__isnull=not archived)
