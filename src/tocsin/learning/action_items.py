"""Action items (issue 12, point 2): every write, one function per use case.

An item comes from an incident or from its postmortem (then its incident is the
postmortem's), has an owner, a due date, a priority and a status (open → in progress →
done, or accepted as a risk by a manager with a reason). Every change is an
`action_item` entry on the incident's timeline, written in the same transaction with
the actor. After every change the postmortem's completion is recomputed: a postmortem
is complete (`completed_at`) when it is published and each of its items is done or
accepted as a risk (`postmortems.postmortem_check_complete`, which the postmortem's
own services call when it is published too).

Due dates: a due date in the past is refused when it is set (on create, or when it is
changed); an item becomes overdue as time passes, and editing an overdue item's other
fields keeps its due date. Changing the due date or the owner re-arms the reminders
(learning/action_item_reminders.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction

from tocsin.accounts.models import User
from tocsin.accounts.permissions import Action, can, require_for
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.core.errors import Conflict, Invalid
from tocsin.incidents.models import EntryKind, Incident, Priority
from tocsin.incidents.timeline import timeline_append
from tocsin.learning.models import ActionItem, ActionItemStatus, Postmortem
from tocsin.learning.postmortems import postmortem_check_complete

TITLE_MAX = 200
DESCRIPTION_MAX = 20_000
URL_MAX = 500
REASON_MAX = 2_000
# What PATCH may set; accepting as a risk has its own action (it needs a reason and a
# manager).
EDITABLE_STATUSES = (ActionItemStatus.OPEN, ActionItemStatus.IN_PROGRESS, ActionItemStatus.DONE)

_UNSET: Any = object()
_url = URLValidator(schemes=["http", "https"])


# --- checks -----------------------------------------------------------------------------------


def title_check(value: str) -> str:
    value = value.strip()
    if not value:
        raise Invalid("title", "Say what is to be done.")
    if len(value) > TITLE_MAX:
        raise Invalid("title", f"At most {TITLE_MAX} characters.")
    return value


def description_check(value: str) -> str:
    if len(value) > DESCRIPTION_MAX:
        raise Invalid("description", f"At most {DESCRIPTION_MAX} characters.")
    return value.strip()


def tracker_url_check(value: str) -> str:
    """An http:// or https:// address (or nothing): never javascript:, data: or a file."""
    value = value.strip()
    if not value:
        return ""
    if len(value) > URL_MAX:
        raise Invalid("tracker_url", f"At most {URL_MAX} characters.")
    try:
        _url(value)
    except ValidationError:
        raise Invalid("tracker_url", "Must be an http:// or https:// address.") from None
    return value


def owner_check(owner: User | None) -> User | None:
    """An owner is an active member of staff (a reporter cannot see action items)."""
    if owner is None:
        return None
    if not owner.is_active or not can(owner, Action.ACTION_ITEM_EDIT):
        raise Invalid("owner", f"{owner.username} cannot own action items (not active staff).")
    return owner


def due_check(due_at: dt.datetime | None, *, at: dt.datetime) -> dt.datetime | None:
    if due_at is None:
        return None
    if due_at.tzinfo is None:
        raise Invalid("due_at", "Give a time zone (e.g. 2026-12-24T17:00:00Z).")
    if due_at < at:
        raise Invalid("due_at", "The due date is in the past.")
    return due_at


def priority_check(value: int) -> int:
    if value not in Priority.values:
        raise Invalid("priority", "Must be 1, 2, 3 or 4.")
    return value


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "none"


def _owner_name(owner: User | None) -> str:
    return owner.display_name if owner is not None else "nobody"


# --- the postmortem's completion -----------------------------------------------------------------


def _refresh(item: ActionItem, actor: Actor) -> None:
    if item.postmortem_id is not None:
        postmortem = Postmortem.objects.select_for_update().get(pk=item.postmortem_id)
        postmortem_check_complete(postmortem=postmortem, actor=actor)


def _entry(item: ActionItem, actor: Actor, text: str, event: str, **data: Any) -> None:
    assert item.incident is not None
    timeline_append(
        incident=item.incident,
        kind=EntryKind.ACTION_ITEM,
        actor=actor,
        text=text,
        data={"action_item": item.pk, "event": event, "title": item.title, **data},
    )


def _same(item: ActionItem, name: str, value: Any) -> bool:
    if name == "owner":
        return (value.pk if value is not None else None) == item.owner_id
    return bool(getattr(item, name) == value)


# --- writes ---------------------------------------------------------------------------------------


@transaction.atomic
def action_item_create(
    *,
    actor: Actor,
    title: str,
    incident: Incident | None = None,
    postmortem: Postmortem | None = None,
    description: str = "",
    owner: User | None = None,
    due_at: dt.datetime | None = None,
    priority: int = Priority.P3,
    tracker_url: str = "",
) -> ActionItem:
    """A new open item on an incident, or on a postmortem (and so on its incident)."""
    require_for(actor, Action.ACTION_ITEM_EDIT)
    at = now()
    if postmortem is not None:
        if incident is not None and incident.pk != postmortem.incident_id:
            raise Invalid("incident", "The postmortem is about another incident.")
        incident = postmortem.incident
    if incident is None:
        raise Invalid("incident", "An action item comes from an incident or a postmortem.")
    item = ActionItem.objects.create(
        incident=incident,
        postmortem=postmortem,
        title=title_check(title),
        description=description_check(description),
        owner=owner_check(owner),
        due_at=due_check(due_at, at=at),
        priority=priority_check(priority),
        tracker_url=tracker_url_check(tracker_url),
        created_at=at,
        created_by=actor.user,
        updated_at=at,
    )
    _entry(
        item,
        actor,
        f"Action item #{item.pk} added: {item.title} (owner {_owner_name(item.owner)}, "
        f"due {_when(item.due_at)}).",
        "created",
        owner=item.owner.username if item.owner else None,
        due_at=item.due_at.isoformat() if item.due_at else None,
        postmortem=item.postmortem_id,
    )
    _refresh(item, actor)
    return item


@transaction.atomic
def action_item_update(
    *,
    item: ActionItem,
    actor: Actor,
    title: str = _UNSET,
    description: str = _UNSET,
    owner: User | None = _UNSET,
    due_at: dt.datetime | None = _UNSET,
    priority: int = _UNSET,
    status: str = _UNSET,
    tracker_url: str = _UNSET,
) -> ActionItem:
    """Change what is given; nothing given or nothing different changes nothing (no
    timeline entry). Accepting as a risk is `action_item_accept_risk`."""
    require_for(actor, Action.ACTION_ITEM_EDIT)
    at = now()
    item = (
        ActionItem.objects.select_for_update(of=("self",))
        .select_related("owner", "incident")
        .get(pk=item.pk)
    )
    new: dict[str, Any] = {}
    if title is not _UNSET:
        new["title"] = title_check(title)
    if description is not _UNSET:
        new["description"] = description_check(description)
    if owner is not _UNSET and not _same(item, "owner", owner):
        new["owner"] = owner_check(owner)
    if due_at is not _UNSET and due_at != item.due_at:
        new["due_at"] = due_check(due_at, at=at)
    if priority is not _UNSET:
        new["priority"] = priority_check(priority)
    if status is not _UNSET:
        if status == ActionItemStatus.ACCEPTED_RISK and item.status != status:
            raise Invalid(
                "status", "Accepting as a risk needs a manager and a reason: use accept-risk."
            )
        if status not in ActionItemStatus.values:
            raise Invalid("status", "Must be open, in_progress or done.")
        new["status"] = status
    if tracker_url is not _UNSET:
        new["tracker_url"] = tracker_url_check(tracker_url)
    changed = {name: value for name, value in new.items() if not _same(item, name, value)}
    if not changed:
        return item
    texts: list[str] = []
    data: dict[str, Any] = {}
    fields = ["updated_at"]
    for name, value in changed.items():
        old = getattr(item, name)
        setattr(item, name, value)
        fields.append(name)
        if name == "owner":
            texts.append(f"owner {_owner_name(old)} → {_owner_name(value)}")
            data["owner"] = value.username if value else None
        elif name == "due_at":
            texts.append(f"due {_when(old)} → {_when(value)}")
            data["due_at"] = value.isoformat() if value else None
        elif name == "status":
            texts.append(
                f"status {ActionItemStatus(old).label} → {ActionItemStatus(value).label}".lower()
            )
            data["status"] = {"from": old, "to": value}
        elif name == "priority":
            texts.append(f"priority P{old} → P{value}")
            data["priority"] = value
        else:
            texts.append(f"{name.replace('_', ' ')} changed")
            data.setdefault("changed", []).append(name)
    if "owner" in changed or "due_at" in changed:
        # a new due date or a new owner: remind again, before and at the due date
        item.reminded_before_at = item.reminded_due_at = None
        fields += ["reminded_before_at", "reminded_due_at"]
    if "status" in changed:
        item.closed_at = at if item.status == ActionItemStatus.DONE else None
        item.risk_reason = ""
        fields += ["closed_at", "risk_reason"]
    item.updated_at = at
    item.save(update_fields=fields)
    _entry(
        item,
        actor,
        f"Action item #{item.pk} ({item.title}): {'; '.join(texts)}.",
        "updated",
        **data,
    )
    _refresh(item, actor)
    return item


@transaction.atomic
def action_item_accept_risk(*, item: ActionItem, actor: Actor, reason: str) -> ActionItem:
    """A manager (or an administrator) decides the item will not be done, and says why."""
    require_for(actor, Action.ACTION_ITEM_ACCEPT_RISK)
    reason = reason.strip()
    if not reason:
        raise Invalid("reason", "Say why the risk is accepted.")
    if len(reason) > REASON_MAX:
        raise Invalid("reason", f"At most {REASON_MAX} characters.")
    at = now()
    item = (
        ActionItem.objects.select_for_update(of=("self",))
        .select_related("incident")
        .get(pk=item.pk)
    )
    if item.status == ActionItemStatus.ACCEPTED_RISK:
        raise Conflict("this action item is already accepted as a risk")
    old = item.status
    item.status = ActionItemStatus.ACCEPTED_RISK
    item.risk_reason = reason
    item.closed_at = at
    item.updated_at = at
    item.save(update_fields=["status", "risk_reason", "closed_at", "updated_at"])
    _entry(
        item,
        actor,
        f"Action item #{item.pk} ({item.title}) accepted as a risk: {reason}",
        "accepted_risk",
        status={"from": old, "to": item.status},
        reason=reason,
    )
    _refresh(item, actor)
    return item
