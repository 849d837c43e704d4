"""The UI of functional and hierarchical escalation (issue 11, point 4).

- The incident page's "Management" section (through `incidents.hooks.
  incident_page_sections`): the notices sent so far and the "Notify management" form,
  for staff. The form POSTs to `incident_notify_management`; a reporter gets 404.
- `/settings/escalation/`: the executive list (administrators) and each team's hand-off
  note template (administrators, and each team's manager for their teams).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from tocsin.accounts.models import HANDOFF_TEMPLATE_MAX, Team, User
from tocsin.accounts.permissions import Action, can, people_who_may
from tocsin.core.actors import Actor
from tocsin.core.errors import Invalid, NotFound, TocsinError
from tocsin.core.web import error_page, sentence
from tocsin.escalation import functional, hierarchy
from tocsin.escalation.models import ManagementTo
from tocsin.incidents.hooks import PageSection
from tocsin.incidents.models import Incident, Status
from tocsin.incidents.selectors import access_incident


class NotifyManagementForm(forms.Form):
    to = forms.ChoiceField(choices=ManagementTo.choices, label="Notify", initial="team_manager")
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=hierarchy.REASON_MAX,
        label="Reason",
        help_text="What management should know and why now.",
    )

    def __init__(self, *args: Any, user: User | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "mgmt-%s")
        super().__init__(*args, **kwargs)
        if user is not None and not can(user, Action.EXECUTIVES_NOTIFY):
            only = [(ManagementTo.TEAM_MANAGER, ManagementTo.TEAM_MANAGER.label)]
            self.fields["to"].choices = only  # type: ignore[attr-defined]


def management_section(user: User | None, incident: Incident) -> PageSection | None:
    """The "Management" block of the incident page, for staff."""
    if user is None or not can(user, Action.MANAGEMENT_NOTIFY, incident):
        return None
    team = hierarchy.team_of(incident)
    context: dict[str, Any] = {
        "management_notices": hierarchy.notices_for(incident),
        "management_team": team,
        # the settings page, for whoever may change something there
        "escalation_settings": can(user, Action.EXECUTIVES_MANAGE)
        or (team is not None and can(user, Action.TEAM_HANDOFF_EDIT, team)),
    }
    if incident.status != Status.CLOSED:
        context["management_form"] = NotifyManagementForm(user=user)
    return PageSection(template="escalation/incident_management.html", context=context)


@login_required
@require_POST
def incident_notify_management(request: HttpRequest, ref: str) -> HttpResponse:
    try:
        incident = access_incident(request.user, ref)  # type: ignore[arg-type]
        if not can(request.user, Action.MANAGEMENT_NOTIFY, incident):
            raise NotFound(f"no incident {incident.ref}")
    except TocsinError as exc:
        return error_page(request, exc)
    back = reverse("incident", kwargs={"ref": incident.ref}) + "#management"
    form = NotifyManagementForm(request.POST, user=request.user)  # type: ignore[arg-type]
    if not form.is_valid():
        for name, errors in form.errors.items():
            label = form.fields[name].label if name in form.fields else ""
            for error in errors:
                text = sentence(str(error))
                messages.error(request, f"{label}: {text}" if label else text)
        return redirect(back)
    try:
        notice = hierarchy.management_notify(
            incident=incident,
            to=form.cleaned_data["to"],
            reason=form.cleaned_data["reason"],
            actor=Actor.for_request(request),
        )
    except Invalid as exc:
        messages.error(request, f"{exc.field.capitalize()}: {sentence(exc.detail)}")
    except TocsinError as exc:
        messages.error(request, sentence(exc.message))
    else:
        who = ", ".join(notice.recipients) or "nobody reachable"
        messages.success(request, f"Management notified ({who}).")
    return redirect(back)


# --- /settings/escalation/ ---------------------------------------------------------------------


class ExecutivesForm(forms.Form):
    people = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="People on the list"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "exec-%s")
        super().__init__(*args, **kwargs)
        staff = people_who_may(Action.DESK_VIEW).order_by("username")
        self.fields["people"].choices = [  # type: ignore[attr-defined]
            (u.username, f"{u.display_name} ({u.username})") for u in staff
        ]


class HandoffForm(forms.Form):
    team = forms.IntegerField(widget=forms.HiddenInput)
    text = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=HANDOFF_TEMPLATE_MAX,
        label="Hand-off note template",
    )


def _editable_teams(user: User) -> list[Team]:
    teams = Team.objects.select_related("manager").order_by("name")
    return [t for t in teams if can(user, Action.TEAM_HANDOFF_EDIT, t)]


@login_required
@require_http_methods(["GET", "POST"])
def escalation_settings(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    admin = can(user, Action.EXECUTIVES_MANAGE)
    teams = _editable_teams(user)
    if not admin and not teams:
        return render(
            request,
            "403.html",
            {"message": "These settings are for administrators and team managers."},
            status=403,
        )
    actor = Actor.for_request(request)
    status = 200
    exec_form = ExecutivesForm(initial={"people": [u.username for u in hierarchy.executives()]})
    errors: dict[int, str] = {}
    if request.method == "POST":
        which = request.POST.get("form")
        if which == "executives" and admin:
            exec_form = ExecutivesForm(request.POST)
            if exec_form.is_valid():
                names = exec_form.cleaned_data["people"]
                people = list(User.objects.filter(username__in=names).order_by("username"))
                try:
                    hierarchy.executives_set(people=people, actor=actor)
                except TocsinError as exc:
                    exec_form.add_error(None, sentence(exc.message))
                else:
                    messages.success(request, f"Executive list saved: {len(people)} people.")
                    return redirect("settings-escalation")
            status = 422
        elif which == "handoff":
            form = HandoffForm(request.POST)
            team = None
            if form.is_valid():
                team = next((t for t in teams if t.pk == form.cleaned_data["team"]), None)
            if team is None:
                return render(request, "404.html", {"message": "No such team."}, status=404)
            try:
                functional.handoff_template_set(
                    team=team, text=form.cleaned_data["text"], actor=actor
                )
            except TocsinError as exc:
                errors[team.pk] = sentence(exc.message)
                status = 422
            else:
                messages.success(request, f"Hand-off template of {team.name} saved.")
                return redirect(reverse("settings-escalation") + f"#team-{team.pk}")
        else:
            return render(request, "403.html", {"message": "Not yours to change."}, status=403)
    context = {
        "admin": admin,
        "exec_form": exec_form,
        "executives": hierarchy.executives(),
        "teams": [
            {
                "team": t,
                "form": HandoffForm(
                    initial={"team": t.pk, "text": t.handoff_template}, auto_id=f"team{t.pk}-%s"
                ),
                "error": errors.get(t.pk, ""),
            }
            for t in teams
        ],
    }
    return render(request, "escalation/settings_escalation.html", context, status=status)
