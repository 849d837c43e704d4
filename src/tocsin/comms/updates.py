"""Stakeholder updates and internal subscribers (issue 11, point 6).

An update is written from the incident page (or the API), usually from a template,
and posted: it is stored, appended to the timeline as a PUBLIC entry (the reporter
sees it) and sent to every recipient once, through the outbox, in the same transaction.
Only the update's own text leaves Tocsin: never the internal notes, never the incident's
description. Recipients:

- the incident's subscriptions and those of its services (the service and the affected
  services): a person, each member of a team, or an outside email address;
- the incident's participants and role holders.

A person is reached by email, or through the first step of their low-urgency
notification rules when their subscription (or their team's) says "contact methods"; a
person's own subscription decides over their team's. Outside addresses
get an unsubscribe link (a signed token; RFC 8058 one-click headers too).

Templates are plain text with the variables {public_service} {service} {impact} {priority}
{ref} {title} {next_update}. {public_service} is the name the public knows (the status
page's component for the service, when one is mapped), which the built-in templates use,
since updates also go to outside addresses; {service} is the internal service name.
Unknown variables are refused when a template is saved, and the text is filled by
substituting exactly those names (no attribute access, no format specs, never Django
template evaluation of what a person typed).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet

from tocsin.accounts.models import Team, Urgency, User
from tocsin.accounts.permissions import Action, can, people_who_may, require_for
from tocsin.accounts.selectors import effective_rules_many
from tocsin.catalog.models import Service
from tocsin.comms import events
from tocsin.comms.models import (
    Component,
    StakeholderUpdate,
    Subscription,
    SubscriptionChannel,
    UpdateStatus,
    UpdateTemplate,
)
from tocsin.core.actors import Actor
from tocsin.core.audit import audit_record
from tocsin.core.clock import now
from tocsin.core.errors import Conflict, Invalid, NotFound
from tocsin.incidents.models import (
    OPEN_STATUSES,
    EntryKind,
    Incident,
    IncidentRole,
    Participant,
    RoleAssignment,
    Status,
    Visibility,
)
from tocsin.incidents.selectors import access_incident
from tocsin.incidents.services.response import role_holder
from tocsin.incidents.timeline import timeline_append
from tocsin.notify.services import outbox_enqueue

VARIABLES = ("public_service", "service", "impact", "priority", "ref", "title", "next_update")
BODY_MAX = 5000
NAME_MAX = 60
NEXT_UPDATE_MAX = 24 * 60  # minutes
PURPOSE = "update"
REMINDER_PURPOSE = "update-remind"
UNSUBSCRIBE_SALT = "tocsin.comms.unsubscribe"
ONE_CLICK = "List-Unsubscribe=One-Click"

_PLACEHOLDER = re.compile(r"\{([^{}\n]{0,40})\}")


# --- templates: variables ---------------------------------------------------------------------


def template_check(body: str, field: str = "body") -> str:
    """The body, stripped, if every {variable} in it is known; Invalid naming the field
    and the unknown variables otherwise."""
    body = (body or "").strip()
    if not body:
        raise Invalid(field, "Write the text of the template.")
    if len(body) > BODY_MAX:
        raise Invalid(field, f"At most {BODY_MAX} characters.")
    unknown = sorted({name for name in _PLACEHOLDER.findall(body) if name not in VARIABLES})
    if unknown:
        names = ", ".join("{" + name + "}" for name in unknown)
        known = " ".join("{" + name + "}" for name in VARIABLES)
        raise Invalid(field, f"Unknown variable {names}; the variables are {known}.")
    return body


def render(text: str, values: Mapping[str, str]) -> str:
    """Fill in the known {variables}; anything else in braces stays as written."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def _when(at: dt.datetime | None) -> str:
    if at is None:
        return "when there is news"
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    return at.astimezone(zone).strftime("%H:%M %Z (%d %b)")


def public_service_name(incident: Incident) -> str:
    """What the public calls the incident's service: the name of the status-page component
    it is mapped to (a shown one first, then page order), else the service's own name;
    "our services" when the incident has no service."""
    if not incident.service_id:
        return "our services"
    component = (
        Component.objects.filter(services=incident.service_id, archived_at__isnull=True)
        .order_by("-showcase", "group__position", "position", "name")
        .values_list("name", flat=True)
        .first()
    )
    return component or incident.service.name  # type: ignore[union-attr]


def variables_for(incident: Incident, next_update_at: dt.datetime | None) -> dict[str, str]:
    impact = incident.get_impact_display()
    return {
        "public_service": public_service_name(incident),
        "service": incident.service.name if incident.service_id else "our services",  # type: ignore[union-attr]
        "impact": impact.split("–", 1)[-1].strip(),
        "priority": incident.priority_label,
        "ref": incident.ref,
        "title": incident.title,
        "next_update": _when(next_update_at),
    }


def next_update_at(minutes: int | None, at: dt.datetime | None = None) -> dt.datetime | None:
    if minutes is None:
        return None
    return (at or now()) + dt.timedelta(minutes=minutes)


def template_prefill(template: UpdateTemplate, incident: Incident, minutes: int | None) -> str:
    return render(template.body, variables_for(incident, next_update_at(minutes)))


# --- templates: writes --------------------------------------------------------------------------


def _template_fields(name: str, status: str, body: str) -> tuple[str, str, str]:
    name = (name or "").strip()
    if not name:
        raise Invalid("name", "Give the template a name.")
    if len(name) > NAME_MAX:
        raise Invalid("name", f"At most {NAME_MAX} characters.")
    if status not in UpdateStatus.values:
        raise Invalid("status", f"One of {', '.join(UpdateStatus.values)}.")
    return name, status, template_check(body)


@transaction.atomic
def update_template_create(
    *, actor: Actor, name: str, status: str, body: str, position: int = 100
) -> UpdateTemplate:
    require_for(actor, Action.UPDATE_TEMPLATE_MANAGE)
    name, status, body = _template_fields(name, status, body)
    if UpdateTemplate.objects.filter(name__iexact=name).exists():
        raise Invalid("name", "Another template has this name.")
    template = UpdateTemplate.objects.create(
        name=name, status=status, body=body, position=position, created_at=now(), updated_at=now()
    )
    audit_record(
        actor=actor,
        action="update_template.create",
        obj=template,
        after={"name": name, "status": status, "body": body},
    )
    return template


@transaction.atomic
def update_template_edit(
    *,
    actor: Actor,
    template: UpdateTemplate,
    name: str,
    status: str,
    body: str,
    archived: bool = False,
) -> UpdateTemplate:
    require_for(actor, Action.UPDATE_TEMPLATE_MANAGE)
    name, status, body = _template_fields(name, status, body)
    if UpdateTemplate.objects.filter(name__iexact=name).exclude(pk=template.pk).exists():
        raise Invalid("name", "Another template has this name.")
    before = {"name": template.name, "status": template.status, "body": template.body}
    template.name, template.status, template.body = name, status, body
    template.updated_at = now()
    if archived and template.archived_at is None:
        template.archived_at = now()
    elif not archived:
        template.archived_at = None
    template.save()
    audit_record(
        actor=actor,
        action="update_template.edit",
        obj=template,
        before=before,
        after={"name": name, "status": status, "body": body, "archived": archived},
    )
    return template


def update_templates(*, archived: bool = False) -> QuerySet[UpdateTemplate]:
    return UpdateTemplate.objects.filter(archived_at__isnull=not archived)


# --- access gates -----------------------------------------------------------------------------


def access_incident_updates(user: User | None, ref: str | int) -> Incident:
    """The incident if this person may see it (its updates are public on its timeline)."""
    return access_incident(user, ref)


def access_incident_subscribers(user: User | None, ref: str | int) -> Incident:
    """The incident if this person may see and manage its subscribers; 404 otherwise."""
    incident = access_incident(user, ref)
    if not can(user, Action.UPDATE_SUBSCRIBE, incident):
        raise NotFound(f"no incident {incident.ref}")
    return incident


def access_service_subscribers(user: User | None, service_id: int) -> Service:
    service = Service.objects.filter(pk=service_id).first()
    if service is None or not can(user, Action.UPDATE_SUBSCRIBE):
        raise NotFound(f"no service {service_id}")
    return service


# --- subscriptions ----------------------------------------------------------------------------


def subscriptions_of(
    *, incident: Incident | None = None, service: Service | None = None
) -> QuerySet[Subscription]:
    qs = Subscription.objects.select_related("user", "team", "incident", "service")
    if incident is not None:
        return qs.filter(incident=incident)
    return qs.filter(service=service)


def subscription_of(user: User, incident: Incident) -> Subscription | None:
    return Subscription.objects.filter(incident=incident, user=user).first()


def _clean_email(value: str) -> str:
    value = (value or "").strip().lower()
    try:
        validate_email(value)
    except ValidationError:
        raise Invalid("email", "Enter a valid email address.") from None
    return value


@transaction.atomic
def subscription_add(
    *,
    actor: Actor,
    incident: Incident | None = None,
    service: Service | None = None,
    user: User | None = None,
    team: Team | None = None,
    email: str = "",
    channel: str = SubscriptionChannel.EMAIL,
) -> Subscription:
    """Subscribe a person, a team or an outside address to an incident or a service
    (once: subscribing again returns the subscription, with the channel given)."""
    require_for(actor, Action.UPDATE_SUBSCRIBE, incident, what="manage stakeholder subscribers")
    if (incident is None) == (service is None):
        raise Invalid("subject", "Subscribe to an incident or to a service.")
    if sum(x is not None and x != "" for x in (user, team, email)) != 1:
        raise Invalid("user", "Give exactly one of a person, a team or an email address.")
    if channel not in SubscriptionChannel.values:
        raise Invalid("channel", f"One of {', '.join(SubscriptionChannel.values)}.")
    if incident is not None and incident.status == Status.CLOSED:
        raise Conflict(f"{incident.ref} is closed; its updates are over.")
    if user is not None and (not user.is_active or not can(user, Action.INCIDENT_VIEW)):
        raise Invalid("user", f"{user.display_name} cannot see incidents; add their email instead.")
    if email:
        email = _clean_email(email)
        channel = SubscriptionChannel.EMAIL
    lookup: dict[str, Any] = {"incident": incident, "service": service}
    if user is not None:
        lookup["user"] = user
    elif team is not None:
        lookup["team"] = team
    else:
        lookup["email"] = email
    existing = Subscription.objects.filter(**lookup).first()
    if existing is not None:
        if existing.channel != channel:
            existing.channel = channel
            existing.save(update_fields=["channel"])
        return existing
    try:
        with transaction.atomic():
            subscription = Subscription.objects.create(
                channel=channel, created_at=now(), created_by=actor.user, **lookup
            )
    except IntegrityError:  # added at the same moment by someone else
        return Subscription.objects.get(**lookup)
    audit_record(
        actor=actor,
        action="subscription.add",
        obj=subscription,
        after=_subscription_audit(subscription),
    )
    return subscription


def _subscription_audit(subscription: Subscription) -> dict[str, Any]:
    return {
        "incident": subscription.incident.ref if subscription.incident_id else None,  # type: ignore[union-attr]
        "service": subscription.service_id,
        "user": subscription.user.username if subscription.user_id else None,  # type: ignore[union-attr]
        "team": subscription.team_id,
        "email": subscription.email,
        "channel": subscription.channel,
    }


@transaction.atomic
def subscription_remove(*, actor: Actor, subscription: Subscription) -> None:
    require_for(
        actor,
        Action.UPDATE_SUBSCRIBE,
        subscription.incident,
        what="manage stakeholder subscribers",
    )
    before = _subscription_audit(subscription)
    Subscription.objects.filter(pk=subscription.pk).delete()
    audit_record(
        actor=actor,
        action="subscription.remove",
        object_type="comms.subscription",
        object_id=subscription.pk,
        before=before,
    )


def unsubscribe_token(subscription: Subscription) -> str:
    """`<id>:<signature>`: the subscription's id signed with the installation's key."""
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign(str(subscription.pk))


def unsubscribe_url(subscription: Subscription) -> str:
    return f"{settings.BASE_URL}/updates/unsubscribe/{unsubscribe_token(subscription)}/"


def unsubscribe_lookup(token: str) -> tuple[Subscription | None, str]:
    """The subscription a link stands for (None when already gone) and its address;
    NotFound when the token is not one of ours."""
    try:
        value = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign(token)
    except signing.BadSignature:
        raise NotFound("This unsubscribe link is not valid.") from None
    if not value.isdigit():
        raise NotFound("This unsubscribe link is not valid.")
    found = Subscription.objects.filter(pk=int(value)).exclude(email="").first()
    return found, found.email if found is not None else ""


@transaction.atomic
def unsubscribe(*, token: str) -> str:
    """Remove the subscription of an unsubscribe link (again: nothing more happens);
    the address it was for."""
    subscription, email = unsubscribe_lookup(token)
    if subscription is not None:
        before = _subscription_audit(subscription)
        Subscription.objects.filter(pk=subscription.pk).delete()
        audit_record(
            actor=Actor.system("unsubscribe link"),
            action="subscription.unsubscribe",
            object_type="comms.subscription",
            object_id=subscription.pk,
            before=before,
        )
    return email


# --- who receives an update -------------------------------------------------------------------


@dataclass
class Recipient:
    """One person or outside address an update goes to, and why (the first reason)."""

    user: User | None
    email: str
    channel: str
    why: str
    subscription: Subscription | None = None

    @property
    def key(self) -> str:
        if self.user is not None:
            return f"user:{self.user.pk}"
        return "email:" + hashlib.sha256(self.email.encode()).hexdigest()[:32]


def update_recipients(incident: Incident) -> list[Recipient]:
    """Every person and address an update of this incident goes to, each once."""
    service_ids = set(incident.affected_services.values_list("pk", flat=True))
    if incident.service_id:
        service_ids.add(incident.service_id)
    subscriptions = list(
        Subscription.objects.select_related("user", "team").filter(
            Q(incident=incident) | Q(service_id__in=service_ids)
        )
    )
    # the incident's own subscriptions first (their channel wins), then the services'
    subscriptions.sort(key=lambda s: (s.service_id is not None, s.created_at, s.pk))
    found: dict[str, Recipient] = {}
    emails: set[str] = set()

    def add_person(user: User, channel: str, why: str) -> None:
        if not user.is_active or not can(user, Action.INCIDENT_VIEW, incident):
            return
        key = f"user:{user.pk}"
        if key not in found:
            found[key] = Recipient(user=user, email=user.email, channel=channel, why=why)
            if channel == SubscriptionChannel.EMAIL and user.email:
                emails.add(user.email.lower())

    for s in subscriptions:
        why = "subscribed" if s.incident_id else "subscribed to the service"
        if s.user is not None:
            add_person(s.user, s.channel, why)
    for s in subscriptions:  # each member by the team subscription's channel
        if s.team is not None:
            for member in s.team.members.all():
                add_person(member, s.channel, f"member of {s.team.name}")
    holders = RoleAssignment.objects.select_related("user").filter(
        incident=incident, ended_at__isnull=True
    )
    for holder in holders:
        add_person(holder.user, SubscriptionChannel.EMAIL, "holds a role")
    for participant in Participant.objects.select_related("user").filter(incident=incident):
        add_person(participant.user, SubscriptionChannel.EMAIL, "participant")
    for s in subscriptions:
        if s.email and s.email.lower() not in emails:
            emails.add(s.email.lower())
            key = "email:" + s.email.lower()
            found[key] = Recipient(
                user=None,
                email=s.email,
                channel=SubscriptionChannel.EMAIL,
                why="subscribed" if s.incident_id else "subscribed to the service",
                subscription=s,
            )
    return list(found.values())


# --- posting an update ------------------------------------------------------------------------


def _status(value: str) -> str:
    if value not in UpdateStatus.values:
        raise Invalid("status", f"One of {', '.join(UpdateStatus.values)}.")
    return value


def _minutes(value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= NEXT_UPDATE_MAX:
        raise Invalid("next_update_minutes", f"A whole number of minutes, 1 to {NEXT_UPDATE_MAX}.")
    return value


def _mail(update: StakeholderUpdate, incident: Incident, *, for_staff: bool) -> tuple[str, str]:
    label = UpdateStatus(update.status).label
    if for_staff:
        subject = f"[{incident.ref}] {label}: {incident.title}"
    else:
        subject = f"{incident.ref} update: {label}"
    lines = [update.body, ""]
    if update.next_update_at is not None:
        lines.append(f"Next update by {_when(update.next_update_at)}.")
    if for_staff:
        lines.append(f"Incident: {settings.BASE_URL}/incidents/{incident.ref}/")
    return subject[:300], "\n".join(lines).rstrip() + "\n"


def _send(update: StakeholderUpdate, incident: Incident, recipients: list[Recipient]) -> int:
    """Queue the update for each recipient (dedup key per update and recipient)."""
    contact = SubscriptionChannel.CONTACT
    contact_people = [r.user for r in recipients if r.user is not None and r.channel == contact]
    cycles = effective_rules_many(contact_people, Urgency.LOW) if contact_people else {}
    sent = 0
    staff_subject, staff_body = _mail(update, incident, for_staff=True)
    for r in recipients:
        base_key = f"update:{update.pk}:{r.key}"
        if r.user is not None:
            cycle = cycles.get(r.user.pk, []) if r.channel == SubscriptionChannel.CONTACT else []
            if cycle:
                first = min(rule.delay_minutes for rule in cycle)
                for rule in (x for x in cycle if x.delay_minutes == first):
                    outbox_enqueue(
                        channel=rule.method.kind,
                        recipient="",  # the channel reads the contact method's address
                        subject=staff_subject,
                        body=staff_body,
                        payload={
                            "kind": PURPOSE,
                            "incident": incident.ref,
                            "status": update.status,
                            "urgency": Urgency.LOW,
                        },
                        dedup_key=f"{base_key}:m{rule.method.pk}",
                        incident=incident,
                        person=r.user,
                        contact_method=rule.method,
                        purpose=PURPOSE,
                    )
                sent += 1
                continue
            if not r.user.email:
                continue
            outbox_enqueue(
                channel="email",
                recipient=r.user.email,
                subject=staff_subject,
                body=staff_body,
                payload={"kind": PURPOSE, "incident": incident.ref, "status": update.status},
                dedup_key=base_key,
                incident=incident,
                person=r.user,
                purpose=PURPOSE,
            )
            sent += 1
            continue
        assert r.subscription is not None
        subject, body = _mail(update, incident, for_staff=False)
        link = unsubscribe_url(r.subscription)
        body += (
            f"\n--\nYou receive these updates because {r.email} is subscribed.\n"
            f"Unsubscribe: {link}\n"
        )
        outbox_enqueue(
            channel="email",
            recipient=r.email,
            subject=subject,
            body=body,
            payload={
                "kind": PURPOSE,
                "status": update.status,
                "headers": {"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": ONE_CLICK},
            },
            dedup_key=base_key,
            incident=incident,
            purpose=PURPOSE,
        )
        sent += 1
    return sent


@transaction.atomic
def update_post(
    *,
    incident: Incident,
    actor: Actor,
    status: str,
    body: str,
    next_update_minutes: int | None = None,
    template: UpdateTemplate | None = None,
) -> StakeholderUpdate:
    """Post a stakeholder update: stored, on the timeline as public, queued for every
    recipient once, and `update_posted` emitted — all in one transaction. Variables left
    in the text are filled in (the next update time from `next_update_minutes`)."""
    require_for(actor, Action.UPDATE_POST, incident, what="post stakeholder updates")
    status = _status(status)
    minutes = _minutes(next_update_minutes)
    text = (body or "").strip()
    if not text:
        raise Invalid("body", "Write the update.")
    if len(text) > BODY_MAX:
        raise Invalid("body", f"At most {BODY_MAX} characters.")
    incident = (
        Incident.objects.select_for_update(of=("self",))
        .select_related("service")
        .get(pk=incident.pk)
    )
    if incident.status == Status.CLOSED:
        raise Conflict(f"{incident.ref} is closed; reopen it to post an update.")
    at = now()
    due = next_update_at(minutes, at)
    text = render(text, variables_for(incident, due))
    update = StakeholderUpdate.objects.create(
        incident=incident,
        status=status,
        body=text,
        next_update_at=due,
        posted_by=actor.user,
        posted_at=at,
        template=template,
    )
    recipients = update_recipients(incident)
    count = _send(update, incident, recipients)
    entry = timeline_append(
        incident=incident,
        kind=EntryKind.UPDATE,
        actor=actor,
        text=f"{UpdateStatus(status).label}: {text}",
        visibility=Visibility.PUBLIC,
        data={
            "update": update.pk,
            "status": status,
            "next_update_at": due.isoformat() if due else None,
            "recipients": count,
        },
    )
    update.entry = entry
    update.recipients = count
    update.save(update_fields=["entry", "recipients"])
    Incident.objects.filter(pk=incident.pk).update(updated_at=at)
    events.emit("update_posted", incident=incident, actor=actor, data={"update_id": update.pk})
    return update


def updates_of(incident: Incident) -> QuerySet[StakeholderUpdate]:
    return StakeholderUpdate.objects.filter(incident=incident).select_related("posted_by")


def latest_update(incident: Incident) -> StakeholderUpdate | None:
    return updates_of(incident).first()


# --- the reminder -----------------------------------------------------------------------------

REMINDER_ACTOR = Actor.system("update reminder")


def reminder_due(at: dt.datetime, limit: int = 100) -> list[int]:
    """Updates whose promised next update is due, not reminded yet, the incident's latest
    and on an open incident."""
    newer = StakeholderUpdate.objects.filter(
        incident=OuterRef("incident"), posted_at__gt=OuterRef("posted_at")
    )
    return list(
        StakeholderUpdate.objects.filter(
            reminded_at__isnull=True,
            next_update_at__isnull=False,
            next_update_at__lte=at,
            incident__status__in=OPEN_STATUSES,
        )
        .filter(~Exists(newer))
        .order_by("next_update_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def _reminded_person(incident: Incident) -> tuple[User | None, str]:
    holder = role_holder(incident, IncidentRole.COMMS_LEAD)
    if holder is not None and holder.user.is_active:
        return holder.user, "communications lead"
    if incident.assignee_id and incident.assignee.is_active:  # type: ignore[union-attr]
        return incident.assignee, "assignee"
    return None, ""


@transaction.atomic
def update_remind(*, update_id: int, at: dt.datetime) -> bool:
    """Remind the communications lead (else the assignee) that the promised next update
    is due, once: the compare-and-set on `reminded_at` decides which worker sends it."""
    update = (
        StakeholderUpdate.objects.select_related("incident__assignee")
        .filter(pk=update_id, reminded_at__isnull=True, next_update_at__lte=at)
        .first()
    )
    if update is None:
        return False
    claimed = StakeholderUpdate.objects.filter(pk=update_id, reminded_at__isnull=True).update(
        reminded_at=at
    )
    if claimed != 1:
        return False
    incident = update.incident
    person, how = _reminded_person(incident)
    due = _when(update.next_update_at)
    subject = f"[{incident.ref}] Stakeholder update due: {incident.title}"[:300]
    body = (
        f"The next update of {incident.ref} was promised for {due}.\n"
        f"Post it: {settings.BASE_URL}/incidents/{incident.ref}/#updates\n"
    )
    reached = False
    if person is not None:
        cycle = effective_rules_many([person], Urgency.LOW).get(person.pk, [])
        if cycle:
            first = min(rule.delay_minutes for rule in cycle)
            for rule in (x for x in cycle if x.delay_minutes == first):
                outbox_enqueue(
                    channel=rule.method.kind,
                    recipient="",
                    subject=subject,
                    body=body,
                    payload={"kind": REMINDER_PURPOSE, "incident": incident.ref, "urgency": "low"},
                    dedup_key=f"update-remind:{update.pk}:{person.pk}:m{rule.method.pk}",
                    incident=incident,
                    person=person,
                    contact_method=rule.method,
                    purpose=REMINDER_PURPOSE,
                )
            reached = True
        elif person.email:
            outbox_enqueue(
                channel="email",
                recipient=person.email,
                subject=subject,
                body=body,
                payload={"kind": REMINDER_PURPOSE, "incident": incident.ref},
                dedup_key=f"update-remind:{update.pk}:{person.pk}",
                incident=incident,
                person=person,
                purpose=REMINDER_PURPOSE,
            )
            reached = True
    head = f"Stakeholder update due (promised for {due})"
    if reached and person is not None:
        text = f"{head}: reminded {person.display_name} ({how})."
    elif person is not None:
        text = f"{head}: {person.display_name} ({how}) cannot be reached."
    else:
        text = f"{head}: no communications lead or assignee to remind."
    timeline_append(
        incident=incident,
        kind=EntryKind.UPDATE,
        actor=REMINDER_ACTOR,
        text=text,
        visibility=Visibility.INTERNAL,
        data={"reminder": update.pk, "notified": person.username if reached and person else None},
    )
    return True


def people_choices() -> QuerySet[User]:
    """People who may be subscribed by name (staff: they can see incidents)."""
    return people_who_may(Action.DESK_VIEW).order_by("name", "username")
