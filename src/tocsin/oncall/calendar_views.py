"""Calendar feeds on the web: the secret `.ics` address itself (no session: the token is
the key), and the page where a person makes, copies and revokes their addresses."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from tocsin.accounts.models import User
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.core.crypto import decrypt, encrypt
from tocsin.core.errors import Invalid, NotFound, TocsinError
from tocsin.core.web import apply_error, error_page
from tocsin.oncall import calendar, selectors, services

_NEW_FEED = "tocsin_new_calendar_feed"


def _not_found() -> HttpResponse:
    # Plain text: no page, no hint whether the token ever existed.
    return HttpResponse("Not found\n", status=404, content_type="text/plain; charset=utf-8")


@require_http_methods(["GET", "HEAD"])
def feed(request: HttpRequest, token: str) -> HttpResponse:
    """`/calendar/<token>.ics`: the feed, or a plain 404."""
    found = calendar.feed_for_token(token)
    if found is None:
        return _not_found()
    at = now()
    try:
        shifts = calendar.feed_shifts(found, calendar.window(at))
    except Invalid as exc:  # too much to work out (selectors.MAX_WORK)
        return HttpResponse(f"{exc.detail}\n", status=422, content_type="text/plain; charset=utf-8")
    body = calendar.build(found, shifts, at)
    calendar.feed_touch(found, at)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="tocsin-oncall.ics"'
    response["Cache-Control"] = "private, no-cache"
    response["X-Robots-Tag"] = "noindex"
    return response


MINE = "mine"


class FeedForm(forms.Form):
    schedule = forms.ChoiceField(
        label="Shifts of",
        help_text="Your own shifts on every schedule, or the final schedule of one.",
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices: list[tuple[str, str]] = [(MINE, "My shifts (every schedule)")]
        choices += [(str(s.pk), f"Schedule: {s.name}") for s in selectors.schedule_list(user=user)]
        self.fields["schedule"].choices = choices  # type: ignore[attr-defined]


def _owner(request: HttpRequest) -> User | HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    try:
        calendar.feed_list(user=user)
    except NotFound as exc:
        return error_page(request, exc)
    return user


@login_required
@require_http_methods(["GET", "POST"])
def feeds(request: HttpRequest) -> HttpResponse:
    """`/calendar/feeds/`: my addresses; a new one is shown once (post/redirect/get, the
    token waits encrypted in the session for exactly one view)."""
    user = _owner(request)
    if isinstance(user, HttpResponse):
        return user
    form = FeedForm(request.POST or None, user=user)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                chosen = form.cleaned_data["schedule"]
                schedule = (
                    None if chosen == MINE else calendar.feed_schedule(int(chosen), user=user)
                )
                made, token = services.feed_create(
                    owner=user, schedule=schedule, actor=Actor.for_request(request)
                )
            except Invalid as exc:
                apply_error(form, exc)
            except TocsinError as exc:
                return error_page(request, exc)
            else:
                request.session[_NEW_FEED] = {"feed": made.pk, "token": encrypt(token)}
                return redirect("calendar-feeds")
    new = None
    waiting = request.session.pop(_NEW_FEED, None) if request.method == "GET" else None
    if waiting:
        url = calendar.feed_url(decrypt(waiting["token"]))
        new = {"feed": waiting["feed"], "url": url, "webcal": calendar.webcal_url(url)}
    response = render(
        request,
        "oncall/feeds.html",
        {"form": form, "feeds": list(calendar.feed_list(user=user)), "new": new},
        status=status,
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def feed_revoke(request: HttpRequest, feed_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    try:
        found = calendar.feed_get(feed_id, user=user)
        if found.owner_id != user.pk:
            raise NotFound(f"no calendar feed with id {feed_id}")
        services.feed_revoke(feed=found, actor=Actor.for_request(request))
    except TocsinError as exc:
        return error_page(request, exc)
    messages.success(request, f"Address {found.prefix}… revoked: calendars using it stop updating.")
    return redirect("calendar-feeds")
