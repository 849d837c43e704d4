"""Writes for schedules, overrides, cover requests and calendar feeds (each audited)."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from typing import Any

from django.db import transaction

from tocsin.accounts.models import Team, User
from tocsin.accounts.permissions import Action, can, require_for
from tocsin.core.actors import Actor
from tocsin.core.audit import audit_record
from tocsin.core.clock import now
from tocsin.core.crypto import sha256_hex
from tocsin.core.errors import Conflict, Invalid, NotFound
from tocsin.oncall import rules, specs
from tocsin.oncall.models import (
    CalendarFeed,
    CoverRequest,
    CoverState,
    Layer,
    LayerMember,
    Override,
    Schedule,
)
from tocsin.oncall.selectors import check_work, rules_for
from tocsin.oncall.specs import LayerInput

MAX_OVERRIDE = dt.timedelta(days=366)


def _name(value: str) -> str:
    name = (value or "").strip()
    if not name:
        raise Invalid("name", "must not be empty")
    if len(name) > 100:
        raise Invalid("name", "at most 100 characters")
    return name


def _unique_name(name: str, exclude: int | None = None) -> None:
    clash = Schedule.objects.filter(name__iexact=name, archived_at__isnull=True)
    if exclude is not None:
        clash = clash.exclude(pk=exclude)
    if clash.exists():
        raise Conflict(f"a schedule named {name!r} already exists")


def layers_snapshot(schedule: Schedule) -> list[dict[str, Any]]:
    """The layers as the audit log keeps them (and the API shows them)."""
    return layers_snapshots([schedule])[schedule.pk]


def layers_snapshots(schedules: Iterable[Schedule]) -> dict[int, list[dict[str, Any]]]:
    """`layers_snapshot` of several schedules in three queries (a page of a list)."""
    out: dict[int, list[dict[str, Any]]] = {s.pk: [] for s in schedules}
    layers = list(Layer.objects.filter(schedule_id__in=out).order_by("schedule_id", "position"))
    members = specs.members_by_layer(layer.pk for layer in layers)
    names = dict(
        User.objects.filter(pk__in={u for ids in members.values() for u in ids}).values_list(
            "pk", "username"
        )
    )
    for layer in layers:
        out[layer.schedule_id].append(
            {
                "id": layer.pk,
                "name": layer.name,
                "start": layer.start_local.isoformat(timespec="minutes"),
                "end": layer.end_local.isoformat(timespec="minutes") if layer.end_local else None,
                "rotation": {"every": layer.every, "unit": layer.unit},
                "users": [names[u] for u in members.get(layer.pk, [])],
                "restrictions": [specs.restriction_json(r) for r in layer.restrictions],
            }
        )
    return out


def _snapshot(schedule: Schedule) -> dict[str, Any]:
    return {
        "name": schedule.name,
        "description": schedule.description,
        "time_zone": schedule.time_zone,
        "team": schedule.team.name if schedule.team_id and schedule.team else None,
        "layers": layers_snapshot(schedule),
    }


def _write_layers(schedule: Schedule, layers: list[LayerInput]) -> None:
    """Replace the layers: those given with an ``id`` of this schedule are updated in
    place (so shift sources keep their ids), the others are created, the rest deleted."""
    existing = {layer.pk: layer for layer in schedule.layers.all()}
    for i, given in enumerate(layers):
        if given.id is not None and given.id not in existing:
            raise Invalid(f"layers[{i}].id", "is not a layer of this schedule")
    keep = {given.id for given in layers if given.id is not None}
    Layer.objects.filter(schedule=schedule).exclude(pk__in=keep).delete()
    # move the kept ones out of the way of the unique (schedule, position)
    for layer in existing.values():
        if layer.pk in keep:
            Layer.objects.filter(pk=layer.pk).update(position=1000 + layer.position)
    for position, given in enumerate(layers):
        fields = {
            "position": position,
            "name": given.name,
            "start_date": given.start.date(),
            "start_time": given.start.time(),
            "end_date": given.end.date() if given.end else None,
            "end_time": given.end.time() if given.end else None,
            "every": given.every,
            "unit": given.unit,
            "restrictions": given.restrictions,
        }
        if given.id is not None:
            Layer.objects.filter(pk=given.id).update(**fields)
            layer = Layer.objects.get(pk=given.id)
            layer.members.all().delete()
        else:
            layer = Layer.objects.create(schedule=schedule, **fields)
        LayerMember.objects.bulk_create(
            LayerMember(layer=layer, position=n, user=user) for n, user in enumerate(given.users)
        )


@transaction.atomic
def schedule_create(
    *,
    name: str,
    time_zone: str,
    description: str = "",
    team: Team | None = None,
    layers: list[LayerInput] | None = None,
    actor: Actor,
) -> Schedule:
    require_for(actor, Action.SCHEDULE_CREATE)
    if team is not None:
        require_for(actor, Action.SCHEDULE_EDIT, team, what="create schedules for this team")
    elif actor.kind not in ("system", "integration"):
        require_for(actor, Action.CONFIG_MANAGE, what="create a schedule no team owns")
    name = _name(name)
    _unique_name(name)
    schedule = Schedule.objects.create(
        name=name,
        description=description or "",
        time_zone=specs.parse_time_zone(time_zone),
        team=team,
    )
    _write_layers(schedule, layers or [])
    audit_record(actor=actor, action="schedule.create", obj=schedule, after=_snapshot(schedule))
    return schedule


_UNSET: Any = object()


@transaction.atomic
def schedule_update(
    *,
    schedule: Schedule,
    actor: Actor,
    name: str | None = None,
    description: str | None = None,
    time_zone: str | None = None,
    team: Team | None = _UNSET,
    layers: list[LayerInput] | None = None,
) -> Schedule:
    schedule = Schedule.objects.select_for_update().get(pk=schedule.pk)
    require_for(actor, Action.SCHEDULE_EDIT, schedule, what="edit this schedule")
    if schedule.archived_at is not None:
        raise Conflict("this schedule is archived; archived schedules do not change")
    before = _snapshot(schedule)
    if name is not None:
        schedule.name = _name(name)
        _unique_name(schedule.name, exclude=schedule.pk)
    if description is not None:
        schedule.description = description
    if time_zone is not None:
        schedule.time_zone = specs.parse_time_zone(time_zone)
    if team is not _UNSET and team != schedule.team:
        if team is not None:
            require_for(actor, Action.SCHEDULE_EDIT, team, what="give schedules to this team")
        elif actor.kind not in ("system", "integration"):
            require_for(actor, Action.CONFIG_MANAGE, what="leave a schedule without a team")
        schedule.team = team
    schedule.updated_at = now()
    schedule.save()
    if layers is not None:
        _write_layers(schedule, layers)
    audit_record(
        actor=actor,
        action="schedule.update",
        obj=schedule,
        before=before,
        after=_snapshot(schedule),
    )
    return schedule


@transaction.atomic
def schedule_archive(*, schedule: Schedule, actor: Actor) -> Schedule:
    require_for(actor, Action.SCHEDULE_EDIT, schedule, what="archive this schedule")
    changed = Schedule.objects.filter(pk=schedule.pk, archived_at__isnull=True).update(
        archived_at=now(), updated_at=now()
    )
    schedule.refresh_from_db()
    if changed:
        CoverRequest.objects.filter(schedule=schedule, state=CoverState.OPEN).update(
            state=CoverState.WITHDRAWN, decided_at=now()
        )
        audit_record(actor=actor, action="schedule.archive", obj=schedule)
    return schedule


# --- overrides -----------------------------------------------------------------------------


def _span(start: dt.datetime, end: dt.datetime) -> None:
    if start.tzinfo is None:
        raise Invalid("start", "give an instant with an offset, e.g. 2026-03-01T09:00:00Z")
    if end.tzinfo is None:
        raise Invalid("end", "give an instant with an offset, e.g. 2026-03-01T17:00:00Z")
    for field, instant in (("start", start), ("end", end)):
        if not 1971 <= instant.year <= 2199:
            raise Invalid(field, "must lie between 1971 and 2199")
    if end <= start:
        raise Invalid("end", "must be after the start")
    if end - start > MAX_OVERRIDE:
        raise Invalid("end", "an override or cover request lasts at most 366 days")


def _responder(user: User | None, field: str) -> User:
    if user is None or not user.is_active or not can(user, Action.INCIDENT_BE_ASSIGNED):
        name = user.username if user is not None else "?"
        raise Invalid(field, f"{name!r} is not an active responder")
    return user


def _live(schedule: Schedule) -> None:
    """Refuse a change to an archived schedule. Reads the row again, locked until the
    change commits, so an archive that commits first (the caller's copy still live) is
    seen, and one that comes later waits (within a transaction)."""
    fresh = (
        Schedule.objects.select_for_update()
        .filter(pk=schedule.pk)
        .values_list("archived_at", flat=True)
        .first()
    )
    if schedule.archived_at is not None or fresh is not None:
        raise Conflict("this schedule is archived; archived schedules do not change")


def _override_json(o: Override) -> dict[str, Any]:
    return {
        "user": o.user.username,
        "replaces": o.replaces.username if o.replaces_id and o.replaces else None,
        "start": o.start.isoformat(),
        "end": o.end.isoformat(),
        "note": o.note,
    }


@transaction.atomic
def override_create(
    *,
    schedule: Schedule,
    user: User,
    start: dt.datetime,
    end: dt.datetime,
    replaces: User | None = None,
    note: str = "",
    actor: Actor,
) -> Override:
    require_for(actor, Action.SCHEDULE_OVERRIDE, schedule, what="add overrides to this schedule")
    _live(schedule)
    _span(start, end)
    _responder(user, "user")
    if replaces is not None and replaces.pk == user.pk:
        raise Invalid("replaces", "a person cannot stand in for themselves")
    o = Override.objects.create(
        schedule=schedule,
        user=user,
        replaces=replaces,
        start=start,
        end=end,
        note=(note or "")[:500],
        created_by=actor.user,
    )
    audit_record(
        actor=actor,
        action="schedule.override.create",
        obj=schedule,
        after={"override": o.pk, **_override_json(o)},
    )
    return o


@transaction.atomic
def override_delete(*, override: Override, actor: Actor) -> None:
    schedule = override.schedule
    require_for(
        actor, Action.SCHEDULE_OVERRIDE, schedule, what="remove overrides from this schedule"
    )
    _live(schedule)
    before = {"override": override.pk, **_override_json(override)}
    override.delete()
    audit_record(actor=actor, action="schedule.override.delete", obj=schedule, before=before)


# --- cover requests -----------------------------------------------------------------------


@transaction.atomic
def cover_request_create(
    *,
    schedule: Schedule,
    requester: User,
    start: dt.datetime,
    end: dt.datetime,
    note: str = "",
    actor: Actor,
) -> CoverRequest:
    """Ask for cover for a span of one's own shifts (an editor may ask for someone)."""
    require_for(actor, Action.SCHEDULE_OVERRIDE, schedule, what="ask for cover on this schedule")
    if actor.user is not None and actor.user.pk != requester.pk:
        require_for(actor, Action.SCHEDULE_EDIT, schedule, what="ask for cover for someone else")
    _live(schedule)
    _span(start, end)
    spec = rules_for(schedule, start, end)
    check_work([spec], start, end, field="end")
    if not any(s.user == requester.pk for s in rules.final_shifts(spec, start, end)):
        raise Invalid("start", f"{requester.username} has no shift on this schedule in that span")
    req = CoverRequest.objects.create(
        schedule=schedule, requester=requester, start=start, end=end, note=(note or "")[:500]
    )
    audit_record(
        actor=actor,
        action="schedule.cover.request",
        obj=schedule,
        after={
            "cover_request": req.pk,
            "requester": requester.username,
            "start": start.isoformat(),
            "end": end.isoformat(),
        },
    )
    return req


@transaction.atomic
def cover_request_accept(*, request: CoverRequest, user: User, actor: Actor) -> Override:
    """``user`` covers the request: an override in the requester's place, for its span."""
    schedule = request.schedule
    require_for(actor, Action.SCHEDULE_COVER, schedule, what="cover shifts on this schedule")
    if actor.user is not None and actor.user.pk != user.pk:
        require_for(actor, Action.SCHEDULE_EDIT, schedule, what="accept cover for someone else")
    _live(schedule)
    _responder(user, "user")
    if user.pk == request.requester_id:
        raise Invalid("user", "the person asking for cover cannot cover themselves")
    o = Override.objects.create(
        schedule=schedule,
        user=user,
        replaces=request.requester,
        start=request.start,
        end=request.end,
        note=f"Cover for {request.requester.display_name}"[:500],
        created_by=actor.user,
    )
    claimed = CoverRequest.objects.filter(pk=request.pk, state=CoverState.OPEN).update(
        state=CoverState.ACCEPTED, accepted_by=user, override=o, decided_at=now()
    )
    if not claimed:
        request.refresh_from_db()
        raise Conflict(f"this cover request is {request.state}, not open")
    request.refresh_from_db()
    audit_record(
        actor=actor,
        action="schedule.cover.accept",
        obj=schedule,
        after={"cover_request": request.pk, "override": o.pk, "user": user.username},
    )
    return o


@transaction.atomic
def cover_request_withdraw(*, request: CoverRequest, actor: Actor) -> CoverRequest:
    schedule = request.schedule
    if actor.user is None or actor.user.pk != request.requester_id:
        require_for(actor, Action.SCHEDULE_EDIT, schedule, what="withdraw someone's request")
    claimed = CoverRequest.objects.filter(pk=request.pk, state=CoverState.OPEN).update(
        state=CoverState.WITHDRAWN, decided_at=now()
    )
    request.refresh_from_db()
    if not claimed:
        raise Conflict(f"this cover request is {request.state}, not open")
    audit_record(
        actor=actor,
        action="schedule.cover.withdraw",
        obj=schedule,
        after={"cover_request": request.pk},
    )
    return request


# --- calendar feeds ------------------------------------------------------------------------


@transaction.atomic
def feed_create(
    *, owner: User, schedule: Schedule | None = None, actor: Actor
) -> tuple[CalendarFeed, str]:
    """A new secret feed address; the token is returned once and stored hashed."""
    if actor.user is not None and actor.user.pk != owner.pk:
        require_for(actor, Action.PEOPLE_MANAGE, what="make calendar feeds for someone else")
    if not can(owner, Action.SCHEDULE_VIEW):
        raise NotFound("no such schedule" if schedule else "calendar feeds are for staff")
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed.objects.create(
        owner=owner, schedule=schedule, prefix=token[:8], token_hash=sha256_hex(token)
    )
    audit_record(
        actor=actor,
        action="calendar_feed.create",
        obj=feed,
        after={"schedule": schedule.pk if schedule else None, "prefix": feed.prefix},
    )
    return feed, token


@transaction.atomic
def feed_revoke(*, feed: CalendarFeed, actor: Actor) -> CalendarFeed:
    if actor.user is None or actor.user.pk != feed.owner_id:
        require_for(actor, Action.PEOPLE_MANAGE, what="revoke someone else's calendar feed")
    if CalendarFeed.objects.filter(pk=feed.pk, revoked_at__isnull=True).update(revoked_at=now()):
        audit_record(actor=actor, action="calendar_feed.revoke", obj=feed)
    feed.refresh_from_db()
    return feed
