"""Telling a person they now hold an incident role (issue 11).

Registered on `tocsin.incidents.hooks.on_role_assigned` (escalation/wiring.py). A role
notification is not a climb: it is one low-urgency message through each contact method
of the first step of the person's low-urgency cycle (the methods that go at once), never
a voice call, never repeated. It is queued in the outbox inside `role_assign`'s
transaction and sent by the worker after the commit. Someone who takes a role themselves
is not told about it.
"""

from __future__ import annotations

from django.conf import settings

from tocsin.accounts.models import ContactKind, Urgency
from tocsin.accounts.selectors import effective_rules_many
from tocsin.core.actors import Actor
from tocsin.incidents.models import EntryKind, RoleAssignment
from tocsin.incidents.timeline import timeline_append
from tocsin.notify.services import outbox_enqueue

ROLE_PURPOSE = "role"


def role_content(assignment: RoleAssignment) -> tuple[str, str, dict[str, object]]:
    incident, role = assignment.incident, assignment.role
    service = incident.service.name if incident.service_id else ""  # type: ignore[union-attr]
    open_url = f"{settings.BASE_URL.rstrip('/')}/incidents/{incident.ref}/"
    by = assignment.assigned_by.display_name if assignment.assigned_by_id else "Tocsin"  # type: ignore[union-attr]
    subject = f"You are {role.name} on {incident.ref}: {incident.title}"
    lines = [
        f"{incident.ref} · P{incident.priority}" + (f" · {service}" if service else ""),
        incident.title,
        "",
        f"{by} made you {role.name}.",
    ]
    if role.description:
        lines.append(role.description)
    lines += ["", f"Open: {open_url}"]
    payload: dict[str, object] = {
        "kind": "role",
        "role": role.key,
        "role_name": role.name,
        "assignment": assignment.pk,
        "incident": incident.ref,
        "title": incident.title,
        "priority": incident.priority,
        "urgency": Urgency.LOW,
        "service": service,
        "links": {"open": open_url},
    }
    return subject[:300], "\n".join(lines), payload


def notify_role_holder(*, assignment: RoleAssignment, actor: Actor) -> None:
    """Queue the new holder's notification (nothing when they assigned themselves)."""
    person = assignment.user
    if actor.user is not None and actor.user.pk == person.pk:
        return
    cycle = effective_rules_many([person], Urgency.LOW).get(person.pk, [])
    usable = [rule for rule in cycle if rule.method.kind != ContactKind.VOICE]
    if not usable:
        timeline_append(
            incident=assignment.incident,
            kind=EntryKind.PAGE,
            actor=actor,
            text=f"{person.display_name} has no contact method to be told about the role.",
            data={"role": assignment.role.key, "person": person.username},
        )
        return
    first = min(rule.delay_minutes for rule in usable)
    subject, body, payload = role_content(assignment)
    for rule in usable:
        if rule.delay_minutes != first:
            continue
        outbox_enqueue(
            channel=rule.method.kind,
            recipient="",  # the channel reads the address from the contact method
            subject=subject,
            body=body,
            payload=payload,
            dedup_key=f"role:{assignment.pk}:{rule.method.pk}",
            incident=assignment.incident,
            person=person,
            contact_method=rule.method,
            purpose=ROLE_PURPOSE,
        )
