"""REST API for runbooks and their runs on incidents (docs/runbooks.md).

`/api/v1/runbooks`: staff read, managers and administrators create, change and archive
(other staff: 403). `/api/v1/incidents/{ref}/runbooks` lists and starts runs,
`/api/v1/runbook-runs/{id}/steps/{n}` ticks a step (staff). Reporters: 404 everywhere.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router
from ninja import Schema as NinjaSchema
from pydantic import Field, StrictBool

from tocsin.accounts.api_auth import user_from_request
from tocsin.core.api import (
    ERRORS,
    BodyId,
    Id,
    IncidentRef,
    InSchema,
    Paging,
    Ref,
    Text,
    actor_from_request,
    idempotent_create,
    json_response,
    page,
    ref,
    to_json,
)
from tocsin.core.errors import Forbidden, Invalid, NotFound
from tocsin.incidents.selectors import access_incident
from tocsin.learning import runbooks
from tocsin.learning.markdown import render
from tocsin.learning.models import Runbook, RunbookRun, RunbookRunStep, RunbookStep

router = Router(tags=["runbooks"])

Name = Annotated[Text, Field(min_length=1, max_length=runbooks.NAME_MAX)]
Title = Annotated[Text, Field(min_length=1, max_length=runbooks.TITLE_MAX)]
Markdown = Annotated[Text, Field(max_length=runbooks.TEXT_MAX)]
Url = Annotated[Text, Field(max_length=runbooks.URL_MAX)]
Template = Annotated[Text, Field(max_length=runbooks.TEMPLATE_MAX)]


class StepIn(InSchema):
    title: Title
    body: Markdown = Field("", description="Markdown: what to do and what to look at")
    url: Url = Field("", description="an automated step: the http(s) URL POSTed to")
    body_template: Template = Field(
        "",
        description="a JSON object; string values may use {{ variable }}: "
        + ", ".join(runbooks.VARIABLES),
    )


class RunbookIn(InSchema):
    name: Name
    description: Markdown = ""
    service: BodyId | None = None
    category: BodyId | None = None
    run_on_open: StrictBool = False
    steps: list[StepIn] = Field(default_factory=list, max_length=runbooks.STEPS_MAX)


class RunbookPatchIn(InSchema):
    name: Name | None = None
    description: Markdown | None = None
    service: BodyId | None = None
    category: BodyId | None = None
    run_on_open: StrictBool | None = None
    steps: list[StepIn] | None = Field(
        None, max_length=runbooks.STEPS_MAX, description="the whole ordered list"
    )


class StepOut(NinjaSchema):
    position: int
    title: str
    body: str
    body_html: str
    url: str
    body_template: str
    automated: bool
    signing_secret: str | None = Field(
        None, description="what the receiver verifies signatures with (editors only)"
    )


class RunbookOut(NinjaSchema):
    id: int
    name: str
    description: str
    description_html: str
    service: Ref | None
    category: Ref | None
    run_on_open: bool
    archived_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    steps: list[StepOut]


class RunbookSummary(NinjaSchema):
    id: int
    name: str
    service: Ref | None
    category: Ref | None
    run_on_open: bool
    archived_at: dt.datetime | None
    steps: int


class RunbookList(NinjaSchema):
    items: list[RunbookSummary]
    count: int


class RunbookQuery(NinjaSchema):
    service: Id | None = None
    category: Id | None = None
    archived: bool = False


class RunStepOut(NinjaSchema):
    position: int
    title: str
    body_html: str
    automated: bool
    done: bool
    done_at: dt.datetime | None
    done_by: str | None = Field(description="username, or null for Tocsin itself")
    call_state: str = Field(description='"" manual; queued, retrying, sent, failed')
    response_status: int | None
    response_excerpt: str
    result_reason: str
    result_at: dt.datetime | None


class RunOut(NinjaSchema):
    id: int
    incident: str
    runbook: Ref
    name: str
    started_at: dt.datetime
    started_by: str | None = Field(description="username; null when started by itself")
    automatic: bool
    done: int
    total: int
    steps: list[RunStepOut]


class RunList(NinjaSchema):
    items: list[RunOut]
    count: int


class RunIn(InSchema):
    runbook: BodyId


class TickIn(InSchema):
    done: StrictBool


# --- serialisers ------------------------------------------------------------------------


def _step_json(step: RunbookStep, editor: bool) -> dict[str, Any]:
    return {
        "position": step.position,
        "title": step.title,
        "body": step.body,
        "body_html": str(render(step.body)),
        "url": step.url,
        "body_template": step.body_template,
        "automated": bool(step.url),
        "signing_secret": runbooks.signing_secret(step.url) if (editor and step.url) else None,
    }


def runbook_json(runbook: Runbook, *, editor: bool = False) -> dict[str, Any]:
    return {
        "id": runbook.pk,
        "name": runbook.name,
        "description": runbook.description,
        "description_html": str(render(runbook.description)),
        "service": ref(runbook.service),
        "category": ref(runbook.category),
        "run_on_open": runbook.run_on_open,
        "archived_at": runbook.archived_at,
        "created_at": runbook.created_at,
        "updated_at": runbook.updated_at,
        "steps": [_step_json(s, editor) for s in runbook.steps.order_by("position")],
    }


def summary_json(runbook: Runbook) -> dict[str, Any]:
    return {
        "id": runbook.pk,
        "name": runbook.name,
        "service": ref(runbook.service),
        "category": ref(runbook.category),
        "run_on_open": runbook.run_on_open,
        "archived_at": runbook.archived_at,
        "steps": getattr(runbook, "step_count", 0),
    }


def _run_step_json(step: RunbookRunStep) -> dict[str, Any]:
    return {
        "position": step.position,
        "title": step.title,
        "body_html": str(render(step.body)),
        "automated": bool(step.url),
        "done": step.done_at is not None,
        "done_at": step.done_at,
        "done_by": step.done_by.username if step.done_by is not None else None,
        "call_state": step.call_state,
        "response_status": step.response_status,
        "response_excerpt": step.response_excerpt,
        "result_reason": step.result_reason,
        "result_at": step.result_at,
    }


def run_json(run: RunbookRun) -> dict[str, Any]:
    steps = list(run.steps.select_related("done_by").order_by("position"))
    return {
        "id": run.pk,
        "incident": run.incident.ref,
        "runbook": {"id": run.runbook_id, "name": run.runbook.name},
        "name": run.name,
        "started_at": run.started_at,
        "started_by": run.started_by.username if run.started_by is not None else None,
        "automatic": run.automatic,
        "done": sum(1 for s in steps if s.done_at is not None),
        "total": len(steps),
        "steps": [_run_step_json(s) for s in steps],
    }


# --- the caller -------------------------------------------------------------------------


def _reader(request: HttpRequest) -> Any:
    user = user_from_request(request)
    if not runbooks.may_view(user):
        raise NotFound("not found")
    return user


def _editor(request: HttpRequest) -> Any:
    user = _reader(request)
    if not runbooks.may_manage(user):
        raise Forbidden("runbooks are edited by managers and administrators")
    return user


def _runner(request: HttpRequest) -> Any:
    user = _reader(request)
    if not runbooks.may_run(user):
        raise Forbidden("your role may not run runbooks")
    return user


def _specs(steps: list[StepIn]) -> list[runbooks.StepSpec]:
    return [
        runbooks.StepSpec(title=s.title, body=s.body, url=s.url, body_template=s.body_template)
        for s in steps
    ]


# --- runbooks ---------------------------------------------------------------------------


@router.get("/runbooks", response={200: RunbookList, **ERRORS})
def list_runbooks(
    request: HttpRequest, filters: Query[RunbookQuery], paging: Query[Paging]
) -> dict[str, Any]:
    """Runbooks by name (`service`, `category` filter; `archived=true` the archived ones)."""
    user = _reader(request)
    rows = runbooks.runbook_list_for(
        user, service=filters.service, category=filters.category, archived=filters.archived
    )
    return page(rows, paging, summary_json)


@router.post("/runbooks", response={201: RunbookOut, **ERRORS})
def create_runbook(request: HttpRequest, payload: RunbookIn) -> HttpResponse:
    """A new runbook with its ordered steps. Accepts an Idempotency-Key."""
    _editor(request)

    def create() -> dict[str, Any]:
        runbook = runbooks.runbook_create(
            actor=actor_from_request(request),
            name=payload.name,
            description=payload.description,
            service=runbooks.service_for_field(payload.service),
            category=runbooks.category_for_field(payload.category),
            run_on_open=payload.run_on_open,
            steps=_specs(payload.steps),
        )
        return runbook_json(runbook, editor=True)

    return idempotent_create(request, create)


@router.get("/runbooks/{runbook_id}", response={200: RunbookOut, **ERRORS})
def get_runbook(request: HttpRequest, runbook_id: Id) -> dict[str, Any]:
    user = _reader(request)
    runbook = runbooks.runbook_get(runbook_id, user=user)
    return runbook_json(runbook, editor=runbooks.may_manage(user))


@router.patch("/runbooks/{runbook_id}", response={200: RunbookOut, **ERRORS})
def patch_runbook(request: HttpRequest, runbook_id: Id, payload: RunbookPatchIn) -> dict[str, Any]:
    """Change the fields sent; `steps` replaces the whole list (runs keep their copy)."""
    user = _editor(request)
    runbook = runbooks.runbook_get(runbook_id, user=user)
    sent = payload.model_dump(exclude_unset=True)
    for name in ("name", "description", "run_on_open", "steps"):
        if name in sent and sent[name] is None:
            raise Invalid(name, "must not be null")
    if "service" in sent:
        sent["service"] = runbooks.service_for_field(sent["service"])
    if "category" in sent:
        sent["category"] = runbooks.category_for_field(sent["category"])
    if "steps" in sent:
        sent["steps"] = _specs(payload.steps or [])
    runbook = runbooks.runbook_update(
        runbook=runbook, actor=actor_from_request(request), changes=sent
    )
    return runbook_json(runbook, editor=True)


@router.post("/runbooks/{runbook_id}/archive", response={200: RunbookOut, **ERRORS})
def archive_runbook(request: HttpRequest, runbook_id: Id) -> dict[str, Any]:
    """No longer offered on incidents nor run on open; runs already made keep it."""
    user = _editor(request)
    runbook = runbooks.runbook_get(runbook_id, user=user)
    runbook = runbooks.runbook_archive(runbook=runbook, actor=actor_from_request(request))
    return runbook_json(runbook, editor=True)


@router.post("/runbooks/{runbook_id}/restore", response={200: RunbookOut, **ERRORS})
def restore_runbook(request: HttpRequest, runbook_id: Id) -> dict[str, Any]:
    user = _editor(request)
    runbook = runbooks.runbook_get(runbook_id, user=user)
    runbook = runbooks.runbook_archive(
        runbook=runbook, actor=actor_from_request(request), archived=False
    )
    return runbook_json(runbook, editor=True)


# --- runs on incidents ------------------------------------------------------------------


@router.get("/incidents/{ref}/runbooks", response={200: RunList, **ERRORS})
def list_runs(request: HttpRequest, ref: IncidentRef, paging: Query[Paging]) -> dict[str, Any]:
    """The runbooks run on this incident, oldest first, with their steps and progress."""
    user = _reader(request)
    incident = access_incident(user, ref)
    return page(runbooks.runs_of(incident), paging, run_json)


@router.post("/incidents/{ref}/runbooks", response={201: RunOut, **ERRORS})
def start_run(request: HttpRequest, ref: IncidentRef, payload: RunIn) -> HttpResponse:
    """Start a runbook on the incident; its automated steps are called at once (by the
    worker). 409 when it already runs there or is archived. Accepts an Idempotency-Key."""
    user = _runner(request)
    incident = access_incident(user, ref)
    runbook = Runbook.objects.filter(pk=payload.runbook).first()
    if runbook is None:
        raise Invalid("runbook", f"no runbook with id {payload.runbook}")

    def create() -> dict[str, Any]:
        run = runbooks.run_start(
            incident=incident, runbook=runbook, actor=actor_from_request(request)
        )
        return run_json(run)

    return idempotent_create(request, create)


@router.get("/runbook-runs/{run_id}", response={200: RunOut, **ERRORS})
def get_run(request: HttpRequest, run_id: Id) -> dict[str, Any]:
    return run_json(runbooks.run_get(run_id, user=_reader(request)))


@router.post("/runbook-runs/{run_id}/steps/{position}", response={200: RunOut, **ERRORS})
def tick_step(request: HttpRequest, run_id: Id, position: Id, payload: TickIn) -> dict[str, Any]:
    """`{"done": true}` ticks the step, `false` unticks it (each on the timeline)."""
    user = _runner(request)
    run = runbooks.run_get(run_id, user=user)
    runbooks.run_step_set(
        run=run, position=position, done=payload.done, actor=actor_from_request(request)
    )
    return run_json(run)


@router.post("/runbook-runs/{run_id}/steps/{position}/call", response={202: RunOut, **ERRORS})
def call_step(request: HttpRequest, run_id: Id, position: Id) -> HttpResponse:
    """Call an automated step again (409 while a call is on its way, or a manual step)."""
    user = _runner(request)
    run = runbooks.run_get(run_id, user=user)
    runbooks.run_step_call(run=run, position=position, actor=actor_from_request(request))
    return json_response(to_json(run_json(run)), 202)
