"""Reads for the incident's paging (its climbs, pages and every delivery attempt) and for
the administrators' delivery log. No permission decisions live here: the API and the
pages gate with `can(user, Action.PAGE_SEND)` / `Action.DELIVERY_LOG_VIEW` first.

Addresses are shown masked: a person's email or phone number as it is, a webhook as
scheme://host/…, an Apprise URL as scheme://… (accounts.services.contact_address_masked);
a decrypted secret never leaves this module.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.db.models import Count, QuerySet

from tocsin.accounts.models import ContactKind, ContactMethod, Team, User
from tocsin.accounts.permissions import Action, can
from tocsin.accounts.services import contact_address_masked
from tocsin.core.errors import Invalid, NotFound
from tocsin.escalation.models import ClimbState, Escalation, EscalationPolicy, Page
from tocsin.incidents.models import Incident
from tocsin.incidents.selectors import access_incident
from tocsin.notify.models import OutboxMessage, OutboxState
from tocsin.oncall.models import Schedule

PAGE_PURPOSE = "page"
# Channels whose recipient field is an address a person may read (not a URL with a secret).
PLAIN_CHANNELS = ("email", "sms", "voice")


# --- addresses --------------------------------------------------------------------------


def _url_masked(address: str) -> str:
    parts = urlsplit(address)
    return f"{parts.scheme}://{parts.hostname or ''}/…"


def method_address(method: ContactMethod | None) -> str:
    """A contact method's address for the log: mail and phone numbers as they are; any
    URL (Slack, Teams and ntfy URLs carry their secret in the path too) as scheme://host/…"""
    if method is None:
        return ""
    if method.kind in PLAIN_CHANNELS:
        return method.address
    try:
        masked = contact_address_masked(method)
    except Exception:  # an address that no longer decrypts (the secret key changed)
        return f"{method.kind} (unreadable)"
    return _url_masked(masked) if "://" in masked and not masked.endswith("…") else masked


def recipient_masked(message: OutboxMessage) -> str:
    """What the delivery log shows as the address of `message`."""
    if message.contact_method_id is not None:
        return method_address(message.contact_method)
    recipient = message.recipient or ""
    if message.channel in PLAIN_CHANNELS or "://" not in recipient:
        return recipient
    return _url_masked(recipient)


# --- one delivery attempt, worded ---------------------------------------------------------


@dataclass
class Attempt:
    """One outbox message of a page: where it went and how it ended (so far)."""

    message: OutboxMessage
    method_label: str
    address: str
    outcome: str  # "sent", "waiting", "retrying", "sending", "failed", "cancelled"

    def json(self) -> dict[str, Any]:
        m = self.message
        return {
            "id": m.pk,
            "channel": m.channel,
            "contact_method": (
                {"id": m.contact_method_id, "label": self.method_label, "address": self.address}
                if m.contact_method_id is not None
                else None
            ),
            "state": m.state,
            "outcome": self.outcome,
            "attempts": m.attempts,
            "created_at": m.created_at,
            "not_before": m.not_before,
            "sent_at": m.sent_at,
            "last_error": m.last_error,
        }


def outcome_of(message: OutboxMessage) -> str:
    state = message.state
    if state == OutboxState.QUEUED:
        return "retrying" if message.attempts else "waiting"
    return str(state)


def attempt_of(message: OutboxMessage) -> Attempt:
    method = message.contact_method
    label = (method.label or method.get_kind_display()) if method is not None else message.channel
    return Attempt(
        message=message,
        method_label=label,
        address=recipient_masked(message),
        outcome=outcome_of(message),
    )


# --- an incident's paging -----------------------------------------------------------------


@dataclass
class PageView:
    page: Page
    attempts: list[Attempt] = field(default_factory=list)


@dataclass
class ClimbView:
    climb: Escalation
    levels: int  # 0 for a "page now" to one target
    what: str  # "Payments on-call" / "schedule Payments primary" / "Inês Duarte"
    pages: list[PageView] = field(default_factory=list)

    @property
    def can_escalate(self) -> bool:
        c = self.climb
        return c.state == ClimbState.ACTIVE and c.policy_id is not None and c.next_at is not None


@dataclass
class IncidentPaging:
    climbs: list[ClimbView]
    pages: list[PageView]

    @property
    def can_escalate(self) -> bool:
        """As services.escalate_now decides: the latest active climb of a policy has a
        next step."""
        active = [
            c for c in self.climbs if c.climb.state == ClimbState.ACTIVE and c.climb.policy_id
        ]
        return bool(active) and active[-1].can_escalate


def climb_what(climb: Escalation) -> str:
    if climb.policy_id is not None:
        return climb.policy.name  # type: ignore[union-attr]
    if climb.target_schedule_id is not None:
        return f"schedule {climb.target_schedule.name}"  # type: ignore[union-attr]
    if climb.target_team_id is not None:
        return f"team {climb.target_team.name}"  # type: ignore[union-attr]
    if climb.target_user_id is not None:
        return str(climb.target_user.display_name)  # type: ignore[union-attr]
    return "—"


def climb_target_json(climb: Escalation) -> dict[str, Any] | None:
    if climb.target_schedule_id is not None:
        s = climb.target_schedule
        return {"type": "schedule", "id": s.pk, "name": s.name}  # type: ignore[union-attr]
    if climb.target_team_id is not None:
        t = climb.target_team
        return {"type": "team", "id": t.pk, "name": t.name}  # type: ignore[union-attr]
    if climb.target_user_id is not None:
        u = climb.target_user
        return {"type": "user", "id": u.username, "name": u.display_name}  # type: ignore[union-attr]
    return None


def incident_paging(incident: Incident) -> IncidentPaging:
    """Every climb of the incident (oldest first), its pages and their messages: four
    queries whatever the number of pages."""
    climbs = list(
        Escalation.objects.filter(incident=incident)
        .select_related("policy", "target_user", "target_schedule", "target_team")
        .annotate(level_count=Count("policy__levels"))
        .order_by("started_at", "pk")
    )
    pages = list(
        Page.objects.filter(incident=incident).select_related("person").order_by("created_at", "pk")
    )
    messages = (
        OutboxMessage.objects.filter(incident=incident, purpose=PAGE_PURPOSE)
        .select_related("contact_method")
        .order_by("not_before", "pk")
    )
    by_page: dict[int, list[Attempt]] = defaultdict(list)
    for message in messages:
        page_id = message.payload.get("page") if isinstance(message.payload, dict) else None
        if isinstance(page_id, int):
            by_page[page_id].append(attempt_of(message))
    views = {p.pk: PageView(page=p, attempts=by_page.get(p.pk, [])) for p in pages}
    climb_views = []
    for climb in climbs:
        climb_views.append(
            ClimbView(
                climb=climb,
                levels=getattr(climb, "level_count", 0) if climb.policy_id else 0,
                what=climb_what(climb),
                pages=[views[p.pk] for p in pages if p.escalation_id == climb.pk],
            )
        )
    return IncidentPaging(climbs=climb_views, pages=list(views.values()))


def climb_json(view: ClimbView) -> dict[str, Any]:
    c = view.climb
    return {
        "id": c.pk,
        "policy": {"id": c.policy_id, "name": c.policy.name} if c.policy_id else None,  # type: ignore[union-attr]
        "target": climb_target_json(c),
        "state": c.state,
        "urgency": c.urgency,
        # the next level to fire (1-based); with next_at null every level has been paged
        "level": c.level + 1,
        "levels": view.levels or None,
        "cycle": c.cycle,
        "next_at": c.next_at,
        "started_at": c.started_at,
        "ended_at": c.ended_at,
        "reason": c.reason,
    }


def page_json(view: PageView) -> dict[str, Any]:
    p = view.page
    return {
        "id": p.pk,
        "climb": p.escalation_id,
        "person": p.person.username,
        "person_name": p.person.display_name,
        "via": p.via,
        "level": p.level + 1,
        "cycle": p.cycle,
        "urgency": p.urgency,
        "state": p.state,
        "created_at": p.created_at,
        "deliveries": [a.json() for a in view.attempts],
    }


def climb_single_json(climb: Escalation) -> dict[str, Any]:
    """One climb as the API answers after page now / escalate now / reassign."""
    climb = (
        Escalation.objects.select_related("policy", "target_user", "target_schedule", "target_team")
        .annotate(level_count=Count("policy__levels"))
        .get(pk=climb.pk)
    )
    levels = getattr(climb, "level_count", 0) if climb.policy_id else 0
    return climb_json(ClimbView(climb=climb, levels=levels, what=climb_what(climb)))


# --- what can be paged (the forms' choices) ------------------------------------------------


def pageable_policies() -> QuerySet[EscalationPolicy]:
    return EscalationPolicy.objects.filter(archived_at__isnull=True).order_by("name")


def pageable_schedules() -> QuerySet[Schedule]:
    return Schedule.objects.filter(archived_at__isnull=True).order_by("name")


def pageable_teams() -> QuerySet[Team]:
    return Team.objects.order_by("name")


def pageable_people() -> list[User]:
    people = User.objects.filter(is_active=True).order_by("name", "username")
    return [u for u in people if can(u, Action.INCIDENT_BE_ASSIGNED)]


# --- the delivery log --------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryFilters:
    state: str | None = None
    channel: str | None = None
    purpose: str | None = None
    person: User | None = None
    incident: Incident | None = None


def delivery_filters(
    *,
    state: str | None,
    channel: str | None,
    purpose: str | None,
    person: str | None,
    incident: str | None,
    viewer: User,
) -> DeliveryFilters:
    """The log's filters from request values; Invalid naming the field."""
    if state and state not in OutboxState.values:
        raise Invalid("state", "One of: " + ", ".join(OutboxState.values) + ".")
    who = None
    if person:
        who = User.objects.filter(username=person).first()
        if who is None:
            raise Invalid("person", "No one has this username.")
    found = None
    if incident:
        try:
            found = access_incident(viewer, incident.strip())
        except NotFound:
            raise Invalid("incident", "No incident has this number.") from None
    return DeliveryFilters(
        state=state or None,
        channel=channel or None,
        purpose=purpose or None,
        person=who,
        incident=found,
    )


def delivery_log(filters: DeliveryFilters) -> QuerySet[OutboxMessage]:
    """Outbox messages, newest first, with what a row shows."""
    qs = OutboxMessage.objects.select_related("person", "contact_method", "incident").order_by(
        "-created_at", "-pk"
    )
    if filters.state:
        qs = qs.filter(state=filters.state)
    if filters.channel:
        qs = qs.filter(channel=filters.channel)
    if filters.purpose:
        qs = qs.filter(purpose=filters.purpose)
    if filters.person is not None:
        qs = qs.filter(person=filters.person)
    if filters.incident is not None:
        qs = qs.filter(incident=filters.incident)
    return qs


# How far back the filters' choices look (a bounded read, however big the outbox).
CHOICES_WINDOW = 10_000


def delivery_choices() -> dict[str, list[str]]:
    """The channels and purposes to filter by: every contact kind and known purpose, and
    any other that occurs among the latest messages."""
    recent = list(
        OutboxMessage.objects.order_by("-pk").values_list("channel", "purpose")[:CHOICES_WINDOW]
    )
    channels = {c for c, _ in recent} | set(ContactKind.values)
    purposes = {p for _, p in recent} | {"page", "mail", "test", "sla-warning", "sla-breach"}
    return {"channels": sorted(channels), "purposes": sorted(purposes)}


def delivery_json(message: OutboxMessage) -> dict[str, Any]:
    incident = message.incident
    return {
        "id": message.pk,
        "message_id": str(message.message_id),
        "created_at": message.created_at,
        "purpose": message.purpose,
        "channel": message.channel,
        "person": message.person.username if message.person_id else None,  # type: ignore[union-attr]
        "person_name": message.person.display_name if message.person_id else None,  # type: ignore[union-attr]
        "contact_method": (
            {
                "id": message.contact_method_id,
                "label": message.contact_method.label,  # type: ignore[union-attr]
            }
            if message.contact_method_id
            else None
        ),
        "address": recipient_masked(message),
        "subject": message.subject,
        "state": message.state,
        "outcome": outcome_of(message),
        "attempts": message.attempts,
        "not_before": message.not_before,
        "sent_at": message.sent_at,
        "last_error": message.last_error,
        "incident": incident.ref if incident is not None else None,
    }
