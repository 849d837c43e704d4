"""REST API for problems and known errors (docs/problems.md).

- `GET /api/v1/problems` (filters `status`, `service`, `category`), `POST` creates one.
- `GET|PATCH /api/v1/problems/{id}` (`id` is the number: 3 or PRB-3): the fields,
  `incidents` (refs: the full set on PATCH), `known_error`, `workaround`, `status`
  (a forbidden move is a 409 naming the allowed ones).
- `POST /api/v1/problems/{id}/incidents` `{"incident": "INC-4"}` links one incident,
  `DELETE /api/v1/problems/{id}/incidents/{ref}` unlinks it.
- `GET /api/v1/problems/trends?threshold=3&days=30`: incidents of one category on one
  service that no problem links yet; `POST /api/v1/problems/trends` raises a problem.
- `GET /api/v1/incidents/{ref}/known-errors`: the known errors an incident matches.

Every route is for staff: a reporter gets 404 on all of them.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from tocsin.accounts.api_auth import user_from_request
from tocsin.accounts.models import User
from tocsin.catalog.models import Category, Service
from tocsin.core.api import (
    ERRORS,
    BodyId,
    Id,
    IncidentRef,
    InSchema,
    Paging,
    Ref,
    Text,
    Username,
    actor_from_request,
    idempotent_create,
    json_response,
    one_of,
    page,
    to_json,
)
from tocsin.core.errors import Invalid, NotFound
from tocsin.incidents.models import Incident
from tocsin.incidents.selectors import access_incident
from tocsin.learning import problems
from tocsin.learning.markdown import render
from tocsin.learning.models import Problem, ProblemStatus

router = Router(tags=["problems"])
STATUS_ENUM: dict[str, Any] = {"enum": list(ProblemStatus.values)}

ProblemRef = Annotated[str, Field(description='"PRB-3" or 3 (anything else is no problem: 404)')]
Title = Annotated[Text, Field(min_length=1, max_length=problems.TITLE_MAX)]
Markdown = Annotated[Text, Field(max_length=problems.MARKDOWN_MAX)]
Description = Annotated[Text, Field(max_length=problems.DESCRIPTION_MAX)]
ChangeRef = Annotated[Text, Field(max_length=problems.CHANGE_REF_MAX)]
IncidentRefs = Annotated[list[Annotated[Text, Field(max_length=30)]], Field(max_length=500)]


class ProblemOut(Schema):
    id: int = Field(description="the number: 3 for PRB-3")
    number: str = Field(description='"PRB-3"')
    title: str
    description: str
    status: str = one_of(ProblemStatus.values)
    known_error: bool = Field(description="a workaround is known (status known_error)")
    service: Ref | None
    category: Ref | None
    owner: str | None = Field(description="username")
    investigation: str = Field(description="Markdown")
    root_cause: str = Field(description="Markdown")
    workaround: str = Field(description="Markdown")
    workaround_html: str = Field(description="the workaround rendered (safe HTML)")
    fix_change_ref: str = Field(description="the change that fixed it for good")
    incidents: list[str] = Field(description='the linked incidents, "INC-42"')
    allowed_statuses: list[str] = Field(description="where the status may move next")
    created_at: dt.datetime
    updated_at: dt.datetime
    known_error_at: dt.datetime | None
    resolved_at: dt.datetime | None


class ProblemList(Schema):
    items: list[ProblemOut]
    count: int


class ProblemIn(InSchema):
    title: Title
    description: Description = ""
    service: BodyId | None = Field(None, description="the service's id")
    category: BodyId | None = Field(None, description="the category's id")
    owner: Username | None = Field(None, description="a member of staff's username")
    investigation: Markdown = ""
    root_cause: Markdown = ""
    workaround: Markdown = ""
    incidents: IncidentRefs = Field([], description='incidents to link: ["INC-4", "7"]')


class ProblemPatchIn(InSchema):
    title: Title | None = None
    description: Description | None = None
    service: BodyId | None = None
    category: BodyId | None = None
    owner: Username | None = None
    investigation: Markdown | None = None
    root_cause: Markdown | None = None
    workaround: Markdown | None = None
    fix_change_ref: ChangeRef | None = Field(None, description="required to resolve")
    status: str | None = Field(
        None,
        description="open, known_error or resolved",
        json_schema_extra=STATUS_ENUM,
    )
    incidents: IncidentRefs | None = Field(None, description="the full set of linked incidents")


class LinkIn(InSchema):
    incident: Annotated[Text, Field(min_length=1, max_length=30, description='"INC-4" or "4"')]


class ProblemQuery(Schema):
    status: str | None = Field(None, json_schema_extra=STATUS_ENUM)
    service: Id | None = None
    category: Id | None = None


class TrendQuery(Schema):
    threshold: int = Field(problems.TREND_THRESHOLD, ge=2, le=1000)
    days: int = Field(problems.TREND_DAYS, ge=1, le=problems.TREND_DAYS_MAX)


class TrendOut(Schema):
    service: Ref
    category: Ref
    count: int
    incidents: list[str]


class TrendList(Schema):
    items: list[TrendOut]
    count: int


class TrendIn(InSchema):
    service: BodyId
    category: BodyId
    days: int = Field(problems.TREND_DAYS, ge=1, le=problems.TREND_DAYS_MAX, strict=True)


class KnownErrorOut(Schema):
    problem: ProblemOut
    match: str = one_of(["service_category", "text"], "why it matches")
    linked: bool = Field(description="already linked to this incident")


class KnownErrorList(Schema):
    items: list[KnownErrorOut]
    count: int


# --- helpers -------------------------------------------------------------------------------


def _ref(obj: Any) -> dict[str, Any] | None:
    return None if obj is None else {"id": obj.pk, "name": obj.name}


def problem_json(problem: Problem) -> dict[str, Any]:
    return {
        "id": problem.number,
        "number": problem.ref,
        "title": problem.title,
        "description": problem.description,
        "status": problem.status,
        "known_error": problem.status == ProblemStatus.KNOWN_ERROR,
        "service": _ref(problem.service),
        "category": _ref(problem.category),
        "owner": problem.owner.username if problem.owner is not None else None,
        "investigation": problem.investigation,
        "root_cause": problem.root_cause,
        "workaround": problem.workaround,
        "workaround_html": str(render(problem.workaround)),
        "fix_change_ref": problem.fix_change_ref,
        "incidents": problems.incident_refs(problem),
        "allowed_statuses": list(problems.allowed_moves(problem.status)),
        "created_at": problem.created_at,
        "updated_at": problem.updated_at,
        "known_error_at": problem.known_error_at,
        "resolved_at": problem.resolved_at,
    }


def _viewer(request: HttpRequest) -> User:
    """Staff only; for anyone else problems do not exist."""
    user = user_from_request(request)
    if not problems.may_view(user):
        raise NotFound("not found")
    return user


def _problem(request: HttpRequest, ref: str) -> tuple[User, Problem]:
    user = user_from_request(request)
    return user, problems.access_problem(user, ref)


def _service(field: str, pk: int | None) -> Service | None:
    if pk is None:
        return None
    found = Service.objects.filter(pk=pk).first()
    if found is None:
        raise Invalid(field, f"no service with id {pk}")
    return found


def _category(field: str, pk: int | None) -> Category | None:
    if pk is None:
        return None
    found = Category.objects.filter(pk=pk).first()
    if found is None:
        raise Invalid(field, f"no category with id {pk}")
    return found


def _owner(username: str | None) -> User | None:
    if username is None:
        return None
    found = User.objects.filter(username=username).first()
    if found is None:
        raise Invalid("owner", f"no person {username!r}")
    return found


def _incidents(user: User, refs: list[str]) -> list[Incident]:
    found = []
    for ref in refs:
        try:
            found.append(access_incident(user, ref.strip()))
        except NotFound as exc:
            raise Invalid("incidents", exc.message) from None
    return found


# --- routes ----------------------------------------------------------------------------------


@router.get("/problems", response={200: ProblemList, **ERRORS})
def list_problems(
    request: HttpRequest, filters: Query[ProblemQuery], paging: Query[Paging]
) -> dict[str, Any]:
    """Problems, newest first; `status`, `service` (id) and `category` (id) filter."""
    user = _viewer(request)
    rows = problems.problem_list_for(
        user,
        status=filters.status,
        service=_service("service", filters.service),
        category=_category("category", filters.category),
    )
    return page(rows, paging, problem_json)


@router.post("/problems", response={201: ProblemOut, **ERRORS})
def create_problem(request: HttpRequest, payload: ProblemIn) -> HttpResponse:
    """Record an open problem, linking `incidents`."""
    user = _viewer(request)

    def create() -> dict[str, Any]:
        problem = problems.problem_create(
            actor=actor_from_request(request),
            title=payload.title,
            description=payload.description,
            service=_service("service", payload.service),
            category=_category("category", payload.category),
            owner=_owner(payload.owner),
            investigation=payload.investigation,
            root_cause=payload.root_cause,
            workaround=payload.workaround,
            incidents=_incidents(user, payload.incidents),
        )
        return problem_json(problem)

    return idempotent_create(request, create)


@router.get("/problems/trends", response={200: TrendList, **ERRORS})
def list_trends(request: HttpRequest, filters: Query[TrendQuery]) -> dict[str, Any]:
    """(service, category) pairs with at least `threshold` incidents in the last `days`
    days that no problem links yet, the largest first."""
    _viewer(request)
    items = [
        {
            "service": _ref(t.service),
            "category": _ref(t.category),
            "count": t.count,
            "incidents": [i.ref for i in t.incidents],
        }
        for t in problems.trends(threshold=filters.threshold, days=filters.days)
    ]
    return {"items": items, "count": len(items)}


@router.post("/problems/trends", response={201: ProblemOut, **ERRORS})
def raise_from_trend(request: HttpRequest, payload: TrendIn) -> HttpResponse:
    """Raise a problem for a trend, linking its incidents (409 when none is left)."""
    _viewer(request)

    def create() -> dict[str, Any]:
        service = _service("service", payload.service)
        category = _category("category", payload.category)
        assert service is not None and category is not None
        problem = problems.problem_raise_from_trend(
            actor=actor_from_request(request), service=service, category=category, days=payload.days
        )
        return problem_json(problem)

    return idempotent_create(request, create)


@router.get("/problems/{ref}", response={200: ProblemOut, **ERRORS})
def get_problem(request: HttpRequest, ref: ProblemRef) -> dict[str, Any]:
    _, problem = _problem(request, ref)
    return problem_json(problem)


@router.patch("/problems/{ref}", response={200: ProblemOut, **ERRORS})
def patch_problem(request: HttpRequest, ref: ProblemRef, payload: ProblemPatchIn) -> dict[str, Any]:
    """Change the fields sent; `incidents` is the full set of links; `status` moves it
    (`known_error` needs a `workaround`, `resolved` a `fix_change_ref`; a forbidden move
    is a 409 naming the allowed ones). All or nothing."""
    user, problem = _problem(request, ref)
    sent = payload.model_dump(exclude_unset=True)
    for name in ("title", "description", "investigation", "root_cause", "workaround"):
        if name in sent and sent[name] is None:
            raise Invalid(name, "must not be null")
    if sent.get("fix_change_ref", "") is None:
        raise Invalid("fix_change_ref", "must not be null")
    if "status" in sent and sent["status"] is None:
        raise Invalid("status", "must not be null")
    status = sent.pop("status", None)
    refs = sent.pop("incidents", None)
    if "incidents" in payload.model_fields_set and refs is None:
        raise Invalid("incidents", "must not be null")
    if "service" in sent:
        sent["service"] = _service("service", sent["service"])
    if "category" in sent:
        sent["category"] = _category("category", sent["category"])
    if "owner" in sent:
        sent["owner"] = _owner(sent["owner"])
    problem = problems.problem_update(
        problem=problem,
        actor=actor_from_request(request),
        changes=sent,
        status=status,
        incidents=_incidents(user, refs) if refs is not None else None,
    )
    return problem_json(problem)


@router.post("/problems/{ref}/incidents", response={200: ProblemOut, **ERRORS})
def link_incident(request: HttpRequest, ref: ProblemRef, payload: LinkIn) -> dict[str, Any]:
    """Link an incident (already linked: nothing changes)."""
    user, problem = _problem(request, ref)
    try:
        incident = access_incident(user, payload.incident.strip())
    except NotFound as exc:
        raise Invalid("incident", exc.message) from None
    problems.problem_link(problem=problem, incident=incident, actor=actor_from_request(request))
    return problem_json(problems.access_problem(user, problem.number))


@router.delete("/problems/{ref}/incidents/{incident_ref}", response={204: None, **ERRORS})
def unlink_incident(
    request: HttpRequest, ref: ProblemRef, incident_ref: IncidentRef
) -> HttpResponse:
    """Unlink an incident (404 when it is not linked)."""
    user, problem = _problem(request, ref)
    incident = access_incident(user, incident_ref)
    problems.problem_unlink(problem=problem, incident=incident, actor=actor_from_request(request))
    return HttpResponse(status=204)


@router.get("/incidents/{ref}/known-errors", response={200: KnownErrorList, **ERRORS})
def incident_known_errors(request: HttpRequest, ref: IncidentRef) -> HttpResponse:
    """The known errors this incident matches: same service and category first, then by
    text (title and description), each with its workaround."""
    user = user_from_request(request)
    incident = access_incident(user, ref)
    if not problems.may_view(user):
        raise NotFound(f"no incident {incident.ref}")
    items = [
        {"problem": problem_json(m.problem), "match": m.reason, "linked": m.linked}
        for m in problems.known_errors_for(incident)
    ]
    return json_response(to_json({"items": items, "count": len(items)}))
