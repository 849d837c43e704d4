"""REST API for on-call schedules: schedules and their layers, who is on call, the final
schedule as shifts, gaps, overrides and cover requests.

Staff only: for anyone else (reporters) every route here answers 404. Instants go out in
UTC, each with its local time in the schedule's zone beside it (``..._local``, ISO 8601
with the zone's offset); instants coming in must carry an offset.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router
from ninja import Schema as NinjaSchema
from pydantic import Field, StrictInt

from tocsin.accounts.api_auth import user_from_request
from tocsin.accounts.models import User
from tocsin.accounts.permissions import Action, can, require
from tocsin.accounts.selectors import team_get, user_by_username
from tocsin.core.api import (
    ERRORS,
    BodyId,
    Id,
    InSchema,
    Paging,
    Ref,
    Text,
    actor_from_request,
    idempotent_create,
    lookup,
    page,
    ref,
)
from tocsin.core.clock import now
from tocsin.core.errors import Conflict, Invalid, NotFound
from tocsin.oncall import models, rules, selectors, services, specs

router = Router(tags=["on-call"])

UTC = dt.UTC
DEFAULT_SPAN = dt.timedelta(days=7)
Name = Annotated[Text, Field(min_length=1, max_length=100)]
Note = Annotated[Text, Field(max_length=500)]
Weekday = Annotated[Text, Field(description="mon, tue, wed, thu, fri, sat or sun")]
Clock = Annotated[Text, Field(description="HH:MM, local to the schedule", examples=["09:00"])]
LocalDateTime = Annotated[
    Text,
    Field(
        description="a local date-time in the schedule's zone, without an offset",
        examples=["2026-03-02T09:00"],
    ),
]
InstantText = Annotated[
    str,
    Field(
        description="an ISO 8601 instant with an offset, e.g. 2026-03-29T01:00:00Z "
        "(write + as %2B in a query string)",
    ),
]


# --- input ---------------------------------------------------------------------------------


class RotationIn(InSchema):
    every: StrictInt = Field(description="hand-offs every N units (at least 1)")
    unit: Literal["hours", "days", "weeks"]


class RestrictionIn(InSchema):
    """A window when the layer is on call: `{"type": "daily", "start", "end"}` (crossing
    midnight when end ≤ start), `{"type": "weekly", "days": ["mon", …], "start", "end"}`
    (begins on each listed day), or `{"type": "weekly", "start_day", "start", "end_day",
    "end"}` (one span of up to a week)."""

    type: Literal["daily", "weekly"] | None = None
    days: list[Weekday] | None = None
    start: Clock
    end: Clock
    start_day: Weekday | None = None
    end_day: Weekday | None = None


class LayerIn(InSchema):
    id: BodyId | None = Field(
        None, description="PATCH: an existing layer of this schedule, updated in place"
    )
    name: Name
    start: LocalDateTime = Field(description="the first hand-off, local to the schedule")
    end: LocalDateTime | None = Field(None, description="local; null: the rotation never ends")
    rotation: Literal["daily", "weekly"] | RotationIn
    users: list[Text] = Field(description="usernames in rotation order; repeats allowed")
    restrictions: list[RestrictionIn] = Field(
        default_factory=list, description="none: on call around the clock"
    )


class ScheduleIn(InSchema):
    name: Name
    time_zone: Annotated[Text, Field(description="IANA zone, e.g. Europe/Berlin")]
    description: Annotated[Text, Field(max_length=10_000)] = ""
    team: BodyId | None = Field(None, description="the owning team's id")
    layers: list[LayerIn] = Field(default_factory=list, description="the first is the highest")


class SchedulePatchIn(InSchema):
    name: Name | None = None
    time_zone: Text | None = None
    description: Annotated[Text, Field(max_length=10_000)] | None = None
    team: BodyId | None = Field(None, description="null removes the team (administrators)")
    layers: list[LayerIn] | None = Field(
        None,
        description="replaces the list: a layer with an id is updated in place, one "
        "without is created, the layers left out are deleted",
    )


class OverrideIn(InSchema):
    user: Text = Field(description="username of the person on call")
    replaces: Text | None = Field(
        None, description="username of the person stood in for; null: over the whole schedule"
    )
    start: dt.datetime
    end: dt.datetime
    note: Note = ""


class CoverRequestIn(InSchema):
    start: dt.datetime
    end: dt.datetime
    note: Note = ""
    user: Text | None = Field(
        None, description="who asks (an editor may ask for someone); default: the caller"
    )


class CoverAcceptIn(InSchema):
    user: Text | None = Field(
        None, description="who covers (an editor may name someone); default: the caller"
    )


class SpanQuery(NinjaSchema):
    since: InstantText | None = Field(None, description="default: now")
    until: InstantText | None = Field(None, description="default: since + 7 days; ≤ 400 days")


class ShiftQuery(SpanQuery):
    layer: Id | None = Field(None, description="one layer's own shifts (before overrides)")


class AtQuery(NinjaSchema):
    at: InstantText | None = Field(None, description="default: now")


class ScheduleQuery(NinjaSchema):
    team: Id | None = None
    include_archived: bool = False


class CoverQuery(NinjaSchema):
    state: Literal["open", "accepted", "withdrawn", "all"] = "open"


class OverrideQuery(NinjaSchema):
    since: InstantText | None = Field(None, description="overrides ending after this")
    until: InstantText | None = Field(None, description="overrides starting before this")


# --- output --------------------------------------------------------------------------------


class Rotation(NinjaSchema):
    every: int
    unit: str


class ScheduleLayer(NinjaSchema):
    id: int
    name: str
    start: str = Field(description="local date-time of the first hand-off")
    end: str | None
    rotation: Rotation
    users: list[str]
    restrictions: list[dict[str, Any]] = Field(
        description='{"type": "daily", start, end} | {"type": "weekly", days, start, end} | '
        '{"type": "weekly", start_day, start, end_day, end}'
    )


class Schedule(NinjaSchema):
    id: int
    name: str
    description: str
    time_zone: str
    team: Ref | None
    layers: list[ScheduleLayer]
    archived: bool
    archived_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class ScheduleList(NinjaSchema):
    items: list[Schedule]
    count: int


class ScheduleRef(NinjaSchema):
    id: int
    name: str
    time_zone: str


class OnCallUser(NinjaSchema):
    username: str
    name: str
    until: dt.datetime | None = Field(description="goes off call; null: not within 400 days")
    until_local: str | None
    layer: int | None
    override: int | None


class OnCall(NinjaSchema):
    at: dt.datetime
    at_local: str
    schedule: ScheduleRef
    users: list[OnCallUser] = Field(description="empty in a gap")


class OrganisationOnCallItem(NinjaSchema):
    schedule: ScheduleRef
    team: Ref | None
    at_local: str
    users: list[OnCallUser]


class OrganisationOnCall(NinjaSchema):
    at: dt.datetime
    items: list[OrganisationOnCallItem]
    count: int


class Shift(NinjaSchema):
    username: str
    name: str
    start: dt.datetime
    end: dt.datetime
    start_local: str
    end_local: str
    layer: int | None
    override: int | None


class ShiftList(NinjaSchema):
    schedule: ScheduleRef
    since: dt.datetime
    until: dt.datetime
    items: list[Shift]
    count: int


class Gap(NinjaSchema):
    start: dt.datetime
    end: dt.datetime
    start_local: str
    end_local: str


class GapList(NinjaSchema):
    schedule: ScheduleRef
    since: dt.datetime
    until: dt.datetime
    items: list[Gap]
    count: int


class UserShift(Shift):
    schedule: ScheduleRef


class UserShiftList(NinjaSchema):
    username: str
    since: dt.datetime
    until: dt.datetime
    items: list[UserShift]
    count: int


class Override(NinjaSchema):
    id: int
    schedule: int
    user: str
    replaces: str | None
    start: dt.datetime
    end: dt.datetime
    start_local: str
    end_local: str
    note: str
    created_by: str | None
    created_at: dt.datetime


class OverrideList(NinjaSchema):
    items: list[Override]
    count: int


class CoverRequest(NinjaSchema):
    id: int
    schedule: int
    requester: str
    start: dt.datetime
    end: dt.datetime
    start_local: str
    end_local: str
    note: str
    state: Literal["open", "accepted", "withdrawn"]
    accepted_by: str | None
    override: int | None = Field(description="the override made when it was accepted")
    created_at: dt.datetime
    decided_at: dt.datetime | None


class CoverRequestList(NinjaSchema):
    items: list[CoverRequest]
    count: int


# --- helpers -------------------------------------------------------------------------------

_SPACED_OFFSET = re.compile(r"^(\S*T\S*\d) (\d{2}(:?\d{2})?)$")


def parse_instant(value: str | None, field: str, default: dt.datetime) -> dt.datetime:
    return _instant(value, field) if value is not None else default


def _instant(value: str, field: str) -> dt.datetime:
    """An ISO 8601 instant with an offset (a '+' decoded to a space in a query string is
    taken back); anything else is a 422 naming the field."""
    text = _SPACED_OFFSET.sub(r"\1+\2", value.strip())
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(field, "give an ISO 8601 instant, e.g. 2026-03-29T01:00:00Z") from None
    if parsed.tzinfo is None:
        raise Invalid(field, "give an instant with an offset, e.g. 2026-03-29T01:00:00Z")
    return in_range(parsed, field)


def in_range(instant: dt.datetime, field: str) -> dt.datetime:
    """Years the time rules can work in (and show in every zone) are 1971–2199."""
    if not 1971 <= instant.year <= 2199:
        raise Invalid(field, "must lie between 1971 and 2199")
    return instant.astimezone(UTC) if instant.tzinfo is not None else instant


def _span(query: SpanQuery) -> tuple[dt.datetime, dt.datetime]:
    since = parse_instant(query.since, "since", now())
    until = parse_instant(query.until, "until", since + DEFAULT_SPAN)
    selectors.check_span(since, until)
    return since, until


def _local(instant: dt.datetime, tz: ZoneInfo) -> str:
    return instant.astimezone(tz).isoformat(timespec="seconds")


def span_json(start: dt.datetime, end: dt.datetime, tz: ZoneInfo) -> dict[str, Any]:
    """A span in UTC, with its local times in the schedule's zone beside it."""
    return {
        "start": start,
        "end": end,
        "start_local": _local(start, tz),
        "end_local": _local(end, tz),
    }


def _staff(user: User) -> None:
    """Anyone who may not see schedules is told there is nothing here."""
    if not can(user, Action.SCHEDULE_VIEW):
        raise NotFound("not found")


def _schedule(request: HttpRequest, schedule_id: int) -> models.Schedule:
    return selectors.schedule_get(schedule_id, user=user_from_request(request))


def _person(field: str, username: str | None) -> User | None:
    return lookup(field, user_by_username, username)


def schedule_ref(schedule: models.Schedule) -> dict[str, Any]:
    return {"id": schedule.pk, "name": schedule.name, "time_zone": schedule.time_zone}


def schedule_json(
    schedule: models.Schedule, layers: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "id": schedule.pk,
        "name": schedule.name,
        "description": schedule.description,
        "time_zone": schedule.time_zone,
        "team": ref(schedule.team),
        "layers": services.layers_snapshot(schedule) if layers is None else layers,
        "archived": schedule.archived_at is not None,
        "archived_at": schedule.archived_at,
        "created_at": schedule.created_at,
        "updated_at": schedule.updated_at,
    }


def shift_json(shift: rules.Shift, people: dict[int, User], tz: ZoneInfo) -> dict[str, Any]:
    person = people[shift.user]
    return {
        "username": person.username,
        "name": person.display_name,
        **span_json(shift.start, shift.end, tz),
        "layer": shift.layer,
        "override": shift.override,
    }


def oncall_users(answer: rules.OnCall, person: User | None, tz: ZoneInfo) -> list[dict[str, Any]]:
    shift = answer.shift
    if shift is None or person is None:
        return []
    return [
        {
            "username": person.username,
            "name": person.display_name,
            "until": answer.until,
            "until_local": _local(answer.until, tz) if answer.until else None,
            "layer": shift.layer,
            "override": shift.override,
        }
    ]


def override_json(o: models.Override) -> dict[str, Any]:
    tz = ZoneInfo(o.schedule.time_zone)
    return {
        "id": o.pk,
        "schedule": o.schedule_id,
        "user": o.user.username,
        "replaces": o.replaces.username if o.replaces else None,
        **span_json(o.start, o.end, tz),
        "note": o.note,
        "created_by": o.created_by.username if o.created_by else None,
        "created_at": o.created_at,
    }


def cover_json(req: models.CoverRequest) -> dict[str, Any]:
    tz = ZoneInfo(req.schedule.time_zone)
    return {
        "id": req.pk,
        "schedule": req.schedule_id,
        "requester": req.requester.username,
        **span_json(req.start, req.end, tz),
        "note": req.note,
        "state": req.state,
        "accepted_by": req.accepted_by.username if req.accepted_by else None,
        "override": req.override_id,
        "created_at": req.created_at,
        "decided_at": req.decided_at,
    }


def _layers(raw: list[LayerIn]) -> list[specs.LayerInput]:
    """The layers checked by the one parser the UI uses too (fields named like
    ``layers[0].users[1]``)."""
    return specs.parse_layers([layer.model_dump(exclude_none=True) for layer in raw])


# --- schedules -----------------------------------------------------------------------------


@router.get("/schedules", response={200: ScheduleList, **ERRORS})
def list_schedules(
    request: HttpRequest, filters: Query[ScheduleQuery], paging: Query[Paging]
) -> dict[str, Any]:
    """Schedules by name; archived ones only with include_archived. Staff only."""
    user = user_from_request(request)
    _staff(user)
    qs = selectors.schedule_list(user=user, include_archived=filters.include_archived)
    if filters.team is not None:
        qs = qs.filter(team_id=filters.team)
    window = list(qs[paging.offset : paging.offset + paging.limit])
    layers = services.layers_snapshots(window)
    return {"items": [schedule_json(s, layers[s.pk]) for s in window], "count": qs.count()}


@router.post("/schedules", response={201: Schedule, **ERRORS})
def create_schedule(request: HttpRequest, payload: ScheduleIn) -> HttpResponse:
    """Managers create schedules for their own team, administrators for any team or none."""
    _staff(user_from_request(request))

    def create() -> dict[str, Any]:
        schedule = services.schedule_create(
            name=payload.name,
            time_zone=payload.time_zone,
            description=payload.description,
            team=lookup("team", team_get, payload.team),
            layers=_layers(payload.layers),
            actor=actor_from_request(request),
        )
        return schedule_json(schedule)

    return idempotent_create(request, create)


@router.get("/schedules/{schedule_id}", response={200: Schedule, **ERRORS})
def get_schedule(request: HttpRequest, schedule_id: Id) -> dict[str, Any]:
    return schedule_json(_schedule(request, schedule_id))


@router.patch("/schedules/{schedule_id}", response={200: Schedule, **ERRORS})
def patch_schedule(
    request: HttpRequest, schedule_id: Id, payload: SchedulePatchIn
) -> dict[str, Any]:
    """Change any of the fields sent. The owning team's manager and administrators may;
    an archived schedule answers 409."""
    user = user_from_request(request)
    schedule = _schedule(request, schedule_id)
    # who may, then whether it can change, then what was sent (the service checks again)
    require(user, Action.SCHEDULE_EDIT, schedule, what="edit this schedule")
    if schedule.archived_at is not None:
        raise Conflict("this schedule is archived; archived schedules do not change")
    sent = payload.model_dump(exclude_unset=True)
    extra: dict[str, Any] = {}
    if "team" in sent:
        extra["team"] = lookup("team", team_get, sent["team"])
    schedule = services.schedule_update(
        schedule=schedule,
        actor=actor_from_request(request),
        name=sent.get("name"),
        description=sent.get("description"),
        time_zone=sent.get("time_zone"),
        layers=_layers(payload.layers) if payload.layers is not None else None,
        **extra,
    )
    return schedule_json(schedule)


@router.delete("/schedules/{schedule_id}", response={200: Schedule, **ERRORS})
def archive_schedule(request: HttpRequest, schedule_id: Id) -> dict[str, Any]:
    """Archive the schedule (kept for the record; its open cover requests are withdrawn).
    Archiving an archived schedule changes nothing."""
    schedule = services.schedule_archive(
        schedule=_schedule(request, schedule_id), actor=actor_from_request(request)
    )
    return schedule_json(schedule)


# --- who is on call, shifts, gaps -----------------------------------------------------------


@router.get("/schedules/{schedule_id}/oncall", response={200: OnCall, **ERRORS})
def schedule_oncall(request: HttpRequest, schedule_id: Id, query: Query[AtQuery]) -> Any:
    """Who is on call at `at` (default now), and until when; no one in a gap."""
    schedule = _schedule(request, schedule_id)
    at = parse_instant(query.at, "at", now())
    answer = selectors.oncall(schedule, at)
    tz = ZoneInfo(schedule.time_zone)
    person = None
    if answer.shift is not None:
        person = selectors.users_by_id([answer.shift.user]).get(answer.shift.user)
    return {
        "at": at,
        "at_local": _local(at, tz),
        "schedule": schedule_ref(schedule),
        "users": oncall_users(answer, person, tz),
    }


@router.get("/schedules/{schedule_id}/shifts", response={200: ShiftList, **ERRORS})
def schedule_shifts(request: HttpRequest, schedule_id: Id, query: Query[ShiftQuery]) -> Any:
    """The final schedule in [since, until) as contiguous shifts, each saying where it
    comes from (a layer or an override); with `layer`, that layer's own shifts."""
    schedule = _schedule(request, schedule_id)
    since, until = _span(query)
    try:
        found = selectors.shifts(schedule, since, until, layer_id=query.layer)
    except NotFound as exc:
        raise Invalid("layer", exc.message) from None
    people = selectors.users_by_id(s.user for s in found)
    tz = ZoneInfo(schedule.time_zone)
    return {
        "schedule": schedule_ref(schedule),
        "since": since,
        "until": until,
        "items": [shift_json(s, people, tz) for s in found],
        "count": len(found),
    }


@router.get("/schedules/{schedule_id}/gaps", response={200: GapList, **ERRORS})
def schedule_gaps(request: HttpRequest, schedule_id: Id, query: Query[SpanQuery]) -> Any:
    """The spans in [since, until) when nobody is on call."""
    schedule = _schedule(request, schedule_id)
    since, until = _span(query)
    tz = ZoneInfo(schedule.time_zone)
    found = selectors.gaps(schedule, since, until)
    return {
        "schedule": schedule_ref(schedule),
        "since": since,
        "until": until,
        "items": [span_json(a, b, tz) for a, b in found],
        "count": len(found),
    }


@router.get("/oncall", response={200: OrganisationOnCall, **ERRORS})
def organisation_oncall(request: HttpRequest, query: Query[AtQuery]) -> Any:
    """Every live schedule and who is on it at `at` (default now), by schedule name."""
    user = user_from_request(request)
    _staff(user)
    at = parse_instant(query.at, "at", now())
    answers = selectors.organisation_oncall(user=user, at=at)
    items = []
    for item in answers:
        tz = ZoneInfo(item.schedule.time_zone)
        items.append(
            {
                "schedule": schedule_ref(item.schedule),
                "team": ref(item.schedule.team),
                "at_local": _local(at, tz),
                "users": oncall_users(item.oncall, item.user, tz),
            }
        )
    return {"at": at, "items": items, "count": len(items)}


@router.get("/users/{username}/shifts", response={200: UserShiftList, **ERRORS})
def user_shifts(request: HttpRequest, username: str, query: Query[SpanQuery]) -> Any:
    """The person's shifts in the final schedule of every live schedule, by start."""
    _staff(user_from_request(request))
    target = user_by_username(username)
    since, until = _span(query)
    found = selectors.user_shifts(target, since, until)
    people = {target.pk: target}
    items = []
    for schedule, shift in found:
        item = shift_json(shift, people, ZoneInfo(schedule.time_zone))
        item["schedule"] = schedule_ref(schedule)
        items.append(item)
    return {
        "username": target.username,
        "since": since,
        "until": until,
        "items": items,
        "count": len(items),
    }


# --- overrides -----------------------------------------------------------------------------


@router.get("/schedules/{schedule_id}/overrides", response={200: OverrideList, **ERRORS})
def list_overrides(
    request: HttpRequest,
    schedule_id: Id,
    query: Query[OverrideQuery],
    paging: Query[Paging],
) -> dict[str, Any]:
    """The schedule's overrides by start; since/until keep those touching the span."""
    schedule = _schedule(request, schedule_id)
    since = _instant(query.since, "since") if query.since is not None else None
    until = _instant(query.until, "until") if query.until is not None else None
    qs = selectors.override_list(schedule, since, until).select_related("schedule")
    return page(qs, paging, override_json)


@router.post("/schedules/{schedule_id}/overrides", response={201: Override, **ERRORS})
def create_override(request: HttpRequest, schedule_id: Id, payload: OverrideIn) -> HttpResponse:
    """Put `user` on call for [start, end): in place of `replaces`, or over the whole
    schedule. The schedule's people and its editors may."""
    schedule = _schedule(request, schedule_id)

    def create() -> dict[str, Any]:
        o = services.override_create(
            schedule=schedule,
            user=_person("user", payload.user),  # type: ignore[arg-type]
            replaces=_person("replaces", payload.replaces),
            start=in_range(payload.start, "start"),
            end=in_range(payload.end, "end"),
            note=payload.note,
            actor=actor_from_request(request),
        )
        return override_json(selectors.override_get(schedule, o.pk))

    return idempotent_create(request, create)


@router.delete("/schedules/{schedule_id}/overrides/{override_id}", response={204: None, **ERRORS})
def delete_override(request: HttpRequest, schedule_id: Id, override_id: Id) -> HttpResponse:
    schedule = _schedule(request, schedule_id)
    services.override_delete(
        override=selectors.override_get(schedule, override_id), actor=actor_from_request(request)
    )
    return HttpResponse(status=204)


# --- cover requests ------------------------------------------------------------------------


@router.get("/schedules/{schedule_id}/cover-requests", response={200: CoverRequestList, **ERRORS})
def list_cover_requests(
    request: HttpRequest, schedule_id: Id, query: Query[CoverQuery], paging: Query[Paging]
) -> dict[str, Any]:
    """The schedule's cover requests by start: the open ones, or `state`."""
    schedule = _schedule(request, schedule_id)
    states = () if query.state == "all" else (query.state,)
    return page(selectors.cover_requests(schedule=schedule, states=states), paging, cover_json)


@router.post("/schedules/{schedule_id}/cover-requests", response={201: CoverRequest, **ERRORS})
def create_cover_request(
    request: HttpRequest, schedule_id: Id, payload: CoverRequestIn
) -> HttpResponse:
    """Ask for cover for a span of one's own shifts (an editor may ask for `user`)."""
    schedule = _schedule(request, schedule_id)

    def create() -> dict[str, Any]:
        requester = _person("user", payload.user) or user_from_request(request)
        req = services.cover_request_create(
            schedule=schedule,
            requester=requester,
            start=in_range(payload.start, "start"),
            end=in_range(payload.end, "end"),
            note=payload.note,
            actor=actor_from_request(request),
        )
        return cover_json(selectors.cover_request_get(schedule, req.pk))

    return idempotent_create(request, create)


@router.post(
    "/schedules/{schedule_id}/cover-requests/{request_id}/accept",
    response={200: CoverRequest, **ERRORS},
)
def accept_cover_request(
    request: HttpRequest,
    schedule_id: Id,
    request_id: Id,
    payload: CoverAcceptIn | None = None,
) -> dict[str, Any]:
    """The caller (or, named by an editor, `user`) covers the request: an override in the
    requester's place for its span. 409 unless the request is open."""
    schedule = _schedule(request, schedule_id)
    cover = selectors.cover_request_get(schedule, request_id)
    named = payload.user if payload is not None else None
    services.cover_request_accept(
        request=cover,
        user=_person("user", named) or user_from_request(request),
        actor=actor_from_request(request),
    )
    return cover_json(selectors.cover_request_get(schedule, request_id))


@router.post(
    "/schedules/{schedule_id}/cover-requests/{request_id}/withdraw",
    response={200: CoverRequest, **ERRORS},
)
def withdraw_cover_request(request: HttpRequest, schedule_id: Id, request_id: Id) -> Any:
    """The requester (or an editor) withdraws an open request; 409 unless it is open."""
    schedule = _schedule(request, schedule_id)
    services.cover_request_withdraw(
        request=selectors.cover_request_get(schedule, request_id),
        actor=actor_from_request(request),
    )
    return cover_json(selectors.cover_request_get(schedule, request_id))
