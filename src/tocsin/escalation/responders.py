"""Responders (issue 11): "add responders" asks people to join an incident's response.

A request names people, schedules (whoever is on call now) and teams (their schedules'
on-call), with a message. Each target is one `ResponderRequest`; each person it names is
one `ResponderAsk` with one `Page`, and their notification rules (high urgency) become
outbox messages, all in the request's transaction: the worker's outbox module sends
them (once, whatever the number of workers: notify/engine.py claims each row).

The pages hang off an `Escalation` in state `responders`, which the escalation engine
never fires and which acknowledging the incident does not stop: acknowledging is not
accepting, and the request keeps notifying the person until they answer (resolving the
incident cancels what is still queued, as for every page).

The person answers Accept or Decline from the page's signed link (`/p/<token>/`, action
`respond`), from the incident page or the API; an SMS or voice reply that acknowledges a
responder page accepts it. Only the person asked may answer, or an administrator on
their behalf (said on the timeline). An answer cancels the person's messages still
queued for that request. Accepting makes them a participant. "No answer" is not
stored: a pending ask older than NO_ANSWER_AFTER is shown as such.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from tocsin.accounts.models import Team, Urgency, User
from tocsin.accounts.permissions import Action, can, require_for
from tocsin.accounts.selectors import effective_rules_many
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.core.errors import Conflict, Invalid, NotFound
from tocsin.escalation import targets
from tocsin.escalation.links import page_link
from tocsin.escalation.models import (
    AskState,
    ClimbState,
    Escalation,
    Page,
    PageState,
    ResponderAsk,
    ResponderRequest,
    TargetKind,
)
from tocsin.incidents.models import EntryKind, Incident, ParticipantVia, Status
from tocsin.incidents.services import participant_add
from tocsin.incidents.timeline import timeline_append
from tocsin.notify.models import OutboxMessage, OutboxState
from tocsin.notify.services import outbox_cancel, outbox_enqueue
from tocsin.oncall.models import Schedule

NO_ANSWER_AFTER = dt.timedelta(minutes=15)
MESSAGE_MAX = 1000
REASON_MAX = 500
TARGETS_MAX = 20
PAGE_PURPOSE = "page"  # the escalation app's purpose: the delivery log and outcomes apply
ANSWERS = ("accept", "decline")
ENDED = (Status.RESOLVED, Status.CLOSED)


# --- adding responders ---------------------------------------------------------------------


def _check_targets(
    users: Sequence[User], teams: Sequence[Team], schedules: Sequence[Schedule], message: str
) -> None:
    if not (users or teams or schedules):
        raise Invalid("users", "Name at least one person, team or schedule to ask.")
    for name, given in (("users", users), ("teams", teams), ("schedules", schedules)):
        if len(given) > TARGETS_MAX:
            raise Invalid(name, f"Name at most {TARGETS_MAX}.")
    if len(message) > MESSAGE_MAX:
        raise Invalid("message", f"Keep the message to {MESSAGE_MAX} characters.")
    for user in users:
        if not user.is_active:
            raise Invalid("users", f"{user.display_name} is deactivated.")
        if not can(user, Action.INCIDENT_BE_ASSIGNED):
            raise Invalid("users", f"{user.display_name} cannot work on incidents.")
    for schedule in schedules:
        if schedule.archived_at is not None:
            raise Invalid("schedules", f"The schedule {schedule.name} is archived.")


def _content(
    *, ask: ResponderAsk, page: Page, incident: Incident, requester: str, message: str
) -> tuple[str, str, dict[str, Any]]:
    """What a responder page says. `kind` "page" so every channel treats it as a page
    (high urgency, reply codes); `links.acknowledge` is the Accept/Decline link."""
    respond = page_link(page.pk, "respond")
    opened = page_link(page.pk, "open")
    service = incident.service.name if incident.service_id else ""  # type: ignore[union-attr]
    subject = f"[P{incident.priority}] {incident.ref}: your help is asked — {incident.title}"
    lines = [
        f"{incident.ref} · P{incident.priority}" + (f" · {service}" if service else ""),
        incident.title,
        "",
        f"{requester} asks you to join the response (via {page.via}).",
    ]
    if message:
        lines += ["", message]
    lines += ["", f"Accept or decline: {respond}", f"Open: {opened}"]
    payload = {
        "kind": "page",
        "page": page.pk,
        "responder": ask.pk,
        "incident": incident.ref,
        "title": incident.title,
        "priority": incident.priority,
        "urgency": page.urgency,
        "service": service,
        "via": page.via,
        "level": 1,
        "message": message,
        "links": {"acknowledge": respond, "respond": respond, "open": opened},
    }
    return subject[:300], "\n".join(lines), payload


def _target_name(kind: str, obj: Any) -> str:
    if kind == TargetKind.USER:
        return str(obj.display_name)
    if kind == TargetKind.TEAM:
        return f"team {obj.name}"
    return f"schedule {obj.name}"


@transaction.atomic
def responders_add(
    *,
    incident: Incident,
    actor: Actor,
    users: Sequence[User] = (),
    teams: Sequence[Team] = (),
    schedules: Sequence[Schedule] = (),
    message: str = "",
) -> list[ResponderRequest]:
    """Ask people to join the response: one request per target, one ask and one page per
    person it names now (each person once per call), their messages queued."""
    require_for(actor, Action.RESPONDER_ADD, incident, what="add responders")
    message = message.strip()
    _check_targets(users, teams, schedules, message)
    incident = (
        Incident.objects.select_for_update(of=("self",))
        .select_related("service")
        .get(pk=incident.pk)
    )
    if incident.status in ENDED:
        raise Conflict(f"{incident.ref} is {incident.status}; reopen it to ask for responders.")
    at = now()
    requester = actor.user.display_name if actor.user is not None else (actor.label or "Tocsin")
    chosen: list[tuple[str, Any]] = [
        *((TargetKind.USER, u) for u in users),
        *((TargetKind.SCHEDULE, s) for s in schedules),
        *((TargetKind.TEAM, t) for t in teams),
    ]
    seen: set[int] = set()
    requests: list[ResponderRequest] = []
    asked: list[str] = []
    for kind, obj in chosen:
        found, missed = targets.resolve(
            users=[obj] if kind == TargetKind.USER else [],
            schedules=[obj] if kind == TargetKind.SCHEDULE else [],
            teams=[obj] if kind == TargetKind.TEAM else [],
            at=at,
        )
        name = _target_name(kind, obj)
        climb = Escalation.objects.create(
            incident=incident,
            target_user=obj if kind == TargetKind.USER else None,
            target_schedule=obj if kind == TargetKind.SCHEDULE else None,
            target_team=obj if kind == TargetKind.TEAM else None,
            urgency=Urgency.HIGH,
            state=ClimbState.RESPONDERS,
            next_at=None,
            started_at=at,
            reason=f"responders: {name}"[:200],
        )
        request = ResponderRequest.objects.create(
            incident=incident,
            requested_by=actor.user,
            message=message,
            target_kind=kind,
            target_id=obj.pk,
            target_name=name[:200],
            missed="; ".join(m.why for m in missed if m.why)[:300],
            climb=climb,
            created_at=at,
        )
        requests.append(request)
        fresh = [f for f in found if f.user.pk not in seen]
        seen.update(f.user.pk for f in fresh)
        _ask(request, incident, fresh, at=at, requester=requester)
        people = ", ".join(f.user.display_name for f in fresh)
        if people:
            asked.append(name if kind == TargetKind.USER else f"{name} ({people})")
        else:
            asked.append(f"{name} (nobody: {request.missed or 'already asked'})")
    text = f"Responders asked: {'; '.join(asked)}."
    if message:
        text += f" Message: {message}"
    timeline_append(
        incident=incident,
        kind=EntryKind.RESPONDER,
        actor=actor,
        text=text,
        data={
            "requests": [r.pk for r in requests],
            "asked": sorted(
                ResponderAsk.objects.filter(request__in=requests).values_list(
                    "person__username", flat=True
                )
            ),
        },
    )
    Incident.objects.filter(pk=incident.pk).update(updated_at=at)
    return requests


def _ask(
    request: ResponderRequest,
    incident: Incident,
    found: list[targets.Found],
    *,
    at: dt.datetime,
    requester: str,
) -> None:
    """One page and one ask per person; one queued message per notification rule."""
    if not found:
        return
    cycles = effective_rules_many([f.user for f in found], Urgency.HIGH)
    for item in found:
        page = Page.objects.create(
            escalation=request.climb,
            step=0,
            person=item.user,
            incident=incident,
            level=0,
            cycle=0,
            urgency=Urgency.HIGH,
            via=item.via[:200],
            created_at=at,
        )
        ask = ResponderAsk.objects.create(
            request=request, person=item.user, page=page, via=item.via[:200], created_at=at
        )
        subject, body, payload = _content(
            ask=ask, page=page, incident=incident, requester=requester, message=request.message
        )
        payload["escalation"] = request.climb_id
        cycle = cycles.get(item.user.pk, [])
        if not cycle:
            timeline_append(
                incident=incident,
                kind=EntryKind.RESPONDER,
                actor=Actor.system("responders"),
                text=f"{item.user.display_name} has no contact method to be asked through.",
                data={"person": item.user.username, "ask": ask.pk},
            )
        for rule in cycle:
            outbox_enqueue(
                channel=rule.method.kind,
                recipient="",
                subject=subject,
                body=body,
                payload={**payload, "delay_minutes": rule.delay_minutes},
                dedup_key=f"page:{page.pk}:{rule.method.pk}:{rule.delay_minutes}",
                incident=incident,
                person=item.user,
                contact_method=rule.method,
                purpose=PAGE_PURPOSE,
                not_before=at + dt.timedelta(minutes=rule.delay_minutes),
                new_key=True,
            )


# --- answering -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Answered:
    ask: ResponderAsk
    changed: bool  # False: the same answer was given before (nothing written)


@transaction.atomic
def responder_answer(*, ask: ResponderAsk, actor: Actor, answer: str, reason: str = "") -> Answered:
    """Accept or decline as the person asked (or an administrator for them). The same
    answer again changes nothing; the other answer once answered is a 409."""
    if answer not in ANSWERS:
        raise Invalid("answer", "accept or decline.")
    reason = reason.strip()
    if len(reason) > REASON_MAX:
        raise Invalid("reason", f"Keep the reason to {REASON_MAX} characters.")
    require_for(actor, Action.RESPONDER_ANSWER, ask, what="answer for someone else")
    incident = Incident.objects.select_for_update().get(pk=ask.request.incident_id)
    if incident.status == Status.CLOSED:
        raise Conflict(f"{incident.ref} is closed; reopen it to join the response.")
    state = AskState.ACCEPTED if answer == "accept" else AskState.DECLINED
    at = now()
    done = ResponderAsk.objects.filter(pk=ask.pk, state=AskState.PENDING).update(
        state=state,
        answered_at=at,
        answered_by=actor.user,
        reason=reason if state == AskState.DECLINED else "",
    )
    ask = ResponderAsk.objects.select_related("person", "request", "request__requested_by").get(
        pk=ask.pk
    )
    if not done:
        if ask.state == state:
            return Answered(ask=ask, changed=False)
        raise Conflict(f"{ask.person.display_name} already {ask.state} this request.")
    person = ask.person
    Page.objects.filter(pk=ask.page_id, state=PageState.OPEN).update(
        state=PageState.ACKNOWLEDGED if state == AskState.ACCEPTED else PageState.CANCELLED
    )
    queued = OutboxMessage.objects.filter(
        incident=incident, state=OutboxState.QUEUED, payload__responder=ask.pk
    )
    outbox_cancel(message_ids=list(queued.values_list("pk", flat=True)), reason=f"{state}")
    if state == AskState.ACCEPTED:
        participant_add(
            incident=incident, user=person, via=ParticipantVia.RESPONDER, actor=actor, quiet=True
        )
        text = f"{person.display_name} accepted the request to respond and joined the response."
    else:
        text = f"{person.display_name} declined the request to respond."
        if reason:
            text += f" Reason: {reason}"
    if actor.user is not None and actor.user.pk != person.pk:
        text += f" (Answered by {actor.user.display_name} on their behalf.)"
    timeline_append(
        incident=incident,
        kind=EntryKind.RESPONDER,
        actor=actor,
        text=text,
        data={"ask": ask.pk, "person": person.username, "answer": state},
    )
    Incident.objects.filter(pk=incident.pk).update(updated_at=at)
    return Answered(ask=ask, changed=True)


def page_answer(*, page: Page, action: str, actor: Actor) -> Incident:
    """A reply to a responder page through the page machinery (an SMS or voice reply):
    acknowledging the page accepts the request; resolving from it is refused."""
    ask = ResponderAsk.objects.select_related("request").filter(page=page).first()
    if ask is None:
        raise NotFound("no such responder request")
    if action != "acknowledge":
        raise Invalid("action", "a responder request is accepted or declined, not resolved.")
    responder_answer(ask=ask, actor=actor, answer="accept")
    return Incident.objects.get(pk=page.incident_id)


def is_responder_page(page: Page) -> bool:
    return bool(
        Escalation.objects.filter(pk=page.escalation_id, state=ClimbState.RESPONDERS).exists()
    )


# --- reading (selectors) -------------------------------------------------------------------


def ask_status(ask: ResponderAsk, at: dt.datetime) -> str:
    """accepted, declined, no_answer (pending past the timeout) or waiting."""
    if ask.state != AskState.PENDING:
        return str(ask.state)
    return "no_answer" if at - ask.created_at >= NO_ANSWER_AFTER else "waiting"


STATUS_LABELS = {
    "accepted": "Accepted",
    "declined": "Declined",
    "no_answer": "No answer",
    "waiting": "Waiting",
}


@dataclass
class AskView:
    ask: ResponderAsk
    status: str
    label: str
    mine: bool = False  # the viewer may answer it


@dataclass
class RequestView:
    request: ResponderRequest
    asks: list[AskView] = field(default_factory=list)


def incident_responders(incident: Incident, viewer: User | None = None) -> list[RequestView]:
    """The incident's responder requests, oldest first, each with its asks and their
    status now: two queries."""
    at = now()
    requests = list(
        ResponderRequest.objects.filter(incident=incident)
        .select_related("requested_by")
        .order_by("created_at", "pk")
    )
    asks = ResponderAsk.objects.filter(request__incident=incident).select_related(
        "person", "answered_by"
    )
    views = {r.pk: RequestView(request=r) for r in requests}
    for ask in asks.order_by("created_at", "pk"):
        status = ask_status(ask, at)
        views[ask.request_id].asks.append(
            AskView(
                ask=ask,
                status=status,
                label=STATUS_LABELS[status],
                mine=viewer is not None
                and ask.state == AskState.PENDING
                and can(viewer, Action.RESPONDER_ANSWER, ask),
            )
        )
    return list(views.values())


@dataclass
class Batch:
    """The requests made by one "add responders" (same asker, moment and message)."""

    requested_by: User | None
    created_at: dt.datetime
    message: str
    requests: list[RequestView] = field(default_factory=list)


def responder_batches(views: list[RequestView]) -> list[Batch]:
    """Requests grouped as they were made, for the incident page."""
    batches: list[Batch] = []
    for view in views:
        r = view.request
        last = batches[-1] if batches else None
        if (
            last is None
            or last.created_at != r.created_at
            or last.message != r.message
            or (last.requested_by.pk if last.requested_by else None) != r.requested_by_id
        ):
            last = Batch(requested_by=r.requested_by, created_at=r.created_at, message=r.message)
            batches.append(last)
        last.requests.append(view)
    return batches


def access_ask(user: User, incident: Incident, ask_id: int) -> ResponderAsk:
    """An ask of this incident (404 otherwise; the caller checked the incident)."""
    ask = (
        ResponderAsk.objects.select_related("person", "request", "answered_by")
        .filter(pk=ask_id, request__incident=incident)
        .first()
    )
    if ask is None:
        raise NotFound(f"no responder request {ask_id} on {incident.ref}")
    return ask


def ask_json(ask: ResponderAsk, at: dt.datetime | None = None) -> dict[str, Any]:
    at = at or now()
    return {
        "id": ask.pk,
        "person": ask.person.username,
        "person_name": ask.person.display_name,
        "via": ask.via,
        "state": ask_status(ask, at),
        "asked_at": ask.created_at,
        "no_answer_at": ask.created_at + NO_ANSWER_AFTER,
        "answered_at": ask.answered_at,
        "answered_by": ask.answered_by.username if ask.answered_by_id else None,  # type: ignore[union-attr]
        "reason": ask.reason,
        "page": ask.page_id,
    }


def request_json(view: RequestView) -> dict[str, Any]:
    r = view.request
    at = now()
    return {
        "id": r.pk,
        "target": {"type": r.target_kind, "id": r.target_id, "name": r.target_name},
        "message": r.message,
        "requested_by": r.requested_by.username if r.requested_by_id else None,  # type: ignore[union-attr]
        "created_at": r.created_at,
        "missed": r.missed,
        "asks": [ask_json(a.ask, at) for a in view.asks],
    }


def responder_choices() -> dict[str, list[Any]]:
    """What the add form offers: people who may work on incidents, teams, schedules."""
    from tocsin.escalation.incident_selectors import (
        pageable_people,
        pageable_schedules,
        pageable_teams,
    )

    return {
        "users": pageable_people(),
        "teams": list(pageable_teams()),
        "schedules": list(pageable_schedules()),
    }
