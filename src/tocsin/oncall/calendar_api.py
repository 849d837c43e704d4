"""REST API for calendar feeds (`/calendar-feeds`) and hours on call (`/oncall/hours`).

A feed's address holds its token: the reply to POST shows it once (an Idempotency-Key
replay answers the same feed without it, so the stored reply never holds it); lists show
its first characters only. Reporters get 404 everywhere here.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from tocsin.accounts.api_auth import user_from_request
from tocsin.accounts.models import User
from tocsin.accounts.selectors import team_get, user_by_username
from tocsin.core.api import (
    ERRORS,
    BodyId,
    Id,
    InSchema,
    Paging,
    Ref,
    Username,
    actor_from_request,
    idempotent_create,
    json_response,
    lookup,
    page,
    ref,
    to_json,
)
from tocsin.oncall import calendar, hours, services
from tocsin.oncall.models import CalendarFeed

router = Router(tags=["on-call"])


# --- calendar feeds ------------------------------------------------------------------------


class FeedIn(InSchema):
    schedule: BodyId | None = Field(
        None, description="a schedule's id for its final schedule; omit for your own shifts"
    )


class FeedOut(Schema):
    id: int
    prefix: str = Field(description="the token's first characters (the token is shown once)")
    schedule: Ref | None = Field(description="null: the owner's shifts on every schedule")
    owner: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None = Field(description="when a calendar app last read it")
    revoked_at: dt.datetime | None


class FeedCreatedOut(FeedOut):
    url: str | None = Field(
        description="the secret address, shown once; null when an Idempotency-Key replays"
    )


class FeedList(Schema):
    items: list[FeedOut]
    count: int


def feed_json(feed: CalendarFeed) -> dict[str, Any]:
    return {
        "id": feed.pk,
        "prefix": feed.prefix,
        "schedule": ref(feed.schedule),
        "owner": feed.owner.username,
        "created_at": feed.created_at,
        "last_used_at": feed.last_used_at,
        "revoked_at": feed.revoked_at,
    }


@router.get("/calendar-feeds", response={200: FeedList, **ERRORS})
def list_feeds(
    request: HttpRequest,
    paging: Query[Paging],
    user: Annotated[Username | None, Query(description="administrators: someone's")] = None,
) -> dict[str, Any]:
    """Your calendar feeds, newest first, revoked ones too; never their tokens."""
    viewer = user_from_request(request)
    owner = user_by_username(user) if user is not None else None
    return page(calendar.feed_list(user=viewer, owner=owner), paging, feed_json)


@router.post("/calendar-feeds", response={201: FeedCreatedOut, **ERRORS})
def create_feed(request: HttpRequest, payload: FeedIn) -> HttpResponse:
    """A new secret address for your shifts, or for a schedule's final schedule; the reply
    shows it once (`url`)."""
    viewer = user_from_request(request)
    calendar.feed_list(user=viewer)  # 404 for reporters
    schedule = lookup(
        "schedule", lambda pk: calendar.feed_schedule(pk, user=viewer), payload.schedule
    )
    shown: dict[str, Any] = {}

    def create() -> dict[str, Any]:
        feed, token = services.feed_create(
            owner=viewer, schedule=schedule, actor=actor_from_request(request)
        )
        shown["body"] = {**feed_json(feed), "url": calendar.feed_url(token)}
        return {**feed_json(feed), "url": None}

    response = idempotent_create(request, create)
    if "body" in shown:
        response = json_response(to_json(shown["body"]), 201)
    response["Cache-Control"] = "no-store"
    return response


@router.get("/calendar-feeds/{feed_id}", response={200: FeedOut, **ERRORS})
def get_feed(request: HttpRequest, feed_id: Id) -> dict[str, Any]:
    return feed_json(calendar.feed_get(feed_id, user=user_from_request(request)))


@router.delete("/calendar-feeds/{feed_id}", response={200: FeedOut, **ERRORS})
def revoke_feed(request: HttpRequest, feed_id: Id) -> dict[str, Any]:
    """Revoke: the address answers 404 from now on (yours; administrators: anyone's).
    Revoking a revoked feed changes nothing."""
    feed = calendar.feed_get(feed_id, user=user_from_request(request))
    return feed_json(services.feed_revoke(feed=feed, actor=actor_from_request(request)))


# --- hours on call -------------------------------------------------------------------------


class HoursQuery(Schema):
    since: dt.datetime = Field(description="start of the period, an instant with an offset")
    until: dt.datetime = Field(description="end of the period (excluded); at most 400 days")
    team: Id | None = Field(None, description="only this team's members")
    user: Username | None = Field(None, description="only this person (by username)")
    format: Literal["json", "csv"] = "json"


class HoursRowOut(Schema):
    username: str
    name: str
    time_zone: str
    total_hours: float
    working_hours: float = Field(description="Monday–Friday 07:00–22:00 in the person's zone")
    night_hours: float = Field(description="22:00–07:00 on weekdays, in the person's zone")
    weekend_hours: float = Field(description="Saturday 00:00 – Monday 00:00, the person's zone")
    shifts: int


class HoursOut(Schema):
    since: dt.datetime
    until: dt.datetime
    items: list[HoursRowOut]
    count: int


@router.get("/oncall/hours", response={200: HoursOut, **ERRORS})
def oncall_hours(request: HttpRequest, query: Query[HoursQuery]) -> HttpResponse:
    """Hours on call per person in [since, until), split into working hours, nights and
    weekends by each person's own zone (docs/calendar.md defines them); the categories
    add up to the total. Managers and administrators see everyone; other staff only
    themselves. `format=csv` answers a spreadsheet file."""
    viewer = user_from_request(request)
    hours.check_viewer(viewer)
    team = lookup("team", team_get, query.team)
    person: User | None = user_by_username(query.user) if query.user is not None else None
    rows = hours.hours_report(
        viewer=viewer, since=query.since, until=query.until, team=team, person=person
    )
    if query.format == "csv":
        response = HttpResponse(hours.csv_text(rows), content_type="text/csv; charset=utf-8")
        name = f"oncall-hours-{query.since:%Y%m%d}-{query.until:%Y%m%d}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response["Cache-Control"] = "no-store"
        return response
    items = [row.as_json() for row in rows]
    body = {"since": query.since, "until": query.until, "items": items, "count": len(items)}
    response = json_response(to_json(body))
    response["Cache-Control"] = "no-store"
    return response
