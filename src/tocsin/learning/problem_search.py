"""Finding problems and known errors by their text (full-text, tocsin.learning.fts).

Shared by problem management (the known errors a new incident matches) and similar
incidents (the problems that look like an incident)."""

from __future__ import annotations

from tocsin.learning import fts
from tocsin.learning.models import Problem

# created by migration 0002_problem_index
PROBLEM_INDEX = fts.Index(
    table="learning_problem",
    columns=("title", "description", "root_cause", "workaround"),
)


def problems_like(
    text: str,
    *,
    mode: fts.Mode = fts.Mode.ANY,
    statuses: tuple[str, ...] = (),
    limit: int = 10,
) -> list[tuple[Problem, float]]:
    """Problems whose text matches `text`, best first, with their score (higher is
    better); only those in `statuses` when given."""
    where, params = "", []
    if statuses:
        where = "b.status IN (" + ", ".join(["%s"] * len(statuses)) + ")"
        params = list(statuses)
    ranked = fts.search(PROBLEM_INDEX, text, mode=mode, limit=limit, where=where, params=params)
    problems = Problem.objects.in_bulk([pk for pk, _ in ranked])
    return [(problems[pk], score) for pk, score in ranked if pk in problems]
