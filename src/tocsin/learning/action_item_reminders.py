"""Reminding an action item's owner (issue 12, point 2): once before the due date
(`TOCSIN_ACTION_ITEM_REMIND_DAYS`, default 2 days; 0 turns it off) and once at it.

A reminder goes the way a role notification goes (escalation/role_notify.py): one
low-urgency message through each contact method of the first step of the owner's
low-urgency cycle, never a voice call, queued in the outbox and sent by the worker;
an owner with no contact method is mailed at their account's address.

Each reminder is claimed with a compare-and-set (`UPDATE ... WHERE reminded_x_at IS
NULL AND due_at = <read> AND owner = <read>` changing exactly one row), committed with
its outbox messages and timeline entry: of two workers one sends it and the other
changes nothing; a crash rolls the whole reminder back and the next turn sends it. A
worker that comes late (past the due date, the first reminder never sent) sends only
the at-due-date one. A new due date or owner clears both marks (action_items.py).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from tocsin.accounts.models import ContactKind, Urgency, User
from tocsin.accounts.selectors import effective_rules_many
from tocsin.core.actors import Actor
from tocsin.incidents.models import EntryKind
from tocsin.incidents.timeline import timeline_append
from tocsin.learning.models import ActionItem
from tocsin.learning.models.actions import OPEN_STATUSES
from tocsin.notify.services import outbox_enqueue

REMINDER_PURPOSE = "action_item_reminder"
BEFORE, DUE = "before", "due"
SYSTEM = Actor.system("action item reminders")


def remind_before() -> dt.timedelta:
    return dt.timedelta(days=settings.TOCSIN_ACTION_ITEM_REMIND_DAYS)


def reminder_due(at: dt.datetime, limit: int = 100) -> list[int]:
    """Open items with an owner whose next reminder is due, soonest due first."""
    due = Q(reminded_due_at__isnull=True, due_at__lte=at)
    before = remind_before()
    if before:
        due |= Q(reminded_before_at__isnull=True, due_at__lte=at + before)
    return list(
        ActionItem.objects.filter(
            status__in=OPEN_STATUSES, owner__isnull=False, due_at__isnull=False
        )
        .filter(due)
        .order_by("due_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def _content(item: ActionItem, which: str) -> tuple[str, str, dict[str, object]]:
    base = settings.BASE_URL.rstrip("/")
    link = f"{base}/action-items/{item.pk}/"
    assert item.due_at is not None and item.incident is not None
    due = item.due_at.strftime("%Y-%m-%d %H:%M UTC")
    if which == DUE:
        subject = f"Action item due now: {item.title}"
        head = f"This action item is due now ({due})."
    else:
        subject = f"Action item due {due}: {item.title}"
        head = f"This action item of yours is due on {due}."
    lines = [
        head,
        "",
        item.title,
        f"From {item.incident.ref}: {item.incident.title} · P{item.priority} · "
        f"{item.get_status_display()}",
    ]
    if item.tracker_url:
        lines.append(f"Tracker: {item.tracker_url}")
    lines += ["", f"Open: {link}"]
    payload: dict[str, object] = {
        "kind": REMINDER_PURPOSE,
        "reminder": which,
        "action_item": item.pk,
        "incident": item.incident.ref,
        "title": item.title,
        "due_at": item.due_at.isoformat(),
        "urgency": Urgency.LOW,
        "links": {"open": link},
    }
    return subject[:300], "\n".join(lines), payload


def _send(item: ActionItem, person: User, which: str) -> bool:
    """Queue the reminder (the role-notification path); False when nobody can be reached."""
    subject, body, payload = _content(item, which)
    assert item.due_at is not None
    key = f"action-remind:{item.pk}:{which}:{int(item.due_at.timestamp())}:{person.pk}"
    cycle = effective_rules_many([person], Urgency.LOW).get(person.pk, [])
    usable = [rule for rule in cycle if rule.method.kind != ContactKind.VOICE]
    if usable:
        first = min(rule.delay_minutes for rule in usable)
        for rule in usable:
            if rule.delay_minutes != first:
                continue
            outbox_enqueue(
                channel=rule.method.kind,
                recipient="",  # the channel reads the address from the contact method
                subject=subject,
                body=body,
                payload=payload,
                dedup_key=f"{key}:m{rule.method.pk}",
                incident=item.incident,
                person=person,
                contact_method=rule.method,
                purpose=REMINDER_PURPOSE,
            )
        return True
    if person.email:
        outbox_enqueue(
            channel="email",
            recipient=person.email,
            subject=subject,
            body=body,
            payload=payload,
            dedup_key=key,
            incident=item.incident,
            person=person,
            purpose=REMINDER_PURPOSE,
        )
        return True
    return False


@transaction.atomic
def action_item_remind(*, item_id: int, at: dt.datetime) -> bool:
    """Send the item's due reminder, once. False when another worker took it or none is
    due any more (done, re-dated, given to someone else)."""
    item = (
        ActionItem.objects.select_related("owner", "incident")
        .filter(pk=item_id, status__in=OPEN_STATUSES, owner__isnull=False, due_at__isnull=False)
        .first()
    )
    if item is None or item.owner is None or item.due_at is None:
        return False
    same = ActionItem.objects.filter(
        pk=item.pk, due_at=item.due_at, owner_id=item.owner_id, status__in=OPEN_STATUSES
    )
    if item.due_at <= at and item.reminded_due_at is None:
        which = DUE
        # late (or no warning configured): the earlier reminder is not sent any more
        claimed = same.filter(reminded_due_at__isnull=True).update(
            reminded_due_at=at, reminded_before_at=item.reminded_before_at or at
        )
    elif (
        remind_before()
        and item.reminded_before_at is None
        and item.due_at - remind_before() <= at < item.due_at
    ):
        which = BEFORE
        claimed = same.filter(reminded_before_at__isnull=True).update(reminded_before_at=at)
    else:
        return False
    if claimed != 1:
        return False
    person = item.owner
    reached = person.is_active and _send(item, person, which)
    when = "due now" if which == DUE else "due soon"
    if reached:
        text = f"Action item #{item.pk} ({item.title}) {when}: reminded {person.display_name}."
    else:
        text = (
            f"Action item #{item.pk} ({item.title}) {when}: "
            f"{person.display_name} cannot be reached."
        )
    assert item.incident is not None
    timeline_append(
        incident=item.incident,
        kind=EntryKind.ACTION_ITEM,
        actor=SYSTEM,
        text=text,
        data={"action_item": item.pk, "event": f"reminder_{which}", "reached": reached},
    )
    return True
