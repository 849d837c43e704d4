"""Automation webhooks end to end: incident events through the outbox and the worker to
the receiver of docs/automation-webhooks.md, running on loopback, which checks the
signature with the documented algorithm and drops repeats by Idempotency-Key."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
import time_machine

from tests.comms.automation_support import (  # noqa: F401 - fixtures
    Hook,
    Org,
    automation_messages,
    doc_block,
    hook_fixture,
    make_webhook,
    org_fixture,
    tick,
    verify,
)
from tocsin.accounts.models import Role, Team
from tocsin.comms import automation, events
from tocsin.comms.models import AutomationEvent
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.incidents import services as incidents
from tocsin.incidents.models import IncidentRole, Priority
from tocsin.notify.channels import PAGE_RETRY
from tocsin.notify.models import OutboxState

pytestmark = pytest.mark.django_db


def _incident(org: Org, service: Any, **kw: Any) -> Any:
    return incidents.incident_create(
        actor=Actor.for_user(org.agent),
        title=kw.pop("title", "Card payments failing"),
        description=kw.pop("description", "SECRET-DESCRIPTION the card processor is down"),
        reporter=org.reporter,
        service=service,
        **kw,
    )


def _every_event(org: Org, incident: Any) -> None:
    """Drive one incident through every event a webhook can subscribe to."""
    staff = Actor.for_user(org.agent)
    incidents.incident_acknowledge(incident=incident, actor=staff)
    level2 = Team.objects.create(name="L2 Network")
    incidents.incident_escalate(
        incident=incident, actor=staff, support_level=2, team=level2, note="needs the network team"
    )
    incidents.incident_update(
        incident=incident,
        actor=staff,
        changes={"priority": Priority.P1 if incident.priority != Priority.P1 else Priority.P2},
        priority_reason="card payments are down for everyone",
    )
    commander = IncidentRole.objects.get(key="commander")
    incidents.role_assign(incident=incident, role=commander, user=org.manager, actor=staff)
    incidents.major_declare(incident=incident, actor=staff, reason="SECRET-REASON")
    events.emit(
        "update_posted",
        incident=incident,
        actor=staff,
        data={
            "update_id": 7,
            "status": "identified",
            "text": "We found it.",
            "next_update_at": now() + dt.timedelta(minutes=30),
            "internal": "x",
        },
    )
    incident.refresh_from_db()
    incidents.incident_resolve(
        incident=incident,
        actor=staff,
        resolution_code="fixed",
        resolution_notes="SECRET-NOTES restarted",
    )
    incidents.incident_close(incident=incident, actor=staff)


def _deliver_all(hook: Hook) -> None:
    for _ in range(5):
        if tick() == 0:
            break


def test_every_event_reaches_a_service_webhook_and_a_global_one_signed_and_documented(
    org: Org, hook: Hook
) -> None:
    service_hook, service_secret = make_webhook(hook.url("/svc"), service=org.service)
    global_hook, global_secret = make_webhook(hook.url("/all"), service=None, name="Global")
    # another service's webhook hears nothing of this incident
    other_hook, _ = make_webhook(hook.url("/other"), service=org.other_service, name="Other")
    hook.secret = service_secret
    incident = _incident(org, org.service)
    _every_event(org, incident)

    wanted = [
        "created",
        "acknowledged",
        "escalated",
        "priority_changed",
        "major_declared",  # a P1 is a major incident: declared by the raise to P1
        "role_assigned",
        "update_posted",
        "resolved",
        "closed",
    ]
    assert sorted(wanted) == sorted(automation.EVENTS)
    assert [d.payload["event"] for d in automation_messages(service_hook)] == wanted
    assert [d.payload["event"] for d in automation_messages(global_hook)] == wanted
    assert automation_messages(other_hook) == []

    # the service webhook's secret: its requests verify, the global one's do not
    _deliver_all(hook)
    svc = [
        g
        for g in hook.requests
        if g.json()["id"] in {str(m.message_id) for m in automation_messages(service_hook)}
    ]
    glob = [
        g
        for g in hook.requests
        if g.json()["id"] in {str(m.message_id) for m in automation_messages(global_hook)}
    ]
    assert len(svc) == len(glob) == len(wanted)
    for got in svc:
        assert verify(service_secret, got.headers, got.raw)
        assert not verify(global_secret, got.headers, got.raw)
        assert got.headers["idempotency-key"] == got.json()["id"]
    for got in glob:
        assert verify(global_secret, got.headers, got.raw)
    # the documented receiver handled the service webhook's events and refused the others
    assert hook.names == wanted
    assert hook.statuses.count(401) == len(wanted)
    assert {m.state for m in automation_messages(service_hook)} == {OutboxState.SENT}
    # the global webhook's deliveries were answered 401: a permanent failure, logged
    failed = automation_messages(global_hook)
    assert {m.state for m in failed} == {OutboxState.FAILED}
    assert all("HTTP 401" in m.last_error for m in failed)

    first = hook.events[0]
    assert first["event"] == "created"
    assert first["incident"] == {
        "id": incident.number,
        "number": incident.ref,
        "title": "Card payments failing",
        "status": "new",
        "priority": first["incident"]["priority"],
        "service": {"id": org.service.pk, "name": "Payments API"},
        "major": False,
        "url": first["incident"]["url"],
    }
    assert first["incident"]["url"].endswith(f"/incidents/{incident.ref}/")
    assert first["data"]["actor"] == {"kind": "user", "username": "alice", "name": "Alice"}
    by_event = {e["event"]: e for e in hook.events}
    assert by_event["acknowledged"]["data"]["to"] == "acknowledged"
    assert by_event["escalated"]["data"]["support_level"] == {"old": 1, "new": 2}
    assert by_event["escalated"]["data"]["team"]["new"]["name"] == "L2 Network"
    assert by_event["priority_changed"]["data"]["new"] in ("P1", "P2")
    assert by_event["role_assigned"]["data"]["role"]["key"] == "commander"
    assert by_event["role_assigned"]["data"]["user"]["username"] == "maya"
    assert by_event["major_declared"]["incident"]["major"] is True
    assert by_event["update_posted"]["data"]["text"] == "We found it."
    assert "internal" not in by_event["update_posted"]["data"]
    assert dt.datetime.fromisoformat(by_event["update_posted"]["data"]["next_update_at"])
    assert by_event["closed"]["incident"]["status"] == "closed"
    # nothing internal, nothing about the reporter
    everything = b"".join(g.raw for g in hook.requests)
    for secret in (
        b"SECRET-DESCRIPTION",
        b"SECRET-REASON",
        b"SECRET-NOTES",
        b"rita",
        b"needs the network team",
        b"card payments are down for everyone",
    ):
        assert secret not in everything


def test_the_documented_body_has_the_fields_that_are_sent(org: Org, hook: Hook) -> None:
    import json

    documented = json.loads(doc_block("and this body:", "json"))
    _, hook.secret = make_webhook(hook.url(), service=org.service, events=["acknowledged"])
    incident = _incident(org, org.service)
    incidents.incident_acknowledge(incident=incident, actor=Actor.for_user(org.agent))
    tick()
    [sent] = hook.events
    assert list(documented) == list(sent)
    assert list(documented["incident"]) == list(sent["incident"])
    assert documented["data"].keys() == sent["data"].keys()


def test_only_subscribed_events_and_active_webhooks(org: Org, hook: Hook) -> None:
    resolved_only, _ = make_webhook(hook.url(), service=org.service, events=["resolved"])
    disabled, _ = make_webhook(hook.url(), service=org.service, name="Off")
    automation.automation_webhook_update(
        webhook=disabled, actor=Actor.for_user(org.admin), changes={"active": False}
    )
    incident = _incident(org, org.service)
    incidents.incident_acknowledge(incident=incident, actor=Actor.for_user(org.agent))
    assert automation_messages(resolved_only) == []
    incidents.incident_resolve(
        incident=incident,
        actor=Actor.for_user(org.agent),
        resolution_code="fixed",
        resolution_notes="restarted",
    )
    assert [m.payload["event"] for m in automation_messages(resolved_only)] == ["resolved"]
    assert automation_messages(disabled) == []


def test_an_incident_without_a_service_reaches_only_global_webhooks(org: Org, hook: Hook) -> None:
    global_hook, _ = make_webhook(hook.url(), service=None, events=["created"])
    service_hook, _ = make_webhook(hook.url(), service=org.service, events=["created"])
    _incident(org, None)
    assert len(automation_messages(global_hook)) == 1
    assert automation_messages(service_hook) == []
    assert automation_messages(global_hook)[0].payload["incident"]["service"] is None


def test_a_500_is_retried_with_the_same_key_until_the_receiver_takes_it(
    org: Org, hook: Hook
) -> None:
    webhook, hook.secret = make_webhook(hook.url(), service=org.service, events=["created"])
    hook.fail_with = [500, 503]
    _incident(org, org.service)
    [message] = automation_messages(webhook)
    start = now()
    for step in (0, 6, 17):
        at = start + dt.timedelta(seconds=step)
        with time_machine.travel(at, tick=False):
            tick(at)
        message.refresh_from_db()
        if step == 0:
            assert message.state == OutboxState.QUEUED and "HTTP 500" in message.last_error
            assert message.not_before == at + PAGE_RETRY.delay(1)
    assert message.state == OutboxState.SENT and message.attempts == 3
    assert len(hook.requests) == 3
    assert {g.headers["idempotency-key"] for g in hook.requests} == {str(message.message_id)}
    assert len({g.raw for g in hook.requests}) == 1
    assert hook.names == ["created"]  # handled once


def test_a_repeat_after_a_crash_is_dropped_by_the_documented_receiver(org: Org, hook: Hook) -> None:
    webhook, hook.secret = make_webhook(hook.url(), service=org.service, events=["created"])
    _incident(org, org.service)
    [message] = automation_messages(webhook)
    tick()
    # a worker that died after the POST: the message is sent again, same key
    type(message).objects.filter(pk=message.pk).update(state=OutboxState.QUEUED)
    tick()
    assert len(hook.requests) == 2
    assert hook.names == ["created"]
    assert hook.statuses == [204, 204]


def test_the_same_event_reported_twice_is_queued_once(org: Org, hook: Hook) -> None:
    webhook, _ = make_webhook(hook.url(), service=org.service, events=["major_declared"])
    incident = _incident(org, org.service)
    incidents.major_declare(incident=incident, actor=Actor.for_user(org.agent))
    incident.refresh_from_db()
    # the comms app may also announce it on its event bus: same key, one message
    events.emit("major_declared", incident=incident, actor=Actor.for_user(org.agent))
    assert len(automation_messages(webhook)) == 1


def test_disabling_or_deleting_fails_queued_events_and_rotation_signs_with_the_new_secret(
    org: Org, hook: Hook
) -> None:
    webhook, old = make_webhook(hook.url(), service=org.service, events=["acknowledged"])
    admin = Actor.for_user(org.admin)
    incident = _incident(org, org.service)
    incidents.incident_acknowledge(incident=incident, actor=Actor.for_user(org.agent))
    automation.automation_webhook_update(webhook=webhook, actor=admin, changes={"active": False})
    tick()
    [message] = automation_messages(webhook)
    assert message.state == OutboxState.FAILED and "disabled" in message.last_error
    assert hook.requests == []

    automation.automation_webhook_update(webhook=webhook, actor=admin, changes={"active": True})
    incidents.incident_unacknowledge(incident=incident, actor=Actor.for_user(org.agent))
    incidents.incident_acknowledge(incident=incident, actor=Actor.for_user(org.agent))
    new = automation.automation_webhook_rotate_secret(webhook=webhook, actor=admin)
    assert new != old
    hook.secret = new
    tick()
    [got] = hook.requests
    assert verify(new, got.headers, got.raw) and not verify(old, got.headers, got.raw)

    incidents.incident_unacknowledge(incident=incident, actor=Actor.for_user(org.agent))
    incidents.incident_acknowledge(incident=incident, actor=Actor.for_user(org.agent))
    queued = automation_messages(webhook)[-1]
    automation.automation_webhook_delete(webhook=webhook, actor=admin)
    tick()
    queued.refresh_from_db()
    assert queued.state == OutboxState.FAILED and "deleted" in queued.last_error


def test_the_secret_is_stored_encrypted(org: Org, hook: Hook) -> None:
    webhook, secret = make_webhook(hook.url(), service=org.service)
    webhook.refresh_from_db()
    assert secret.startswith("whsec_") and len(secret) > 40
    assert secret not in webhook.secret_encrypted
    assert AutomationEvent.CREATED in webhook.events


def test_a_receiver_that_moved_to_a_private_address_is_refused_at_send_time(
    org: Org, hook: Hook, settings: Any
) -> None:
    webhook, _ = make_webhook(hook.url(), service=org.service, events=["created"])
    settings.TOCSIN_OUTBOUND_ALLOW = []
    _incident(org, org.service)
    tick()
    [message] = automation_messages(webhook)
    assert message.state == OutboxState.FAILED
    assert "loopback" in message.last_error
    assert hook.requests == []


def test_an_agent_cannot_create_a_webhook_through_the_service(org: Org) -> None:
    from tocsin.core.errors import Forbidden

    with pytest.raises(Forbidden):
        make_webhook("https://hooks.example.com/x", service=org.service, by=org.agent)
    with pytest.raises(Forbidden):
        make_webhook("https://hooks.example.com/x", service=None, by=org.manager)
    assert make_webhook("https://hooks.example.com/x", service=org.service, by=org.manager)
    assert org.manager.role == Role.MANAGER


def test_rotate_secrets_re_encrypts_webhook_secrets_under_the_new_key(
    org: Org, hook: Hook, settings: Any
) -> None:
    from django.core.management import call_command

    old_key, new_key = "the old secret key, long enough" * 2, "the new secret key, long too" * 2
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = old_key, []
    _, secret = make_webhook(hook.url(), service=org.service, events=["created"])
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = new_key, [old_key]
    out = io.StringIO()
    call_command("rotate_secrets", stdout=out)
    assert "1 stored secrets re-encrypted" in out.getvalue()
    settings.SECRET_KEY_FALLBACKS = []  # the old key is gone: the secret still opens
    hook.secret = secret
    _incident(org, org.service)
    tick()
    [got] = hook.requests
    assert verify(secret, got.headers, got.raw)
    assert hook.names == ["created"]
