"""Rules of the incident record: moments, titles, reporter addresses, SLA targets, queue order."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from tocsin.core.actors import Actor
from tocsin.core.errors import Invalid
from tocsin.incidents.models import BusinessCalendar, SlaTarget
from tocsin.incidents.selectors import IncidentFilters, incident_list_for
from tocsin.incidents.services import (
    incident_acknowledge,
    incident_create,
    incident_hold,
    incident_resume,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "field,value",
    [
        ("detected_at", dt.datetime(9999, 12, 31, 23, 59, tzinfo=dt.UTC)),
        ("impact_started_at", dt.datetime(1, 1, 1, tzinfo=dt.UTC)),
        ("detected_at", dt.datetime(1999, 12, 31, tzinfo=dt.UTC)),
    ],
)
def test_out_of_range_moments_are_refused(reporter, field, value) -> None:
    with pytest.raises(Invalid) as caught:
        incident_create(actor=Actor.for_user(reporter), title="x", **{field: value})
    assert caught.value.field == field


def test_out_of_range_moments_are_a_422_over_the_api(api, reporter) -> None:
    client = api(reporter)
    response = client.post(
        "/api/v1/incidents",
        {"title": "t", "impact": 3, "urgency": 3, "impact_started_at": "0001-01-01T00:00:00Z"},
    )
    assert response.status_code == 422
    assert "impact_started_at" in str(response.json())


def test_title_line_breaks_are_collapsed(reporter) -> None:
    incident = incident_create(
        actor=Actor.for_user(reporter), title="hdr\r\nBcc: victim@example.com"
    )
    assert incident.title == "hdr Bcc: victim@example.com"


def test_reporter_email_must_be_an_address(agent) -> None:
    with pytest.raises(Invalid) as caught:
        incident_create(actor=Actor.for_user(agent), title="x", reporter_email="notanemail")
    assert caught.value.field == "reporter_email"


def test_an_sla_target_that_does_not_fit_its_calendar_is_refused() -> None:
    calendar = BusinessCalendar.objects.create(
        name="One minute a week",
        weekdays="0",
        day_start=dt.time(9, 0),
        day_end=dt.time(9, 1),
    )
    target = SlaTarget.objects.get(priority=4)
    target.calendar = calendar
    with pytest.raises(ValidationError):
        target.full_clean()


def test_a_tiny_calendar_never_breaks_filing(reporter) -> None:
    calendar = BusinessCalendar.objects.create(
        name="Tiny", weekdays="0", day_start=dt.time(9, 0), day_end=dt.time(9, 1)
    )
    SlaTarget.objects.filter(priority=4).update(calendar=calendar)
    incident = incident_create(actor=Actor.for_user(reporter), title="x", impact=4, urgency=4)
    assert incident.resolution_due_at is not None


def test_held_incidents_have_no_due_time_and_sort_after_running_ones(
    reporter, agent, make_incident
) -> None:
    held = make_incident(reporter, impact=3, urgency=3)
    running = make_incident(reporter, impact=3, urgency=3)
    incident_hold(incident=held, actor=Actor.for_user(agent))
    held.refresh_from_db()
    assert held.resolution_due_at is None and held.response_due_at is None
    queue = list(incident_list_for(agent, IncidentFilters()))
    assert queue.index(running) < queue.index(held)
    incident_resume(incident=held, actor=Actor.for_user(agent))
    held.refresh_from_db()
    assert held.resolution_due_at is not None


def test_queue_orders_by_the_nearest_unmet_deadline(reporter, agent, make_incident) -> None:
    # Same priority: one whose response is due soon must come before one whose
    # response was met and whose resolution is due later.
    early = make_incident(reporter, impact=3, urgency=3)
    later = make_incident(reporter, impact=3, urgency=3)
    incident_acknowledge(incident=early, actor=Actor.for_user(agent))
    queue = list(incident_list_for(agent, IncidentFilters()))
    assert queue.index(later) < queue.index(early)
