"""The demo organisation's action items: on the most severe resolved or closed incidents
(and on their postmortems, when the demo wrote some), items in every state — open and
in progress (two of them overdue), done, and one accepted as a risk by a manager — with
owners among the staff and links to an outside tracker. Written through the services at
the times they would have happened, so each is on its incident's timeline."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Max

from tocsin.accounts.models import Role, User
from tocsin.core.actors import Actor
from tocsin.core.clock import travel
from tocsin.incidents.models import Incident, Status
from tocsin.learning import action_items
from tocsin.learning.models import ActionItem, Postmortem

DAY = dt.timedelta(days=1)

# title, days before `end` it was written, due (days after it was written), priority,
# what became of it (status, days before `end`), tracker id
ITEMS: tuple[tuple[str, int, int, int, str, str], ...] = (
    ("Alert when the database connection pool is 80 % full", 20, 10, 2, "overdue", "OPS-311"),
    ("Add a synthetic check of the login page", 18, 12, 2, "overdue_started", "OPS-318"),
    ("Document the failover of the payment gateway", 15, 30, 3, "open", ""),
    ("Move the certificate renewal to the shared automation", 12, 25, 2, "in_progress", "OPS-322"),
    ("Raise the disk alert threshold on the mail relays", 25, 7, 3, "done", "OPS-290"),
    ("Give the on-call rota a second responder at weekends", 22, 14, 2, "done", ""),
    ("Replace the legacy VPN concentrator", 19, 21, 3, "accepted_risk", "OPS-301"),
    ("Review the rate limits of the public API", 6, 20, 4, "open", ""),
)


def _staff() -> tuple[list[User], User | None]:
    staff = list(
        User.objects.filter(
            is_active=True, role__in=[Role.AGENT, Role.RESPONDER, Role.MANAGER]
        ).order_by("pk")
    )
    manager = (
        User.objects.filter(is_active=True, role__in=[Role.MANAGER, Role.ADMIN])
        .order_by("role", "pk")
        .first()
    )
    return staff, manager


def _sources() -> list[tuple[Incident, Postmortem | None]]:
    incidents = list(
        Incident.objects.filter(status__in=[Status.RESOLVED, Status.CLOSED]).order_by(
            "priority", "-number"
        )[:12]
    )
    found: list[tuple[Incident, Postmortem | None]] = []
    for incident in incidents:
        postmortem = Postmortem.objects.filter(incident=incident).first()
        found.append((incident, postmortem))
    return found


def write_action_items(end: dt.datetime) -> None:
    staff, manager = _staff()
    sources = _sources()
    if not staff or not sources:
        return
    # each source with the time of its last timeline entry: an item is written after it
    lasts = [
        incident.timeline.aggregate(last=Max("created_at"))["last"] or end
        for incident, _ in sources
    ]
    for n, (title, written, due_in, priority, fate, tracker) in enumerate(ITEMS):
        at = end - written * DAY
        # the first source (from the n-th on) whose history was over by then
        fits = [
            k
            for k in (*range(n % len(sources), len(sources)), *range(n % len(sources)))
            if lasts[k] < at
        ]
        if not fits:  # every history is newer: write it just after the first's
            fits = [n % len(sources)]
            at = min(lasts[fits[0]] + dt.timedelta(minutes=5), end)
        incident, postmortem = sources[fits[0]]
        owner = staff[n % len(staff)]
        actor = Actor.for_user(staff[(n + 1) % len(staff)])
        with travel(at):
            item = action_items.action_item_create(
                actor=actor,
                incident=None if postmortem else incident,
                postmortem=postmortem,
                title=title,
                owner=owner,
                due_at=at + due_in * DAY,
                priority=priority,
                tracker_url=f"https://tracker.example.com/browse/{tracker}" if tracker else "",
                description="Agreed in the review of the incident.",
            )
        _become(item, fate, owner, manager, at, end)
        _reminded(item, end)


def _become(
    item: ActionItem,
    fate: str,
    owner: User,
    manager: User | None,
    written: dt.datetime,
    end: dt.datetime,
) -> None:
    later = written + (end - written) / 2
    by_owner = Actor.for_user(owner)
    with travel(later):
        if fate in ("in_progress", "overdue_started", "done"):
            action_items.action_item_update(item=item, actor=by_owner, status="in_progress")
        if fate == "accepted_risk" and manager is not None:
            action_items.action_item_accept_risk(
                item=item,
                actor=Actor.for_user(manager),
                reason="The concentrator is retired with the office move in the spring; "
                "the cost of replacing it first outweighs the risk until then.",
            )
    if fate == "done":
        with travel(later + DAY):
            action_items.action_item_update(item=item, actor=by_owner, status="done")


def _reminded(item: ActionItem, end: dt.datetime) -> None:
    """The reminders the worker would have sent already are marked sent (the demo's
    addresses are not real: nothing is queued for them)."""
    item.refresh_from_db()
    if not item.is_open or item.due_at is None:
        return
    marks: dict[str, Any] = {}
    early = item.due_at - 2 * DAY
    if early <= end:
        marks["reminded_before_at"] = early
    if item.due_at <= end:
        marks["reminded_due_at"] = item.due_at
    if marks:
        ActionItem.objects.filter(pk=item.pk).update(**marks)
