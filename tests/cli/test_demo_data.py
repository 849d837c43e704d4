"""The demo loader in-process, on whichever database the suite runs on (SQLite or PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tocsin.accounts.models import Team, User
from tocsin.catalog.models import Category, Service
from tocsin.core.errors import Conflict
from tocsin.demo import DEMO_PASSWORD, load_demo
from tocsin.incidents.models import OPEN_STATUSES, Incident, Status, TimelineEntry
from tocsin.incidents.services import incident_mark_breaches

pytestmark = pytest.mark.django_db


def snapshot() -> tuple[int, ...]:
    return (
        User.objects.count(),
        Team.objects.count(),
        Service.objects.count(),
        Category.objects.count(),
        Incident.objects.count(),
        TimelineEntry.objects.count(),
    )


def test_the_demo_is_deterministic_complete_and_loaded_once() -> None:
    summary = load_demo()
    assert summary.created and summary.password == DEMO_PASSWORD
    assert summary.incidents >= 60 and summary.people >= 10 and summary.services >= 8
    assert {login.username for login in summary.logins} == set(
        User.objects.values_list("username", flat=True)
    )
    first = snapshot()

    again = load_demo()
    assert not again.created
    assert snapshot() == first

    # Every timestamp lies in the past, and the history spans the last 90 days.
    current = timezone.now()
    assert not TimelineEntry.objects.filter(created_at__gt=current).exists()
    oldest = Incident.objects.order_by("reported_at").first()
    assert oldest is not None
    assert dt.timedelta(days=60) < current - oldest.reported_at <= dt.timedelta(days=90)

    # The queue has work right now, and nothing is left for the worker to catch up on
    # except what is genuinely due.
    assert Incident.objects.filter(status__in=OPEN_STATUSES).count() >= 8
    assert incident_mark_breaches(at=current) == 0
    assert not Incident.objects.filter(
        status=Status.RESOLVED, resolved_at__lt=current - dt.timedelta(days=3)
    ).exists()

    # Every incident's timeline starts with its creation, in order.
    for incident in Incident.objects.all():
        kinds = list(incident.timeline.values_list("kind", flat=True))
        assert kinds[0] == "created"


def test_the_demo_refuses_to_mix_into_an_installation_with_the_same_people(
    make_user: object,
) -> None:
    make_user(username="ada")  # type: ignore[operator]
    with pytest.raises(Conflict, match="ada"):
        load_demo()
    assert not Team.objects.exists()
