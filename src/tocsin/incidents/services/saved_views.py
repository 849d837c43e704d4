"""A person's saved queue views: create, rename, delete. Only the owner may touch one.

Saved views are a person's own shortcuts, not incident changes: they write no timeline
entry and no audit record. Callers validate the filters in `query` first (the queue's
filter form, `tocsin.incidents.queue_forms.queue_query_clean`); this module checks the
name, the owner's right to use the queue and the number of views.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from django.db import transaction

from tocsin.accounts.models import User
from tocsin.accounts.permissions import Action, can
from tocsin.core.errors import Conflict, Forbidden, Invalid
from tocsin.incidents.models import SavedView

SAVED_VIEWS_MAX = 20
NAME_MAX = 60
QUERY_MAX = 1000


def _clean_name(name: str) -> str:
    if not isinstance(name, str):
        raise Invalid("name", "must be text")
    name = " ".join("".join(ch if ch.isprintable() else " " for ch in name).split())
    if not name:
        raise Invalid("name", "must not be empty")
    if len(name) > NAME_MAX:
        raise Invalid("name", f"must be at most {NAME_MAX} characters")
    return name


def _clean_query(query: str) -> str:
    if not isinstance(query, str) or len(query) > QUERY_MAX:
        raise Invalid("query", f"must be a query string of at most {QUERY_MAX} characters")
    query = query.removeprefix("?")
    for key, _value in parse_qsl(query, keep_blank_values=True):
        if key == "page":
            raise Invalid("query", "must not name a page")
    return query


def _name_taken(owner: User, name: str, exclude: int | None = None) -> bool:
    qs = SavedView.objects.filter(owner=owner, name__iexact=name)
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    return qs.exists()


@transaction.atomic
def saved_view_create(*, owner: User, name: str, query: str) -> SavedView:
    if not can(owner, Action.DESK_VIEW):
        raise Forbidden("only service-desk staff have queue views")
    name = _clean_name(name)
    query = _clean_query(query)
    # Lock the owner's row: two saves at once cannot both pass the checks below.
    User.objects.select_for_update().filter(pk=owner.pk).first()
    if SavedView.objects.filter(owner=owner).count() >= SAVED_VIEWS_MAX:
        raise Conflict(f"you have {SAVED_VIEWS_MAX} saved views: delete one first")
    if _name_taken(owner, name):
        raise Invalid("name", f"you already have a view named {name!r}")
    return SavedView.objects.create(owner=owner, name=name, query=query)


@transaction.atomic
def saved_view_update(
    *, view: SavedView, name: str | None = None, query: str | None = None
) -> SavedView:
    fields = []
    if name is not None:
        view.name = _clean_name(name)
        if _name_taken(view.owner, view.name, exclude=view.pk):
            raise Invalid("name", f"you already have a view named {view.name!r}")
        fields.append("name")
    if query is not None:
        view.query = _clean_query(query)
        fields.append("query")
    if fields:
        view.save(update_fields=fields)
    return view


@transaction.atomic
def saved_view_delete(*, view: SavedView) -> None:
    view.delete()
