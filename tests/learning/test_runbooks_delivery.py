"""Automated runbook steps end to end: the run queues a signed call in the outbox, the
worker POSTs it to a real receiver on 127.0.0.1, and the answer (status and a capped
excerpt) lands on the run's step and on the incident's timeline; run-on-open starts a
runbook inside the transaction that creates the incident."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import time_machine
from django.test import Client

from tests.learning.runbook_support import (  # noqa: F401 - fixtures
    Org,
    Receiver,
    make_runbook,
    org_fixture,
    receiver_fixture,
    tick,
    verify,
)
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.incidents import services as incidents
from tocsin.incidents.models import EntryKind, Incident, Source, TimelineEntry
from tocsin.learning import runbooks
from tocsin.learning.models import CallState, RunbookRun, RunbookRunStep
from tocsin.notify.channels import webhook
from tocsin.notify.channels.base import Sent
from tocsin.notify.models import OutboxMessage, OutboxState

pytestmark = pytest.mark.django_db

TEMPLATE = json.dumps(
    {
        "ref": "{{ incident.number }}",
        "id": "{{incident.id}}",
        "text": "{{ incident.title }} on {{ incident.service }} is {{ incident.priority }}",
        "tags": ["{{ incident.status }}", "static"],
    }
)


def _incident(org: Org, **kw: Any) -> Incident:
    return incidents.incident_create(
        actor=Actor.for_user(org.agent),
        title=kw.pop("title", 'Cards "failing" {{ incident.id }}'),
        description="The processor is down",
        reporter=org.reporter,
        **kw,
    )


def _runbook(org: Org, url: str, **kw: Any) -> Any:
    return make_runbook(
        service=org.service,
        steps=[
            runbooks.StepSpec(title="Collect diagnostics", url=url, body_template=TEMPLATE),
            runbooks.StepSpec(title="Read them"),
        ],
        **kw,
    )


def _timeline(incident: Incident) -> list[str]:
    return list(
        TimelineEntry.objects.filter(incident=incident, kind=EntryKind.RUNBOOK)
        .order_by("pk")
        .values_list("text", flat=True)
    )


def test_an_automated_step_is_signed_sent_and_its_answer_recorded(
    org: Org, receiver: Receiver
) -> None:
    receiver.reply = b'{"disk": "91%", "load": 3.2}'
    runbook = _runbook(org, receiver.url())
    incident = _incident(org, service=org.service)
    run = runbooks.run_start(incident=incident, runbook=runbook, actor=Actor.for_user(org.agent))
    step = run.steps.get(position=1)
    assert step.call_state == CallState.QUEUED and receiver.requests == []  # after the commit
    tick()
    [got] = receiver.requests
    assert got.path == "/diagnose"
    assert verify(runbooks.signing_secret(receiver.url()), got)
    assert not verify("whsec_wrong", got)
    # not the secret the generic webhook channel derives for the same URL
    assert not verify(webhook.signing_secret(receiver.url()), got)
    assert got.headers["idempotency-key"] == str(step.message.message_id)
    body = json.loads(got.raw)
    assert body == {
        "ref": incident.ref,
        "id": incident.number,  # a lone variable keeps its type
        # quotes and braces in the title stay text
        "text": f"{incident.title} on Payments API is P{incident.priority}",
        "tags": [incident.status, "static"],
    }
    step.refresh_from_db()
    assert step.call_state == CallState.SENT and step.response_status == 200
    assert step.response_excerpt == '{"disk": "91%", "load": 3.2}'
    assert step.done_at is not None and step.done_by is None  # a 2xx ticks it
    assert _timeline(incident)[-1] == (
        "Runbook Card payments failing: step 1 answered — Collect diagnostics. HTTP 200: "
        '{"disk": "91%", "load": 3.2} (1 of 2 done).'
    )


def test_a_failing_endpoint_is_retried_then_recorded_as_failed(
    org: Org, receiver: Receiver
) -> None:
    receiver.status = 503
    receiver.reply = b"upstream down"
    incident = _incident(org, service=org.service)
    run = runbooks.run_start(
        incident=incident, runbook=_runbook(org, receiver.url()), actor=Actor.for_user(org.agent)
    )
    tick()
    step = run.steps.get(position=1)
    assert step.call_state == CallState.RETRYING and step.response_status == 503
    assert len(_timeline(incident)) == 1  # retries are not on the timeline
    receiver.status = 404
    receiver.reply = b"no such check"
    later = now() + dt.timedelta(seconds=6)
    with time_machine.travel(later, tick=False):
        tick(later)
    step.refresh_from_db()
    assert step.call_state == CallState.FAILED and step.response_status == 404
    assert step.done_at is None
    assert step.message.state == OutboxState.FAILED
    assert "step 1 failed — Collect diagnostics. HTTP 404: no such check" in _timeline(incident)[-1]
    # call again: a new signed message; the answer replaces the last one
    receiver.status = 200
    receiver.reply = b"fine now"
    runbooks.run_step_call(run=run, position=1, actor=Actor.for_user(org.agent))
    tick()
    step.refresh_from_db()
    assert (step.call_state, step.response_status, step.response_excerpt) == (
        "sent",
        200,
        "fine now",
    )
    assert len(receiver.requests) == 3


def test_an_address_refused_at_send_time_fails_without_a_request(
    org: Org, receiver: Receiver, settings: Any
) -> None:
    incident = _incident(org, service=org.service)
    run = runbooks.run_start(
        incident=incident, runbook=_runbook(org, receiver.url()), actor=Actor.for_user(org.agent)
    )
    settings.TOCSIN_OUTBOUND_ALLOW = []  # loopback no longer allowed
    tick()
    step = run.steps.get(position=1)
    assert receiver.requests == []
    assert step.call_state == CallState.FAILED and step.response_status is None
    assert "refused" in step.result_reason
    assert "refused" in _timeline(incident)[-1]


def test_run_on_open_starts_with_the_incident_and_gathers_diagnostics(
    org: Org, receiver: Receiver
) -> None:
    _runbook(org, receiver.url(), run_on_open=True)
    make_runbook("Other service", service=org.other_service, run_on_open=True)
    make_runbook("Not on open", service=org.service)
    incident = _incident(org, service=org.service)
    [run] = RunbookRun.objects.filter(incident=incident)
    assert run.automatic and run.started_by is None
    assert _timeline(incident) == [
        "Runbook started by itself (run on open): Card payments failing "
        "(2 steps; 1 automated step called)."
    ]
    tick()
    assert len(receiver.requests) == 1
    assert run.steps.get(position=1).response_status == 200
    # an incident of another service, and one with no service: nothing of ours starts
    _incident(org, service=None)
    assert RunbookRun.objects.count() == 1


def test_run_on_open_waits_for_staff_when_a_reporter_or_a_mail_files_the_incident(
    org: Org, receiver: Receiver
) -> None:
    # their title would go into the automated call: staff start the run on triage
    _runbook(org, receiver.url(), run_on_open=True)
    for actor, source in (
        (Actor.for_user(org.reporter), Source.PORTAL),
        (Actor.integration("email intake"), Source.EMAIL),
    ):
        incidents.incident_create(
            actor=actor,
            title="restart {{ incident.title }}; rm -rf /",
            description="",
            reporter=org.reporter,
            service=org.service,
            source=source,
        )
    tick()
    assert RunbookRun.objects.count() == 0 and receiver.requests == []
    # filed by staff, it starts by itself
    _incident(org, service=org.service)
    assert RunbookRun.objects.count() == 1


def test_run_on_open_by_category(org: Org) -> None:
    make_runbook("Network", category=org.category, run_on_open=True)
    incident = _incident(org, category=org.category)
    assert RunbookRun.objects.get().incident_id == incident.pk


def test_a_hostile_answer_is_capped_and_escaped_on_the_incident_page(
    org: Org, receiver: Receiver
) -> None:
    hostile = '<script>alert("xss")</script><img src=x onerror=alert(1)>'
    receiver.reply = (hostile + "A" * 5000).encode()
    receiver.content_type = "text/html"
    incident = _incident(org, service=org.service)
    runbooks.run_start(
        incident=incident, runbook=_runbook(org, receiver.url()), actor=Actor.for_user(org.agent)
    )
    tick()
    step = RunbookRunStep.objects.get(position=1)
    assert len(step.response_excerpt) == webhook.REPLY_EXCERPT
    assert step.response_excerpt.endswith("…")
    assert len(_timeline(incident)[-1]) < 600
    client = Client()
    client.force_login(org.agent)
    page = client.get(f"/incidents/{incident.ref}/").content.decode()
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt;" in page


def test_the_webhook_channel_keeps_replies_only_when_asked(receiver: Receiver) -> None:
    """The channel change: a resolver's `keep_reply` keeps the status and a capped
    excerpt for the outcome hooks; other webhook messages keep nothing."""
    from tocsin.notify import hooks
    from tocsin.notify.services import outbox_enqueue

    receiver.reply = b"x" * 3000
    kept = outbox_enqueue(channel="webhook", recipient="-", purpose="test-keep")
    plain = outbox_enqueue(channel="webhook", recipient="-", purpose="test-plain")
    for message, keep in ((kept, True), (plain, False)):
        hooks.register_webhook_resolver(
            message.purpose,
            lambda *, message, keep=keep: hooks.WebhookTarget(  # type: ignore[misc]
                url=receiver.url(), secret="s" * 20, document={"a": 1}, keep_reply=keep
            ),
        )
    try:
        assert isinstance(webhook.send(OutboxMessage.objects.get(pk=kept.pk)), Sent)
        webhook.send(OutboxMessage.objects.get(pk=plain.pk))
    finally:
        hooks.webhook_resolvers.pop("test-keep")
        hooks.webhook_resolvers.pop("test-plain")
    reply = webhook.reply_of(kept)
    assert reply is not None and reply.status == 200
    assert len(reply.excerpt) == webhook.REPLY_EXCERPT and reply.excerpt.endswith("…")
    assert webhook.reply_of(plain) is None


def test_a_step_without_a_template_sends_the_documented_default_body(
    org: Org, receiver: Receiver, settings: Any
) -> None:
    runbook = make_runbook(
        service=org.service,
        category=org.category,
        steps=[runbooks.StepSpec(title="Collect", url=receiver.url())],
    )
    incident = _incident(org, service=org.service, category=org.category)
    run = runbooks.run_start(incident=incident, runbook=runbook, actor=Actor.for_user(org.agent))
    tick()
    body = json.loads(receiver.requests[0].raw)
    assert body == {
        "runbook": {"name": "Card payments failing", "run": run.pk},
        "step": {"position": 1, "title": "Collect"},
        "incident": {
            "id": incident.number,
            "number": incident.ref,
            "title": incident.title,
            "priority": f"P{incident.priority}",
            "status": "new",
            "service": "Payments API",
            "category": "Network",
            "url": f"{settings.BASE_URL.rstrip('/')}/incidents/{incident.ref}/",
        },
    }
