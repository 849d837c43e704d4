"""REST API for similar incidents (issue 12, point 5).

- `GET /api/v1/incidents/{ref}/similar?limit=&offset=`: the incidents that look like this
  one, best first (`items`, `count`: how many were found, at most 50), each with how it
  was resolved (`resolution_code`, `resolution_notes`, `resolved_at`,
  `time_to_resolve_seconds`), and the problems and known errors that look alike
  (`problems`, with the workaround of a known error).

Staff only: a reporter gets 404, for their own incidents too (similar incidents are other
people's incidents; problems are staff knowledge), the same answer as for an incident
they may not see.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from tocsin.accounts.api_auth import user_from_request
from tocsin.accounts.permissions import Action, can
from tocsin.core.api import ERRORS, IncidentRef, Ref
from tocsin.core.api import ref as ref_json
from tocsin.learning.models import Problem, ProblemStatus
from tocsin.learning.similar import SIMILAR_MAX, SimilarIncident, access_similar, similar_incidents

router = Router(tags=["similar incidents"])


class SimilarQuery(Schema):
    limit: int = Field(10, ge=1, le=SIMILAR_MAX)
    offset: int = Field(0, ge=0, le=SIMILAR_MAX)


class SimilarIncidentOut(Schema):
    id: int
    number: str
    title: str
    status: str
    priority: int
    service: Ref | None
    category: Ref | None
    reported_at: dt.datetime
    resolved_at: dt.datetime | None
    resolution_code: str
    resolution_notes: str
    time_to_resolve_seconds: int | None
    score: float


class SimilarProblemOut(Schema):
    id: int
    number: str
    title: str
    status: str
    known_error: bool
    workaround: str
    score: float


class SimilarOut(Schema):
    incident: str
    items: list[SimilarIncidentOut]
    count: int
    problems: list[SimilarProblemOut]


def _incident_json(found: SimilarIncident) -> dict[str, Any]:
    incident = found.incident
    spent = found.time_to_resolve
    return {
        "id": incident.number,
        "number": incident.ref,
        "title": incident.title,
        "status": incident.status,
        "priority": incident.priority,
        "service": ref_json(incident.service),
        "category": ref_json(incident.category),
        "reported_at": incident.reported_at,
        "resolved_at": incident.resolved_at,
        "resolution_code": incident.resolution_code,
        "resolution_notes": incident.resolution_notes,
        "time_to_resolve_seconds": None if spent is None else int(spent.total_seconds()),
        "score": round(found.score, 6),
    }


def _problem_json(problem: Problem, score: float) -> dict[str, Any]:
    return {
        "id": problem.pk,
        "number": problem.ref,
        "title": problem.title,
        "status": problem.status,
        "known_error": problem.status == ProblemStatus.KNOWN_ERROR,
        "workaround": problem.workaround,
        "score": round(score, 6),
    }


@router.get("/incidents/{ref}/similar", response={200: SimilarOut, **ERRORS})
def similar(request: HttpRequest, ref: IncidentRef, query: Query[SimilarQuery]) -> dict[str, Any]:
    """Past incidents, problems and known errors that look like this incident."""
    user = user_from_request(request)
    incident = access_similar(user, ref)
    found = similar_incidents(
        incident,
        limit=query.limit,
        offset=query.offset,
        problems=5 if can(user, Action.PROBLEM_VIEW) else 0,
    )
    return {
        "incident": incident.ref,
        "items": [_incident_json(item) for item in found.incidents],
        "count": found.count,
        "problems": [_problem_json(problem, score) for problem, score in found.problems],
    }
