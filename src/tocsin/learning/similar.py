"""Similar incidents (issue 12, point 5): on each incident, the other incidents, problems
and known errors that look alike, with how each incident was resolved.

The text of an incident (title, category, subcategory, service and affected services,
alert labels, description) is kept in its search document (`IncidentDocument`, see
models/search.py for why a table of its own), written through the incident hooks in the
incident's own transaction: `on_created`, `on_updated` (a triage that changes the text)
and `on_resolved` (by then the alerts that joined the incident are there, with their
labels). The full-text index over it is `INCIDENT_INDEX` (tocsin.learning.fts).

To find the incidents like one, its own text is the query, in `fts.Mode.ANY` (any word
may match, the more the better), cut to its most telling words: `query_words` takes the
title and labels first, then the description (no stop words, no bare numbers, each word
once, at most `QUERY_WORDS`); `telling_words` weighs them with `fts.document_counts` and
keeps those other incidents share, the rarest first (at most `TELLING_WORDS`), falling
back to the first few when all are common. The rare words are what makes two incidents
alike (a host, an error code, a cluster), they keep the ranking about them rather than
about the boilerplate every monitoring incident shares, and they keep the query fast on a
million incidents: a common word matches a large share of the table, and ranking it
(BM25 counts every row holding each word) would cost as much as reading them all
(docs/benchmarks.md, "Search"). The incident itself and the duplicates merged into it
are left out. Problems and known errors come from `problem_search.problems_like` over
all the query words (the problem table is small).

Who sees it: staff (those who may see every incident). A reporter gets 404 from the API,
whether or not the incident is theirs, and no section on the page: similar incidents are
other people's incidents, and problems are staff knowledge.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from tocsin.accounts.models import User
from tocsin.accounts.permissions import Action, can
from tocsin.alerts.models import Alert
from tocsin.core.actors import Actor
from tocsin.core.errors import NotFound
from tocsin.core.fastinsert import insert
from tocsin.incidents import hooks
from tocsin.incidents.models import Incident
from tocsin.incidents.selectors import access_incident
from tocsin.learning import fts
from tocsin.learning.models import IncidentDocument, Problem
from tocsin.learning.problem_search import problems_like

# created by migration 0003_incident_document
INCIDENT_INDEX = fts.Index(
    table="learning_incident_document",
    columns=("title", "labels", "description"),
    prefixes=(),  # its words are looked for whole, never as someone types
    # PostgreSQL: statistics of the 10,000 most common words, so that weighing an
    # incident's words reads no rows for most of them (fts.document_counts): at a
    # million incidents the least common of them is in ~460, under COMMON_AT
    pg_statistics=1000,
)

QUERY_WORDS = 16  # the words of an incident weighed as its query
TELLING_WORDS = 6  # the rarest of them that look for others
COMMON_AT = 500  # a word in this many incidents or more is common, not telling
SIMILAR_MAX = 50  # similar incidents ranked at most (the API pages through them)
PROBLEMS_MAX = 5
ALERTS_READ = 50  # an alert storm's labels: those of its first 50 alerts
TEXT_FIELDS = frozenset(
    {"title", "description", "service", "affected_services", "category", "subcategory"}
)
_WORD = re.compile(r"\w+", re.UNICODE)


# -- the search document -------------------------------------------------------------


def _labels(incident: Incident) -> str:
    if hooks.being_created(incident) and not hooks.created_with_affected_services(incident):
        # inserted a moment ago: no alert refers to it yet, its names are at hand
        named = (incident.category_id, incident.subcategory_id, incident.service_id)
        return _join(
            [
                getattr(incident, field).name
                for field, pk in zip(("category", "subcategory", "service"), named, strict=True)
                if pk is not None
            ]
        )
    # the names in one query: a row per affected service (one row when there is none)
    rows = list(
        Incident.objects.filter(pk=incident.pk)
        .values_list(
            "category__name", "subcategory__name", "service__name", "affected_services__name"
        )
        .order_by("affected_services__name")
    )
    names: list[str] = [name for name in (rows[0][:3] if rows else ()) if name]
    names += [row[3] for row in rows if row[3]]
    for labels in (
        Alert.objects.filter(incident=incident)
        .order_by("id")
        .values_list("labels", flat=True)[:ALERTS_READ]
    ):
        if isinstance(labels, dict):
            names += [f"{name} {value}" for name, value in labels.items() if value]
    return _join(names)


def _join(names: list[Any]) -> str:
    seen: dict[str, None] = {}
    for name in names:
        seen.setdefault(str(name).strip(), None)
    return " ".join(name for name in seen if name)


def document_fields(incident: Incident) -> dict[str, Any]:
    """What the incident's search document holds."""
    return {
        "title": incident.title,
        "labels": _labels(incident),
        "description": incident.description,
    }


def incident_document_save(*, incident: Incident, **_: Any) -> None:
    """Write the incident's search document as the incident is now (an incident hook,
    inside the incident's transaction)."""
    if hooks.being_created(incident):  # it has no document yet
        insert(IncidentDocument(incident=incident, **document_fields(incident)))
        return
    IncidentDocument.objects.update_or_create(incident=incident, defaults=document_fields(incident))


def _on_updated(*, incident: Incident, fields: list[str], actor: Actor) -> None:
    if TEXT_FIELDS.intersection(fields):
        incident_document_save(incident=incident)


# -- finding incidents like one ---------------------------------------------------------


def query_words(*texts: str, limit: int = QUERY_WORDS) -> str:
    """The telling words of `texts`, most important text first: no stop words, no bare
    numbers or single letters, each word once, at most `limit`."""
    seen: dict[str, None] = {}
    for text in texts:
        for word in _WORD.findall(text or ""):
            word = word.lower()
            if len(word) < 2 or word.isdigit() or word in fts.STOP_WORDS:
                continue
            seen.setdefault(word, None)
            if len(seen) >= limit:
                return " ".join(seen)
    return " ".join(seen)


def telling_words(words: list[str]) -> tuple[str, bool]:
    """The words of an incident that tell its like, and whether they are rare: those
    other incidents hold too, the rarest first (a host name, an error code, a cluster),
    at most `TELLING_WORDS`; when every word is common, the first few (the title's). The
    counts stop at `COMMON_AT` (fts.document_counts), so weighing costs little however
    large the table."""
    counts = fts.document_counts(INCIDENT_INDEX, words, cap=COMMON_AT)
    shared = [w for w in words if counts[w] > 1]  # 1: the incident itself
    rare = sorted((w for w in shared if counts[w] < COMMON_AT), key=lambda w: counts[w])
    if rare:
        return " ".join(rare[:TELLING_WORDS]), True
    return " ".join(shared[: TELLING_WORDS // 2]), False


def _search(text: str, rare: bool, left_out: int) -> list[tuple[int, float]]:
    """Rare words: every incident holding one, ranked. Only common words: ranking them
    would read every incident holding them (hundreds of thousands on a large history),
    so the newest incidents holding all of them come first, else any of them."""
    common: dict[str, Any] = {"where": "b.id <> %s", "params": [left_out], "limit": SIMILAR_MAX}
    if rare:
        return fts.search(
            INCIDENT_INDEX,
            text,
            mode=fts.Mode.ANY,
            candidates=COMMON_AT * TELLING_WORDS,  # the whole union is ranked
            **common,
        )
    return fts.search(INCIDENT_INDEX, text, ranked=False, **common) or fts.search(
        INCIDENT_INDEX, text, mode=fts.Mode.ANY, ranked=False, **common
    )


@dataclass(frozen=True)
class SimilarIncident:
    incident: Incident
    score: float

    @property
    def time_to_resolve(self) -> dt.timedelta | None:
        resolved = self.incident.resolved_at
        return None if resolved is None else resolved - self.incident.reported_at


@dataclass(frozen=True)
class Similar:
    incidents: list[SimilarIncident]  # the page asked for, best first
    count: int  # how many look alike (at most SIMILAR_MAX)
    problems: list[tuple[Problem, float]]  # problems and known errors, best first


# what a similar incident shows (its title, status, service, category, resolution)
SHOWN = (
    "number",
    "title",
    "status",
    "priority",
    "reported_at",
    "resolved_at",
    "resolution_code",
    "resolution_notes",
    "service__name",
    "category__name",
)


def similar_incidents(
    incident: Incident, *, limit: int = 10, offset: int = 0, problems: int = PROBLEMS_MAX
) -> Similar:
    """The incidents (`limit` of them from `offset` in the ranking), problems and known
    errors that look like `incident`, best first. Not the incident itself, nor the
    duplicates merged into it."""
    fields = document_fields(incident)
    words = query_words(fields["title"], fields["labels"], fields["description"])
    text, rare = telling_words(words.split())
    ranked = _search(text, rare, incident.pk)
    # the duplicates merged into it, among those found (looked up by primary key: on
    # SQLite the statistics of the mostly-empty duplicate_of index send a query by it
    # through the whole table)
    merged = set(
        Incident.objects.filter(pk__in=[pk for pk, _ in ranked], duplicate_of=incident)
        .order_by()
        .values_list("pk", flat=True)
    )
    ranked = [(pk, score) for pk, score in ranked if pk not in merged]
    window = ranked[offset : offset + limit]
    found = (
        Incident.objects.select_related("service", "category")
        .only(*SHOWN)
        .order_by()
        .in_bulk([pk for pk, _ in window])
    )
    return Similar(
        incidents=[SimilarIncident(found[pk], score) for pk, score in window if pk in found],
        count=len(ranked),
        problems=problems_like(words, limit=problems) if problems else [],
    )


def access_similar(user: User | None, ref: str | int) -> Incident:
    """The incident `ref` if this person may see its similar incidents (staff); NotFound
    otherwise, the same answer as for an incident one may not see."""
    incident = access_incident(user, ref)
    if not can(user, Action.INCIDENT_VIEW):  # every incident, not only one's own
        raise NotFound(f"no incident {incident.ref}")
    return incident


# -- the incident page -----------------------------------------------------------------

SECTION_INCIDENTS = 5
SECTION_PROBLEMS = 3


class _SectionData:
    """What the section shows, searched only when the template reads it: the incident
    page's live refresh builds every section's context but renders none of them, and
    must not run a search every few seconds."""

    def __init__(self, incident: Incident, *, problems: int) -> None:
        self.incident, self.problems = incident, problems

    @cached_property
    def found(self) -> Similar:
        return similar_incidents(self.incident, limit=SECTION_INCIDENTS, problems=self.problems)


def similar_section(user: User | None, incident: Incident) -> hooks.PageSection | None:
    """The incident page's "Similar incidents" section, for staff (shown only when
    something looks alike)."""
    if not can(user, Action.INCIDENT_VIEW):
        return None
    problems = SECTION_PROBLEMS if can(user, Action.PROBLEM_VIEW) else 0
    return hooks.PageSection(
        "learning/_similar_section.html",
        {"similar_section": _SectionData(incident, problems=problems)},
    )


def register() -> None:
    hooks.register(hooks.on_created, incident_document_save)
    hooks.register(hooks.on_updated, _on_updated)
    hooks.register(hooks.on_resolved, incident_document_save)
    hooks.register(hooks.incident_page_sections, similar_section)
