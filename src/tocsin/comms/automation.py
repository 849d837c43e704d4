"""Automation webhooks (issue 11, point 7): services (writes), selectors (reads and the
access gate), the incident-event listeners, and the resolver the notify webhook channel
asks at send time. Docs: docs/automation-webhooks.md.

- An event (an incident hook, or `comms.events.emit` for `update_posted` and
  `major_declared`) becomes, inside the change's transaction, one outbox row per active
  webhook subscribed to it: the incident's service's webhooks and the global ones.
  Channel "webhook", purpose "automation", dedup key
  `auto:<webhook>:<event>:<incident>:<counter>` (the counter: the incident's latest
  timeline entry, the stakeholder update's id, the declaration time of a major incident,
  or the webhook's test count), so an event seen twice (two paths, a retried
  transaction) is sent once.
- The worker sends it through the generic webhook channel, which asks `resolve` for the
  URL, the webhook's own secret (stored encrypted) and the JSON document; a webhook
  disabled or deleted since fails its queued messages for good.
- Who: administrators any webhook; the manager of a service's team that service's
  webhooks (Action.AUTOMATION_MANAGE on the service); global webhooks administrators only.
  Anyone else: a webhook does not exist (404).
"""

from __future__ import annotations

import secrets as secrets_module
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse

from tocsin.accounts.models import Team
from tocsin.accounts.permissions import Action, can, require_for
from tocsin.catalog.models import Service
from tocsin.comms.models import AutomationDelivery, AutomationEvent, AutomationWebhook
from tocsin.core import outbound
from tocsin.core.actors import Actor
from tocsin.core.audit import audit_record, snapshot
from tocsin.core.clock import now
from tocsin.core.crypto import decrypt, encrypt
from tocsin.core.errors import Invalid, NotFound
from tocsin.core.memo import memo
from tocsin.incidents.models import Incident, RoleAssignment, TimelineEntry
from tocsin.notify.hooks import WebhookTarget
from tocsin.notify.models import OutboxMessage
from tocsin.notify.services import outbox_enqueue

PURPOSE = "automation"
CHANNEL = "webhook"
TEST_EVENT = "test"
EVENTS: tuple[str, ...] = tuple(AutomationEvent.values)
URL_MAX = 500
NAME_MAX = 100
SECRET_PREFIX = "whsec_"
DELIVERY_LOG_SIZE = 50
_AUDITED = ("name", "service", "url", "events", "active")

# transition actions that are events of their own
_TRANSITION_EVENTS = {
    "acknowledge": AutomationEvent.ACKNOWLEDGED,
    "resolve": AutomationEvent.RESOLVED,
    "close": AutomationEvent.CLOSED,
}
# what a stakeholder update's event data may carry into the payload (its text is written
# to be sent out; anything else an emitter adds stays inside)
_UPDATE_KEYS = ("update_id", "status", "title", "text", "next_update_at")


# --- validation ---------------------------------------------------------------------------


def url_check(url: str) -> str:
    """The URL as stored: http(s), no user info, an address the SSRF rules allow (the same
    checks as every send, docs/outbound.md); Invalid naming `url` otherwise. A host name
    that does not resolve right now is accepted (it is checked again at every send)."""
    url = (url or "").strip()
    if not url:
        raise Invalid("url", "give the URL to call")
    if len(url) > URL_MAX:
        raise Invalid("url", f"at most {URL_MAX} characters")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise Invalid("url", "is not a URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise Invalid("url", "must start with http:// or https://")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise Invalid("url", "must not carry a user name or password; the signature is the auth")
    if parts.fragment:
        raise Invalid("url", "must not have a #fragment")
    try:
        outbound.check_url(url)
    except outbound.OutboundRefused as exc:
        raise Invalid("url", f"refused: {exc.reason}") from None
    except outbound.OutboundError:
        pass
    return url


def events_check(events: list[str] | None) -> list[str]:
    if not events:
        raise Invalid("events", "choose at least one event")
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise Invalid("events", f"unknown event {unknown[0]!r}; one of {', '.join(EVENTS)}")
    return [e for e in EVENTS if e in events]  # the documented order, once each


def name_check(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise Invalid("name", "give the webhook a name")
    if len(name) > NAME_MAX:
        raise Invalid("name", f"at most {NAME_MAX} characters")
    return name


def new_secret() -> str:
    return SECRET_PREFIX + secrets_module.token_urlsafe(32)


# --- selectors: the gate --------------------------------------------------------------------


def may_manage(user: Any, service: Service | None) -> bool:
    """May this person manage the webhooks of `service` (None: the global ones)?"""
    return can(user, Action.AUTOMATION_MANAGE, service)


def _managed_teams(user: Any) -> list[Team]:
    if not getattr(user, "is_authenticated", False):
        return []
    return [
        t for t in Team.objects.filter(manager_id=user.pk) if can(user, Action.AUTOMATION_MANAGE, t)
    ]


def may_use(user: Any) -> bool:
    """Does this person manage any automation webhook (the settings page, the list)?"""
    return may_manage(user, None) or bool(_managed_teams(user))


def manageable_services(user: Any) -> QuerySet[Service]:
    qs = Service.objects.select_related("team").order_by("name")
    if may_manage(user, None):
        return qs
    return qs.filter(team__in=_managed_teams(user))


def webhook_list_for(user: Any, *, service: Service | None = None) -> QuerySet[AutomationWebhook]:
    qs = AutomationWebhook.objects.select_related("service", "created_by").order_by("name", "pk")
    if service is not None:
        qs = qs.filter(service=service)
    if may_manage(user, None):
        return qs
    teams = _managed_teams(user)
    if not teams:
        return qs.none()
    return qs.filter(service__team__in=teams)


def webhook_get(webhook_id: int, *, user: Any) -> AutomationWebhook:
    """A webhook this person may manage; NotFound otherwise (its existence stays hidden)."""
    webhook = (
        AutomationWebhook.objects.select_related("service", "service__team", "created_by")
        .filter(pk=webhook_id)
        .first()
    )
    if webhook is None or not may_manage(user, webhook.service):
        raise NotFound(f"no automation webhook with id {webhook_id}")
    return webhook


def service_for_field(user: Any, service_id: int | None) -> Service | None:
    """The service a webhook is given (None: global); one this person may not manage is
    refused naming the field."""
    if service_id is None:
        if not may_manage(user, None):
            raise Invalid("service", "only administrators manage global webhooks; give a service")
        return None
    service = Service.objects.select_related("team").filter(pk=service_id).first()
    if service is None or not may_manage(user, service):
        raise Invalid("service", f"no service with id {service_id} that you manage")
    return service


def delivery_rows(webhook: AutomationWebhook) -> QuerySet[AutomationDelivery]:
    """The webhook's deliveries, newest first, with their outbox message."""
    return (
        AutomationDelivery.objects.filter(webhook=webhook)
        .select_related("message", "message__incident")
        .order_by("-created_at", "-pk")
    )


def deliveries_of(webhook: AutomationWebhook, limit: int = DELIVERY_LOG_SIZE) -> list[Any]:
    return list(delivery_rows(webhook)[:limit])


# --- services ---------------------------------------------------------------------------------


def _audit_state(webhook: AutomationWebhook) -> dict[str, Any]:
    return snapshot(webhook, _AUDITED)


@transaction.atomic
def automation_webhook_create(
    *,
    actor: Actor,
    name: str,
    service: Service | None,
    url: str,
    events: list[str],
    active: bool = True,
) -> tuple[AutomationWebhook, str]:
    """A new webhook and its signing secret (shown once; stored encrypted)."""
    require_for(actor, Action.AUTOMATION_MANAGE, service, what="manage these automation webhooks")
    secret = new_secret()
    at = now()
    webhook = AutomationWebhook.objects.create(
        name=name_check(name),
        service=service,
        url=url_check(url),
        events=events_check(events),
        active=active,
        secret_encrypted=encrypt(secret),
        created_by=actor.user,
        created_at=at,
        updated_at=at,
    )
    audit_record(
        actor=actor, action="automation_webhook.create", obj=webhook, after=_audit_state(webhook)
    )
    return webhook, secret


@transaction.atomic
def automation_webhook_update(
    *, webhook: AutomationWebhook, actor: Actor, changes: dict[str, Any]
) -> AutomationWebhook:
    """Change name, service, url, events or active (the keys given)."""
    require_for(actor, Action.AUTOMATION_MANAGE, webhook.service, what="manage this webhook")
    locked = AutomationWebhook.objects.select_for_update().get(pk=webhook.pk)
    before = _audit_state(locked)
    fields: list[str] = []
    if "name" in changes:
        locked.name = name_check(changes["name"])
        fields.append("name")
    if "url" in changes:
        locked.url = url_check(changes["url"])
        fields.append("url")
    if "events" in changes:
        locked.events = events_check(changes["events"])
        fields.append("events")
    if "active" in changes:
        if changes["active"] is None:
            raise Invalid("active", "must be true or false")
        locked.active = bool(changes["active"])
        fields.append("active")
    if "service" in changes:
        service = changes["service"]
        require_for(actor, Action.AUTOMATION_MANAGE, service, what="manage these webhooks")
        locked.service = service
        fields.append("service")
    if fields:
        locked.updated_at = now()
        locked.save(update_fields=[*fields, "updated_at"])
        audit_record(
            actor=actor,
            action="automation_webhook.update",
            obj=locked,
            before=before,
            after=_audit_state(locked),
        )
    return locked


@transaction.atomic
def automation_webhook_rotate_secret(*, webhook: AutomationWebhook, actor: Actor) -> str:
    """A new signing secret (shown once); messages still queued are signed with it."""
    require_for(actor, Action.AUTOMATION_MANAGE, webhook.service, what="manage this webhook")
    secret = new_secret()
    at = now()
    AutomationWebhook.objects.filter(pk=webhook.pk).update(
        secret_encrypted=encrypt(secret), secret_rotated_at=at, updated_at=at
    )
    webhook.secret_rotated_at = at
    audit_record(actor=actor, action="automation_webhook.rotate_secret", obj=webhook)
    return secret


@transaction.atomic
def automation_webhook_delete(*, webhook: AutomationWebhook, actor: Actor) -> None:
    """Delete the webhook and its delivery log (the outbox keeps its messages; the ones
    still queued fail for good: "the webhook was deleted")."""
    require_for(actor, Action.AUTOMATION_MANAGE, webhook.service, what="manage this webhook")
    audit_record(
        actor=actor, action="automation_webhook.delete", obj=webhook, before=_audit_state(webhook)
    )
    webhook.delete()


@transaction.atomic
def automation_webhook_test(*, webhook: AutomationWebhook, actor: Actor) -> OutboxMessage:
    """Queue a `test` event to this webhook (also while it is disabled: the test says so)."""
    require_for(actor, Action.AUTOMATION_MANAGE, webhook.service, what="manage this webhook")
    locked = AutomationWebhook.objects.select_for_update().get(pk=webhook.pk)
    locked.tests_sent += 1
    locked.save(update_fields=["tests_sent"])
    document = {
        "event": TEST_EVENT,
        "occurred_at": now().isoformat(),
        "incident": None,
        "data": {
            "webhook": {"id": locked.pk, "name": locked.name},
            "sent_by": _actor_json(actor),
            "message": "A test from Tocsin: this webhook is reachable and signed.",
        },
    }
    return _enqueue(locked, TEST_EVENT, None, document, counter=f"0:{locked.tests_sent}")


def automation_secrets_rotate() -> tuple[int, int]:
    """Re-encrypt every webhook secret under the current secret key (called by
    `tocsin manage rotate_secrets`): (rewritten, unreadable)."""
    from tocsin.core.crypto import rotate

    rewritten = unreadable = 0
    for pk, token in AutomationWebhook.objects.values_list("pk", "secret_encrypted"):
        try:
            fresh = rotate(token)
        except ValueError:
            unreadable += 1
            continue
        with transaction.atomic():
            AutomationWebhook.objects.filter(pk=pk, secret_encrypted=token).update(
                secret_encrypted=fresh
            )
        rewritten += 1
    return rewritten, unreadable


# --- events -> outbox ---------------------------------------------------------------------------


def _base_url() -> str:
    return str(getattr(settings, "BASE_URL", "") or "").rstrip("/")


def incident_json(incident: Incident) -> dict[str, Any]:
    """The incident as every payload carries it (no description, notes or reporter)."""
    service = incident.service if incident.service_id is not None else None
    return {
        "id": incident.number,
        "number": incident.ref,
        "title": incident.title,
        "status": incident.status,
        "priority": f"P{incident.priority}",
        "service": {"id": service.pk, "name": service.name} if service is not None else None,
        "major": incident.major_declared_at is not None,
        "url": _base_url() + reverse("incident", args=[incident.ref]),
    }


def _actor_json(actor: Actor) -> dict[str, Any]:
    user = actor.user
    if user is not None:
        return {"kind": actor.kind, "username": user.username, "name": user.display_name}
    return {"kind": actor.kind, "username": None, "name": actor.label or actor.kind}


def subscribed(event: str, incident: Incident) -> list[AutomationWebhook]:
    """The active webhooks of the incident's service and the global ones that want `event`."""
    # every active webhook, once per engine batch (core.memo) for every event of every
    # service (a storm's turn spans dozens of services; the list is short)
    active = memo(
        "automation_webhooks",
        lambda: list(AutomationWebhook.objects.filter(active=True).order_by("pk")),
    )
    service_id = incident.service_id
    return [
        w
        for w in active
        if (w.service_id is None or (service_id is not None and w.service_id == service_id))
        and event in (w.events or [])
    ]


def _latest_entry(incident: Incident) -> int:
    last = (
        TimelineEntry.objects.filter(incident=incident)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )
    return last or 0


def _enqueue(
    webhook: AutomationWebhook,
    event: str,
    incident: Incident | None,
    document: dict[str, Any],
    *,
    counter: str,
) -> OutboxMessage:
    key = f"auto:{webhook.pk}:{event}:{incident.pk if incident else 0}:{counter}"
    message = outbox_enqueue(
        channel=CHANNEL,
        recipient=f"automation webhook {webhook.pk}",
        subject=f"{event}: " + (f"{incident.ref} {incident.title}" if incident else webhook.name),
        payload=document,
        dedup_key=key[:200],
        incident=incident,
        purpose=PURPOSE,
    )
    AutomationDelivery.objects.get_or_create(
        message=message, defaults={"webhook": webhook, "event": event, "created_at": now()}
    )
    return message


def deliver(
    event: str,
    *,
    incident: Incident,
    actor: Actor,
    data: dict[str, Any] | Callable[[], dict[str, Any]] | None = None,
    counter: str | None = None,
) -> list[OutboxMessage]:
    """Queue `event` to every webhook subscribed to it (inside the caller's transaction).
    `data` may be a function, called only when some webhook wants the event (an event
    nobody subscribed to costs one query)."""
    webhooks = subscribed(event, incident)
    if not webhooks:
        return []
    extra = data() if callable(data) else (data or {})
    document = {
        "event": event,
        "occurred_at": now().isoformat(),
        "incident": incident_json(incident),
        "data": {"actor": _actor_json(actor), **extra},
    }
    mark = counter if counter is not None else str(_latest_entry(incident))
    return [_enqueue(w, event, incident, document, counter=mark) for w in webhooks]


# hooks (registered by `register`); each runs inside the change's transaction


def on_created(*, incident: Incident, actor: Actor) -> None:
    deliver(AutomationEvent.CREATED, incident=incident, actor=actor)


def on_transition(*, incident: Incident, action: str, old: str, new: str, actor: Actor) -> None:
    event = _TRANSITION_EVENTS.get(action)
    if event is not None:
        deliver(event, incident=incident, actor=actor, data={"from": old, "to": new})


def on_escalated(
    *, incident: Incident, old_level: int, old_team_id: int | None, actor: Actor
) -> None:
    def data() -> dict[str, Any]:
        old_team = Team.objects.filter(pk=old_team_id).first() if old_team_id else None
        team = incident.team
        return {
            "support_level": {"old": old_level, "new": incident.support_level},
            "team": {
                "old": {"id": old_team.pk, "name": old_team.name} if old_team else None,
                "new": {"id": team.pk, "name": team.name} if team is not None else None,
            },
        }

    deliver(AutomationEvent.ESCALATED, incident=incident, actor=actor, data=data)


def on_priority_changed(*, incident: Incident, old: int, actor: Actor) -> None:
    deliver(
        AutomationEvent.PRIORITY_CHANGED,
        incident=incident,
        actor=actor,
        data={"old": f"P{old}", "new": f"P{incident.priority}"},
    )


def on_role_assigned(*, assignment: RoleAssignment, actor: Actor) -> None:
    deliver(
        AutomationEvent.ROLE_ASSIGNED,
        incident=assignment.incident,
        actor=actor,
        data=lambda: {
            "role": {"key": assignment.role.key, "name": assignment.role.name},
            "user": {
                "username": assignment.user.username,
                "name": assignment.user.display_name,
            },
        },
    )


def _major_counter(incident: Incident) -> str:
    at = incident.major_declared_at
    return str(int(at.timestamp() * 1_000_000)) if at is not None else str(_latest_entry(incident))


def on_major_declared(*, incident: Incident, actor: Actor, reason: str) -> None:
    # the reason stays inside (it is written like an internal note)
    deliver(
        AutomationEvent.MAJOR_DECLARED,
        incident=incident,
        actor=actor,
        counter=_major_counter(incident),
    )


def _plain(value: Any) -> Any:
    """A value an emitter passed, as JSON can store it (a datetime as ISO 8601, an
    object as its text), so an odd value never fails the emitter's transaction."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def on_comms_event(
    *, event: str, incident: Incident | None, actor: Actor, data: dict[str, Any]
) -> None:
    """`comms.events` listener: `update_posted` (from stakeholder updates). The comms
    app's `major_declared` announcement is left to the incident hook `on_major_declared`,
    which every declaration runs: listening to both looked the webhooks up twice."""
    if incident is None:
        return
    if event == AutomationEvent.UPDATE_POSTED:
        kept = {k: _plain(data[k]) for k in _UPDATE_KEYS if k in data}
        update_id = data.get("update_id")
        deliver(
            event,
            incident=incident,
            actor=actor,
            data=kept,
            counter=f"u{update_id}" if update_id is not None else None,
        )


# --- the notify webhook channel asks this at send time --------------------------------------


def resolve(*, message: OutboxMessage) -> WebhookTarget | str:
    """Where an automation message goes, its webhook's secret, and the body to send."""
    delivery = (
        AutomationDelivery.objects.select_related("webhook").filter(message_id=message.pk).first()
    )
    if delivery is None:
        return "the automation webhook was deleted"
    webhook = delivery.webhook
    if not webhook.active and delivery.event != TEST_EVENT:
        return "the automation webhook is disabled"
    try:
        secret = decrypt(webhook.secret_encrypted)
    except ValueError as exc:
        return str(exc)
    payload = message.payload if isinstance(message.payload, dict) else {}
    return WebhookTarget(url=webhook.url, secret=secret, document=_ordered(message, payload))


_DOCUMENT_KEYS = ("event", "occurred_at", "incident", "data")
_INCIDENT_KEYS = ("id", "number", "title", "status", "priority", "service", "major", "url")


def _ordered(message: OutboxMessage, payload: dict[str, Any]) -> dict[str, Any]:
    """The body in the documented key order (PostgreSQL's jsonb does not keep it)."""
    document: dict[str, Any] = {"id": str(message.message_id)}
    document.update({k: payload.get(k) for k in _DOCUMENT_KEYS})
    incident = payload.get("incident")
    if isinstance(incident, dict):
        document["incident"] = {k: incident.get(k) for k in _INCIDENT_KEYS}
    data = payload.get("data")
    if isinstance(data, dict) and "actor" in data:
        document["data"] = {"actor": data["actor"], **data}
    return document


def register() -> None:
    """Called once from comms.wiring.register()."""
    from tocsin.comms import automation_views, events
    from tocsin.incidents import hooks as incident_hooks
    from tocsin.notify import hooks as notify_hooks

    incident_hooks.register(incident_hooks.on_created, on_created)
    incident_hooks.register(incident_hooks.on_transition, on_transition)
    incident_hooks.register(incident_hooks.on_escalated, on_escalated)
    incident_hooks.register(incident_hooks.on_priority_changed, on_priority_changed)
    incident_hooks.register(incident_hooks.on_role_assigned, on_role_assigned)
    incident_hooks.register(incident_hooks.on_major_declared, on_major_declared)
    events.listen(on_comms_event)
    notify_hooks.register_webhook_resolver(PURPOSE, resolve)
    automation_views.register_catalog()  # the service page's "Automation webhooks" link
    from tocsin.catalog import hooks as catalog_hooks

    catalog_hooks.add_secret_rotator(automation_secrets_rotate)
