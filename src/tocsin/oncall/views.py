"""The on-call pages: schedules, a schedule's timeline, who is on call now, my shifts.

Thin: forms parse, `oncall.services` write (and check who may), `oncall.selectors` read
and gate; `oncall.timeline` lays the two weeks out. Everything here answers 404 to a
person who may not see schedules (a reporter). Every POST redirects; a GET on a
POST-only address goes back to the schedule page. The layer editor (creating and
editing schedules) lives in editor_views.py.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET

from tocsin.accounts.models import User
from tocsin.accounts.permissions import Action, can
from tocsin.accounts.selectors import paging_problems
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.core.errors import Conflict, Invalid, NotFound, TocsinError
from tocsin.core.web import apply_error, error_page, sentence
from tocsin.oncall import rules, selectors, services, specs, timeline
from tocsin.oncall.forms import FIRST_YEAR, LAST_YEAR, CoverForm, OverrideForm
from tocsin.oncall.models import CoverRequest, CoverState, Schedule

GAP_HORIZON = dt.timedelta(days=14)
MY_HORIZON = dt.timedelta(days=28)
UNIT_WORDS = {"hours": "hour", "days": "day", "weeks": "week"}


def _url(name: str, fallback: str, *args: Any) -> str:
    """A route another part of the on-call work provides (the layer editor, the feed
    page): its name if it is there, else its documented address."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return fallback


def _viewer_zone(request: HttpRequest) -> ZoneInfo:
    try:
        return ZoneInfo(getattr(request.user, "time_zone", "") or "UTC")
    except (ValueError, KeyError):
        return ZoneInfo("UTC")


def schedules_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in, and may see schedules; anyone else gets the 404 page."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can(request.user, Action.SCHEDULE_VIEW):
            return error_page(request, NotFound("There is no such page."))
        return view(request, *args, **kwargs)

    return wrapper


def _post_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A form's address on a schedule: POST writes; anything else (a reload, a bookmark)
    goes back to the schedule page."""

    @wraps(view)
    def wrapper(request: HttpRequest, schedule_id: int, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method != "POST":
            return redirect("schedule", schedule_id=schedule_id)
        return view(request, schedule_id, *args, **kwargs)

    return wrapper


def _schedule(request: HttpRequest, schedule_id: int) -> Schedule | HttpResponse:
    try:
        return selectors.schedule_get(schedule_id, user=request.user)
    except TocsinError as exc:
        return error_page(request, exc)


# --- the list of schedules ----------------------------------------------------------------


@schedules_page
@require_GET
def schedule_list(request: HttpRequest) -> HttpResponse:
    at = now()
    answers = selectors.organisation_oncall(user=request.user, at=at)
    open_counts: dict[int, int] = {}
    for req in selectors.cover_requests():
        open_counts[req.schedule_id] = open_counts.get(req.schedule_id, 0) + 1
    horizon = at + GAP_HORIZON
    # one read of every schedule's layers and overrides (as organisation_oncall does)
    plans = selectors.rules_many([a.schedule for a in answers], at, horizon)
    rows = []
    for answer in answers:
        schedule = answer.schedule
        plan = plans[schedule.pk]
        gaps = rules.gaps(rules.final_shifts(plan, at, horizon), at, horizon)
        rows.append(
            {
                "schedule": schedule,
                "user": answer.user,
                "until": answer.oncall.until,
                "open_covers": open_counts.get(schedule.pk, 0),
                "first_gap": gaps[0] if gaps else None,
                "gap_count": len(gaps),
            }
        )
    return render(
        request,
        "oncall/schedules.html",
        {
            "rows": rows,
            "can_create": can(request.user, Action.SCHEDULE_CREATE),
            "new_url": _url("schedule-new", "/schedules/new/"),
        },
    )


# --- one schedule ---------------------------------------------------------------------------


def _week(request: HttpRequest, tz: ZoneInfo, asked: str | None = None) -> tuple[dt.date, str]:
    """The Monday of the week asked for (?week=YYYY-MM-DD, or `asked`), and a notice if it
    was bad."""
    today = now().astimezone(tz).date()
    raw = (asked if asked is not None else request.GET.get("week", "")).strip()
    if not raw:
        return timeline.monday_of(today), ""
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        return timeline.monday_of(today), "Week: give a date as YYYY-MM-DD, e.g. 2026-03-02."
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        return timeline.monday_of(today), f"Week: give a date between {FIRST_YEAR} and {LAST_YEAR}."
    return timeline.monday_of(day), ""


def _local_input(value: str) -> dt.datetime | None:
    """A datetime-local value from the address (?start=…), in the viewer's zone."""
    if not value:
        return None
    try:
        parsed = forms.DateTimeField().clean(value)
    except forms.ValidationError:
        return None
    return parsed if FIRST_YEAR <= parsed.year <= LAST_YEAR else None


def _rotation_text(layer: Any) -> str:
    unit = UNIT_WORDS.get(layer.unit, layer.unit)
    every = f"every {unit}" if layer.every == 1 else f"every {layer.every} {unit}s"
    start = layer.start_local
    text = f"Hands off {every} from {start:%a} {start.day} {start:%b %Y %H:%M}"
    if layer.end_local:
        end = layer.end_local
        text += f" until {end:%a} {end.day} {end:%b %Y %H:%M}"
    return text


def _span_oncall(
    schedule: Schedule, start: dt.datetime | None, end: dt.datetime | None, tz: ZoneInfo
) -> list[dict[str, str]] | None:
    """Who is on call between ``start`` and ``end`` (the people an override replaces)."""
    if start is None or end is None or end <= start:
        return None
    try:
        shifts = selectors.shifts(schedule, start, end)
    except Invalid:
        return None
    names = {u.pk: u.display_name for u in selectors.users_by_id(s.user for s in shifts).values()}
    found = [
        {"name": names.get(s.user, "?"), "span": timeline.span_text(s.start, s.end, tz)}
        for s in shifts
    ]
    found += [
        {"name": "Gap: nobody", "span": timeline.span_text(a, b, tz), "gap": "yes"}
        for a, b in rules.gaps(shifts, start, end)
    ]
    return found


def _schedule_context(
    request: HttpRequest,
    schedule: Schedule,
    *,
    override_form: OverrideForm | None = None,
    cover_form: CoverForm | None = None,
    week: str | None = None,
) -> dict[str, Any]:
    user: User = request.user  # type: ignore[assignment]
    tz = _viewer_zone(request)
    monday, week_notice = _week(request, tz, week)
    since, until = timeline.window(monday, tz)
    at = now()
    spec = selectors.rules_for(schedule, since, until)
    layers = selectors.layers_of(schedule)
    overrides = list(selectors.override_list(schedule, since, until))
    final = rules.final_shifts(spec, since, until)
    gaps = rules.gaps(final, since, until)
    people = {u.pk: u for _, members in layers for u in members}
    people |= {o.user_id: o.user for o in overrides}
    people |= {o.replaces.pk: o.replaces for o in overrides if o.replaces is not None}
    people |= selectors.users_by_id(s.user for s in final if s.user not in people)
    names = {pk: u.display_name for pk, u in people.items() if u is not None}

    layout = timeline.Layout(since=since, until=until, tz=tz, now=at, names=names)
    for (layer, members), rules_layer in zip(layers, spec.layers, strict=True):
        details = [
            ", ".join(u.display_name for u in members) or "Nobody yet",
            _rotation_text(layer),
        ]
        details += [f"Only {specs.restriction_label(r)}" for r in layer.restrictions]
        if str(tz) != schedule.time_zone:
            details.append(f"(these times in {schedule.time_zone})")
        layout.add_layer(
            f"layer-{layer.pk}",
            layer.name,
            details,
            rules.layer_shifts(rules_layer, spec.tz, since, until),
        )
    replaced = {o.pk: o.replaces.display_name for o in overrides if o.replaces is not None}
    layout.add_overrides(spec.overrides, replaced)
    layout.add_final(final, gaps)

    oncall = selectors.oncall(schedule, at)
    oncall_user = None
    if oncall.shift is not None:
        oncall_user = people.get(oncall.shift.user) or selectors.users_by_id(
            [oncall.shift.user]
        ).get(oncall.shift.user)

    live = schedule.archived_at is None
    can_override = live and can(user, Action.SCHEDULE_OVERRIDE, schedule)
    can_cover = live and can(user, Action.SCHEDULE_COVER, schedule)
    can_edit = can(user, Action.SCHEDULE_EDIT, schedule)
    participant = schedule.has_participant(user.pk)
    participants = list({u.pk: u for _, members in layers for u in members}.values())
    problems = paging_problems(participants)

    if override_form is None and can_override:
        initial = {
            "start": _local_input(request.GET.get("start", "")),
            "end": _local_input(request.GET.get("end", "")),
        }
        override_form = OverrideForm(initial=initial, participants=participants)
    if override_form is not None and override_form.is_bound and override_form.is_valid():
        span_start, span_end = (
            override_form.cleaned_data["start"],
            override_form.cleaned_data["end"],
        )
    elif override_form is not None and override_form.is_bound:
        span_start = span_end = None
    else:
        span_start = override_form.initial.get("start") if override_form else None
        span_end = override_form.initial.get("end") if override_form else None
    if cover_form is None and can_override and participant:
        cover_form = CoverForm()

    covers = []
    for req in selectors.cover_requests(schedule=schedule):
        mine = req.requester_id == user.pk
        covers.append(
            {
                "request": req,
                "span": timeline.span_text(req.start, req.end, tz),
                "can_accept": can_cover and not mine,
                "can_withdraw": live and (mine or can_edit),
                "mine": mine,
            }
        )

    prefill = f"{reverse('schedule', args=[schedule.pk])}?week={monday.isoformat()}"
    gap_rows = [
        {
            "span": timeline.span_text(a, b, tz),
            "hours": (b - a).total_seconds() / 3600,
            "fill": f"{prefill}&start={a.astimezone(tz):%Y-%m-%dT%H:%M}"
            f"&end={b.astimezone(tz):%Y-%m-%dT%H:%M}#override-panel",
        }
        for a, b in gaps
    ]
    return {
        "schedule": schedule,
        "viewer_zone": str(tz),
        "same_zone": str(tz) == schedule.time_zone,
        "week": monday,
        "week_notice": week_notice,
        "prev_week": (monday - dt.timedelta(days=7)).isoformat(),
        "next_week": (monday + dt.timedelta(days=7)).isoformat(),
        "this_week": timeline.monday_of(at.astimezone(tz).date()),
        "since": since,
        "until": until,
        "last_day": layout.days[-1].date,
        "layout": layout,
        "day_lists": layout.day_lists(),
        "gaps": gap_rows,
        "oncall": oncall,
        "oncall_user": oncall_user,
        "overrides": [
            {"override": o, "span": timeline.span_text(o.start, o.end, tz)} for o in overrides
        ],
        "covers": covers,
        "can_override": can_override,
        "can_cover": can_cover,
        "can_edit": can_edit,
        "edit_url": _url("schedule-edit", f"/schedules/{schedule.pk}/edit/", schedule.pk),
        "override_form": override_form,
        "cover_form": cover_form,
        "span_oncall": _span_oncall(schedule, span_start, span_end, tz),
        "participant": participant,
        # people on the schedule who cannot be paged at high urgency (issue 10)
        "unpageable": [
            (person, why)
            for person in participants
            if (why := problems.get(person.pk)) and person.is_active
        ],
    }


@schedules_page
@require_GET
def schedule_detail(request: HttpRequest, schedule_id: int) -> HttpResponse:
    schedule = _schedule(request, schedule_id)
    if isinstance(schedule, HttpResponse):
        return schedule
    return render(request, "oncall/schedule.html", _schedule_context(request, schedule))


def _back(schedule: Schedule, request: HttpRequest, anchor: str = "") -> HttpResponse:
    url = reverse("schedule", args=[schedule.pk])
    week = request.POST.get("week", "")
    with contextlib.suppress(ValueError):
        url += f"?week={dt.date.fromisoformat(week).isoformat()}"
    return redirect(url + anchor)


def _rerender(request: HttpRequest, schedule: Schedule, status: int, **forms_: Any) -> HttpResponse:
    # the week shown when the form was sent
    context = _schedule_context(request, schedule, week=request.POST.get("week") or None, **forms_)
    return render(request, "oncall/schedule.html", context, status=status)


def _form_post(
    request: HttpRequest,
    schedule: Schedule,
    form: OverrideForm | CoverForm,
    key: str,
    write: Callable[[dict[str, Any]], tuple[str, str]],
) -> HttpResponse:
    """A schedule form's POST: `write` calls the service and says what happened and where
    to look; a refusal shows the page again with the form's errors (`key`: which form)."""
    status = 422
    if form.is_valid():
        try:
            message, anchor = write(form.cleaned_data)
        except Invalid as exc:
            apply_error(form, exc)
        except Conflict as exc:
            form.add_error(None, sentence(exc.message))
            status = 409
        except TocsinError as exc:
            return error_page(request, exc)
        else:
            messages.success(request, message)
            return _back(schedule, request, anchor)
    return _rerender(request, schedule, status, **{key: form})


@schedules_page
@_post_only
def override_create(request: HttpRequest, schedule_id: int) -> HttpResponse:
    schedule = _schedule(request, schedule_id)
    if isinstance(schedule, HttpResponse):
        return schedule
    participants = [u for _, members in selectors.layers_of(schedule) for u in members]

    def write(data: dict[str, Any]) -> tuple[str, str]:
        services.override_create(
            schedule=schedule,
            user=data["user"],
            replaces=data["replaces"],
            start=data["start"],
            end=data["end"],
            note=data["note"],
            actor=Actor.for_request(request),
        )
        span = timeline.span_text(data["start"], data["end"], _viewer_zone(request))
        return f"Override added: {data['user'].display_name}, {span}.", "#timeline"

    form = OverrideForm(request.POST, participants=participants)
    return _form_post(request, schedule, form, "override_form", write)


@schedules_page
@_post_only
def override_delete(request: HttpRequest, schedule_id: int, override_id: int) -> HttpResponse:
    schedule = _schedule(request, schedule_id)
    if isinstance(schedule, HttpResponse):
        return schedule
    try:
        override = selectors.override_get(schedule, override_id)
        services.override_delete(override=override, actor=Actor.for_request(request))
    except TocsinError as exc:
        return error_page(request, exc)
    messages.success(request, f"Override removed: {override.user.display_name}.")
    return _back(schedule, request, "#overrides")


@schedules_page
@_post_only
def cover_create(request: HttpRequest, schedule_id: int) -> HttpResponse:
    schedule = _schedule(request, schedule_id)
    if isinstance(schedule, HttpResponse):
        return schedule

    def write(data: dict[str, Any]) -> tuple[str, str]:
        services.cover_request_create(
            schedule=schedule,
            requester=request.user,  # type: ignore[arg-type]
            start=data["start"],
            end=data["end"],
            note=data["note"],
            actor=Actor.for_request(request),
        )
        return "Cover request sent: it is listed on this schedule.", "#cover"

    return _form_post(request, schedule, CoverForm(request.POST), "cover_form", write)


def _cover_action(
    request: HttpRequest,
    schedule_id: int,
    request_id: int,
    act: Callable[[CoverRequest, Actor], str],
) -> HttpResponse:
    schedule = _schedule(request, schedule_id)
    if isinstance(schedule, HttpResponse):
        return schedule
    try:
        req = selectors.cover_request_get(schedule, request_id)
        messages.success(request, act(req, Actor.for_request(request)))
    except (Conflict, Invalid) as exc:
        messages.error(request, sentence(getattr(exc, "detail", exc.message)))
    except TocsinError as exc:
        return error_page(request, exc)
    nxt = request.POST.get("next", "")
    if nxt == "mine":
        return redirect("oncall-mine")
    return _back(schedule, request, "#cover")


@schedules_page
@_post_only
def cover_accept(request: HttpRequest, schedule_id: int, request_id: int) -> HttpResponse:
    def act(req: CoverRequest, actor: Actor) -> str:
        services.cover_request_accept(request=req, user=request.user, actor=actor)  # type: ignore[arg-type]
        return f"You cover {req.requester.display_name}: the override is on the schedule."

    return _cover_action(request, schedule_id, request_id, act)


@schedules_page
@_post_only
def cover_withdraw(request: HttpRequest, schedule_id: int, request_id: int) -> HttpResponse:
    def act(req: CoverRequest, actor: Actor) -> str:
        services.cover_request_withdraw(request=req, actor=actor)
        return "Cover request withdrawn."

    return _cover_action(request, schedule_id, request_id, act)


# --- the organisation and me ----------------------------------------------------------------


@schedules_page
@require_GET
def oncall_now(request: HttpRequest) -> HttpResponse:
    at = now()
    return render(
        request,
        "oncall/oncall.html",
        {"rows": selectors.organisation_oncall(user=request.user, at=at), "at": at},
    )


@schedules_page
@require_GET
def my_shifts(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    tz = _viewer_zone(request)
    at = now()
    try:
        shifts = selectors.user_shifts(user, at, at + MY_HORIZON)
    except Invalid as exc:  # too much to work out (selectors.MAX_WORK)
        shifts = []
        messages.error(request, f"Your shifts: {sentence(exc.detail)}")
    rows = [
        {
            "schedule": schedule,
            "span": timeline.span_text(shift.start, shift.end, tz),
            "start": shift.start,
            "hours": (shift.end - shift.start).total_seconds() / 3600,
            "override": shift.override is not None,
            "now": shift.start <= at < shift.end,
        }
        for schedule, shift in shifts
    ]
    open_requests = list(selectors.cover_requests())
    mine = [
        {"request": r, "span": timeline.span_text(r.start, r.end, tz)}
        for r in open_requests
        if r.requester_id == user.pk
    ]
    others = [
        {"request": r, "span": timeline.span_text(r.start, r.end, tz)}
        for r in open_requests
        if r.requester_id != user.pk
        and r.schedule.archived_at is None
        and can(user, Action.SCHEDULE_COVER, r.schedule)
    ]
    return render(
        request,
        "oncall/mine.html",
        {
            "rows": rows,
            "mine": mine,
            "others": others,
            "until": at + MY_HORIZON,
            "feeds_url": _url("calendar-feeds", "/calendar/feeds/"),
            "open_state": CoverState.OPEN,
        },
    )
