"""The signed links in every page (`/p/<token>/`): acknowledge, resolve, open.

A link works without a session: the signed token (tocsin.escalation.links) names one page
and one action, and the action is taken as the paged person. Opening the link (GET) only
shows a small page with one button, so mail scanners and chat previews that fetch every
link change nothing; only the button's POST acts. "open" leads to the incident page,
which asks for a sign-in as usual.

The token is a bearer secret for 24 hours: the pages say `noindex`, send no referrer and
are not cached, and tokens are cut out of the logs (tocsin.core.logsafe).
"""

from __future__ import annotations

import contextlib
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from tocsin.accounts.permissions import Action, can
from tocsin.core.actors import Actor, client_ip
from tocsin.core.errors import Conflict, Forbidden, Invalid
from tocsin.escalation.links import LINK_MAX_AGE, check_token
from tocsin.escalation.models import Page
from tocsin.escalation.services import ENDED, page_act
from tocsin.incidents.models import Incident, Status

BUTTONS = {"acknowledge": "Acknowledge", "resolve": "Resolve"}
INVALID = (
    "This link is not valid. Page links last {hours} hours and must be used exactly as "
    "they were sent; open the incident in Tocsin instead."
)


def _secret_headers(response: HttpResponse) -> HttpResponse:
    """The token is in the address: never pass it on, never index or cache the page."""
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "no-store, private"
    return response


def _not_found(request: HttpRequest) -> HttpResponse:
    hours = int(LINK_MAX_AGE.total_seconds() // 3600)
    response = render(
        request,
        "escalation/link_invalid.html",
        {"message": INVALID.format(hours=hours)},
        status=404,
    )
    return _secret_headers(response)


def _done(incident: Incident, action: str) -> bool:
    """Is the link's action already done (by anyone)?"""
    if action == "acknowledge":
        return incident.status != Status.NEW
    return incident.status in ENDED


# The signed token is the proof that the person behind the request received the page:
# a forger cannot make one, and the button's form carries it. There is no session (and
# so no CSRF cookie) on a phone that opens the link from a mail or an SMS, so Django's
# CSRF check would refuse every legitimate press. This one view is exempt; the token in
# the form must equal the token in the address.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def page_link(request: HttpRequest, token: str) -> HttpResponse:
    claim = check_token(token)
    page = None
    if claim is not None:
        page = (
            Page.objects.select_related("incident", "incident__service", "person")
            .filter(pk=claim.page_id)
            .first()
        )
    # a person deactivated, or no longer staff, since the page: the link is dead
    if claim is None or page is None or not can(page.person, Action.DESK_VIEW):
        return _not_found(request)
    incident = page.incident
    if claim.action == "open":
        # Only a way into the incident page, which asks for a sign-in as usual.
        return _secret_headers(redirect(reverse("incident", args=[incident.ref])))
    if claim.action == "respond":  # a responder request: Accept / Decline
        from tocsin.escalation.responder_views import respond_link

        answered = respond_link(request, token, page)
        return answered if answered is not None else _not_found(request)
    context: dict[str, Any] = {
        "token": token,
        "page": page,
        "incident": incident,
        "person": page.person,
        "action": claim.action,
        "button": BUTTONS[claim.action],
        "result": "",
    }
    status = 200
    if request.method == "POST":
        if request.POST.get("token") != token:
            context["error"] = "The form did not carry this link's token. Open the link again."
            return _secret_headers(
                render(request, "escalation/link.html", context | {"done": False}, status=400)
            )
        was_done = _done(incident, claim.action)
        actor = Actor.for_user(
            page.person, str(getattr(request, "request_id", "")), client_ip(request)
        )
        # someone else moving the incident at the same moment is shown below, not an error
        with contextlib.suppress(Conflict, Invalid, Forbidden):
            page_act(page=page, action=claim.action, actor=actor)
        incident = Incident.objects.select_related("acknowledged_by", "assignee").get(
            pk=incident.pk
        )
        context["incident"] = incident
        context["result"] = "already" if was_done else "acted"
        if not was_done and not _done(incident, claim.action):
            context["result"] = "refused"
            status = 409
    context["done"] = _done(incident, claim.action)
    from tocsin.escalation.feedback_views import link_answer  # "was this page actionable?"

    context["feedback"] = link_answer(page)
    return _secret_headers(render(request, "escalation/link.html", context, status=status))
