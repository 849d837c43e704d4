"""The incident page's "Paging" section and its forms: page now, escalate now, reassign.

The section is added through `tocsin.incidents.hooks.incident_page_sections` (see
escalation/wiring.py) and shown to people who may page (staff). Each form POSTs here;
the view calls the escalation service, says what happened (or why not) as a message and
goes back to the incident's section. A reporter gets 404, as for any incident they may
not see.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_POST

from tocsin.accounts.models import Team, User
from tocsin.accounts.permissions import Action, can
from tocsin.core.actors import Actor
from tocsin.core.errors import Invalid, NotFound, TocsinError
from tocsin.core.web import error_page, sentence
from tocsin.escalation import services
from tocsin.escalation.incident_selectors import (
    incident_paging,
    pageable_people,
    pageable_policies,
    pageable_schedules,
    pageable_teams,
)
from tocsin.escalation.models import EscalationPolicy
from tocsin.incidents.hooks import PageSection
from tocsin.incidents.models import Incident
from tocsin.incidents.selectors import access_incident
from tocsin.oncall.models import Schedule

ENDED = ("resolved", "closed")
NOTE_MAX = 1000
FIELD_LABELS = {
    "policy": "Escalation policy",
    "schedule": "Schedule",
    "team": "Team's on-call",
    "user": "Person",
    "person": "Person",
    "level": "Start at level",
    "target": "What to page",
}


class PageNowForm(forms.Form):
    policy = forms.TypedChoiceField(coerce=int, required=False, label="Escalation policy")
    schedule = forms.TypedChoiceField(coerce=int, required=False, label="Schedule")
    team = forms.TypedChoiceField(coerce=int, required=False, label="Team's on-call")
    user = forms.ChoiceField(required=False, label="Person")
    note = forms.CharField(required=False, max_length=NOTE_MAX, label="Note")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        none = [("", "—")]
        self.fields["policy"].choices = none + [(p.pk, p.name) for p in pageable_policies()]  # type: ignore[attr-defined]
        self.fields["schedule"].choices = none + [(s.pk, s.name) for s in pageable_schedules()]  # type: ignore[attr-defined]
        self.fields["team"].choices = none + [(t.pk, t.name) for t in pageable_teams()]  # type: ignore[attr-defined]
        self.fields["user"].choices = none + [  # type: ignore[attr-defined]
            (u.username, u.display_name) for u in pageable_people()
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        chosen = [
            n for n in ("policy", "schedule", "team", "user") if data.get(n) not in (None, "")
        ]
        if len(chosen) != 1:
            raise forms.ValidationError(
                "Choose exactly one to page: a policy, a schedule, a team or a person."
            )
        return data


class ReassignForm(forms.Form):
    policy = forms.TypedChoiceField(coerce=int, label="Escalation policy")
    level = forms.IntegerField(min_value=1, max_value=100, initial=1, label="Start at level")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["policy"].choices = [(p.pk, p.name) for p in pageable_policies()]  # type: ignore[attr-defined]


# --- the section ----------------------------------------------------------------------------


def paging_section(user: User | None, incident: Incident) -> PageSection | None:
    """The "Paging" block of the incident page, for people who may page."""
    if user is None or not can(user, Action.PAGE_SEND, incident):
        return None
    is_open = incident.status not in ENDED
    # Read only when the template shows the section (the page's live refresh builds the
    # same context but renders other parts).
    context: dict[str, Any] = {
        "paging": SimpleLazyObject(lambda: incident_paging(incident)),
        "paging_open": is_open,
    }
    if is_open:
        context["page_now_form"] = SimpleLazyObject(lambda: PageNowForm(auto_id="page-now-%s"))
        context["reassign_form"] = SimpleLazyObject(lambda: ReassignForm(auto_id="reassign-%s"))
    return PageSection(template="escalation/incident_paging.html", context=context)


# --- the forms' POSTs ---------------------------------------------------------------------------


def _form_errors(form: forms.Form) -> str:
    parts = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        for error in errors:
            parts.append(f"{label}: {error}" if label else sentence(str(error)))
    return " ".join(parts) or "Check the form."


def _act(request: HttpRequest, ref: str, write: Callable[[Incident, Actor], str]) -> HttpResponse:
    """Gate (404 unless the person may see and page for the incident), write, say what
    happened as a message, back to the Paging section."""
    try:
        incident = access_incident(request.user, ref)  # type: ignore[arg-type]
        if not can(request.user, Action.PAGE_SEND, incident):
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
    return redirect(reverse("incident", kwargs={"ref": incident.ref}) + "#paging")


def _lookup(model: Any, pk: Any, field: str, what: str) -> Any:
    if pk in (None, ""):
        return None
    found = model.objects.filter(pk=pk).first()
    if found is None:
        raise Invalid(field, f"no {what} has this id")
    return found


@login_required
@require_POST
def page_now_view(request: HttpRequest, ref: str) -> HttpResponse:
    def write(incident: Incident, actor: Actor) -> str:
        form = PageNowForm(request.POST)
        if not form.is_valid():
            raise TocsinError(_form_errors(form))
        data = form.cleaned_data
        person = None
        if data.get("user"):
            person = User.objects.filter(username=data["user"]).first()
            if person is None:
                raise Invalid("person", "no one has this username")
        services.page_now(
            incident=incident,
            actor=actor,
            policy=_lookup(EscalationPolicy, data.get("policy"), "policy", "escalation policy"),
            schedule=_lookup(Schedule, data.get("schedule"), "schedule", "schedule"),
            team=_lookup(Team, data.get("team"), "team", "team"),
            user=person,
            note=data.get("note", "").strip(),
        )
        return f"Paging started for {incident.ref}; the first page goes out within seconds."

    return _act(request, ref, write)


@login_required
@require_POST
def escalate_now_view(request: HttpRequest, ref: str) -> HttpResponse:
    def write(incident: Incident, actor: Actor) -> str:
        climb = services.escalate_now(incident=incident, actor=actor)
        return f"Level {climb.level + 1} of {climb.policy.name} is paged now."  # type: ignore[union-attr]

    return _act(request, ref, write)


@login_required
@require_POST
def reassign_view(request: HttpRequest, ref: str) -> HttpResponse:
    def write(incident: Incident, actor: Actor) -> str:
        form = ReassignForm(request.POST)
        if not form.is_valid():
            raise TocsinError(_form_errors(form))
        policy = _lookup(EscalationPolicy, form.cleaned_data["policy"], "policy", "policy")
        level = form.cleaned_data["level"]
        services.climb_reassign(incident=incident, actor=actor, policy=policy, level=level - 1)
        return f"Paging handed to {policy.name}, starting at level {level}."

    return _act(request, ref, write)
