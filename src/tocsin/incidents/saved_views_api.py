"""REST API for a person's saved queue views: /api/v1/views.

Each person sees and changes only their own views; anyone else's answers 404.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Query, Router, Schema
from pydantic import Field

from tocsin.accounts.api_auth import user_from_request
from tocsin.accounts.models import User
from tocsin.core.api import ERRORS, Id, Paging, Text, page
from tocsin.core.errors import Invalid
from tocsin.incidents import selectors
from tocsin.incidents.models import SavedView
from tocsin.incidents.queue_forms import queue_form, queue_query_clean
from tocsin.incidents.services.saved_views import (
    NAME_MAX,
    QUERY_MAX,
    saved_view_create,
    saved_view_delete,
    saved_view_update,
)

router = Router(tags=["views"])


class SavedViewOut(Schema):
    id: int
    name: str
    query: str = Field(description="the queue's filters, as in the queue's URL")
    url: str = Field(description="the queue page with these filters")
    count: int | None = Field(description="incidents matching now (null: a filter is stale)")


class SavedViewList(Schema):
    items: list[SavedViewOut]
    count: int


class SavedViewIn(Schema):
    name: Text = Field(max_length=NAME_MAX)
    query: Text = Field(
        "",
        max_length=QUERY_MAX,
        description='filters as a query string, e.g. "priority=1&team=mine"',
    )


class SavedViewPatchIn(Schema):
    name: Text | None = Field(None, max_length=NAME_MAX)
    query: Text | None = Field(None, max_length=QUERY_MAX)


def view_json(view: SavedView, user: User) -> dict[str, Any]:
    try:
        count: int | None = selectors.incident_list_for(
            user, queue_form(view.query).filters(user)
        ).count()
    except Invalid:
        count = None
    url = reverse("queue") + (f"?{view.query}" if view.query else "")
    return {"id": view.pk, "name": view.name, "query": view.query, "url": url, "count": count}


def _query(value: str) -> str:
    try:
        return queue_query_clean(value)
    except Invalid as exc:
        raise Invalid(
            "query", f"{exc.field}: {exc.detail}" if exc.field != "query" else exc.detail
        ) from None


@router.get("/views", response={200: SavedViewList, **ERRORS})
def list_views(request: HttpRequest, paging: Query[Paging]) -> dict[str, Any]:
    """Your saved queue views, with how many incidents each matches now."""
    user = user_from_request(request)
    return page(selectors.saved_views_for(user), paging, lambda v: view_json(v, user))


@router.post("/views", response={201: SavedViewOut, **ERRORS})
def create_view(request: HttpRequest, payload: SavedViewIn) -> tuple[int, dict[str, Any]]:
    user = user_from_request(request)
    view = saved_view_create(owner=user, name=payload.name, query=_query(payload.query))
    return 201, view_json(view, user)


@router.get("/views/{view_id}", response={200: SavedViewOut, **ERRORS})
def get_view(request: HttpRequest, view_id: Id) -> dict[str, Any]:
    user = user_from_request(request)
    return view_json(selectors.access_saved_view(user, view_id), user)


@router.patch("/views/{view_id}", response={200: SavedViewOut, **ERRORS})
def patch_view(request: HttpRequest, view_id: Id, payload: SavedViewPatchIn) -> dict[str, Any]:
    user = user_from_request(request)
    view = selectors.access_saved_view(user, view_id)
    query = None if payload.query is None else _query(payload.query)
    view = saved_view_update(view=view, name=payload.name, query=query)
    return view_json(view, user)


@router.delete("/views/{view_id}", response={204: None, **ERRORS})
def delete_view(request: HttpRequest, view_id: Id) -> HttpResponse:
    user = user_from_request(request)
    saved_view_delete(view=selectors.access_saved_view(user, view_id))
    return HttpResponse(status=204)
