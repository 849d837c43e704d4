"""The incident page's "Responders" section, its forms, and the Accept/Decline page of a
responder page's signed link (escalation/responders.py has the rules).

- The section (registered in escalation/wiring.py) lists every request with each
  person's answer (accepted, declined, no answer, waiting), Accept/Decline buttons for
  the viewer's own pending asks (and for any ask, for an administrator), and the add
  form: people, teams, schedules and a message. Staff only; a reporter gets 404.
- The link page (`/p/<token>/` with action "respond", reached from link_views) shows the
  request and two buttons; only their POST acts, as the person asked.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_POST

from tocsin.accounts.models import Team, User
from tocsin.accounts.permissions import Action, can
from tocsin.core.actors import Actor, client_ip
from tocsin.core.errors import Invalid, NotFound, TocsinError
from tocsin.core.web import error_page, sentence
from tocsin.escalation import responders
from tocsin.escalation.models import AskState, Page, ResponderAsk
from tocsin.incidents.hooks import PageSection
from tocsin.incidents.models import Incident
from tocsin.incidents.selectors import access_incident
from tocsin.oncall.models import Schedule

FIELD_LABELS = {
    "users": "People",
    "teams": "Teams",
    "schedules": "Schedules",
    "message": "Message",
    "reason": "Reason",
    "answer": "Answer",
}


class AddRespondersForm(forms.Form):
    users = forms.MultipleChoiceField(required=False, label="People")
    teams = forms.TypedMultipleChoiceField(
        coerce=int, required=False, label="Teams", help_text="Whoever is on call for the team."
    )
    schedules = forms.TypedMultipleChoiceField(
        coerce=int, required=False, label="Schedules", help_text="Whoever is on call now."
    )
    message = forms.CharField(
        required=False,
        max_length=responders.MESSAGE_MAX,
        label="Message",
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = responders.responder_choices()
        self.fields["users"].choices = [  # type: ignore[attr-defined]
            (u.username, u.display_name) for u in choices["users"]
        ]
        self.fields["teams"].choices = [(t.pk, t.name) for t in choices["teams"]]  # type: ignore[attr-defined]
        self.fields["schedules"].choices = [  # type: ignore[attr-defined]
            (s.pk, s.name) for s in choices["schedules"]
        ]


# --- the section -------------------------------------------------------------------------


def responders_section(user: User | None, incident: Incident) -> PageSection | None:
    """The "Responders" block of the incident page, for staff."""
    if user is None or not can(user, Action.RESPONDER_ADD, incident):
        return None
    is_open = incident.status not in responders.ENDED
    context: dict[str, Any] = {
        "responder_batches": SimpleLazyObject(
            lambda: responders.responder_batches(
                responders.incident_responders(incident, viewer=user)
            )
        ),
        "responders_open": is_open,
        "responder_no_answer_minutes": int(responders.NO_ANSWER_AFTER.total_seconds() // 60),
    }
    if is_open:
        context["responders_form"] = SimpleLazyObject(
            lambda: AddRespondersForm(auto_id="responders-%s")
        )
    return PageSection(template="escalation/responders_section.html", context=context)


# --- the forms' POSTs -------------------------------------------------------------------------


def _back(incident: Incident) -> HttpResponse:
    return redirect(reverse("incident", kwargs={"ref": incident.ref}) + "#responders")


def _say_error(request: HttpRequest, exc: TocsinError) -> None:
    if isinstance(exc, Invalid):
        label = FIELD_LABELS.get(exc.field, exc.field.capitalize())
        messages.error(request, f"{label}: {sentence(exc.detail)}")
    else:
        messages.error(request, sentence(exc.message))


def _incident(request: HttpRequest, ref: str) -> Incident:
    incident = access_incident(request.user, ref)  # type: ignore[arg-type]
    if not can(request.user, Action.RESPONDER_ADD, incident):
        raise NotFound(f"no incident {incident.ref}")
    return incident


@login_required
@require_POST
def responders_add_view(request: HttpRequest, ref: str) -> HttpResponse:
    try:
        incident = _incident(request, ref)
    except TocsinError as exc:
        return error_page(request, exc)
    form = AddRespondersForm(request.POST)
    try:
        if not form.is_valid():
            name, errors = next(iter(form.errors.items()))
            raise Invalid(name, str(errors[0]))
        data = form.cleaned_data
        requests = responders.responders_add(
            incident=incident,
            actor=Actor.for_request(request),
            users=list(User.objects.filter(username__in=data["users"]).order_by("username")),
            teams=list(Team.objects.filter(pk__in=data["teams"]).order_by("name")),
            schedules=list(Schedule.objects.filter(pk__in=data["schedules"]).order_by("name")),
            message=data["message"],
        )
    except TocsinError as exc:
        _say_error(request, exc)
    else:
        count = ResponderAsk.objects.filter(request__in=requests).count()
        messages.success(
            request,
            f"Asked {count} {'person' if count == 1 else 'people'} to respond; "
            "the pages go out within seconds."
            if count
            else "Nobody could be asked: see the Responders section.",
        )
    return _back(incident)


@login_required
@require_POST
def responder_answer_view(request: HttpRequest, ref: str, ask_id: int) -> HttpResponse:
    try:
        incident = _incident(request, ref)
        ask = responders.access_ask(request.user, incident, ask_id)  # type: ignore[arg-type]
    except TocsinError as exc:
        return error_page(request, exc)
    answer = request.POST.get("answer", "")
    try:
        done = responders.responder_answer(
            ask=ask,
            actor=Actor.for_request(request),
            answer=answer,
            reason=request.POST.get("reason", ""),
        )
    except TocsinError as exc:
        _say_error(request, exc)
    else:
        messages.success(
            request,
            f"{done.ask.person.display_name}: {done.ask.get_state_display().lower()}."
            + ("" if done.changed else " (already answered)"),
        )
    return _back(incident)


# --- the signed link (from link_views.page_link) ---------------------------------------------


def respond_link(request: HttpRequest, token: str, page: Page) -> HttpResponse | None:
    """The Accept/Decline page of a responder page's link; None if the page is not one."""
    from tocsin.escalation.link_views import _secret_headers

    ask = (
        ResponderAsk.objects.select_related("request", "request__requested_by", "person")
        .filter(page=page)
        .first()
    )
    if ask is None:
        return None
    context: dict[str, Any] = {
        "token": token,
        "page": page,
        "ask": ask,
        "incident": page.incident,
        "person": page.person,
        "result": "",
    }
    status = 200
    if request.method == "POST":
        if request.POST.get("token") != token:
            context["error"] = "The form did not carry this link's token. Open the link again."
            return _secret_headers(
                render(request, "escalation/responders_link.html", context, status=400)
            )
        actor = Actor.for_user(
            page.person, str(getattr(request, "request_id", "")), client_ip(request)
        )
        try:
            done = responders.responder_answer(
                ask=ask,
                actor=actor,
                answer=request.POST.get("answer", ""),
                reason=request.POST.get("reason", ""),
            )
        except TocsinError as exc:
            context["error"] = sentence(exc.message)
            status = exc.status
            ask.refresh_from_db()
        else:
            ask = done.ask
            context["result"] = "acted" if done.changed else "already"
        context["ask"] = ask
    context["answered"] = ask.state != AskState.PENDING
    return _secret_headers(
        render(request, "escalation/responders_link.html", context, status=status)
    )
