"""Major incidents on the web: the incident page's "Major incident" section and its forms
(declare, stand down, tick the checklist), the settings page for administrators, and
the banner every staff page shows while a major incident is open.

The section is added through `incidents.hooks.incident_page_sections` (registered in
`register()`, called from comms/wiring.py); the banner through the context processor
`major_banner` (settings.TEMPLATES) and `comms/major_banner.html` in base.html.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_http_methods, require_POST

from tocsin.accounts.models import User
from tocsin.accounts.permissions import Action, can
from tocsin.catalog.models import Service
from tocsin.comms import major
from tocsin.core.actors import Actor
from tocsin.core.errors import Invalid, NotFound, TocsinError
from tocsin.core.web import error_page, sentence
from tocsin.escalation.models import EscalationPolicy
from tocsin.incidents import hooks as incident_hooks
from tocsin.incidents.hooks import PageSection
from tocsin.incidents.models import Incident
from tocsin.incidents.selectors import access_incident
from tocsin.incidents.services import major_declare, major_stand_down
from tocsin.oncall.models import Schedule

FOR_ADMINISTRATORS = "The settings are for administrators."
FIELD_LABELS = {
    "policy": "Major-incident policy",
    "commander_schedule": "Commander rota",
    "commander_minutes": "Commander within (minutes)",
    "checklist": "Checklist",
    "p2_services": "P2 is major on",
    "reason": "Reason",
}


def register() -> None:
    incident_hooks.register(incident_hooks.on_created, major.declare_on_created)
    incident_hooks.register(incident_hooks.on_priority_changed, major.declare_on_priority_changed)
    incident_hooks.register(incident_hooks.on_service_changed, major.declare_on_service_changed)
    incident_hooks.register(incident_hooks.on_major_declared, major.on_declared)
    incident_hooks.register(incident_hooks.incident_page_sections, major_section)


# --- the banner ------------------------------------------------------------------------------


def _banner_majors(request: HttpRequest) -> list[major.OpenMajor]:
    cached = getattr(request, "_tocsin_open_majors", None)
    if cached is None:
        cached = major.open_majors()
        request._tocsin_open_majors = cached  # type: ignore[attr-defined]
    return cached


def major_banner(request: HttpRequest) -> dict[str, Any]:
    """Context processor: `major_incidents`, the open major incidents, for staff only and
    never on the public status page; read lazily (only a page that shows the banner asks)
    and once per request."""
    user = getattr(request, "user", None)
    if request.path.startswith("/status/") or not can(user, Action.DESK_VIEW):
        return {"major_incidents": ()}
    return {"major_incidents": SimpleLazyObject(lambda: _banner_majors(request))}


# --- the incident page's section -------------------------------------------------------------


class DeclareForm(forms.Form):
    reason = forms.CharField(
        required=False, max_length=major.REASON_MAX, label="Reason", strip=True
    )


def major_section(user: User | None, incident: Incident) -> PageSection | None:
    if user is None or not can(user, Action.MAJOR_RESPOND, incident):
        return None
    context: dict[str, Any] = {
        "major_state": SimpleLazyObject(lambda: major.major_state(incident)),
        "major_may_declare": incident.is_open and can(user, Action.INCIDENT_ESCALATE, incident),
    }
    return PageSection(template="comms/major_section.html", context=context)


def _act(request: HttpRequest, ref: str, write: Callable[[Incident, Actor], str]) -> HttpResponse:
    """404 unless the person may see the incident and run its major-incident response;
    write; say what happened; back to the section."""
    try:
        incident = access_incident(request.user, ref)  # type: ignore[arg-type]
        if not can(request.user, Action.MAJOR_RESPOND, incident):
            raise NotFound(f"no incident {incident.ref}")
    except TocsinError as exc:
        return error_page(request, exc)
    try:
        done = write(incident, Actor.for_request(request))
    except Invalid as exc:
        label = FIELD_LABELS.get(exc.field, exc.field.replace("_", " ").capitalize())
        messages.error(request, f"{label}: {sentence(exc.detail)}")
    except TocsinError as exc:
        messages.error(request, sentence(exc.message))
    else:
        messages.success(request, done)
    return redirect(reverse("incident", kwargs={"ref": incident.ref}) + "#major")


def _reason(request: HttpRequest) -> str:
    form = DeclareForm(request.POST)
    if not form.is_valid():
        raise Invalid("reason", f"at most {major.REASON_MAX} characters")
    return str(form.cleaned_data["reason"])


@login_required
@require_POST
def declare_view(request: HttpRequest, ref: str) -> HttpResponse:
    def write(incident: Incident, actor: Actor) -> str:
        if incident.major_declared_at is not None:
            return f"{incident.ref} is already a major incident."
        major_declare(incident=incident, actor=actor, reason=_reason(request))
        return f"{incident.ref} is now a major incident."

    return _act(request, ref, write)


@login_required
@require_POST
def stand_down_view(request: HttpRequest, ref: str) -> HttpResponse:
    def write(incident: Incident, actor: Actor) -> str:
        if incident.major_declared_at is None:
            return f"{incident.ref} is not a major incident."
        major_stand_down(incident=incident, actor=actor, reason=_reason(request))
        return f"{incident.ref} is no longer a major incident."

    return _act(request, ref, write)


@login_required
@require_POST
def checklist_view(request: HttpRequest, ref: str, position: int) -> HttpResponse:
    def write(incident: Incident, actor: Actor) -> str:
        done = request.POST.get("done")
        if done not in ("yes", "no"):
            raise Invalid("done", "choose yes or no")
        item = major.checklist_tick(
            incident=incident, position=position - 1, done=done == "yes", actor=actor
        )
        return f"{'Done' if item.done_at else 'Not done'}: {item.text}."

    return _act(request, ref, write)


# --- settings (administrators) -----------------------------------------------------------


class MajorSettingsForm(forms.Form):
    policy = forms.TypedChoiceField(
        coerce=int,
        required=False,
        empty_value=None,
        label="Major-incident policy",
        help_text="Paged the moment an incident is declared major.",
    )
    commander_schedule = forms.TypedChoiceField(
        coerce=int,
        required=False,
        empty_value=None,
        label="Commander rota",
        help_text="Paged when nobody holds the commander role in time.",
    )
    commander_minutes = forms.IntegerField(
        min_value=1,
        max_value=major.MINUTES_MAX,
        label="Commander within (minutes)",
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    checklist = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 7}),
        label="Checklist",
        help_text="One item a line, in order; each declared incident gets a copy.",
    )
    p2_services = forms.TypedMultipleChoiceField(
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="P2 is major on these services",
        help_text="A P1 is always major.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        none = [("", "— none —")]
        self.fields["policy"].choices = none + [  # type: ignore[attr-defined]
            (p.pk, p.name)
            for p in EscalationPolicy.objects.filter(archived_at__isnull=True).order_by("name")
        ]
        self.fields["commander_schedule"].choices = none + [  # type: ignore[attr-defined]
            (s.pk, s.name)
            for s in Schedule.objects.filter(archived_at__isnull=True).order_by("name")
        ]
        self.fields["p2_services"].choices = [  # type: ignore[attr-defined]
            (s.pk, s.name) for s in Service.objects.order_by("name")
        ]


def _initial() -> dict[str, Any]:
    current = major.major_settings()
    return {
        "policy": current.policy_id,
        "commander_schedule": current.commander_schedule_id,
        "commander_minutes": current.commander_minutes,
        "checklist": "\n".join(current.checklist),
        "p2_services": [s.pk for s in major.p2_rule_services()],
    }


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest) -> HttpResponse:
    if not can(request.user, Action.CONFIG_MANAGE):
        return render(request, "403.html", {"message": FOR_ADMINISTRATORS}, status=403)
    if request.method == "POST":
        form = MajorSettingsForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                major.major_settings_set(
                    actor=Actor.for_request(request),
                    policy=EscalationPolicy.objects.filter(pk=data["policy"]).first()
                    if data["policy"]
                    else None,
                    commander_schedule=Schedule.objects.filter(
                        pk=data["commander_schedule"]
                    ).first()
                    if data["commander_schedule"]
                    else None,
                    commander_minutes=data["commander_minutes"],
                    checklist=data["checklist"].splitlines(),
                    p2_services=list(Service.objects.filter(pk__in=data["p2_services"])),
                )
            except Invalid as exc:
                field = exc.field if exc.field in form.fields else None
                form.add_error(field, sentence(exc.detail))
            else:
                messages.success(request, "Major-incident settings saved.")
                return redirect("settings-major")
    else:
        form = MajorSettingsForm(initial=_initial())
    status = 422 if form.is_bound and form.errors else 200
    return render(request, "comms/major_settings.html", {"form": form}, status=status)
