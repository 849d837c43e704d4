"""REST API for the knowledge base (issue 12, point 4).

- `GET /api/v1/articles?q=&tag=&service=&category=&visibility=&archived=`: search (best
  first) or list (by title); reporters get public articles only, and counts never
  include what they may not read. `POST /api/v1/articles` creates (staff), 201.
- `GET|PATCH /api/v1/articles/{id}`: read (404 for an internal article to a reporter);
  change (staff; every change of the text is a new version; `version` in the body makes
  a stale edit a 409; `archived` archives or restores).
- `GET /api/v1/articles/{id}/versions`: the saved versions, newest first.
- `POST /api/v1/articles/{id}/solved` `{"incident": "INC-42"}`: "this article solved
  it" (staff, or the incident's reporter), 201; 409 when already recorded.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Query, Router, Schema
from pydantic import Field

from tocsin.accounts.api_auth import user_from_request
from tocsin.accounts.models import User
from tocsin.catalog.models import Category, Service
from tocsin.core.api import (
    ERRORS,
    BodyId,
    Id,
    InSchema,
    Paging,
    Ref,
    Text,
    actor_from_request,
    idempotent_create,
    one_of,
)
from tocsin.core.errors import Forbidden, Invalid, NotFound
from tocsin.incidents.selectors import access_incident
from tocsin.learning import article_selectors as sel
from tocsin.learning import articles
from tocsin.learning.markdown import render
from tocsin.learning.models import Article, ArticleSolution, ArticleVersion, ArticleVisibility

router = Router(tags=["knowledge base"])


# --- schemas ------------------------------------------------------------------------------


class ArticleOut(Schema):
    id: int
    title: str
    body: str = Field(description="Markdown")
    html: str = Field(description="the body rendered (safe HTML)")
    visibility: str = Field(description="public (reporters read it too) or internal")
    tags: list[str]
    services: list[Ref]
    categories: list[Ref]
    version: int
    archived: bool
    created_at: dt.datetime
    created_by: str | None = Field(description="username (null for reporters)")
    updated_at: dt.datetime
    updated_by: str | None = Field(description="username (null for reporters)")
    url: str = Field(description="the article's page")


class ArticleHit(ArticleOut):
    snippet: str = Field(description="the start of the body as plain text")
    score: float | None = Field(description="search rank, higher is better (null: no q)")


class ArticleList(Schema):
    items: list[ArticleHit]
    count: int


class ArticleIn(InSchema):
    title: Annotated[Text, Field(min_length=1, max_length=articles.TITLE_MAX)]
    body: Annotated[Text, Field(max_length=articles.BODY_MAX)] = ""
    visibility: Annotated[Text, one_of(ArticleVisibility.values)] = ArticleVisibility.INTERNAL
    tags: list[Annotated[Text, Field(max_length=articles.TAG_MAX)]] = Field(
        default_factory=list, max_length=articles.TAGS_MAX
    )
    services: list[BodyId] = Field(default_factory=list, max_length=200)
    categories: list[BodyId] = Field(default_factory=list, max_length=200)
    note: Annotated[Text, Field(max_length=articles.NOTE_MAX)] = ""


class ArticlePatch(InSchema):
    title: Annotated[Text, Field(min_length=1, max_length=articles.TITLE_MAX)] | None = None
    body: Annotated[Text, Field(max_length=articles.BODY_MAX)] | None = None
    visibility: Annotated[Text, one_of(ArticleVisibility.values)] | None = None
    tags: list[Annotated[Text, Field(max_length=articles.TAG_MAX)]] | None = Field(
        None, max_length=articles.TAGS_MAX
    )
    services: list[BodyId] | None = Field(None, max_length=200)
    categories: list[BodyId] | None = Field(None, max_length=200)
    note: Annotated[Text, Field(max_length=articles.NOTE_MAX)] = Field(
        "", description="what changed (kept with the version)"
    )
    archived: bool | None = None
    version: Annotated[int, Field(ge=1, strict=True)] | None = Field(
        None, description="the version this edit is based on: 409 if the article moved on"
    )


class VersionOut(Schema):
    number: int
    title: str
    body: str
    visibility: str
    tags: list[str]
    note: str
    created_at: dt.datetime
    created_by: str | None


class VersionList(Schema):
    items: list[VersionOut]
    count: int


class SolvedIn(InSchema):
    incident: Annotated[Text, Field(max_length=30)] = Field(description='"INC-42" or "42"')


class SolvedOut(Schema):
    incident: str
    article: int
    by: str | None
    at: dt.datetime


class ArticleQuery(Schema):
    q: Annotated[str, Field(max_length=500)] = ""
    tag: Annotated[str, Field(max_length=articles.TAG_MAX)] = ""
    service: Id | None = None
    category: Id | None = None
    visibility: Literal["", "public", "internal"] = ""
    archived: bool = False


# --- serialisers ---------------------------------------------------------------------------


def article_json(article: Article, user: User) -> dict[str, Any]:
    staff = sel.reads_internal(user)
    return {
        "id": article.pk,
        "title": article.title,
        "body": article.body,
        "html": str(render(article.body)),
        "visibility": article.visibility,
        "tags": article.tags.split(),
        "services": [{"id": s.pk, "name": s.name} for s in article.services.all()],
        "categories": [{"id": c.pk, "name": c.name} for c in article.categories.all()],
        "version": article.version,
        "archived": article.archived_at is not None,
        "created_at": article.created_at,
        "created_by": article.created_by.username if staff and article.created_by else None,
        "updated_at": article.updated_at,
        "updated_by": article.updated_by.username if staff and article.updated_by else None,
        "url": reverse("kb-article", kwargs={"article_id": article.pk}),
    }


def version_json(version: ArticleVersion, staff: bool) -> dict[str, Any]:
    return {
        "number": version.number,
        "title": version.title,
        "body": version.body,
        "visibility": version.visibility,
        "tags": version.tags.split(),
        "note": version.note,
        "created_at": version.created_at,
        "created_by": version.created_by.username if staff and version.created_by else None,
    }


def solution_json(solution: ArticleSolution) -> dict[str, Any]:
    return {
        "incident": solution.incident.ref,
        "article": solution.article_id,
        "by": solution.by.username if solution.by else None,
        "at": solution.at,
    }


# --- helpers -------------------------------------------------------------------------------


def _staff(user: User) -> None:
    if not sel.reads_internal(user):
        raise Forbidden("only the service desk writes knowledge articles")


def _objects(model: type[Service] | type[Category], field: str, ids: list[int]) -> list[Any]:
    found = model.objects.in_bulk(ids)
    missing = [i for i in ids if i not in found]
    if missing:
        noun = "category" if model is Category else "service"
        raise Invalid(field, f"no {noun} has id {missing[0]}")
    return [found[i] for i in ids]


# --- routes --------------------------------------------------------------------------------


@router.get("/articles", response={200: ArticleList, **ERRORS})
def list_articles(
    request: HttpRequest, filters: Query[ArticleQuery], paging: Query[Paging]
) -> dict[str, Any]:
    """Search (`q`: words, "quoted phrases"; best first) or list (by title) the articles
    this person may read."""
    user = user_from_request(request)
    asks_hidden = filters.archived or filters.visibility == ArticleVisibility.INTERNAL
    if asks_hidden and not sel.reads_internal(user):
        # a reporter asking for what they may not read gets nothing (not an error)
        return {"items": [], "count": 0}
    hits, count = sel.article_search(
        user,
        sel.Filters(
            q=filters.q,
            tag=filters.tag.strip(),
            service=filters.service,
            category=filters.category,
            visibility=filters.visibility,
            archived=filters.archived,
        ),
        limit=paging.limit,
        offset=paging.offset,
    )
    return {
        "items": [
            {**article_json(h.article, user), "snippet": h.snippet, "score": h.score} for h in hits
        ],
        "count": count,
    }


@router.post("/articles", response={201: ArticleOut, **ERRORS})
def create_article(request: HttpRequest, payload: ArticleIn) -> HttpResponse:
    """A new article (staff), version 1."""
    user = user_from_request(request)
    _staff(user)
    fields = articles.check_fields(
        title=payload.title,
        body=payload.body,
        visibility=payload.visibility,
        tags=payload.tags,
        services=_objects(Service, "services", payload.services),
        categories=_objects(Category, "categories", payload.categories),
    )

    def create() -> dict[str, Any]:
        article = articles.article_create(
            actor=actor_from_request(request), fields=fields, note=payload.note
        )
        return article_json(article, user)

    return idempotent_create(request, create)


@router.get("/articles/{article_id}", response={200: ArticleOut, **ERRORS})
def get_article(request: HttpRequest, article_id: Id) -> dict[str, Any]:
    user = user_from_request(request)
    return article_json(sel.access_article(user, article_id), user)


@router.patch("/articles/{article_id}", response={200: ArticleOut, **ERRORS})
def edit_article(request: HttpRequest, article_id: Id, payload: ArticlePatch) -> dict[str, Any]:
    """Change an article (staff): the fields given; a new version when the text, title,
    visibility, tags, services or categories change. `archived` archives or restores."""
    user = user_from_request(request)
    article = sel.access_article(user, article_id)
    _staff(user)
    fields = articles.check_fields(
        title=payload.title if payload.title is not None else article.title,
        body=payload.body if payload.body is not None else article.body,
        visibility=payload.visibility if payload.visibility is not None else article.visibility,
        tags=payload.tags if payload.tags is not None else article.tags,
        services=(
            _objects(Service, "services", payload.services)
            if payload.services is not None
            else list(article.services.all())
        ),
        categories=(
            _objects(Category, "categories", payload.categories)
            if payload.categories is not None
            else list(article.categories.all())
        ),
    )
    actor = actor_from_request(request)
    article = articles.article_edit(
        actor=actor,
        article=article,
        fields=fields,
        note=payload.note,
        expected_version=payload.version,
    )
    if payload.archived is not None:
        article = articles.article_archive(actor=actor, article=article, archived=payload.archived)
    return article_json(article, user)


@router.get("/articles/{article_id}/versions", response={200: VersionList, **ERRORS})
def list_versions(request: HttpRequest, article_id: Id, paging: Query[Paging]) -> dict[str, Any]:
    """The article's saved versions, newest first."""
    user = user_from_request(request)
    article = sel.access_article(user, article_id)
    staff = sel.reads_internal(user)
    versions = sel.article_versions(article)
    if not staff:
        # a reporter reads the public versions only (an article may once have been internal)
        versions = versions.filter(visibility=ArticleVisibility.PUBLIC)
    window = versions[paging.offset : paging.offset + paging.limit]
    return {"items": [version_json(v, staff) for v in window], "count": versions.count()}


@router.post("/articles/{article_id}/solved", response={201: SolvedOut, **ERRORS})
def article_solved(request: HttpRequest, article_id: Id, payload: SolvedIn) -> HttpResponse:
    """ "This article solved it" on an incident (staff, or the incident's reporter); on the
    incident's timeline; once per incident and article (409 the second time)."""
    user = user_from_request(request)
    article = sel.access_article(user, article_id)
    try:
        incident = access_incident(user, payload.incident)
    except NotFound as exc:
        raise Invalid("incident", exc.message) from None
    if not sel.may_record_solution(user, incident):
        raise Invalid("incident", f"no incident {payload.incident}")

    def create() -> dict[str, Any]:
        solution = articles.article_solved(
            actor=actor_from_request(request), incident=incident, article=article
        )
        return solution_json(solution)

    return idempotent_create(request, create)
