"""The incident page's Response block (roles, war room, participants) and the settings
page for incident roles. Thin: forms parse, incidents.services.response writes, the
response selectors read and gate. Each incident form says what happened (or why not) as
a message and goes back to the block, as the Paging section does."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from tocsin.accounts.models import User
from tocsin.accounts.permissions import Action, can
from tocsin.accounts.selectors import user_by_username
from tocsin.core.actors import Actor
from tocsin.core.errors import Forbidden, Invalid, NotFound, TocsinError
from tocsin.core.web import apply_error, error_page, sentence
from tocsin.incidents import response_selectors as selectors
from tocsin.incidents import services
from tocsin.incidents.models import Incident, Status
from tocsin.incidents.response_forms import (
    IncidentRoleForm,
    ParticipantForm,
    RoleAssignForm,
    WarRoomForm,
    people_choices,
)

ANCHOR = "panel-response"
FIELD_LABELS = {
    "user": "Person",
    "username": "Person",
    "role": "Role",
    "chat_url": "Chat channel",
    "video_url": "Video bridge",
    "note": "Note",
}


def response_context(user: Any, incident: Incident) -> dict[str, Any]:
    """What the Response block shows this person (nothing for who may not see it)."""
    if not can(user, Action.DESK_VIEW):
        return {}
    seats = selectors.role_seats(incident)
    held: dict[int, list[str]] = {}
    for seat in seats:
        if seat.holder is not None:
            held.setdefault(seat.holder.user_id, []).append(seat.incident_role.name)
    participants = [
        {"participant": p, "roles": held.get(p.user_id, [])}
        for p in selectors.participant_list(incident)
    ]
    can_assign = incident.status != Status.CLOSED and can(user, Action.INCIDENT_ASSIGN, incident)
    context: dict[str, Any] = {
        "response": {
            "seats": seats,
            "participants": participants,
            "can_assign": can_assign,
            "can_take": can_assign and can(user, Action.INCIDENT_BE_ASSIGNED),
            "can_war_room": incident.status != Status.CLOSED
            and can(user, Action.INCIDENT_TRIAGE, incident),
        }
    }
    if can_assign:
        people = people_choices()  # one query for both forms
        context["response"]["assign_form"] = RoleAssignForm(people=people)
        context["response"]["participant_form"] = ParticipantForm(people=people)
    if context["response"]["can_war_room"]:
        context["response"]["war_room_form"] = WarRoomForm(
            initial={"chat_url": incident.chat_url, "video_url": incident.video_url}
        )
    return context


def _back(incident: Incident) -> HttpResponse:
    return redirect(reverse("incident", kwargs={"ref": incident.ref}) + f"#{ANCHOR}")


def _say_error(request: HttpRequest, exc: TocsinError) -> None:
    if isinstance(exc, Invalid):
        label = FIELD_LABELS.get(exc.field, exc.field.replace("_", " ").capitalize())
        messages.error(request, sentence(exc.detail, label))
    else:
        messages.error(request, sentence(exc.message))


def _form_errors(request: HttpRequest, form: Any) -> None:
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else sentence(error))


def _incident(request: HttpRequest, ref: str) -> Incident | HttpResponse:
    try:
        # 404 for anyone but staff, the incident's reporter included
        return selectors.access_response(request.user, ref)  # type: ignore[arg-type]
    except TocsinError as exc:
        return error_page(request, exc)


def _person(username: str) -> User:
    try:
        return user_by_username(username)
    except NotFound:
        raise Invalid("username", f"no person with username {username!r}") from None


@login_required
@require_POST
def role_assign_view(request: HttpRequest, ref: str) -> HttpResponse:
    incident = _incident(request, ref)
    if isinstance(incident, HttpResponse):
        return incident
    form = RoleAssignForm(request.POST)
    if not form.is_valid():
        if not can(request.user, Action.INCIDENT_ASSIGN, incident):
            return error_page(request, _forbidden("assign incident roles"))
        _form_errors(request, form)
        return _back(incident)
    data = form.cleaned_data
    try:
        role = selectors.incident_role_by_key(data["incident_role"])
        person = _person(data["username"])
        services.role_assign(
            incident=incident,
            role=role,
            user=person,
            actor=Actor.for_request(request),
            note=data["note"].strip(),
        )
    except TocsinError as exc:
        if exc.status == 403:
            return error_page(request, exc)
        _say_error(request, exc)
    else:
        messages.success(request, f"{role.name}: {person.display_name}.")
    return _back(incident)


def _forbidden(what: str) -> TocsinError:
    return Forbidden(f"your role may not {what}")


@login_required
@require_POST
def role_release_view(request: HttpRequest, ref: str, role_key: str) -> HttpResponse:
    incident = _incident(request, ref)
    if isinstance(incident, HttpResponse):
        return incident
    try:
        role = selectors.incident_role_by_key(role_key)
        holder = services.role_holder(incident, role.key)
        services.role_release(incident=incident, role=role, actor=Actor.for_request(request))
    except TocsinError as exc:
        if exc.status in (403, 404):
            return error_page(request, exc)
        _say_error(request, exc)
    else:
        if holder is not None:
            messages.success(request, f"{role.name}: {holder.user.display_name} stepped down.")
    return _back(incident)


@login_required
@require_POST
def participant_add_view(request: HttpRequest, ref: str) -> HttpResponse:
    incident = _incident(request, ref)
    if isinstance(incident, HttpResponse):
        return incident
    if not can(request.user, Action.INCIDENT_ASSIGN, incident):
        return error_page(request, _forbidden("add participants"))
    form = ParticipantForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(incident)
    try:
        person = _person(form.cleaned_data["username"])
        services.participant_invite(
            incident=incident, user=person, actor=Actor.for_request(request)
        )
    except TocsinError as exc:
        if exc.status == 403:
            return error_page(request, exc)
        _say_error(request, exc)
    else:
        messages.success(request, f"{person.display_name} joined the response.")
    return _back(incident)


@login_required
@require_POST
def war_room_view(request: HttpRequest, ref: str) -> HttpResponse:
    incident = _incident(request, ref)
    if isinstance(incident, HttpResponse):
        return incident
    if not can(request.user, Action.INCIDENT_TRIAGE, incident):
        return error_page(request, _forbidden("change the war room"))
    form = WarRoomForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(incident)
    try:
        services.incident_war_room_set(
            incident=incident,
            actor=Actor.for_request(request),
            chat_url=form.cleaned_data["chat_url"],
            video_url=form.cleaned_data["video_url"],
        )
    except TocsinError as exc:
        if exc.status == 403:
            return error_page(request, exc)
        _say_error(request, exc)
    else:
        messages.success(request, "War room saved.")
    return _back(incident)


# --- settings: incident roles -------------------------------------------------------------

FOR_ADMINISTRATORS = "The settings are for administrators."


def _refused(request: HttpRequest) -> HttpResponse | None:
    if can(request.user, Action.CONFIG_MANAGE):
        return None
    return render(request, "403.html", {"message": FOR_ADMINISTRATORS}, status=403)


def _roles_page(
    request: HttpRequest,
    new_form: IncidentRoleForm,
    status: int = 200,
    failed: int | None = None,
    failed_form: IncidentRoleForm | None = None,
) -> HttpResponse:
    rows = []
    for role in selectors.incident_role_list(archived=True):
        form = (
            failed_form
            if failed == role.pk and failed_form is not None
            else IncidentRoleForm(
                initial={
                    "name": role.name,
                    "description": role.description,
                    "position": role.position,
                },
                prefix=f"r{role.pk}",
            )
        )
        rows.append({"incident_role": role, "form": form})
    return render(
        request,
        "incidents/settings_roles.html",
        {"rows": rows, "new_form": new_form, "failed": failed},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def roles_settings(request: HttpRequest) -> HttpResponse:
    """The role catalogue; POST adds a role."""
    if refused := _refused(request):
        return refused
    form = IncidentRoleForm(request.POST or None, prefix="new")
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                role = services.incident_role_create(
                    name=data["name"],
                    description=data["description"],
                    position=data["position"],
                    actor=Actor.for_request(request),
                )
            except Invalid as exc:
                apply_error(form, exc)
            else:
                messages.success(request, f"Role {role.name} added.")
                return redirect("settings-roles")
        return _roles_page(request, form, status=422)
    return _roles_page(request, form)


@login_required
@require_POST
def role_settings(request: HttpRequest, role_id: int) -> HttpResponse:
    """Save one role (name, description, position), or archive / restore it."""
    if refused := _refused(request):
        return refused
    try:
        role = selectors.incident_role_get(role_id)
    except TocsinError as exc:
        return error_page(request, exc)
    actor = Actor.for_request(request)
    if "archive" in request.POST or "restore" in request.POST:
        try:
            role = services.incident_role_update(
                role=role, archived="archive" in request.POST, actor=actor
            )
        except Invalid as exc:
            messages.error(request, sentence(exc.detail, "Role"))
        else:
            done = "archived" if role.archived_at else "restored"
            messages.success(request, f"Role {role.name} {done}.")
        return redirect("settings-roles")
    form = IncidentRoleForm(request.POST, prefix=f"r{role.pk}")
    if form.is_valid():
        data = form.cleaned_data
        try:
            role = services.incident_role_update(
                role=role,
                name=data["name"],
                description=data["description"],
                position=data["position"],
                actor=actor,
            )
        except Invalid as exc:
            apply_error(form, exc)
        else:
            messages.success(request, f"Role {role.name} saved.")
            return redirect("settings-roles")
    return _roles_page(
        request, IncidentRoleForm(prefix="new"), status=422, failed=role.pk, failed_form=form
    )
