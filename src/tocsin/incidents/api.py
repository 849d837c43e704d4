"""REST API for incidents: list, file, read, triage, act, timeline, attachments."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from django.db import transaction
from django.http import FileResponse, HttpRequest, HttpResponse
from ninja import File, Form, Query, Router, Schema
from ninja.files import UploadedFile
from pydantic import Field

from tocsin.accounts.api_auth import user_from_request
from tocsin.accounts.models import User
from tocsin.accounts.permissions import Action, can
from tocsin.accounts.selectors import team_get, user_by_username
from tocsin.catalog.selectors import category_get, service_get
from tocsin.core.api import (
    ERRORS,
    Id,
    IncidentRef,
    Paging,
    Text,
    actor_from_request,
    idempotent_create,
    lookup,
    one_of,
    page,
    ref,
)
from tocsin.core.clock import now
from tocsin.core.errors import Invalid
from tocsin.incidents import selectors, services, sla
from tocsin.incidents.lifecycle import ACTIONS
from tocsin.incidents.models import (
    Attachment,
    Incident,
    TimelineEntry,
    TimelineOrder,
    TimelineShow,
)
from tocsin.incidents.schemas import (
    ActionIn,
    AttachmentList,
    AttachmentOut,
    ConfirmIn,
    EscalateIn,
    IncidentCreateIn,
    IncidentList,
    IncidentOut,
    IncidentPatchIn,
    MergeIn,
    NoteIn,
    ResolveIn,
    TimelineEntryOut,
    TimelineList,
)
from tocsin.incidents.timeline import actor_display

router = Router(tags=["incidents"])


# --- replies ------------------------------------------------------------------------------


# What a reporter's reply leaves out: how the desk rates, routes and times the incident.
REPORTER_OMITS = (
    "priority_override",
    "impact",
    "urgency",
    "priority",
    "priority_override_reason",
    "category",
    "subcategory",
    "assignee",
    "team",
    "support_level",
    "detected_at",
    "impact_started_at",
    "acknowledged_at",
    "acknowledged_by",
    "mitigated_at",
    "sla",
    "chat_url",
    "video_url",
)


def incident_json(
    incident: Incident, user: User, targets: sla.Targets | None = None
) -> dict[str, Any]:
    duplicate = incident.duplicate_of.ref if incident.duplicate_of_id else None  # type: ignore[union-attr]
    reply = {
        "id": incident.number,
        "number": incident.ref,
        "title": incident.title,
        "description": incident.description,
        "status": incident.status,
        "source": incident.source,
        "impact": incident.impact,
        "urgency": incident.urgency,
        "priority": incident.priority_label,
        "priority_override_reason": incident.priority_override_reason,
        "category": ref(incident.category),
        "subcategory": ref(incident.subcategory),
        "service": ref(incident.service),
        "affected_services": [ref(s) for s in incident.affected_services.all()],
        "assignee": incident.assignee.username if incident.assignee_id else None,  # type: ignore[union-attr]
        "team": ref(incident.team),
        "support_level": incident.support_level,
        "reporter": incident.reporter.username if incident.reporter_id else None,  # type: ignore[union-attr]
        "reporter_name": incident.reporter_name,
        "reporter_email": incident.reporter_email,
        "reported_at": incident.reported_at,
        "detected_at": incident.detected_at,
        "impact_started_at": incident.impact_started_at,
        "acknowledged_at": incident.acknowledged_at,
        "acknowledged_by": (
            incident.acknowledged_by.username if incident.acknowledged_by else None
        ),
        "mitigated_at": incident.mitigated_at,
        "resolved_at": incident.resolved_at,
        "closed_at": incident.closed_at,
        "resolution_code": incident.resolution_code,
        "resolution_notes": incident.resolution_notes,
        "duplicate_of": duplicate,
        "allowed_actions": selectors.incident_actions_for(user, incident),
        "sla": sla.sla_state(incident, now(), targets),
        "chat_url": incident.chat_url,
        "video_url": incident.video_url,
    }
    if not can(user, Action.TIMELINE_INTERNAL_VIEW):
        for name in REPORTER_OMITS:  # the desk's own fields: not in a reporter's reply
            reply.pop(name, None)
    return reply


def entry_json(entry: TimelineEntry, viewer: User | None = None) -> dict[str, Any]:
    """One timeline entry as `viewer` may see it: the actor's label is for people to read
    (a person's name, "Alertmanager · Prometheus prod"); someone who is not staff sees a
    person's name where staff see which API token acted (its name or prefix)."""
    label = actor_display(entry)
    if entry.actor_kind == "token" and entry.actor_user_id:
        if can(viewer, Action.DESK_VIEW):
            label = entry.actor_label
        else:
            label = entry.actor_user.display_name  # type: ignore[union-attr]
    data = entry.data
    if not can(viewer, Action.TIMELINE_INTERNAL_VIEW):
        # how the desk rated the incident when it was filed is not the reporter's to read
        data = {k: v for k, v in (data or {}).items() if k not in REPORTER_OMITS}
    return {
        "id": entry.pk,
        "kind": entry.kind,
        "created_at": entry.created_at,
        "visibility": entry.visibility,
        "text": entry.text,
        "data": data,
        "actor": {
            "kind": entry.actor_kind,
            "username": entry.actor_user.username if entry.actor_user_id else None,  # type: ignore[union-attr]
            "label": label,
        },
        "redacted_at": entry.redacted_at,
        "redacted_by": entry.redacted_by.username if entry.redacted_by_id else None,  # type: ignore[union-attr]
        "pinned": entry.pinned,
        "pinned_at": entry.pinned_at,
        "pinned_by": entry.pinned_by.username if entry.pinned_by_id else None,  # type: ignore[union-attr]
    }


def attachment_json(attachment: Attachment) -> dict[str, Any]:
    return {
        "id": attachment.pk,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "visibility": attachment.visibility,
        "uploaded_by": attachment.uploaded_by.username if attachment.uploaded_by_id else None,  # type: ignore[union-attr]
        "uploaded_at": attachment.uploaded_at,
        "url": f"/api/v1/incidents/{attachment.incident.ref}/attachments/{attachment.pk}",
    }


def _fresh(user: User, incident: Incident) -> dict[str, Any]:
    """The incident as it is now (services may return a re-read copy without relations)."""
    return incident_json(selectors.access_incident(user, incident.number), user)


# --- parsing references ------------------------------------------------------------------


def _service(value: int | None, field: str = "service") -> Any:
    return lookup(field, service_get, value)


def _category(value: int | None, field: str) -> Any:
    return lookup(field, category_get, value)


def _team(value: int | None) -> Any:
    return lookup("team", team_get, value)


def _person(value: str | None, field: str) -> User | None:
    return lookup(field, user_by_username, value)


def _split(values: list[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _priorities(values: list[str]) -> list[int]:
    result = []
    for value in _split(values):
        text = value.upper().removeprefix("P")
        if text not in ("1", "2", "3", "4"):
            raise Invalid("priority", f"{value!r} is not a priority: use P1–P4 or 1–4")
        result.append(int(text))
    return result


# --- incidents -----------------------------------------------------------------------------


class IncidentQuery(Schema):
    status: list[Text] = Field(
        default_factory=list,
        description='Repeat or comma-separate; "open" (default) or "all" or a status',
    )
    priority: list[Text] = Field(default_factory=list, description="P1–P4 or 1–4")
    team: Id | None = None
    assignee: Text | None = Field(None, description='username, or "none"')
    service: Id | None = None
    category: Id | None = Field(None, description="category or subcategory id")
    source: Text | None = None
    reporter: Text | None = Field(None, description="username")
    q: Text = Field("", max_length=200, description="free text, or an incident number")


@router.get("/incidents", response={200: IncidentList, **ERRORS}, exclude_unset=True)
def list_incidents(
    request: HttpRequest, filters: Query[IncidentQuery], paging: Query[Paging]
) -> dict[str, Any]:
    user = user_from_request(request)
    if not can(user, Action.TIMELINE_INTERNAL_VIEW):
        # a reporter's replies leave these fields out; filtering on them would tell them
        for name in ("priority", "team", "assignee", "category"):
            if getattr(filters, name):
                raise Invalid(name, "is not a filter reporters can use")
    wanted = selectors.IncidentFilters(
        status=_split(filters.status),
        priority=_priorities(filters.priority),
        team=filters.team,
        assignee=filters.assignee,
        service=filters.service,
        category=filters.category,
        source=filters.source,
        reporter=filters.reporter,
        q=filters.q,
    )
    incidents = selectors.incident_list_for(user, wanted).select_related("duplicate_of")
    targets = sla.Targets()
    return page(incidents, paging, lambda incident: incident_json(incident, user, targets))


@router.post("/incidents", response={201: IncidentOut, **ERRORS}, exclude_unset=True)
def create_incident(request: HttpRequest, payload: IncidentCreateIn) -> HttpResponse:
    user = user_from_request(request)

    def create() -> dict[str, Any]:
        incident = services.incident_create(
            actor=actor_from_request(request),
            title=payload.title,
            description=payload.description,
            impact=payload.impact,
            urgency=payload.urgency,
            source=payload.source,
            reporter=_person(payload.reporter, "reporter"),
            reporter_name=payload.reporter_name,
            reporter_email=payload.reporter_email,
            service=_service(payload.service),
            affected_services=[
                _service(s, "affected_services") for s in dict.fromkeys(payload.affected_services)
            ],
            category=_category(payload.category, "category"),
            subcategory=_category(payload.subcategory, "subcategory"),
            assignee=_person(payload.assignee, "assignee"),
            team=_team(payload.team),
            support_level=payload.support_level,
            priority=payload.priority,
            priority_reason=payload.priority_reason,
            detected_at=payload.detected_at,
            impact_started_at=payload.impact_started_at,
        )
        return _fresh(user, incident)

    return idempotent_create(request, create)


@router.get("/incidents/{ref}", response={200: IncidentOut, **ERRORS}, exclude_unset=True)
def get_incident(request: HttpRequest, ref: IncidentRef) -> dict[str, Any]:
    user = user_from_request(request)
    return incident_json(selectors.access_incident(user, ref), user)


TRIAGE_LINKS: dict[str, Callable[[Any], Any]] = {
    "service": _service,
    "category": lambda v: _category(v, "category"),
    "subcategory": lambda v: _category(v, "subcategory"),
}


@router.patch("/incidents/{ref}", response={200: IncidentOut, **ERRORS}, exclude_unset=True)
def patch_incident(
    request: HttpRequest, ref: IncidentRef, payload: IncidentPatchIn
) -> dict[str, Any]:
    """Triage fields (incident_update) and assignee/team (incident_assign), together."""
    user = user_from_request(request)
    actor = actor_from_request(request)
    incident = selectors.access_incident(user, ref)
    sent = payload.model_dump(exclude_unset=True)
    note = sent.pop("note", "")
    priority_reason = sent.pop("priority_reason", "")
    assign = {name: sent.pop(name) for name in ("assignee", "team") if name in sent}
    changes: dict[str, Any] = {}
    for name, value in sent.items():
        if name in TRIAGE_LINKS:
            changes[name] = TRIAGE_LINKS[name](value)
        elif name == "affected_services":
            ids = dict.fromkeys(value or [])
            changes[name] = [_service(s, "affected_services") for s in ids]
        elif value is None and name not in ("priority", "detected_at", "impact_started_at"):
            raise Invalid(name, "must not be null")
        else:
            changes[name] = value
    with transaction.atomic():
        incident = services.incident_update(
            incident=incident, actor=actor, changes=changes, priority_reason=priority_reason
        )
        if assign:
            services.incident_assign(
                incident=incident,
                actor=actor,
                assignee=_person(assign.get("assignee"), "assignee"),
                team=_team(assign.get("team")),
                set_assignee="assignee" in assign,
                set_team="team" in assign,
                note=note,
            )
    return _fresh(user, incident)


def _action_route(action: str) -> None:
    schema = ResolveIn if action in ("resolve", "close") else ActionIn

    def act(request: HttpRequest, ref: IncidentRef, payload: Any = None) -> dict[str, Any]:
        user = user_from_request(request)
        incident = selectors.access_incident(user, ref)
        body = payload or schema()
        extra = (
            {"resolution_code": body.resolution_code, "resolution_notes": body.resolution_notes}
            if isinstance(body, ResolveIn)
            else {}
        )
        incident = services.incident_act(
            incident=incident,
            actor=actor_from_request(request),
            action=action,
            note=body.note,
            **extra,
        )
        return _fresh(user, incident)

    act.__annotations__["payload"] = schema | None
    act.__name__ = f"incident_{action}"
    act.__doc__ = f"{action.capitalize()} the incident (see the lifecycle table)."
    router.post(
        f"/incidents/{{ref}}/{action}",
        response={200: IncidentOut, **ERRORS},
        exclude_unset=True,
        operation_id=f"incident_{action}",
        url_name=f"incident_{action}",
    )(act)


for _action in ACTIONS:
    _action_route(_action)


@router.post("/incidents/{ref}/escalate", response={200: IncidentOut, **ERRORS}, exclude_unset=True)
def escalate_incident(
    request: HttpRequest, ref: IncidentRef, payload: EscalateIn
) -> dict[str, Any]:
    user = user_from_request(request)
    incident = services.incident_escalate(
        incident=selectors.access_incident(user, ref),
        actor=actor_from_request(request),
        support_level=payload.support_level,
        team=_team(payload.team),
        note=payload.note,
    )
    return _fresh(user, incident)


@router.post("/incidents/{ref}/mitigate", response={200: IncidentOut, **ERRORS}, exclude_unset=True)
def mitigate_incident(
    request: HttpRequest, ref: IncidentRef, payload: ActionIn | None = None
) -> dict[str, Any]:
    """Mark the incident mitigated: the impact has stopped, the fix may come later (staff;
    the first time only, 409 after; an extension of the action paths in DESIGN.md)."""
    user = user_from_request(request)
    incident = services.incident_mitigate(
        incident=selectors.access_incident(user, ref),
        actor=actor_from_request(request),
        note=(payload or ActionIn()).note,
    )
    return _fresh(user, incident)


@router.post("/incidents/{ref}/merge", response={200: IncidentOut, **ERRORS}, exclude_unset=True)
def merge_incident(request: HttpRequest, ref: IncidentRef, payload: MergeIn) -> dict[str, Any]:
    user = user_from_request(request)
    incident = selectors.access_incident(user, ref)
    into = lookup("into", lambda r: selectors.access_incident(user, r), payload.into)
    incident = services.incident_merge(
        incident=incident, into=into, actor=actor_from_request(request), note=payload.note
    )
    return _fresh(user, incident)


@router.post("/incidents/{ref}/confirm", response={200: IncidentOut, **ERRORS}, exclude_unset=True)
def confirm_incident(request: HttpRequest, ref: IncidentRef, payload: ConfirmIn) -> dict[str, Any]:
    """The reporter confirms the resolution (closes) or says it is not fixed (reopens)."""
    user = user_from_request(request)
    incident = services.incident_confirm(
        incident=selectors.access_incident(user, ref),
        actor=actor_from_request(request),
        accept=payload.accept,
        note=payload.note,
        token=payload.token,
    )
    return _fresh(user, incident)


# --- timeline -------------------------------------------------------------------------------


class TimelineQuery(Schema):
    order: Annotated[Text, one_of(TimelineOrder.values, "oldest (default) or newest first")] = (
        "oldest"
    )
    show: Annotated[
        Text,
        one_of(
            TimelineShow.values,
            "all; people (no entries by Tocsin or monitoring); notes (people's notes and "
            "comments); pinned (the highlights)",
        ),
    ] = "all"


@router.get("/incidents/{ref}/timeline", response={200: TimelineList, **ERRORS})
def list_timeline(
    request: HttpRequest, ref: IncidentRef, filters: Query[TimelineQuery], paging: Query[Paging]
) -> dict[str, Any]:
    """Oldest first unless `order=newest`. Reporters see public entries only."""
    user = user_from_request(request)
    incident = selectors.access_incident(user, ref)
    entries = selectors.timeline_for(user, incident, order=filters.order, show=filters.show)
    return page(entries, paging, lambda entry: entry_json(entry, user))


@router.post("/incidents/{ref}/timeline", response={201: TimelineEntryOut, **ERRORS})
def add_note(request: HttpRequest, ref: IncidentRef, payload: NoteIn) -> HttpResponse:
    """A note: staff notes are internal unless `visibility` is public; reporters' are public."""
    user = user_from_request(request)
    incident = selectors.access_incident(user, ref)
    return idempotent_create(
        request,
        lambda: entry_json(
            services.incident_add_note(
                incident=incident,
                actor=actor_from_request(request),
                text=payload.text,
                visibility=payload.visibility,
            ),
            user,
        ),
    )


@router.post(
    "/incidents/{ref}/timeline/{entry_id}/redact", response={200: TimelineEntryOut, **ERRORS}
)
def redact_entry(request: HttpRequest, ref: IncidentRef, entry_id: Id) -> dict[str, Any]:
    """An administrator blanks the entry's text; the entry and the redactor remain."""
    user = user_from_request(request)
    entry = selectors.access_timeline_entry(user, ref, entry_id)
    entry = services.timeline_redact(entry=entry, actor=actor_from_request(request))
    return entry_json(entry, user)


@router.post("/incidents/{ref}/timeline/{entry_id}/pin", response={200: TimelineEntryOut, **ERRORS})
def pin_entry(request: HttpRequest, ref: IncidentRef, entry_id: Id) -> dict[str, Any]:
    """Pin the entry as a highlight (staff who may triage the incident; it feeds the
    postmortem). Pinning a pinned entry changes nothing."""
    user = user_from_request(request)
    entry = selectors.access_timeline_entry(user, ref, entry_id)
    entry = services.timeline_pin(entry=entry, actor=actor_from_request(request), pinned=True)
    return entry_json(entry, user)


@router.post(
    "/incidents/{ref}/timeline/{entry_id}/unpin", response={200: TimelineEntryOut, **ERRORS}
)
def unpin_entry(request: HttpRequest, ref: IncidentRef, entry_id: Id) -> dict[str, Any]:
    """Take the entry off the highlights."""
    user = user_from_request(request)
    entry = selectors.access_timeline_entry(user, ref, entry_id)
    entry = services.timeline_pin(entry=entry, actor=actor_from_request(request), pinned=False)
    return entry_json(entry, user)


# --- attachments ----------------------------------------------------------------------------


@router.get("/incidents/{ref}/attachments", response={200: AttachmentList, **ERRORS})
def list_attachments(
    request: HttpRequest, ref: IncidentRef, paging: Query[Paging]
) -> dict[str, Any]:
    user = user_from_request(request)
    incident = selectors.access_incident(user, ref)
    return page(selectors.attachments_for(user, incident), paging, attachment_json)


@router.post("/incidents/{ref}/attachments", response={201: AttachmentOut, **ERRORS})
def add_attachment(
    request: HttpRequest,
    ref: IncidentRef,
    file: File[UploadedFile],
    visibility: str = Form("", max_length=20),
) -> HttpResponse:
    """Multipart upload: field `file`, optional `visibility` (internal or public)."""
    user = user_from_request(request)
    incident = selectors.access_incident(user, ref)
    return idempotent_create(
        request,
        lambda: attachment_json(
            services.incident_attach(
                incident=incident,
                actor=actor_from_request(request),
                upload=file,
                visibility=visibility or None,
            )
        ),
    )


@router.get("/incidents/{ref}/attachments/{attachment_id}", response={200: Any, **ERRORS})
def download_attachment(request: HttpRequest, ref: IncidentRef, attachment_id: Id) -> FileResponse:
    """The file itself, for those who may see the incident (and the attachment)."""
    user = user_from_request(request)
    attachment = selectors.access_attachment(user, ref, attachment_id)
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.filename,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
