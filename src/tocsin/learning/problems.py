"""Problem management (ITIL) and known errors: the writes (services) and the reads and
access gates (selectors) of problems, shared by the API (problem_api.py) and the web
pages (problem_views.py).

A problem (PRB-n) links the incidents it caused, holds the investigation and the root
cause (Markdown), becomes a **known error** once a workaround is recorded and is
resolved by a permanent fix (a change reference, required):

    open ──▶ known_error ──▶ resolved
      └──────────────────────▲      (a fix found at once)
    known_error ──▶ open            (the workaround proved wrong)
    resolved ──▶ open               (it came back)

Every link and unlink is a timeline entry on the incident (EntryKind.PROBLEM); so are
"known error" and "resolved" on every incident the problem links, in the same
transaction. Everything here is for staff (Action.PROBLEM_VIEW / PROBLEM_EDIT): for
anyone else a problem does not exist (404).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from tocsin.accounts.models import User
from tocsin.accounts.permissions import Action, can, require_for
from tocsin.catalog.models import Category, Service
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.core.errors import Conflict, Invalid, NotFound
from tocsin.core.models import Counter
from tocsin.incidents.models import EntryKind, Incident
from tocsin.incidents.timeline import timeline_append
from tocsin.learning.models import Problem, ProblemIncident, ProblemStatus
from tocsin.learning.problem_search import problems_like

COUNTER = "problem"
TITLE_MAX = 200
DESCRIPTION_MAX = 20_000
MARKDOWN_MAX = 50_000
CHANGE_REF_MAX = 200
LINKS_MAX = 500  # incidents linked in one request
TREND_THRESHOLD = 3  # incidents of one category on one service …
TREND_DAYS = 30  # … in the last 30 days make a trend
TREND_DAYS_MAX = 366
MATCH_LIMIT = 5

# The allowed moves, and the word the UI and the timeline use for each.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    ProblemStatus.OPEN: (ProblemStatus.KNOWN_ERROR, ProblemStatus.RESOLVED),
    ProblemStatus.KNOWN_ERROR: (ProblemStatus.RESOLVED, ProblemStatus.OPEN),
    ProblemStatus.RESOLVED: (ProblemStatus.OPEN,),
}
EDITABLE = (
    "title",
    "description",
    "service",
    "category",
    "owner",
    "investigation",
    "root_cause",
    "workaround",
    "fix_change_ref",
)
_REF = re.compile(r"(?:PRB-)?([1-9][0-9]{0,15})", re.IGNORECASE)
_WORD = re.compile(r"\w+", re.UNICODE)
# Words that say nothing about a fault. PostgreSQL's English configuration drops them
# itself; SQLite's FTS5 does not, and "any word may match" would then offer every known
# error that contains "the" or "on". Dropped from an incident's text before it searches.
_STOP_TEXT = """a about after again all am an and any are as at be because been before being
    but by can cannot could did do does doing down during each few for from had has have
    having he her here hers him his how i if in into is it its itself just me more most
    my no nor not now of off on once only or other our ours out over own same she should
    so some such than that the their theirs them then there these they this those
    through to too under until up very was we were what when where which while who whom
    why will with would you your yours yourself please still get got since"""
STOPWORDS = frozenset(_STOP_TEXT.split())


# --- reads and access gates -------------------------------------------------------------


def may_view(user: Any) -> bool:
    return can(user, Action.PROBLEM_VIEW)


def may_edit(user: Any) -> bool:
    return can(user, Action.PROBLEM_EDIT)


def parse_problem_ref(ref: str | int) -> int:
    match = _REF.fullmatch(str(ref).strip())
    if not match:
        raise NotFound(f"no problem {ref!r} (expected PRB-3 or 3)")
    return int(match.group(1))


def _base() -> QuerySet[Problem]:
    return Problem.objects.select_related("service", "category", "owner")


def access_problem(user: Any, ref: str | int) -> Problem:
    """The problem `ref` (PRB-3 or 3) if this person may see problems; NotFound otherwise
    (a reporter is told no such problem exists)."""
    number = parse_problem_ref(ref)
    if not may_view(user):
        raise NotFound(f"no problem PRB-{number}")
    problem = _base().filter(number=number).first()
    if problem is None:
        raise NotFound(f"no problem PRB-{number}")
    return problem


def problem_list_for(
    user: Any,
    *,
    status: str | None = None,
    service: Service | None = None,
    category: Category | None = None,
) -> QuerySet[Problem]:
    """The problems this person may see (none for a reporter), newest first, filtered."""
    if not may_view(user):
        return Problem.objects.none()
    rows = _base().annotate(incident_count=Count("links"))
    if status:
        if status not in ProblemStatus.values:
            raise Invalid("status", "must be one of " + ", ".join(ProblemStatus.values))
        rows = rows.filter(status=status)
    if service is not None:
        rows = rows.filter(service=service)
    if category is not None:
        rows = rows.filter(category=category)
    return rows.order_by("-number")


def linked_incidents(problem: Problem) -> list[Incident]:
    return list(
        Incident.objects.filter(problems=problem)
        .select_related("service", "category")
        .order_by("-number")
    )


def incident_refs(problem: Problem) -> list[str]:
    numbers = ProblemIncident.objects.filter(problem=problem).values_list(
        "incident__number", flat=True
    )
    return [f"INC-{n}" for n in sorted(numbers)]


@dataclass(frozen=True)
class KnownErrorMatch:
    problem: Problem
    reason: str  # "service_category" or "text"
    linked: bool  # already linked to the incident

    @property
    def reason_label(self) -> str:
        return "Same service and category" if self.reason == "service_category" else "Similar text"


def known_errors_for(incident: Incident, *, limit: int = MATCH_LIMIT) -> list[KnownErrorMatch]:
    """The known errors an incident matches, for triage: first those of the same service
    and category (newest first), then those whose text looks like the incident's title
    and description (best first), each once, at most `limit`."""
    linked = set(
        ProblemIncident.objects.filter(incident=incident).values_list("problem_id", flat=True)
    )
    found: list[KnownErrorMatch] = []
    seen: set[int] = set()
    if incident.service_id is not None and incident.category_id is not None:
        same = _base().filter(
            status=ProblemStatus.KNOWN_ERROR,
            service_id=incident.service_id,
            category_id=incident.category_id,
        )
        for problem in same.order_by("-known_error_at", "-number")[:limit]:
            seen.add(problem.pk)
            found.append(KnownErrorMatch(problem, "service_category", problem.pk in linked))
    text = _search_words(f"{incident.title}\n{incident.description}")
    if len(found) < limit and text:
        for problem, _score in problems_like(
            text, statuses=(ProblemStatus.KNOWN_ERROR,), limit=limit
        ):
            if problem.pk in seen:
                continue
            seen.add(problem.pk)
            found.append(KnownErrorMatch(problem, "text", problem.pk in linked))
            if len(found) >= limit:
                break
    # select_related for the text matches (problems_like answers bare rows)
    related = _base().in_bulk([m.problem.pk for m in found])
    return [KnownErrorMatch(related[m.problem.pk], m.reason, m.linked) for m in found]


def _search_words(text: str) -> str:
    """The words of `text` worth searching for (no stopwords, no one-letter words, no
    quotes: an incident's text is a bag of words, not a query)."""
    words = [w for w in _WORD.findall(text.lower()) if len(w) > 1 and w not in STOPWORDS]
    return " ".join(dict.fromkeys(words))


def problems_of(incident: Incident) -> list[Problem]:
    """The problems an incident is linked to, newest first."""
    return list(_base().filter(links__incident=incident).order_by("-number"))


@dataclass
class Trend:
    service: Service
    category: Category
    incidents: list[Incident] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.incidents)


def _trend_incidents(days: int) -> QuerySet[Incident]:
    linked = ProblemIncident.objects.filter(incident=OuterRef("pk"))
    return Incident.objects.filter(
        reported_at__gte=now() - dt.timedelta(days=days),
        service__isnull=False,
        category__isnull=False,
        duplicate_of__isnull=True,
    ).exclude(Exists(linked))


def check_trend_args(threshold: int, days: int) -> None:
    if not 2 <= threshold <= 1000:
        raise Invalid("threshold", "must be a whole number from 2 to 1000")
    if not 1 <= days <= TREND_DAYS_MAX:
        raise Invalid("days", f"must be a whole number from 1 to {TREND_DAYS_MAX}")


def trends(*, threshold: int = TREND_THRESHOLD, days: int = TREND_DAYS) -> list[Trend]:
    """(service, category) pairs with at least `threshold` incidents reported in the last
    `days` days that no problem links yet, the largest first, with those incidents."""
    check_trend_args(threshold, days)
    rows = _trend_incidents(days)
    pairs = (
        rows.values("service_id", "category_id")
        .annotate(n=Count("pk"))
        .filter(n__gte=threshold)
        .order_by("-n", "service_id", "category_id")
    )
    wanted = [(p["service_id"], p["category_id"]) for p in pairs[:100]]
    if not wanted:
        return []
    services = Service.objects.in_bulk({s for s, _ in wanted})
    categories = Category.objects.in_bulk({c for _, c in wanted})
    found = {pair: Trend(services[pair[0]], categories[pair[1]]) for pair in wanted}
    which = Q()
    for service_id, category_id in wanted:
        which |= Q(service_id=service_id, category_id=category_id)
    for incident in rows.filter(which).order_by("-number"):
        found[(incident.service_id, incident.category_id)].incidents.append(incident)
    return [found[pair] for pair in wanted]


# --- checks -----------------------------------------------------------------------------


def _text(name: str, value: Any, limit: int, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid(name, "must be text")
    if "\x00" in value:
        raise Invalid(name, "must not contain NUL characters")
    value = value.strip()
    if required and not value:
        raise Invalid(name, "is required")
    if len(value) > limit:
        raise Invalid(name, f"must be at most {limit} characters")
    return value


def _one_line(name: str, value: str) -> str:
    if "\n" in value or "\r" in value:
        raise Invalid(name, "must be one line")
    return value


def _check(name: str, value: Any) -> Any:
    if name == "title":
        return _one_line(name, _text(name, value, TITLE_MAX, required=True))
    if name == "description":
        return _text(name, value, DESCRIPTION_MAX)
    if name in ("investigation", "root_cause", "workaround"):
        return _text(name, value, MARKDOWN_MAX)
    if name == "fix_change_ref":
        return _one_line(name, _text(name, value, CHANGE_REF_MAX))
    if name == "service":
        if value is not None and not isinstance(value, Service):
            raise Invalid(name, "must be a service")
        return value
    if name == "category":
        if value is not None and not isinstance(value, Category):
            raise Invalid(name, "must be a category")
        return value
    if name == "owner":
        if value is not None and (
            not isinstance(value, User) or not can(value, Action.PROBLEM_EDIT)
        ):
            raise Invalid(name, "must be an active member of staff")
        return value
    raise Invalid(name, "is not a field of a problem")


# --- writes -----------------------------------------------------------------------------


def _entry(incident: Incident, actor: Actor, text: str, problem: Problem, event: str) -> None:
    timeline_append(
        incident=incident,
        kind=EntryKind.PROBLEM,
        actor=actor,
        text=text,
        data={"problem": problem.number, "event": event, "status": problem.status},
    )


def _link(problem: Problem, incident: Incident, actor: Actor) -> bool:
    if ProblemIncident.objects.filter(problem=problem, incident=incident).exists():
        return False
    ProblemIncident.objects.create(
        problem=problem, incident=incident, linked_at=now(), linked_by=actor.user
    )
    _entry(incident, actor, f"Linked to problem {problem.ref}: {problem.title}", problem, "linked")
    return True


def _unlink(problem: Problem, incident: Incident, actor: Actor) -> None:
    deleted, _ = ProblemIncident.objects.filter(problem=problem, incident=incident).delete()
    if not deleted:
        raise NotFound(f"{incident.ref} is not linked to {problem.ref}")
    _entry(incident, actor, f"Unlinked from problem {problem.ref}", problem, "unlinked")


def _locked(problem: Problem) -> Problem:
    return _base().select_for_update(of=("self",)).get(pk=problem.pk)


@transaction.atomic
def problem_create(
    *,
    actor: Actor,
    title: str,
    description: str = "",
    service: Service | None = None,
    category: Category | None = None,
    owner: User | None = None,
    investigation: str = "",
    root_cause: str = "",
    workaround: str = "",
    incidents: Sequence[Incident] = (),
) -> Problem:
    """Record a new open problem (PRB-n), linking `incidents` (a timeline entry on each)."""
    require_for(actor, Action.PROBLEM_EDIT, what="record problems")
    if len(incidents) > LINKS_MAX:
        raise Invalid("incidents", f"at most {LINKS_MAX} incidents at once")
    values = {
        "title": _check("title", title),
        "description": _check("description", description),
        "service": _check("service", service),
        "category": _check("category", category),
        "owner": _check("owner", owner),
        "investigation": _check("investigation", investigation),
        "root_cause": _check("root_cause", root_cause),
        "workaround": _check("workaround", workaround),
    }
    at = now()
    problem = Problem.objects.create(
        number=Counter.next_value(COUNTER), created_at=at, updated_at=at, **values
    )
    for incident in _distinct(incidents):
        _link(problem, incident, actor)
    return problem


def _distinct(incidents: Iterable[Incident]) -> list[Incident]:
    seen: dict[int, Incident] = {}
    for incident in incidents:
        seen.setdefault(incident.pk, incident)
    return list(seen.values())


@transaction.atomic
def problem_link(*, problem: Problem, incident: Incident, actor: Actor) -> bool:
    """Link an incident to the problem (a timeline entry on it); False when it already
    was (nothing changes)."""
    require_for(actor, Action.PROBLEM_EDIT, what="link incidents to problems")
    problem = _locked(problem)
    linked = _link(problem, incident, actor)
    if linked:
        Problem.objects.filter(pk=problem.pk).update(updated_at=now())
    return linked


@transaction.atomic
def problem_unlink(*, problem: Problem, incident: Incident, actor: Actor) -> None:
    """Unlink an incident (a timeline entry on it); NotFound when it was not linked."""
    require_for(actor, Action.PROBLEM_EDIT, what="unlink incidents from problems")
    problem = _locked(problem)
    _unlink(problem, incident, actor)
    Problem.objects.filter(pk=problem.pk).update(updated_at=now())


def allowed_moves(status: str) -> tuple[str, ...]:
    return TRANSITIONS.get(status, ())


def _check_move(problem: Problem, new: str) -> None:
    """Invalid for an unknown status; Conflict naming the allowed moves for a forbidden one."""
    if new not in ProblemStatus.values:
        raise Invalid("status", "must be one of " + ", ".join(ProblemStatus.values))
    allowed = allowed_moves(problem.status)
    if new != problem.status and new not in allowed:
        raise Conflict(
            f"{problem.ref} is {ProblemStatus(problem.status).label.lower()}: it may move to "
            + " or ".join(allowed)
            + f", not {new}"
        )


def _transition(problem: Problem, new: str, actor: Actor) -> None:
    """Move a locked problem to `new` (its fields already saved), with a timeline entry
    on every linked incident for a known error, a resolution and a reopening."""
    old = problem.status
    if new == old:
        return
    _check_move(problem, new)
    at = now()
    update: dict[str, Any] = {"status": new, "updated_at": at}
    if new == ProblemStatus.KNOWN_ERROR:
        if not problem.workaround:
            raise Invalid("workaround", "is required for a known error")
        update["known_error_at"] = at
        text = f"Problem {problem.ref} is a known error; its workaround is on the problem."
        event = "known_error"
    elif new == ProblemStatus.RESOLVED:
        if not problem.fix_change_ref:
            raise Invalid("fix_change_ref", "is required to resolve a problem (the change)")
        update["resolved_at"] = at
        text = f"Problem {problem.ref} resolved by change {problem.fix_change_ref}."
        event = "resolved"
    else:
        update["resolved_at"] = None
        text = f"Problem {problem.ref} reopened."
        event = "reopened"
    if Problem.objects.filter(pk=problem.pk, status=old).update(**update) != 1:
        raise Conflict(f"{problem.ref} changed meanwhile; reload it")
    for name, value in update.items():
        setattr(problem, name, value)
    for incident in Incident.objects.filter(problems=problem).order_by("number"):
        _entry(incident, actor, text, problem, event)


@transaction.atomic
def problem_update(
    *,
    problem: Problem,
    actor: Actor,
    changes: dict[str, Any] | None = None,
    status: str | None = None,
    incidents: Sequence[Incident] | None = None,
) -> Problem:
    """Change the fields in `changes`, make the linked incidents exactly `incidents`
    (when given: a timeline entry on each one linked or unlinked) and move to `status`
    (when given), all or nothing. A known error needs a workaround and keeps one; a
    resolution needs the change that fixed it (`fix_change_ref`)."""
    require_for(actor, Action.PROBLEM_EDIT, what="update problems")
    problem = _locked(problem)
    if status is not None:
        _check_move(problem, status)
    changes = changes or {}
    touched: list[str] = []
    for name, value in changes.items():
        if name not in EDITABLE:
            raise Invalid(name, "is not a field of a problem")
        value = _check(name, value)
        if getattr(problem, name) != value:
            setattr(problem, name, value)
            touched.append(name)
    target = status or problem.status
    if target == ProblemStatus.KNOWN_ERROR and not problem.workaround:
        raise Invalid("workaround", "is required for a known error")
    if target == ProblemStatus.RESOLVED and not problem.fix_change_ref:
        raise Invalid("fix_change_ref", "is required to resolve a problem (the change)")
    changed = bool(touched)
    if touched:
        problem.updated_at = now()
        problem.save(update_fields=[*touched, "updated_at"])
    if incidents is not None:
        if len(incidents) > LINKS_MAX:
            raise Invalid("incidents", f"at most {LINKS_MAX} incidents at once")
        wanted = {i.pk: i for i in _distinct(incidents)}
        current = set(
            ProblemIncident.objects.filter(problem=problem).values_list("incident_id", flat=True)
        )
        for incident in Incident.objects.filter(pk__in=current - wanted.keys()).order_by("number"):
            _unlink(problem, incident, actor)
            changed = True
        for pk in sorted(wanted.keys() - current, key=lambda pk: wanted[pk].number):
            changed = _link(problem, wanted[pk], actor) or changed
    if status is not None and status != problem.status:
        _transition(problem, status, actor)
    elif changed:
        Problem.objects.filter(pk=problem.pk).update(updated_at=now())
    return _base().get(pk=problem.pk)


def problem_transition(*, problem: Problem, actor: Actor, status: str, **changes: Any) -> Problem:
    """Move the problem to `status`, recording `changes` first (the workaround of a known
    error, the change reference of a resolution)."""
    return problem_update(problem=problem, actor=actor, changes=changes, status=status)


@transaction.atomic
def problem_raise_from_trend(
    *,
    actor: Actor,
    service: Service,
    category: Category,
    days: int = TREND_DAYS,
) -> Problem:
    """A problem for a trend: the incidents of `category` on `service` reported in the
    last `days` days that no problem links yet, all linked to it."""
    check_trend_args(TREND_THRESHOLD, days)
    incidents = list(
        _trend_incidents(days).filter(service=service, category=category).order_by("number")
    )
    if not incidents:
        raise Conflict(
            f"no unlinked {category.name} incidents on {service.name} in the last {days} days"
        )
    return problem_create(
        actor=actor,
        title=f"Recurring {category.name} incidents on {service.name}",
        description=(
            f"Raised from a trend: {len(incidents)} {category.name} incidents on "
            f"{service.name} in the last {days} days."
        ),
        service=service,
        category=category,
        owner=actor.user if actor.user is not None and may_edit(actor.user) else None,
        incidents=incidents,
    )
