"""The knowledge base's reads and access gates.

Staff read every article (archived ones too, when they ask); anyone else signed in reads
public articles that are not archived, and nothing else: an internal article answers
404, and no list, search, count or suggestion includes it. The visibility condition is
part of the full-text query itself (`fts.search(where=...)`), so a count never sees a
hidden row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from tocsin.accounts.models import User
from tocsin.accounts.permissions import Action, can
from tocsin.core.errors import NotFound
from tocsin.incidents.models import Incident
from tocsin.learning import fts
from tocsin.learning.article_index import ARTICLE_INDEX
from tocsin.learning.markdown import plain
from tocsin.learning.models import Article, ArticleSolution, ArticleVersion, ArticleVisibility

# A search ranks at most this many matches (the first the index gives) and counts up to
# it: a word held by most articles ranks 500 of them, not every one (on PostgreSQL each
# ranked article's vector is read: 1,000 of them took ~45 ms, docs/benchmarks.md
# "Search"); another word narrows it.
SEARCH_MAX = 500
# Suggestions (five articles, while someone types or on an incident) rank fewer.
SUGGEST_MAX = 100
SNIPPET = 200


def reads_internal(user: User | None) -> bool:
    """May this person read internal articles (staff: those who may write articles)?"""
    return can(user, Action.ARTICLE_EDIT)


def access_article(user: User | None, article_id: int | str) -> Article:
    """The article if this person may read it; NotFound otherwise (no leak)."""
    try:
        pk = int(article_id)
    except (TypeError, ValueError):
        raise NotFound("no such article") from None
    article = Article.objects.filter(pk=pk).first() if 0 < pk < 2**53 else None
    if article is None or not can(user, Action.ARTICLE_VIEW, article):
        raise NotFound(f"no article {article_id}")
    if article.archived_at is not None and not reads_internal(user):
        raise NotFound(f"no article {article_id}")
    return article


def access_article_edit(user: User | None, article_id: int | str) -> Article:
    """The article if this person may edit it: NotFound for one they may not read,
    NotFound too for one they may read but not edit (a reporter and a public article:
    the editing page does not exist for them)."""
    article = access_article(user, article_id)
    if not can(user, Action.ARTICLE_EDIT, article):
        raise NotFound(f"no article {article_id}")
    return article


@dataclass(frozen=True)
class Filters:
    q: str = ""
    tag: str = ""
    service: int | None = None
    category: int | None = None
    visibility: str = ""  # "", public or internal (the latter: staff only)
    archived: bool = False  # staff: the archived articles instead of the current ones


@dataclass(frozen=True)
class Hit:
    article: Article
    score: float | None
    snippet: str


def _conditions(user: User | None, filters: Filters) -> tuple[list[str], list[Any]]:
    """SQL over the article table (aliased `b`), the visibility gate first."""
    where: list[str] = []
    params: list[Any] = []
    if reads_internal(user):
        where.append("b.archived_at IS NOT NULL" if filters.archived else "b.archived_at IS NULL")
    else:
        where.append("b.visibility = %s AND b.archived_at IS NULL")
        params.append(ArticleVisibility.PUBLIC)
    if filters.visibility:
        where.append("b.visibility = %s")
        params.append(filters.visibility)
    if filters.tag:
        tag = filters.tag.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append("(' ' || b.tags || ' ') LIKE %s ESCAPE '\\'")
        params.append(f"% {tag} %")
    if filters.service is not None:
        where.append(
            "b.id IN (SELECT s.article_id FROM learning_article_services s WHERE s.service_id = %s)"
        )
        params.append(filters.service)
    if filters.category is not None:
        where.append(
            "b.id IN (SELECT c.article_id FROM learning_article_categories c "
            "WHERE c.category_id = %s)"
        )
        params.append(filters.category)
    return where, params


def _queryset(user: User | None, filters: Filters) -> QuerySet[Article]:
    qs = Article.objects.all()
    if reads_internal(user):
        qs = qs.filter(archived_at__isnull=not filters.archived)
    else:
        qs = qs.filter(visibility=ArticleVisibility.PUBLIC, archived_at__isnull=True)
    if filters.visibility:
        qs = qs.filter(visibility=filters.visibility)
    if filters.tag:
        # tags are stored space-separated; match one whole tag
        tags = filters.tag.lower()
        qs = (
            qs.filter(tags=tags)
            | qs.filter(tags__startswith=tags + " ")
            | qs.filter(tags__endswith=" " + tags)
            | qs.filter(tags__contains=" " + tags + " ")
        )
    if filters.service is not None:
        qs = qs.filter(services__pk=filters.service)
    if filters.category is not None:
        qs = qs.filter(categories__pk=filters.category)
    return qs.distinct().order_by("title", "id")


def snippet(article: Article) -> str:
    return plain(article.body, limit=SNIPPET)


def article_search(
    user: User | None,
    filters: Filters,
    *,
    limit: int = 50,
    offset: int = 0,
    mode: fts.Mode = fts.Mode.ALL,
    prefix: bool = False,
    bound: int | None = None,
) -> tuple[list[Hit], int]:
    """One page of the articles this person may read that match `filters` (best first
    when there is a query, by title otherwise), and how many match in all (a search
    ranks and counts up to `bound`, SEARCH_MAX by default). In `fts.Mode.ANY` the
    articles holding every word come first, then, when they do not fill the page, those
    holding some (the count is of those ranked: suggestions do not show it)."""
    if not filters.q.strip():
        qs = _queryset(user, filters).prefetch_related("services", "categories")
        count = qs.count()
        window = list(qs[offset : offset + limit])
        return [Hit(a, None, snippet(a)) for a in window], count
    where, params = _conditions(user, filters)
    ranked = ranked_articles(
        filters.q,
        where=" AND ".join(where),
        params=params,
        mode=mode,
        prefix=prefix,
        most=SEARCH_MAX if bound is None else bound,
        wanted=offset + limit,
    )
    window_ids = ranked[offset : offset + limit]
    found = Article.objects.prefetch_related("services", "categories").in_bulk(
        [i for i, _ in window_ids]
    )
    hits = [Hit(found[i], score, snippet(found[i])) for i, score in window_ids if i in found]
    return hits, len(ranked)


def ranked_articles(
    text: str,
    *,
    where: str,
    params: list[Any],
    mode: fts.Mode = fts.Mode.ALL,
    prefix: bool = False,
    most: int = SEARCH_MAX,
    wanted: int = SEARCH_MAX,
) -> list[tuple[int, float]]:
    """The ids of the articles matching `text` and `where` (SQL over the article table,
    aliased `b`), best first, at most `most` ranked. In `fts.Mode.ANY` those holding
    every word come first: the `most` ranked are the first matches the index gives, and
    with a word most articles hold, those holding the others too could be left out.
    Those holding only some follow when fewer than `wanted` hold every word."""
    search: dict[str, Any] = {
        "prefix": prefix,
        "limit": most,
        "where": where,
        "params": params,
        "candidates": most,
    }
    ranked = fts.search(ARTICLE_INDEX, text, mode=fts.Mode.ALL, **search)
    if mode is fts.Mode.ANY and len(ranked) < wanted:
        seen = {pk for pk, _ in ranked}
        more = fts.search(ARTICLE_INDEX, text, mode=fts.Mode.ANY, **search)
        ranked += [hit for hit in more if hit[0] not in seen][: most - len(ranked)]
    return ranked


def article_suggestions(user: User | None, text: str, *, limit: int = 5) -> list[Hit]:
    """Articles for what someone is typing (a new incident's title and description):
    any word may match, the last one as a prefix; public ones only for a reporter."""
    hits, _ = article_search(
        user, Filters(q=text), limit=limit, mode=fts.Mode.ANY, prefix=True, bound=SUGGEST_MAX
    )
    return hits


def incident_suggestions(user: User | None, incident: Incident, *, limit: int = 5) -> list[Hit]:
    """Articles that match an incident's title and description (any word may match)."""
    text = f"{incident.title} {incident.description}"
    hits, _ = article_search(
        user, Filters(q=text), limit=limit, mode=fts.Mode.ANY, bound=SUGGEST_MAX
    )
    return hits


def article_versions(article: Article) -> QuerySet[ArticleVersion]:
    return ArticleVersion.objects.filter(article=article).select_related("created_by")


def article_version(article: Article, number: int) -> ArticleVersion:
    found = article_versions(article).filter(number=number).first()
    if found is None:
        raise NotFound(f"article {article.pk} has no version {number}")
    return found


def solutions_of(user: User | None, incident: Incident) -> list[ArticleSolution]:
    """The articles recorded as having solved `incident` that this person may read."""
    rows = ArticleSolution.objects.filter(incident=incident).select_related("article", "by")
    return [
        s
        for s in rows
        if can(user, Action.ARTICLE_VIEW, s.article)
        and (s.article.archived_at is None or reads_internal(user))
    ]


def may_record_solution(user: User | None, incident: Incident) -> bool:
    """Staff, or the incident's own reporter, may say an article solved it."""
    if user is None:
        return False
    return reads_internal(user) or (
        incident.reporter_id is not None and incident.reporter_id == user.pk
    )


def solved_incidents(
    user: User | None, article: Article, *, limit: int = 10
) -> tuple[list[ArticleSolution], int]:
    """The incidents this article solved, newest first, and how many (staff only: a
    reporter sees nothing of other people's incidents)."""
    if not reads_internal(user):
        return [], 0
    rows = ArticleSolution.objects.filter(article=article).select_related("incident", "by")
    return list(rows[:limit]), rows.count()
