""" "Was this page actionable?" in the UI (escalation/feedback.py has the rules).

- The page's own link (`/p/<token>/`, link_views.page_link) shows the question under its
  button; the answer POSTs to `/p/<token>/feedback/` (`page_link_feedback`). As the link
  page itself, it works without a session: the signed token in the address, repeated in
  the form, proves the person received the page (a forger cannot make one), which is
  why this one form is exempt from Django's CSRF cookie check.
- The incident page's "Was paging actionable?" section (through `incidents.hooks.
  incident_page_sections`) asks the viewer about each of their own pages on the
  incident, and staff about the incident's paging as a whole; it POSTs to
  `/incidents/<ref>/page-feedback/` with the usual CSRF token.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tocsin.accounts.models import User
from tocsin.accounts.permissions import Action, can
from tocsin.core.actors import Actor, client_ip
from tocsin.core.errors import Invalid, NotFound, TocsinError
from tocsin.core.web import error_page, sentence
from tocsin.escalation import feedback
from tocsin.escalation.links import check_token
from tocsin.escalation.models import FEEDBACK_NOTE_MAX, Page, PageFeedback
from tocsin.incidents.hooks import PageSection
from tocsin.incidents.models import Incident
from tocsin.incidents.selectors import access_incident

LABELS = {"actionable": "Answer", "note": "Note", "page": "Page"}


def _message(exc: TocsinError) -> str:
    if isinstance(exc, Invalid):
        return sentence(exc.detail, LABELS.get(exc.field, exc.field.capitalize()))
    return sentence(exc.message)


# --- the incident page's section ---------------------------------------------------------------


def _section_context(user: User, incident: Incident) -> dict[str, Any]:
    pages = feedback.answerable_pages(user, incident)
    answers = feedback.answers_of(user, incident)
    return {
        "paged": Page.objects.filter(incident=incident).exists(),
        "mine": [{"page": p, "answer": answers.get(p.pk)} for p in pages],
        "incident_answer": answers.get(None),
        "note_max": FEEDBACK_NOTE_MAX,
    }


def feedback_section(user: User | None, incident: Incident) -> PageSection | None:
    """Shown to staff on an incident that paged someone."""
    if user is None or not feedback.may_answer_for_incident(user):
        return None
    # Read only when the template shows it (the page's live refresh renders other parts).
    return PageSection(
        template="escalation/incident_feedback.html",
        context={"page_feedback": SimpleLazyObject(lambda: _section_context(user, incident))},
    )


@login_required
@require_POST
def incident_page_feedback(request: HttpRequest, ref: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    try:
        incident = access_incident(user, ref)
        if not feedback.may_answer_for_incident(user):
            raise NotFound(f"no incident {incident.ref}")
    except TocsinError as exc:
        return error_page(request, exc)
    back = reverse("incident", kwargs={"ref": incident.ref}) + "#page-feedback"
    page = None
    raw = request.POST.get("page", "").strip()
    try:
        if raw:
            if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
                raise Invalid("page", "must be a page id")
            page = Page.objects.filter(pk=int(raw), incident=incident).first()
            if page is None:
                raise Invalid("page", f"{incident.ref} has no page with this id")
        feedback.page_feedback_give(
            person=user,
            actor=Actor.for_request(request),
            actionable=request.POST.get("actionable", ""),
            note=request.POST.get("note", ""),
            page=page,
            incident=incident,
        )
    except TocsinError as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, "Thank you: your answer is saved.")
    return redirect(back)


# --- the page's signed link ---------------------------------------------------------------------


def link_answer(page: Page) -> PageFeedback | None:
    """The paged person's answer about this page, for the link page."""
    return PageFeedback.objects.filter(page=page, person_id=page.person_id).first()


@csrf_exempt
@never_cache
@require_POST
def page_link_feedback(request: HttpRequest, token: str) -> HttpResponse:
    from tocsin.escalation.link_views import BUTTONS, _not_found, _secret_headers

    claim = check_token(token)
    page = None
    if claim is not None and claim.action in BUTTONS:
        page = (
            Page.objects.select_related("incident", "incident__service", "person")
            .filter(pk=claim.page_id)
            .first()
        )
    if claim is None or page is None or not can(page.person, Action.DESK_VIEW):
        return _not_found(request)
    context: dict[str, Any] = {
        "token": token,
        "page": page,
        "incident": page.incident,
        "person": page.person,
        "action": claim.action,
        "button": BUTTONS[claim.action],
        "result": "",
        "done": True,  # the action's own button is not offered again on this answer
        "feedback_only": True,
    }
    status = 200
    if request.POST.get("token") != token:
        context["feedback_error"] = "The form did not carry this link's token. Open the link again."
        status = 400
    else:
        actor = Actor.for_user(
            page.person, str(getattr(request, "request_id", "")), client_ip(request)
        )
        try:
            feedback.page_feedback_give(
                person=page.person,
                actor=actor,
                actionable=request.POST.get("actionable", ""),
                note=request.POST.get("note", ""),
                page=page,
            )
        except TocsinError as exc:
            context["feedback_error"] = _message(exc)
            status = exc.status
        else:
            context["feedback_saved"] = True
    context["feedback"] = link_answer(page)
    return _secret_headers(render(request, "escalation/link.html", context, status=status))
