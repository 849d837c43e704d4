"""LEAK TEST: nothing of the internal record reaches the public.

An internal incident full of secrets (internal notes, the reporter's name and email, alert
labels, summaries and details, a private service and its description) is linked to a
published public incident, whose components are mapped to that service. Every public
page, feed and JSON document, the incident's public page, the subscription pages, and the
mail and webhook messages queued for subscribers are searched for each secret string
(plain, HTML-escaped and JSON-escaped): none appears."""

from __future__ import annotations

import html
import json

import pytest
from django.test import Client

from tests.comms.sppublic_data import build
from tocsin.accounts.models import Role
from tocsin.alerts.models import Alert
from tocsin.catalog.models import IntegrationKind
from tocsin.catalog.services import integration_create, service_create
from tocsin.comms import events, public, subscriptions
from tocsin.comms.models import (
    ComponentStatusChange,
    PublicUpdate,
    StatusSubscriber,
    SubscriberKind,
)
from tocsin.comms.services import status_changed
from tocsin.comms.statuspage_json import DOCUMENTS
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.incidents.models import Visibility
from tocsin.incidents.services.notes import incident_add_note
from tocsin.incidents.services.record import incident_create
from tocsin.notify.models import OutboxMessage

SECRETS = {
    "note": "SECRET-NOTE root password is hunter2 on db-primary-7",
    "reporter_name": "Zebediah Quarterfield",
    "reporter_email": "zebediah.q@internal-corp.example",
    "title": "INTERNAL-TITLE payment ledger corrupted",
    "description": "INTERNAL-DESCRIPTION customer 4471 lost money",
    "label": "k8s-cluster-prod-eu-secret-9",
    "label_key": "secret_team_label",
    "alert_summary": "ALERT-SUMMARY disk full on ledger-db-03",
    "alert_detail": "stacktrace-at-LedgerWriter.java:1337",
    "service": "Ledger Backend Zeta",
    "service_description": "PRIVATE-SERVICE-DESC runs in rack 42",
    "public_note": "PUBLIC-ON-TIMELINE but for the reporter only",
}


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(public, "REVISION_TTL", 0.0)
    public.forget()


def forms(value: str) -> set[str]:
    return {value, html.escape(value), json.dumps(value)[1:-1], value.lower()}


@pytest.mark.django_db
def test_no_internal_string_reaches_any_public_document(make_user) -> None:  # type: ignore[no-untyped-def]
    data = build()
    agent = make_user(Role.AGENT, username="agent7", name="Agent Seven")
    actor = Actor.for_user(agent)
    service = service_create(
        name=SECRETS["service"], description=SECRETS["service_description"], actor=actor
    )
    integration, _key = integration_create(
        service=service, kind=IntegrationKind.choices[0][0], actor=actor
    )
    incident = incident_create(
        actor=actor,
        title=SECRETS["title"],
        description=SECRETS["description"],
        reporter_name=SECRETS["reporter_name"],
        reporter_email=SECRETS["reporter_email"],
        service=service,
    )
    incident_add_note(incident=incident, actor=actor, text=SECRETS["note"])
    incident_add_note(
        incident=incident, actor=actor, text=SECRETS["public_note"], visibility=Visibility.PUBLIC
    )
    at = now()
    Alert.objects.create(
        integration=integration,
        service=service,
        dedup_key="leak-1",
        summary=SECRETS["alert_summary"],
        details={"trace": SECRETS["alert_detail"]},
        labels={SECRETS["label_key"]: SECRETS["label"]},
        started_at=at,
        first_seen_at=at,
        last_seen_at=at,
        incident=incident,
    )
    # the public side, linked to the internal record
    data.incident.incidents.add(incident)
    data.api.services.add(service)
    ComponentStatusChange.objects.create(
        component=data.api, status="major_outage", at=at, reason=SECRETS["note"], by=agent
    )
    update = PublicUpdate.objects.create(
        public_incident=data.incident, status="monitoring", body="A fix is deployed."
    )
    # subscribers of every kind, confirmed; then the public update is announced
    for kind, url in (
        (SubscriberKind.EMAIL, ""),
        (SubscriberKind.WEBHOOK, "https://hooks.example/x"),
    ):
        sub = StatusSubscriber.objects.create(
            kind=kind, email="fan@example.org", url=url, token=f"tok-{kind}", confirmed_at=at
        )
        assert sub.pk
    subscriptions.register()
    events.emit("public_update", incident=None, actor=actor, data={"update_id": update.pk})
    status_changed()

    client = Client()
    paths = [
        "/status/",
        "/status/feed.atom",
        "/status/feed.rss",
        "/status/brand.css",
        "/status/subscribe/",
        f"/status/incidents/{data.incident.pk}/",
        f"/status/incidents/{data.resolved.pk}/",
        *[f"/status/api/v2/{name}" for name in DOCUMENTS],
    ]
    documents: dict[str, str] = {}
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        documents[path] = response.content.decode()
    messages = list(OutboxMessage.objects.filter(purpose="status-update"))
    assert len(messages) == 2
    for m in messages:
        documents[f"outbox {m.channel}"] = " ".join(
            [m.subject, m.body, json.dumps(m.payload, ensure_ascii=False)]
        )
    # the public content is there (the test would be empty otherwise)
    assert "Elevated API error rates" in documents["/status/"]
    assert "A fix is deployed." in documents["/status/api/v2/summary.json"]
    assert "A fix is deployed." in documents["outbox webhook"]
    leaks = [
        (name, path)
        for path, text in documents.items()
        for name, secret in SECRETS.items()
        if any(form in text for form in forms(secret))
    ]
    assert leaks == []
    # nor the internal incident's number or the agent's name
    for path, text in documents.items():
        assert incident.ref not in text, path
        assert "Agent Seven" not in text and "agent7" not in text, path
