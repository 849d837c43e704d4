"""The knowledge base's writes (issue 12, point 4): create and edit an article (every save
keeps a numbered `ArticleVersion`), archive and restore it (articles are never deleted),
and record that an article solved an incident ("this article solved it", on the
incident's timeline, once per incident and article).

Who may do what is decided by the callers through `tocsin.accounts.permissions.can`
(reads and gates in `article_selectors`); the services check the input and write in one
transaction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from tocsin.catalog.models import Category, Service
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.core.errors import Conflict, Invalid
from tocsin.incidents.models import EntryKind, Incident, Visibility
from tocsin.incidents.timeline import timeline_append
from tocsin.learning.models import Article, ArticleSolution, ArticleVersion, ArticleVisibility

TITLE_MAX = 200
BODY_MAX = 100_000
NOTE_MAX = 200
TAG_MAX = 40
TAGS_MAX = 20
_TAG = re.compile(r"[\w-]+", re.UNICODE)


@dataclass(frozen=True)
class ArticleFields:
    """What an author writes; every field checked by `check_fields`."""

    title: str
    body: str
    visibility: str
    tags: tuple[str, ...]
    services: tuple[Service, ...]
    categories: tuple[Category, ...]


def parse_tags(value: str | Iterable[str]) -> tuple[str, ...]:
    """Tags from "vpn, Network" or ["vpn", "network"]: lower-case, each once, in order."""
    parts = re.split(r"[\s,]+", value) if isinstance(value, str) else list(value)
    seen: list[str] = []
    for raw in parts:
        tag = str(raw).strip().lower()
        if not tag:
            continue
        if len(tag) > TAG_MAX or not _TAG.fullmatch(tag):
            raise Invalid(
                "tags", f"a tag is 1–{TAG_MAX} letters, digits, - and _ (not {tag[:50]!r})"
            )
        if tag not in seen:
            seen.append(tag)
    if len(seen) > TAGS_MAX:
        raise Invalid("tags", f"at most {TAGS_MAX} tags")
    return tuple(seen)


def check_fields(
    *,
    title: str,
    body: str,
    visibility: str,
    tags: str | Iterable[str],
    services: Sequence[Service] = (),
    categories: Sequence[Category] = (),
) -> ArticleFields:
    title = (title or "").strip()
    if not title:
        raise Invalid("title", "is required")
    if len(title) > TITLE_MAX:
        raise Invalid("title", f"must be at most {TITLE_MAX} characters")
    if len(body or "") > BODY_MAX:
        raise Invalid("body", f"must be at most {BODY_MAX} characters")
    if "\x00" in title or "\x00" in (body or ""):
        raise Invalid("body", "must not contain NUL characters")
    if visibility not in ArticleVisibility.values:
        raise Invalid("visibility", "must be public or internal")
    return ArticleFields(
        title=title,
        body=(body or "").replace("\r\n", "\n"),
        visibility=visibility,
        tags=parse_tags(tags),
        services=tuple(dict.fromkeys(services)),
        categories=tuple(dict.fromkeys(categories)),
    )


def _keep_version(article: Article, actor: Actor, note: str) -> ArticleVersion:
    return ArticleVersion.objects.create(
        article=article,
        number=article.version,
        title=article.title,
        body=article.body,
        visibility=article.visibility,
        tags=article.tags,
        note=note.strip()[:NOTE_MAX],
        created_at=article.updated_at,
        created_by=actor.user,
    )


def article_create(*, actor: Actor, fields: ArticleFields, note: str = "") -> Article:
    """A new article, version 1."""
    at = now()
    with transaction.atomic():
        article = Article.objects.create(
            title=fields.title,
            body=fields.body,
            visibility=fields.visibility,
            tags=" ".join(fields.tags),
            version=1,
            created_at=at,
            created_by=actor.user,
            updated_at=at,
            updated_by=actor.user,
        )
        article.services.set(fields.services)
        article.categories.set(fields.categories)
        _keep_version(article, actor, note or "Created")
    return article


def article_edit(
    *,
    actor: Actor,
    article: Article,
    fields: ArticleFields,
    note: str = "",
    expected_version: int | None = None,
) -> Article:
    """Save a new version of `article` (nothing happens when nothing changed). With
    `expected_version`, a save based on an older version is a 409 (someone else saved
    in between), so nobody overwrites a change they have not seen."""
    with transaction.atomic():
        current = Article.objects.select_for_update().get(pk=article.pk)
        if expected_version is not None and expected_version != current.version:
            raise Conflict(
                f"the article changed since version {expected_version} "
                f"(it is at version {current.version}): reload it and edit again"
            )
        tags = " ".join(fields.tags)
        same = (
            current.title == fields.title
            and current.body == fields.body
            and current.visibility == fields.visibility
            and current.tags == tags
            and set(current.services.values_list("pk", flat=True))
            == {s.pk for s in fields.services}
            and set(current.categories.values_list("pk", flat=True))
            == {c.pk for c in fields.categories}
        )
        if same:
            return current
        current.title = fields.title
        current.body = fields.body
        current.visibility = fields.visibility
        current.tags = tags
        current.version += 1
        current.updated_at = now()
        current.updated_by = actor.user
        current.save(
            update_fields=[
                "title",
                "body",
                "visibility",
                "tags",
                "version",
                "updated_at",
                "updated_by",
            ]
        )
        current.services.set(fields.services)
        current.categories.set(fields.categories)
        try:
            with transaction.atomic():
                _keep_version(current, actor, note)
        except IntegrityError:
            raise Conflict("someone else saved this article at the same moment") from None
    return current


def article_archive(*, actor: Actor, article: Article, archived: bool) -> Article:
    """Archive (hidden from reporters, search and suggestions; kept with its history) or
    restore an article. Articles are never deleted: incidents they solved link to them."""
    with transaction.atomic():
        current = Article.objects.select_for_update().get(pk=article.pk)
        if (current.archived_at is not None) == archived:
            return current
        current.archived_at = now() if archived else None
        current.updated_at = now()
        current.updated_by = actor.user
        current.save(update_fields=["archived_at", "updated_at", "updated_by"])
    return current


def article_solved(*, actor: Actor, incident: Incident, article: Article) -> ArticleSolution:
    """ "This article solved it": recorded once per incident and article, on the incident's
    timeline (public when the article is, so the reporter sees which article helped)."""
    if article.archived_at is not None:
        raise Conflict("the article is archived")
    with transaction.atomic():
        if ArticleSolution.objects.filter(incident=incident, article=article).exists():
            raise Conflict(f"already recorded: this article solved {incident.ref}")
        try:
            with transaction.atomic():
                solution = ArticleSolution.objects.create(
                    incident=incident, article=article, by=actor.user, at=now()
                )
        except IntegrityError:
            raise Conflict(f"already recorded: this article solved {incident.ref}") from None
        public = article.visibility == ArticleVisibility.PUBLIC
        timeline_append(
            incident=incident,
            kind=EntryKind.ARTICLE,
            actor=actor,
            text=f"Solved by the knowledge article “{article.title}”",
            visibility=Visibility.PUBLIC if public else Visibility.INTERNAL,
            data={"article": article.pk, "title": article.title, "solved": True},
        )
    return solution
