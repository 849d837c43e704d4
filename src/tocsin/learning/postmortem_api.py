"""REST API for postmortems (issue 12, points 1 and 7). Staff only: anyone else gets 404.

- `POST /api/v1/postmortems` `{"incident": "INC-42", "template": 3}` drafts one (201, with
  the generated parts filled in); 409 when the incident has one.
- `GET /api/v1/postmortems?status=&owner=&overdue=`; `GET|PATCH /api/v1/postmortems/{id}`
  (title, markdown, owner, due_at, status: a refused move is a 409 naming the allowed).
- `GET|POST /api/v1/postmortems/{id}/comments`.
- `GET|POST /api/v1/postmortem-templates`, `GET|PATCH /api/v1/postmortem-templates/{id}`;
  `GET|PUT /api/v1/postmortem-settings` (administrators write).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from tocsin.accounts.api_auth import user_from_request
from tocsin.accounts.models import User
from tocsin.catalog.models import Service
from tocsin.core.api import (
    ERRORS,
    BodyId,
    Id,
    InSchema,
    Paging,
    Text,
    Username,
    actor_from_request,
    idempotent_create,
    lookup,
    one_of,
    page,
)
from tocsin.core.errors import Invalid, NotFound
from tocsin.incidents.selectors import access_incident
from tocsin.learning import postmortems
from tocsin.learning.markdown import render
from tocsin.learning.models import (
    Postmortem,
    PostmortemComment,
    PostmortemStatus,
    PostmortemTemplate,
    ServicePostmortemRule,
)
from tocsin.learning.postmortem_draft import PLACEHOLDERS
from tocsin.learning.postmortem_selectors import (
    access_postmortem,
    comments_of,
    is_overdue,
    postmortem_list_for,
    require_postmortems,
    templates,
)

router = Router(tags=["postmortems"])

Priorities = list[Annotated[int, Field(ge=1, le=4, strict=True)]]


# --- schemas -------------------------------------------------------------------------------------


class PostmortemOut(Schema):
    id: int
    incident: str = Field(description='"INC-42"')
    title: str
    status: str = Field(description="draft, in_review or published")
    allowed: list[str] = Field(description="the states it may move to now")
    owner: str | None = Field(description="username")
    due_at: dt.datetime | None
    overdue: bool
    required: bool = Field(description="drafted because the rules require one")
    markdown: str
    html: str = Field(description="the Markdown rendered and sanitised")
    template: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    published_at: dt.datetime | None
    completed_at: dt.datetime | None


class PostmortemSummary(Schema):
    id: int
    incident: str
    title: str
    status: str
    owner: str | None
    due_at: dt.datetime | None
    overdue: bool
    published_at: dt.datetime | None
    completed_at: dt.datetime | None


class PostmortemList(Schema):
    items: list[PostmortemSummary]
    count: int


class PostmortemIn(InSchema):
    incident: Annotated[Text, Field(max_length=30)] = Field(description='"INC-42" or "42"')
    template: BodyId | None = Field(None, description="the template (default: the default one)")


class PostmortemPatch(InSchema):
    title: Annotated[Text, Field(max_length=postmortems.TITLE_MAX)] | None = None
    markdown: Annotated[Text, Field(max_length=postmortems.MARKDOWN_MAX)] | None = None
    owner: Username | None = Field(None, description="a username; null for nobody")
    due_at: dt.datetime | None = None
    status: Annotated[Text, one_of(PostmortemStatus.values)] | None = None


class PostmortemQuery(Schema):
    status: Annotated[str, one_of(PostmortemStatus.values)] | None = None
    owner: Annotated[str, Field(max_length=150)] | None = Field(
        None, description='a username, or "none"'
    )
    overdue: bool | None = None


class CommentOut(Schema):
    id: int
    author: str | None = Field(description="username")
    body: str
    html: str
    created_at: dt.datetime


class CommentList(Schema):
    items: list[CommentOut]
    count: int


class CommentIn(InSchema):
    body: Annotated[Text, Field(max_length=postmortems.COMMENT_MAX)]


class TemplateOut(Schema):
    id: int
    name: str
    body: str
    archived: bool
    updated_at: dt.datetime


class TemplateList(Schema):
    items: list[TemplateOut]
    count: int
    placeholders: dict[str, str]


class TemplateIn(InSchema):
    name: Annotated[Text, Field(max_length=postmortems.NAME_MAX)]
    body: Annotated[Text, Field(max_length=20000)]


class TemplatePatch(InSchema):
    name: Annotated[Text, Field(max_length=postmortems.NAME_MAX)] | None = None
    body: Annotated[Text, Field(max_length=20000)] | None = None
    archived: bool | None = None


class ServiceRuleOut(Schema):
    service: int
    required_priorities: list[int]


class ServiceRuleIn(InSchema):
    service: BodyId
    required_priorities: Priorities


class SettingsOut(Schema):
    required_priorities: list[int]
    due_days: int
    default_template: int | None
    services: list[ServiceRuleOut] = Field(description="per-service overrides")


class SettingsIn(InSchema):
    required_priorities: Priorities
    due_days: Annotated[int, Field(ge=1, le=postmortems.DUE_DAYS_MAX, strict=True)]
    default_template: BodyId | None = None
    services: list[ServiceRuleIn] | None = Field(
        None, description="replaces every per-service override when given"
    )


# --- serialisers ---------------------------------------------------------------------------------


def summary_json(p: Postmortem) -> dict[str, Any]:
    return {
        "id": p.pk,
        "incident": p.incident.ref,
        "title": p.title,
        "status": p.status,
        "owner": p.owner.username if p.owner_id else None,  # type: ignore[union-attr]
        "due_at": p.due_at,
        "overdue": is_overdue(p),
        "published_at": p.published_at,
        "completed_at": p.completed_at,
    }


def postmortem_json(p: Postmortem) -> dict[str, Any]:
    return {
        **summary_json(p),
        "allowed": list(postmortems.allowed_moves(p)),
        "required": p.required,
        "markdown": p.markdown,
        "html": str(render(p.markdown)),
        "template": p.template_id,
        "created_at": p.created_at,
        "updated_at": p.updated_at,
    }


def comment_json(c: PostmortemComment) -> dict[str, Any]:
    return {
        "id": c.pk,
        "author": c.author.username if c.author_id else None,  # type: ignore[union-attr]
        "body": c.body,
        "html": str(render(c.body)),
        "created_at": c.created_at,
    }


def template_json(t: PostmortemTemplate) -> dict[str, Any]:
    return {
        "id": t.pk,
        "name": t.name,
        "body": t.body,
        "archived": t.archived_at is not None,
        "updated_at": t.updated_at,
    }


def settings_json() -> dict[str, Any]:
    row = postmortems.postmortem_settings()
    return {
        "required_priorities": list(row.required_priorities),
        "due_days": row.due_days,
        "default_template": row.default_template_id,
        "services": [
            {"service": r.service_id, "required_priorities": list(r.required_priorities)}
            for r in ServicePostmortemRule.objects.order_by("service_id")
        ],
    }


def _template(field: str, value: int | None) -> PostmortemTemplate | None:
    if value is None:
        return None
    found = PostmortemTemplate.objects.filter(pk=value).first()
    if found is None:
        raise Invalid(field, "No postmortem template has this id.")
    return found


def _template_or_404(request: HttpRequest, template_id: int) -> PostmortemTemplate:
    require_postmortems(user_from_request(request))
    found = PostmortemTemplate.objects.filter(pk=template_id).first()
    if found is None:
        raise NotFound(f"no postmortem template {template_id}")
    return found


def _owner(username: str) -> User:
    found = User.objects.filter(username=username).first()
    if found is None:
        raise NotFound("No one has this username.")
    return found


# --- postmortems ----------------------------------------------------------------------------------


@router.post("/postmortems", response={201: PostmortemOut, **ERRORS})
def create_postmortem(request: HttpRequest, payload: PostmortemIn) -> HttpResponse:
    """Draft the incident's postmortem from a template, the generated parts filled in from
    its record. 409 when it already has one."""
    user = user_from_request(request)
    require_postmortems(user)
    incident = lookup("incident", lambda ref: access_incident(user, ref), payload.incident.strip())
    template = _template("template", payload.template)

    def create() -> dict[str, Any]:
        made = postmortems.postmortem_create(
            incident=incident, actor=actor_from_request(request), template=template
        )
        return postmortem_json(access_postmortem(user, made.pk))

    return idempotent_create(request, create)


@router.get("/postmortems", response={200: PostmortemList, **ERRORS})
def list_postmortems(
    request: HttpRequest, filters: Query[PostmortemQuery], paging: Query[Paging]
) -> dict[str, Any]:
    """Newest first; `status`, `owner` (username or "none") and `overdue` filter."""
    found = postmortem_list_for(
        user_from_request(request),
        status=filters.status,
        owner=filters.owner,
        overdue=filters.overdue,
    )
    return page(found, paging, summary_json)


@router.get("/postmortems/{postmortem_id}", response={200: PostmortemOut, **ERRORS})
def get_postmortem(request: HttpRequest, postmortem_id: Id) -> dict[str, Any]:
    return postmortem_json(access_postmortem(user_from_request(request), postmortem_id))


@router.patch("/postmortems/{postmortem_id}", response={200: PostmortemOut, **ERRORS})
def patch_postmortem(
    request: HttpRequest, postmortem_id: Id, payload: PostmortemPatch
) -> dict[str, Any]:
    """Change the title, the Markdown, the owner or the due date, and/or move it:
    draft → in_review → published, in_review → draft (409 naming what is allowed)."""
    user = user_from_request(request)
    found = access_postmortem(user, postmortem_id)
    sent = payload.model_dump(exclude_unset=True)
    status = sent.pop("status", None)
    if status is None and "status" in payload.model_fields_set:
        raise Invalid("status", "One of draft, in_review, published.")
    for name in ("title", "markdown"):
        if name in sent and sent[name] is None:
            raise Invalid(name, "Must not be null.")
    if "owner" in sent and sent["owner"] is not None:
        sent["owner"] = lookup("owner", _owner, sent["owner"])
    postmortems.postmortem_update(
        postmortem=found, actor=actor_from_request(request), status=status, **sent
    )
    return postmortem_json(access_postmortem(user, postmortem_id))


@router.get("/postmortems/{postmortem_id}/comments", response={200: CommentList, **ERRORS})
def list_comments(request: HttpRequest, postmortem_id: Id, paging: Query[Paging]) -> dict[str, Any]:
    found = access_postmortem(user_from_request(request), postmortem_id)
    return page(comments_of(found), paging, comment_json)


@router.post("/postmortems/{postmortem_id}/comments", response={201: CommentOut, **ERRORS})
def add_comment(request: HttpRequest, postmortem_id: Id, payload: CommentIn) -> HttpResponse:
    """A reviewer's comment (Markdown)."""
    found = access_postmortem(user_from_request(request), postmortem_id)

    def create() -> dict[str, Any]:
        comment = postmortems.postmortem_comment_add(
            postmortem=found, actor=actor_from_request(request), body=payload.body
        )
        return comment_json(comment)

    return idempotent_create(request, create)


# --- templates and settings ----------------------------------------------------------------------


@router.get("/postmortem-templates", response={200: TemplateList, **ERRORS})
def list_templates(
    request: HttpRequest, paging: Query[Paging], archived: bool = False
) -> dict[str, Any]:
    """The postmortem templates (staff read; `archived=true` for the archived) and the
    placeholders they may use."""
    require_postmortems(user_from_request(request))
    return {
        **page(templates(archived=archived), paging, template_json),
        "placeholders": PLACEHOLDERS,
    }


@router.post("/postmortem-templates", response={201: TemplateOut, **ERRORS})
def create_template(request: HttpRequest, payload: TemplateIn) -> HttpResponse:
    """A new template (administrators); an unknown {placeholder} is a 422 naming it."""
    require_postmortems(user_from_request(request))

    def create() -> dict[str, Any]:
        made = postmortems.template_create(
            actor=actor_from_request(request), name=payload.name, body=payload.body
        )
        return template_json(made)

    return idempotent_create(request, create)


@router.get("/postmortem-templates/{template_id}", response={200: TemplateOut, **ERRORS})
def get_template(request: HttpRequest, template_id: Id) -> dict[str, Any]:
    return template_json(_template_or_404(request, template_id))


@router.patch("/postmortem-templates/{template_id}", response={200: TemplateOut, **ERRORS})
def patch_template(request: HttpRequest, template_id: Id, payload: TemplatePatch) -> dict[str, Any]:
    """Rename, rewrite or archive a template (administrators)."""
    found = _template_or_404(request, template_id)
    changed = postmortems.template_edit(
        actor=actor_from_request(request),
        template=found,
        name=payload.name,
        body=payload.body,
        archived=payload.archived,
    )
    return template_json(changed)


@router.get("/postmortem-settings", response={200: SettingsOut, **ERRORS})
def get_settings(request: HttpRequest) -> dict[str, Any]:
    """For which priorities a postmortem is required, per service too, and how many days
    its owner has."""
    require_postmortems(user_from_request(request))
    return settings_json()


@router.put("/postmortem-settings", response={200: SettingsOut, **ERRORS})
def put_settings(request: HttpRequest, payload: SettingsIn) -> dict[str, Any]:
    """Replace the settings (administrators); `services`, when given, replaces every
    per-service override."""
    require_postmortems(user_from_request(request))
    services: list[tuple[Service, list[int]]] | None = None
    if payload.services is not None:
        services = []
        for i, rule in enumerate(payload.services):
            service = Service.objects.filter(pk=rule.service).first()
            if service is None:
                raise Invalid(f"services.{i}.service", "No service has this id.")
            services.append((service, list(rule.required_priorities)))
    postmortems.postmortem_rules_set(
        actor=actor_from_request(request),
        required_priorities=payload.required_priorities,
        due_days=payload.due_days,
        default_template=_template("default_template", payload.default_template),
        services=services,
    )
    return settings_json()
