"""The schedule editor (routes in editor_urls.py): create a schedule, edit its fields and
layers, preview the next two weeks of shifts from the unsaved layers, archive it.

Thin: `editor_forms.ScheduleEditor` reads the form, `specs.parse_layers` checks the layers
(the API's own parser), `services` writes, `rules.final_shifts` computes the preview
(nothing is written). Every refusal to open a page answers 404, as the house rule says
for what a person may not see: a responder who may see a schedule but not edit it gets
404 on its edit and archive addresses too, the same answer as for a schedule that does
not exist.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_http_methods, require_POST

from tocsin.accounts.permissions import Action, can
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.core.errors import Conflict, Forbidden, Invalid, NotFound, TocsinError
from tocsin.core.web import error_page, sentence
from tocsin.oncall import rules, selectors, services, specs
from tocsin.oncall.editor_forms import ScheduleEditor, initial_layer, time_zones
from tocsin.oncall.models import Schedule

PREVIEW_DAYS = 14
PREVIEW_ROWS = 200


def schedule_url(schedule: Schedule) -> str:
    """The schedule's page (the schedule UI's route; its address if not mounted)."""
    try:
        return reverse("schedule", args=[schedule.pk])
    except NoReverseMatch:
        return f"/schedules/{schedule.pk}/"


def schedules_url() -> str:
    try:
        return reverse("schedules")
    except NoReverseMatch:
        return "/schedules/"


# --- access ----------------------------------------------------------------------------


def _not_found(request: HttpRequest, what: str = "no such page") -> HttpResponse:
    return error_page(request, NotFound(what))


def _editable(request: HttpRequest, schedule_id: int) -> Schedule | HttpResponse:
    """A schedule this person may edit, or the 404 page (also when they may only see it)."""
    try:
        schedule = selectors.schedule_get(schedule_id, user=request.user)
    except TocsinError as exc:
        return error_page(request, exc)
    if not can(request.user, Action.SCHEDULE_EDIT, schedule):
        return _not_found(request, f"no schedule with id {schedule_id}")
    return schedule


# --- the preview -----------------------------------------------------------------------


@dataclass
class Row:
    """One line of the preview: a shift (`who` set) or a gap (`who` None)."""

    who: str | None
    username: str
    layer: str
    start: dt.datetime
    end: dt.datetime
    start_viewer: str
    end_viewer: str
    start_local: str
    end_local: str

    @property
    def gap(self) -> bool:
        return self.who is None

    @property
    def hours(self) -> str:
        hours = (self.end - self.start).total_seconds() / 3600
        return f"{hours:.0f} h" if hours == int(hours) else f"{hours:.1f} h"


@dataclass
class Preview:
    time_zone: str
    viewer_zone: str
    since: dt.datetime
    until: dt.datetime
    rows: list[Row]
    since_viewer: str
    until_viewer: str
    layer_count: int
    more: int
    gap_count: int
    gap_hours: float

    @property
    def same_zone(self) -> bool:
        return self.time_zone == self.viewer_zone


def _fmt(instant: dt.datetime, tz: ZoneInfo) -> str:
    local = instant.astimezone(tz)
    return f"{local:%a} {local.day} {local:%b %H:%M}"


def preview_of(
    time_zone: str, layers: list[specs.LayerInput], viewer_zone: str, since: dt.datetime
) -> Preview:
    """The next PREVIEW_DAYS of the final schedule of `layers` (no overrides), from the
    same rules as the saved schedule's pages."""
    until = since + dt.timedelta(days=PREVIEW_DAYS)
    spec = rules.Schedule(
        time_zone,
        tuple(specs.rules_layer_input(layer, i + 1) for i, layer in enumerate(layers)),
    )
    shifts = rules.final_shifts(spec, since, until)
    holes = rules.gaps(shifts, since, until)
    people = {u.pk: u for layer in layers for u in layer.users}
    names = {i + 1: layer.name for i, layer in enumerate(layers)}
    sched_tz, viewer_tz = ZoneInfo(time_zone), ZoneInfo(viewer_zone)
    spans: list[tuple[dt.datetime, dt.datetime, int | None, int | None]] = [
        (s.start, s.end, s.user, s.layer) for s in shifts
    ] + [(a, b, None, None) for a, b in holes]
    spans.sort(key=lambda span: span[0])
    rows = []
    for start, end, user_id, layer_id in spans[:PREVIEW_ROWS]:
        person = people.get(user_id) if user_id is not None else None
        rows.append(
            Row(
                who=(person.display_name or person.username) if person else None,
                username=person.username if person else "",
                layer=names.get(layer_id, "") if layer_id else "",
                start=start,
                end=end,
                start_viewer=_fmt(start, viewer_tz),
                end_viewer=_fmt(end, viewer_tz),
                start_local=_fmt(start, sched_tz),
                end_local=_fmt(end, sched_tz),
            )
        )
    return Preview(
        time_zone=time_zone,
        viewer_zone=viewer_zone,
        since=since,
        until=until,
        rows=rows,
        since_viewer=_fmt(since, viewer_tz),
        until_viewer=_fmt(until, viewer_tz),
        layer_count=len(layers),
        more=max(0, len(spans) - PREVIEW_ROWS),
        gap_count=len(holes),
        gap_hours=sum((b - a).total_seconds() for a, b in holes) / 3600,
    )


def _since() -> dt.datetime:
    return now().astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def _viewer_zone(request: HttpRequest) -> str:
    zone = getattr(request.user, "time_zone", "") or "UTC"
    try:
        ZoneInfo(zone)
    except (ValueError, KeyError):
        return "UTC"
    return zone


def _preview(request: HttpRequest, editor: ScheduleEditor) -> Preview | None:
    """The preview of the submitted layers, or None with the errors on their fields."""
    form = editor.schedule_form
    form.is_valid()
    for name in list(form.errors):
        if name != "time_zone":  # the preview needs only the zone
            del form.errors[name]
    if not editor.layers_ok() or form.errors:
        return None
    layers = editor.parse()
    if layers is None:
        return None
    return preview_of(form.cleaned_data["time_zone"], layers, _viewer_zone(request), _since())


def _saved_preview(request: HttpRequest, schedule: Schedule) -> Preview:
    """The preview of the layers as saved (the edit page's first view)."""
    layers = [
        specs.LayerInput(
            name=layer.name,
            start=layer.start_local,
            end=layer.end_local,
            every=layer.every,
            unit=layer.unit,
            users=people,
            restrictions=list(layer.restrictions),
        )
        for layer, people in selectors.layers_of(schedule)
    ]
    return preview_of(schedule.time_zone, layers, _viewer_zone(request), _since())


_STRUCTURAL = frozenset(
    {"add-layer", "remove-layer", "up", "down", "add-window", "remove-window", "add-person"}
)
NEW_WINDOW = {"kind": "weekly", "days": ["0", "1", "2", "3", "4"], "start": "09:00", "end": "17:00"}


# --- the structural buttons (add, remove, move) ------------------------------------------


def _restructure(editor: ScheduleEditor, action: str, data: Any) -> bool:
    """Apply an add/remove/move button to the submitted layers; False if `action` is
    not one of them."""
    verb, _, rest = action.partition(":")
    if verb not in _STRUCTURAL:
        return False
    layers = editor.raw_layers()
    parts = [int(p) for p in rest.split(":") if p.isdigit()]
    i = parts[0] if parts else -1
    inside = 0 <= i < len(layers)
    if verb == "add-layer" and len(layers) < specs.MAX_LAYERS:
        layers.append({"layer": initial_layer(len(layers)), "restrictions": []})
    elif verb == "remove-layer" and inside:
        layers.pop(i)
    elif verb == "up" and inside and i > 0:
        layers[i - 1], layers[i] = layers[i], layers[i - 1]
    elif verb == "down" and inside and i < len(layers) - 1:
        layers[i + 1], layers[i] = layers[i], layers[i + 1]
    elif verb == "add-window" and inside:
        if len(layers[i]["restrictions"]) < specs.MAX_RESTRICTIONS:
            layers[i]["restrictions"].append(dict(NEW_WINDOW))
    elif verb == "remove-window" and inside and len(parts) == 2:
        if 0 <= parts[1] < len(layers[i]["restrictions"]):
            layers[i]["restrictions"].pop(parts[1])
    elif verb == "add-person" and inside:
        picked = str(data.get(f"layer-{i}-add_user", "")).strip()
        if picked:
            users = str(layers[i]["layer"].get("users") or "").rstrip("\n")
            layers[i]["layer"]["users"] = f"{users}\n{picked}" if users else picked
    editor.rebuild(layers)
    form = editor.schedule_form
    editor.schedule_form = type(form)(
        user=editor.user,
        current_team=form.current_team,
        initial={name: form[name].value() for name in form.fields},
    )
    return True


# --- pages -----------------------------------------------------------------------------


def _render(
    request: HttpRequest,
    editor: ScheduleEditor,
    *,
    schedule: Schedule | None,
    preview: Preview | None,
    previewed: bool = False,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "oncall/editor.html",
        {
            "editor": editor,
            "schedule": schedule,
            "preview": preview,
            "previewed": previewed,
            "time_zones": time_zones(),
            "schedule_url": schedule_url(schedule) if schedule else None,
            "schedules_url": schedules_url(),
            "preview_days": PREVIEW_DAYS,
        },
        status=status,
    )


def _post(request: HttpRequest, schedule: Schedule | None) -> HttpResponse:
    editor = ScheduleEditor(user=request.user, data=request.POST, schedule=schedule)
    action = str(request.POST.get("action") or "save")
    if action == "preview":
        preview = _preview(request, editor)
        status = 200 if preview is not None else 422
        return _render(
            request, editor, schedule=schedule, preview=preview, previewed=True, status=status
        )
    if action != "save":
        if _restructure(editor, action, request.POST):
            return _render(request, editor, schedule=schedule, preview=None)
        return error_page(request, Invalid("action", f"no button {action[:40]!r} on this form"))
    saved = _save(request, editor, schedule)
    if saved is None:
        return _render(request, editor, schedule=schedule, preview=None, status=422)
    messages.success(request, f"Schedule “{saved.name}” {'saved' if schedule else 'created'}.")
    return redirect(schedule_url(saved))


def _save(
    request: HttpRequest, editor: ScheduleEditor, schedule: Schedule | None
) -> Schedule | None:
    if not editor.shape_ok():
        return None
    layers = editor.parse()
    if layers is None:
        return None
    form = editor.schedule_form
    data = form.cleaned_data
    actor = Actor.for_request(request)
    try:
        if schedule is None:
            return services.schedule_create(
                name=data["name"],
                description=data["description"],
                time_zone=data["time_zone"],
                team=form.team_object(),
                layers=layers,
                actor=actor,
            )
        return services.schedule_update(
            schedule=schedule,
            name=data["name"],
            description=data["description"],
            time_zone=data["time_zone"],
            team=form.team_object(),
            layers=layers,
            actor=actor,
        )
    except Invalid as exc:
        editor.apply_invalid(exc)
    except Conflict as exc:
        if "named" in exc.message:
            form.add_error("name", sentence(exc.message))
        else:
            editor.general.append(sentence(exc.message))
    except Forbidden as exc:
        form.add_error("team", sentence(exc.message))
    return None


@login_required
@require_http_methods(["GET", "POST"])
def schedule_new(request: HttpRequest) -> HttpResponse:
    if not can(request.user, Action.SCHEDULE_CREATE):
        return _not_found(request)
    if request.method == "POST":
        return _post(request, None)
    editor = ScheduleEditor(user=request.user)
    return _render(request, editor, schedule=None, preview=None)


@login_required
@require_http_methods(["GET", "POST"])
def schedule_edit(request: HttpRequest, schedule_id: int) -> HttpResponse:
    schedule = _editable(request, schedule_id)
    if isinstance(schedule, HttpResponse):
        return schedule
    if schedule.archived_at is not None:
        return error_page(
            request, Conflict("this schedule is archived; archived schedules do not change")
        )
    if request.method == "POST":
        return _post(request, schedule)
    editor = ScheduleEditor(
        user=request.user, schedule=schedule, layers=selectors.layers_of(schedule)
    )
    return _render(request, editor, schedule=schedule, preview=_saved_preview(request, schedule))


@login_required
@require_POST
def schedule_editor_preview(request: HttpRequest) -> HttpResponse:
    """The preview as an HTML fragment, for layer-editor.js (same form, nothing written)."""
    if not can(request.user, Action.SCHEDULE_CREATE):  # managers and admins: all who edit
        return _not_found(request)
    editor = ScheduleEditor(user=request.user, data=request.POST)
    preview = _preview(request, editor)
    return render(
        request,
        "oncall/editor_preview.html",
        {
            "preview": preview,
            "editor": editor,
            "previewed": True,
            "fragment": True,
            "preview_days": PREVIEW_DAYS,
        },
        status=200 if preview is not None else 422,
    )


@login_required
@require_http_methods(["GET", "POST"])
def schedule_archive(request: HttpRequest, schedule_id: int) -> HttpResponse:
    """GET: the confirmation; POST: archive (a schedule already archived stays so)."""
    schedule = _editable(request, schedule_id)
    if isinstance(schedule, HttpResponse):
        return schedule
    if request.method == "POST":
        try:
            services.schedule_archive(schedule=schedule, actor=Actor.for_request(request))
        except TocsinError as exc:
            return error_page(request, exc)
        messages.success(request, f"Schedule “{schedule.name}” archived.")
        return redirect(schedule_url(schedule))
    return render(
        request,
        "oncall/editor_archive.html",
        {
            "schedule": schedule,
            "schedule_url": schedule_url(schedule),
            "open_covers": selectors.cover_requests(schedule=schedule, states=["open"]).count()
            if schedule.archived_at is None
            else 0,
        },
    )
