"""Defects found in review of the foundation, each pinned by a test."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from tocsin.accounts.models import Role
from tocsin.accounts.services import user_create, user_update
from tocsin.core.actors import Actor
from tocsin.core.errors import Conflict, Invalid
from tocsin.incidents.models import BusinessCalendar, SlaTarget
from tocsin.incidents.selectors import IncidentFilters, incident_list_for
from tocsin.incidents.services import incident_act, incident_create

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


def test_the_last_administrator_cannot_be_demoted_or_deactivated(admin) -> None:
    with pytest.raises(Conflict):
        user_update(user=admin, role=Role.REPORTER)
    with pytest.raises(Conflict):
        user_update(user=admin, is_active=False)
    admin.refresh_from_db()
    assert admin.role == Role.ADMIN and admin.is_active
    user_create(username="second", email="s@example.com", role=Role.ADMIN)
    user_update(user=admin, role=Role.MANAGER)  # now someone else holds the keys


@pytest.mark.parametrize("username", ["bad name!", "a\x01b", ""])
def test_usernames_must_be_addressable(username) -> None:
    with pytest.raises(Invalid) as caught:
        user_create(username=username, email="x@example.com")
    assert caught.value.field == "username"


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
    incident_act(incident=held, actor=Actor.for_user(agent), action="hold")
    held.refresh_from_db()
    assert held.resolution_due_at is None and held.response_due_at is None
    queue = list(incident_list_for(agent, IncidentFilters()))
    assert queue.index(running) < queue.index(held)
    incident_act(incident=held, actor=Actor.for_user(agent), action="resume")
    held.refresh_from_db()
    assert held.resolution_due_at is not None


def test_queue_orders_by_the_nearest_unmet_deadline(reporter, agent, make_incident) -> None:
    # Same priority: one whose response is due soon must come before one whose
    # response was met and whose resolution is due later.
    early = make_incident(reporter, impact=3, urgency=3)
    later = make_incident(reporter, impact=3, urgency=3)
    incident_act(incident=early, actor=Actor.for_user(agent), action="acknowledge")
    queue = list(incident_list_for(agent, IncidentFilters()))
    assert queue.index(later) < queue.index(early)


def test_idempotency_key_is_bound_to_its_endpoint(api, reporter) -> None:
    client = api(reporter)
    first = client.post(
        "/api/v1/incidents",
        {"title": "t", "impact": 3, "urgency": 3},
        headers={"Idempotency-Key": "k1"},
    )
    assert first.status_code == 201
    other = client.post(
        f"/api/v1/incidents/{first.json()['id']}/timeline",
        {"text": "hello"},
        headers={"Idempotency-Key": "k1"},
    )
    assert other.status_code == 409
    assert "Idempotency-Key" in other.json()["detail"]


def test_readyz_is_503_not_500_on_an_unmigrated_database(monkeypatch) -> None:
    from django.db import DatabaseError

    from tocsin.engine.models import WorkerHeartbeat

    def broken(*args, **kwargs):
        raise DatabaseError("no such table: engine_workerheartbeat")

    monkeypatch.setattr(WorkerHeartbeat.objects, "filter", broken)
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert "Retry-After" in response


def _tocsin(tmp_path: Path, *args: str, env_extra: dict[str, str] | None = None):
    import os

    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["TOCSIN_DATA_DIR"] = str(tmp_path)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "tocsin", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_worker_on_an_unmigrated_database_fails_in_one_line(tmp_path) -> None:
    result = _tocsin(tmp_path, "worker")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "migrate" in result.stderr.strip().splitlines()[-1]


def test_smtp_port_out_of_range_is_a_one_line_error(tmp_path) -> None:
    result = _tocsin(tmp_path, "smtp", env_extra={"TOCSIN_SMTP_PORT": "99999"})
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "TOCSIN_SMTP_PORT" in result.stderr


def test_resolution_mail_subject_is_one_line(reporter, agent) -> None:
    from tocsin.notify.models import OutboxMessage

    incident = incident_create(actor=Actor.for_user(reporter), title="a\tb  c")
    incident_act(
        incident=incident,
        actor=Actor.for_user(agent),
        action="resolve",
        resolution_code="fixed",
        resolution_notes="done",
    )
    subject = OutboxMessage.objects.get(incident=incident).subject
    assert "\n" not in subject and "\t" not in subject
