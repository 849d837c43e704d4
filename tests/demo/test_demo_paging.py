"""The demo organisation's paging: policies on every service, safe contact methods,
rules, and incidents whose timelines show pages, escalations and acknowledgements."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from tocsin.accounts.models import ContactKind, ContactMethod, NotificationRule, Role, User
from tocsin.catalog.models import Service
from tocsin.demo import load_demo
from tocsin.escalation.links import page_token
from tocsin.escalation.models import (
    ClimbState,
    Escalation,
    EscalationLevel,
    LevelMode,
    Page,
    PageState,
    ServicePaging,
)
from tocsin.incidents.models import EntryKind, Incident, Status, TimelineEntry
from tocsin.notify.models import OutboxMessage, OutboxState

pytestmark = pytest.mark.django_db


def test_every_service_pages_through_a_policy_of_several_levels() -> None:
    load_demo()
    services = Service.objects.count()
    paging = ServicePaging.objects.filter(policy__isnull=False).select_related("policy")
    assert paging.count() == services
    for row in paging:
        assert 2 <= row.policy.levels.count() <= 3  # type: ignore[union-attr]
    assert EscalationLevel.objects.filter(mode=LevelMode.ROUND_ROBIN).exists()


def test_contact_methods_are_safe_and_some_people_have_rules() -> None:
    load_demo()
    staff = User.objects.exclude(role=Role.REPORTER)
    for person in staff:
        email = ContactMethod.objects.filter(
            user=person, kind=ContactKind.EMAIL, disabled_at__isnull=True
        )
        assert email.count() == 1, person.username
        assert email.get().address.endswith("@example.com")
    # nothing but email is enabled: the demo has no SMS provider and calls no webhooks
    assert (
        not ContactMethod.objects.exclude(kind=ContactKind.EMAIL)
        .filter(disabled_at__isnull=True)
        .exists()
    )
    assert ContactMethod.objects.filter(kind=ContactKind.SMS).count() == 2
    ruled = set(NotificationRule.objects.values_list("user__username", flat=True))
    assert ruled == {"noah", "ines"}


def test_past_incidents_show_pages_escalations_and_acknowledgements() -> None:
    load_demo()
    texts = list(TimelineEntry.objects.filter(kind=EntryKind.PAGE).values_list("text", flat=True))
    assert any("(level 1)" in t for t in texts)
    assert any("(level 2)" in t for t in texts)
    assert any("(level 3)" in t for t in texts)
    assert any(t.startswith("Escalate now") for t in texts)
    assert sum("Paging stopped: the incident was acknowledged" in t for t in texts) >= 3
    paged = Incident.objects.filter(pk__in=Page.objects.values("incident_id"))
    assert paged.filter(status=Status.CLOSED).exists()
    assert paged.filter(status=Status.IN_PROGRESS).exists()
    # acknowledged from a page link: the paged person is the one who acknowledged
    acked = Page.objects.filter(
        state=PageState.ACKNOWLEDGED, incident__acknowledged_by__isnull=False
    )
    assert any(p.person_id == p.incident.acknowledged_by_id for p in acked)
    # the past's deliveries are recorded as sent; nothing of the past waits to be sent
    past = OutboxMessage.objects.filter(purpose="page").exclude(incident__status=Status.NEW)
    assert past.filter(state=OutboxState.SENT).exists()
    assert not past.filter(state=OutboxState.QUEUED).exists()
    assert not OutboxMessage.objects.exclude(purpose="page").exists()


def test_one_live_page_waits_and_its_link_works() -> None:
    load_demo()
    active = Escalation.objects.filter(state=ClimbState.ACTIVE)
    assert active.count() == 1
    climb = active.get()
    assert climb.incident.status == Status.NEW and climb.next_at is not None
    page = Page.objects.get(escalation=climb)
    assert page.state == PageState.OPEN
    # its first message is due now: a worker started with the demo sends it at once
    assert OutboxMessage.objects.filter(
        incident=climb.incident, state=OutboxState.QUEUED, not_before__lte=timezone.now()
    ).exists()
    response = Client().get(f"/p/{page_token(page.pk, 'acknowledge')}/")
    assert response.status_code == 200
    assert f"Acknowledge {climb.incident.ref}" in response.content.decode()
    client = Client()
    client.force_login(page.person)
    home = client.get("/home/").content.decode()
    assert climb.incident.ref in home.split('id="h-home-pages"')[1].split("</section>")[0]
