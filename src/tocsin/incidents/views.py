"""The incident pages. Thin: forms parse, services write, selectors read and gate."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from tocsin.accounts.models import User
from tocsin.accounts.permissions import Action, can
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.core.errors import Conflict, Invalid, NotFound, TocsinError
from tocsin.core.web import apply_error, error_page, sentence, staff_required
from tocsin.incidents import hooks, selectors, services
from tocsin.incidents.forms import (
    HIGHER_NUDGE,
    ActionForm,
    AssignForm,
    AttachmentForm,
    ConfirmForm,
    EscalateForm,
    IncidentCreateForm,
    MergeForm,
    NoteForm,
    TriageForm,
)
from tocsin.incidents.lifecycle import allowed_actions
from tocsin.incidents.models import Incident, Level, Status, Visibility
from tocsin.incidents.priority import matrix
from tocsin.incidents.response_views import response_context
from tocsin.incidents.sla import Targets, sla_state
from tocsin.incidents.templatetags.tocsin_ui import sla_display
from tocsin.incidents.timeline_views import timeline_context

PAGE_SIZE = 25
INCIDENT_REFRESH_SECONDS = 20

# The flash after an action: "INC-80 resolved".
ACTION_DONE = {
    "acknowledge": "acknowledged",
    "unacknowledge": "unacknowledged",
    "start": "in progress",
    "hold": "put on hold",
    "resume": "resumed",
    "resolve": "resolved",
    "close": "closed",
    "reopen": "reopened",
}

# Where each incident form lives on the page (the error summary links there).
FORM_ANCHORS = {
    "triage": "panel-triage",
    "assign": "panel-assign",
    "escalate": "panel-escalate",
    "merge": "panel-merge",
    "note": "note-form",
    "attach": "panel-files",
    "confirm": "confirm-box",
    "take": "actions",
}

ACTION_LABELS = {
    "acknowledge": "Acknowledge",
    "unacknowledge": "Unacknowledge",
    "start": "Start work",
    "hold": "Put on hold",
    "resume": "Resume",
    "resolve": "Resolve",
    "close": "Close",
    "reopen": "Reopen",
}


def _actor(request: HttpRequest) -> Actor:
    return Actor.for_user(request.user, getattr(request, "request_id", ""))


# --- SLA presentation ------------------------------------------------------------


def sla_views(incident: Incident, at: dt.datetime, targets: Targets) -> dict[str, Any]:
    state = sla_state(incident, at, targets)
    target = targets[incident.priority]
    result: dict[str, Any] = {}
    for name, total in (
        ("response", target.response_seconds),
        ("resolution", target.resolution_seconds),
    ):
        view = sla_display(state[name], total, at)
        view.update(total=total, due_at=state[name]["due_at"], met_at=state[name]["met_at"])
        view["clock"] = target.calendar.name if target.calendar else ""  # "": 24×7
        result[name] = view
    return result


# --- creating ------------------------------------------------------------------


def _attach_all(incident: Incident, actor: Actor, files: list[Any]) -> None:
    for upload in files:
        services.incident_attach(incident=incident, actor=actor, upload=upload)


@transaction.atomic
def _file_incident(actor: Actor, files: list[Any], **fields: Any) -> Incident:
    """The incident and its files land together or not at all."""
    incident = services.incident_create(actor=actor, **fields)
    _attach_all(incident, actor, files)
    return incident


def _matrix_json() -> str:
    return json.dumps({str(u): {str(i): p for i, p in row.items()} for u, row in matrix().items()})


@staff_required
@require_http_methods(["GET", "POST"])
def incident_new(request: HttpRequest) -> HttpResponse:
    form = IncidentCreateForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            actor = _actor(request)
            try:
                incident = _file_incident(
                    actor,
                    data["attachments"],
                    title=data["title"],
                    description=data["description"],
                    impact=data["impact"],
                    urgency=data["urgency"],
                    source=data["source"],
                    reporter=data["reporter"],
                    reporter_name=data["reporter_name"],
                    reporter_email=data["reporter_email"],
                    service=data["service"],
                    affected_services=data["affected_services"],
                    category=data["category"],
                    subcategory=data["subcategory"],
                    assignee=data["assignee"],
                    team=data["team"],
                )
            except Invalid as exc:
                apply_error(form, exc)
            except TocsinError as exc:
                return error_page(request, exc)
            else:
                messages.success(request, f"{incident.ref} created")
                return redirect("incident", ref=incident.ref)
    matrix_now = matrix()
    preview = matrix_now[Level.MEDIUM][Level.MEDIUM]
    if form.is_bound and form.is_valid():
        preview = matrix_now[form.cleaned_data["urgency"]][form.cleaned_data["impact"]]
    return render(
        request,
        "incidents/new.html",
        {
            "form": form,
            "matrix_json": _matrix_json(),
            "preview_priority": preview,
            "nudge": HIGHER_NUDGE,
            **hooks.new_incident_context(request.user),  # e.g. suggested articles
        },
        status=status,
    )


# --- the incident page -----------------------------------------------------------


# The order actions are offered in; the first one offered is the primary button.
ACTION_ORDER = (
    "acknowledge",
    "start",
    "resume",
    "resolve",
    "close",
    "hold",
    "unacknowledge",
    "reopen",
)


def _actions_for(user: Any, incident: Incident) -> list[dict[str, Any]]:
    if not can(user, Action.DESK_VIEW):
        return []  # reporters use the "Is your problem solved?" box
    allowed = set(allowed_actions(incident.status))
    result = [
        {"name": action, "label": ACTION_LABELS[action], "primary": False}
        for action in ACTION_ORDER
        if action in allowed and can(user, f"incident.{action}", incident)
    ]
    if result:
        result[0]["primary"] = True
    return result


def _incident_context(
    request: HttpRequest, incident: Incident, bound: dict[str, forms.Form] | None = None
) -> dict[str, Any]:
    user = request.user
    bound = bound or {}
    staff = can(user, Action.TIMELINE_INTERNAL_VIEW)
    at = now()
    actions = _actions_for(user, incident)
    for action in actions:
        action["form"] = bound.get(f"action-{action['name']}") or ActionForm(
            action=action["name"], prefix=action["name"]
        )
    editable = incident.status != Status.CLOSED
    triage_initial = {
        "category": incident.category_id,
        "subcategory": incident.subcategory_id,
        "impact": incident.impact,
        "urgency": incident.urgency,
        "service": incident.service_id,
        "priority": incident.priority if incident.priority_override_reason else None,
        "priority_reason": incident.priority_override_reason,
    }
    context: dict[str, Any] = {
        "incident": incident,
        "staff": staff,
        "can_redact": can(user, Action.INCIDENT_REDACT),
        "is_reporter": can(user, Action.INCIDENT_CONFIRM, incident),
        "sla": sla_views(incident, at, Targets()),
        "attachments": selectors.attachments_for(user, incident),  # type: ignore[arg-type]
        "actions": actions,
        "editable": editable,
        "note_form": bound.get("note") or NoteForm(),
        "attach_form": bound.get("attach") or AttachmentForm(),
        "refresh_seconds": INCIDENT_REFRESH_SECONDS,
        "live_url": reverse("incident-live", kwargs={"ref": incident.ref}),
        "matrix_json": _matrix_json(),
        "nudge": HIGHER_NUDGE,
    }
    context.update(timeline_context(user, incident))  # timeline, its order and filter
    if staff and editable:
        context["triage_form"] = bound.get("triage") or TriageForm(initial=triage_initial)
        context["assign_form"] = bound.get("assign") or AssignForm(
            initial={"assignee": incident.assignee_id, "team": incident.team_id}
        )
    if staff and incident.is_open:
        context["escalate_form"] = bound.get("escalate") or EscalateForm(
            incident_team=incident.team
        )
        if can(user, Action.INCIDENT_MERGE):
            context["merge_form"] = bound.get("merge") or MergeForm()
    # Mark mitigated: while open and not yet mitigated; the page shows the time after.
    context["can_mitigate"] = (
        staff
        and incident.is_open
        and incident.mitigated_at is None
        and can(user, Action.INCIDENT_MITIGATE, incident)
    )
    context["can_take"] = (
        staff
        and editable
        and incident.assignee_id != user.pk
        and can(user, Action.INCIDENT_ASSIGN, incident)
        and can(user, Action.INCIDENT_BE_ASSIGNED)
    )
    if staff:
        context["previous_incident"], context["next_incident"] = selectors.incident_neighbours(
            user,  # type: ignore[arg-type]
            incident,
        )
    if context["is_reporter"] and incident.status == Status.RESOLVED:
        context["confirm_form"] = bound.get("confirm") or ConfirmForm()
    context.update(response_context(user, incident))  # roles, war room, participants
    # Sections other apps add (e.g. the alerts table): each template sees its own context.
    sections = hooks.page_sections(user if isinstance(user, User) else None, incident)
    for section in sections:
        context.update(section.context)
    context["page_sections"] = sections
    if not staff:  # sections for the reporter (e.g. articles that may help)
        context.update(hooks.reporter_page_context(user, incident))
    return context


def _rerender(
    request: HttpRequest, incident: Incident, name: str, form: forms.Form, status: int = 422
) -> HttpResponse:
    incident = selectors.access_incident(request.user, incident.number)  # type: ignore[arg-type]
    context = _incident_context(request, incident, {name: form})
    context["form_error"] = name
    context["error_form"] = form
    # The action may no longer be offered (someone else moved the incident first): its
    # errors then link to the actions bar.
    context["error_anchor"] = "actions" if name.startswith("action-") else FORM_ANCHORS[name]
    return render(request, "incidents/detail.html", context, status=status)


def _incident_or_error(request: HttpRequest, ref: str) -> Incident | HttpResponse:
    try:
        return selectors.access_incident(request.user, ref)  # type: ignore[arg-type]
    except TocsinError as exc:
        return error_page(request, exc)


@login_required
@require_GET
def incident_detail(request: HttpRequest, ref: str) -> HttpResponse:
    incident = _incident_or_error(request, ref)
    if isinstance(incident, HttpResponse):
        return incident
    if ref != incident.ref:
        return redirect("incident", ref=incident.ref)
    return render(request, "incidents/detail.html", _incident_context(request, incident))


@login_required
@require_GET
def incident_live(request: HttpRequest, ref: str) -> HttpResponse:
    """The parts of the incident page that refresh themselves."""
    incident = _incident_or_error(request, ref)
    if isinstance(incident, HttpResponse):
        return incident
    return render(request, "incidents/_detail_live.html", _incident_context(request, incident))


def _post_and_redirect(
    request: HttpRequest,
    ref: str,
    name: str,
    form: forms.Form,
    write: Callable[[Incident, dict[str, Any]], str],
) -> HttpResponse:
    """The shared shape of every incident form: gate, parse, write, redirect or re-render."""
    incident = _incident_or_error(request, ref)
    if isinstance(incident, HttpResponse):
        return incident
    if not form.is_valid():
        return _rerender(request, incident, name, form)
    try:
        message = write(incident, form.cleaned_data)
    except Invalid as exc:
        apply_error(form, exc)
        return _rerender(request, incident, name, form)
    except Conflict as exc:
        form.add_error(None, sentence(exc.message))
        return _rerender(request, incident, name, form, status=409)
    except TocsinError as exc:
        return error_page(request, exc)
    if message:
        messages.success(request, message)
    return redirect("incident", ref=incident.ref)


def _post_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """An incident form's URL: POST writes; anything else (a reload of the address bar
    after a failed form, a bookmarked link) is sent back to the incident page."""

    @wraps(view)
    def wrapper(request: HttpRequest, ref: str, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method != "POST":
            return redirect("incident", ref=ref)
        return view(request, ref, *args, **kwargs)

    return wrapper


@login_required
@_post_only
def incident_action(request: HttpRequest, ref: str, action: str) -> HttpResponse:
    if action not in ACTION_LABELS:
        return error_page(request, NotFound(f"no action {action!r}"))
    form = ActionForm(request.POST, action=action, prefix=action)

    def write(incident: Incident, data: dict[str, Any]) -> str:
        was_unassigned = incident.assignee_id is None
        after = services.incident_act(
            incident=incident,
            actor=_actor(request),
            action=action,
            note=data["note"],
            resolution_code=data["resolution_code"],
            resolution_notes=data["resolution_notes"],
        )
        if was_unassigned and after.assignee_id == request.user.pk:
            return f"{incident.ref} {ACTION_DONE[action]} and assigned to you"
        return f"{incident.ref} {ACTION_DONE[action]}"

    return _post_and_redirect(request, ref, f"action-{action}", form, write)


@login_required
@_post_only
def incident_mitigate(request: HttpRequest, ref: str) -> HttpResponse:
    """Mark mitigated: the impact has stopped (the first time only)."""
    form = forms.Form(request.POST)

    def write(incident: Incident, data: dict[str, Any]) -> str:
        services.incident_mitigate(incident=incident, actor=_actor(request))
        return f"{incident.ref} marked mitigated"

    return _post_and_redirect(request, ref, "action-mitigate", form, write)


@login_required
@_post_only
def incident_triage(request: HttpRequest, ref: str) -> HttpResponse:
    form = TriageForm(request.POST)

    def write(incident: Incident, data: dict[str, Any]) -> str:
        changes = {
            name: data[name] for name in ("category", "subcategory", "impact", "urgency", "service")
        }
        changes["priority"] = data["priority"]
        services.incident_update(
            incident=incident,
            actor=_actor(request),
            changes=changes,
            priority_reason=data["priority_reason"],
        )
        return f"{incident.ref} triage saved"

    return _post_and_redirect(request, ref, "triage", form, write)


@login_required
@_post_only
def incident_assign(request: HttpRequest, ref: str) -> HttpResponse:
    form = AssignForm(request.POST)

    def write(incident: Incident, data: dict[str, Any]) -> str:
        services.incident_assign(
            incident=incident,
            actor=_actor(request),
            assignee=data["assignee"],
            team=data["team"],
            set_assignee=True,
            set_team=True,
        )
        return _assigned_message(incident)

    return _post_and_redirect(request, ref, "assign", form, write)


def _assigned_message(incident: Incident) -> str:
    incident.refresh_from_db(fields=["assignee", "team"])
    who = incident.assignee.display_name if incident.assignee else "nobody"
    team = f" ({incident.team.name})" if incident.team else ""
    return f"{incident.ref} assigned to {who}{team}"


@login_required
@_post_only
def incident_take(request: HttpRequest, ref: str) -> HttpResponse:
    """One click: "Assign to me" (the team stays)."""
    form = forms.Form(request.POST)

    def write(incident: Incident, data: dict[str, Any]) -> str:
        services.incident_assign(
            incident=incident,
            actor=_actor(request),
            assignee=request.user,  # type: ignore[arg-type]  # signed in (login_required)
            set_assignee=True,
        )
        return f"{incident.ref} assigned to you"

    return _post_and_redirect(request, ref, "take", form, write)


@login_required
@_post_only
def incident_escalate(request: HttpRequest, ref: str) -> HttpResponse:
    form = EscalateForm(request.POST)

    def write(incident: Incident, data: dict[str, Any]) -> str:
        services.incident_escalate(
            incident=incident,
            actor=_actor(request),
            support_level=data["support_level"],
            team=data["team"],
            note=data["note"],
        )
        return f"{incident.ref} escalated"

    return _post_and_redirect(request, ref, "escalate", form, write)


@login_required
@_post_only
def incident_merge(request: HttpRequest, ref: str) -> HttpResponse:
    form = MergeForm(request.POST)

    def write(incident: Incident, data: dict[str, Any]) -> str:
        try:
            into = selectors.access_incident(request.user, data["into"])  # type: ignore[arg-type]
        except NotFound as exc:
            raise Invalid("into", exc.message) from None
        services.incident_merge(
            incident=incident, into=into, actor=_actor(request), note=data["note"]
        )
        return f"{incident.ref} merged into {into.ref}"

    return _post_and_redirect(request, ref, "merge", form, write)


@login_required
@_post_only
def incident_note(request: HttpRequest, ref: str) -> HttpResponse:
    form = NoteForm(request.POST)

    def write(incident: Incident, data: dict[str, Any]) -> str:
        visibility = None
        if can(request.user, Action.TIMELINE_INTERNAL_ADD):
            visibility = Visibility.PUBLIC if data["make_public"] else Visibility.INTERNAL
        services.incident_add_note(
            incident=incident, actor=_actor(request), text=data["text"], visibility=visibility
        )
        return ""

    return _post_and_redirect(request, ref, "note", form, write)


@login_required
@_post_only
def incident_attach(request: HttpRequest, ref: str) -> HttpResponse:
    form = AttachmentForm(request.POST, request.FILES)

    def write(incident: Incident, data: dict[str, Any]) -> str:
        actor = _actor(request)
        with transaction.atomic():
            _attach_all(incident, actor, data["files"])
        count = len(data["files"])
        return f"{count} file{'s' if count != 1 else ''} attached to {incident.ref}"

    return _post_and_redirect(request, ref, "attach", form, write)


@login_required
@_post_only
def incident_confirm(request: HttpRequest, ref: str) -> HttpResponse:
    form = ConfirmForm(request.POST)

    def write(incident: Incident, data: dict[str, Any]) -> str:
        services.incident_confirm(
            incident=incident, actor=_actor(request), accept=data["accept"], note=data["note"]
        )
        if data["accept"]:
            return "Thank you — the incident is closed."
        return "We have reopened the incident and will look at it again."

    return _post_and_redirect(request, ref, "confirm", form, write)


@login_required
@_post_only
def timeline_redact(request: HttpRequest, ref: str, entry_id: int) -> HttpResponse:
    try:
        entry = selectors.access_timeline_entry(request.user, ref, entry_id)  # type: ignore[arg-type]
        services.timeline_redact(entry=entry, actor=_actor(request))
    except TocsinError as exc:
        return error_page(request, exc)
    messages.success(request, f"Timeline entry of {entry.incident.ref} redacted")
    return redirect("incident", ref=entry.incident.ref)


@login_required
@require_GET
def attachment_download(
    request: HttpRequest, ref: str, attachment_id: int
) -> HttpResponse | FileResponse:
    try:
        attachment = selectors.access_attachment(request.user, ref, attachment_id)  # type: ignore[arg-type]
    except TocsinError as exc:
        return error_page(request, exc)
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.filename,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


# --- the reporter's signed link (no login) ------------------------------------------


def _incident_for_link(ref: str, token: str) -> Incident:
    """The incident a signed confirmation link names; the token is the access gate."""
    number = selectors.parse_ref(ref)
    incident = Incident.objects.select_related("reporter").filter(number=number).first()
    if incident is None:
        raise NotFound("this link is not valid")
    services.confirmation_check(incident, token)
    return incident


def _link_actor(request: HttpRequest) -> Actor | None:
    """Someone signed in acts as themselves; otherwise the service records the reporter."""
    if request.user.is_authenticated:
        return _actor(request)
    return None


@require_http_methods(["GET", "POST"])
def confirm_link(request: HttpRequest, ref: str, token: str) -> HttpResponse:
    try:
        incident = _incident_for_link(ref, token)
    except (NotFound, Invalid) as exc:
        message = exc.detail if isinstance(exc, Invalid) else exc.message
        return render(request, "404.html", {"message": message.capitalize() + "."}, status=404)
    form = ConfirmForm(request.POST or None)
    status = 200
    done = ""
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                services.incident_confirm(
                    incident=incident,
                    actor=_link_actor(request),
                    accept=form.cleaned_data["accept"],
                    note=form.cleaned_data["note"],
                    token=token,
                )
            except Invalid as exc:
                apply_error(form, exc)
            except Conflict as exc:
                form.add_error(None, exc.message)
                status = 409
            else:
                done = "closed" if form.cleaned_data["accept"] else "reopened"
                status = 200
                incident.refresh_from_db()
    return render(
        request,
        "incidents/confirm_link.html",
        {"incident": incident, "form": form, "done": done},
        status=status,
    )
