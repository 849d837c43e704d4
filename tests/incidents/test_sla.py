"""SLA clocks: defaults, pause/resume, reopen, priority change, calendars, breaches."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine

from tests.incidents.helpers import T0, act, entries, reload
from tocsin.core.actors import Actor
from tocsin.incidents import sla
from tocsin.incidents.engine import SlaBreachModule
from tocsin.incidents.models import BusinessCalendar, SlaTarget
from tocsin.incidents.services import incident_mark_breaches, incident_update

MIN = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)

# priority -> (impact, urgency) giving it through the default matrix
LEVELS = {1: (1, 1), 2: (2, 2), 3: (3, 3), 4: (4, 4)}
DEFAULTS = {
    1: (15 * MIN, 4 * HOUR),
    2: (30 * MIN, 8 * HOUR),
    3: (2 * HOUR, 3 * DAY),
    4: (8 * HOUR, 7 * DAY),
}


def state(incident):
    from tocsin.core.clock import now

    return sla.sla_state(reload(incident), now())


@pytest.mark.django_db
@pytest.mark.parametrize("priority", [1, 2, 3, 4])
def test_default_targets_set_due_times_at_creation(priority, reporter, make_incident, clock):
    impact, urgency = LEVELS[priority]
    incident = reload(make_incident(reporter, impact=impact, urgency=urgency))
    response, resolution = DEFAULTS[priority]
    assert incident.priority == priority
    assert incident.response_due_at == T0 + response
    assert incident.resolution_due_at == T0 + resolution
    shown = state(incident)
    assert shown["response"]["remaining_seconds"] == response.total_seconds()
    assert shown["resolution"]["remaining_seconds"] == resolution.total_seconds()
    assert shown["response"]["paused"] is False
    assert shown["response"]["breached"] is False


def test_default_targets_match_the_seeded_rows(db):
    seeded = {
        t.priority: (t.response_minutes, t.resolution_minutes) for t in SlaTarget.objects.all()
    }
    assert seeded == {p: (int(r / MIN), int(s / MIN)) for p, (r, s) in DEFAULTS.items()}
    assert all(t.calendar_id is None for t in SlaTarget.objects.all())


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["acknowledge", "start", "resolve"])
def test_response_met(action, agent, reporter, make_incident, clock):
    incident = make_incident(reporter, impact=1, urgency=1)
    clock.shift(10 * MIN)
    act(incident, agent, action)
    done = reload(incident)
    assert done.response_met_at == T0 + 10 * MIN
    shown = state(incident)
    assert shown["response"]["met_at"] == T0 + 10 * MIN
    assert shown["response"]["breached"] is False
    assert shown["response"]["remaining_seconds"] is None
    clock.shift(HOUR)
    assert incident_mark_breaches(at=T0 + HOUR + 10 * MIN) == 0


@pytest.mark.django_db
def test_late_acknowledge_is_a_breach(agent, reporter, make_incident, clock):
    incident = make_incident(reporter, impact=1, urgency=1)
    clock.shift(20 * MIN)
    act(incident, agent, "acknowledge")
    done = reload(incident)
    assert done.response_breached_at == T0 + 15 * MIN
    assert state(incident)["response"]["breached"] is True


@pytest.mark.django_db
def test_hold_pauses_and_resume_moves_due_times(agent, reporter, make_incident, clock):
    incident = make_incident(reporter)  # P3: 2 h / 3 days
    clock.shift(30 * MIN)
    act(incident, agent, "hold", note="waiting for the user")
    held = reload(incident)
    assert held.sla_paused_at == T0 + 30 * MIN
    clock.shift(5 * HOUR)  # long past the 2 h response target
    shown = state(incident)
    for name, total in (("response", 2 * HOUR), ("resolution", 3 * DAY)):
        assert shown[name]["paused"] is True
        assert shown[name]["breached"] is False
        assert shown[name]["remaining_seconds"] == (total - 30 * MIN).total_seconds()
    # the breach marker leaves paused incidents alone
    assert incident_mark_breaches(at=T0 + 5 * HOUR + 30 * MIN) == 0
    act(incident, agent, "resume")
    resumed = reload(incident)
    # 5 h on hold do not count
    assert resumed.response_met_at == T0 + 5 * HOUR + 30 * MIN  # resume is a response
    assert resumed.resolution_due_at == T0 + 3 * DAY + 5 * HOUR
    shown = state(incident)
    assert shown["resolution"]["paused"] is False
    assert shown["resolution"]["remaining_seconds"] == (3 * DAY - 30 * MIN).total_seconds()


@pytest.mark.django_db
def test_resume_after_hold_keeps_an_unmet_response_clock_fair(
    agent, reporter, make_incident, clock
):
    incident = make_incident(reporter, impact=1, urgency=1)  # P1: 15 min / 4 h
    act(incident, agent, "acknowledge")
    clock.shift(HOUR)
    act(incident, agent, "hold")
    clock.shift(10 * HOUR)
    act(incident, agent, "resume")
    assert reload(incident).resolution_due_at == T0 + 14 * HOUR
    clock.shift(2 * HOUR)
    assert state(incident)["resolution"]["remaining_seconds"] == HOUR.total_seconds()


@pytest.mark.django_db
def test_resolving_while_on_hold_is_not_late(agent, reporter, make_incident, clock):
    """The paused time does not count, even when resolving straight from on hold."""
    incident = make_incident(reporter, impact=1, urgency=1)  # P1: 15 min / 4 h
    clock.shift(5 * MIN)
    act(incident, agent, "hold")
    clock.shift(10 * HOUR)
    act(incident, agent, "resolve")
    done = reload(incident)
    assert done.response_breached_at is None
    assert done.resolution_breached_at is None
    shown = state(incident)
    assert shown["response"]["breached"] is False
    assert shown["resolution"]["breached"] is False


@pytest.mark.django_db
def test_late_resolve_from_hold_is_a_breach(agent, reporter, make_incident, clock):
    incident = make_incident(reporter, impact=1, urgency=1)
    act(incident, agent, "start")
    clock.shift(5 * HOUR)
    act(incident, agent, "hold")
    clock.shift(HOUR)
    act(incident, agent, "resolve")
    done = reload(incident)
    assert done.resolution_breached_at == T0 + 4 * HOUR
    assert state(incident)["resolution"]["breached"] is True


@pytest.mark.django_db
def test_reopen_resumes_the_resolution_clock(agent, reporter, make_incident, clock):
    incident = make_incident(reporter, impact=1, urgency=1)  # P1: 4 h
    clock.shift(HOUR)
    act(incident, agent, "resolve")
    resolved = reload(incident)
    assert resolved.resolution_met_at == T0 + HOUR
    assert state(incident)["resolution"]["remaining_seconds"] is None
    clock.shift(10 * HOUR)  # resolved time does not count
    act(incident, agent, "reopen", note="still broken")
    reopened = reload(incident)
    assert reopened.resolution_met_at is None
    assert reopened.response_met_at == T0 + HOUR
    assert reopened.resolution_due_at == T0 + 11 * HOUR + 3 * HOUR
    shown = state(incident)
    assert shown["resolution"]["remaining_seconds"] == (3 * HOUR).total_seconds()
    assert shown["resolution"]["breached"] is False
    assert shown["response"]["remaining_seconds"] is None


@pytest.mark.django_db
def test_breaches_are_marked_once(agent, reporter, make_incident, clock):
    incident = make_incident(reporter, impact=1, urgency=1)  # P1: 15 min / 4 h
    other = make_incident(reporter)  # P3: 2 h, not due yet
    clock.shift(20 * MIN)
    at = T0 + 20 * MIN
    assert SlaBreachModule().tick(at) == 1
    assert incident_mark_breaches(at=at) == 0
    marked = reload(incident)
    assert marked.response_breached_at == T0 + 15 * MIN
    assert reload(other).response_breached_at is None
    sla_entries = entries(incident, "sla")
    assert len(sla_entries) == 1
    assert sla_entries[0].data["target"] == "response"
    assert sla_entries[0].actor_kind == "system"
    shown = state(incident)
    assert shown["response"]["breached"] is True
    assert shown["response"]["remaining_seconds"] == -5 * 60
    assert shown["resolution"]["breached"] is False
    # the late acknowledgement keeps the breach
    act(incident, agent, "acknowledge")
    assert state(incident)["response"]["breached"] is True
    clock.move_to(T0 + 5 * HOUR)
    assert incident_mark_breaches(at=T0 + 5 * HOUR) == 2  # incident resolution + other response
    assert incident_mark_breaches(at=T0 + 5 * HOUR) == 0
    assert len(entries(incident, "sla")) == 2
    shown = state(incident)
    assert shown["resolution"]["breached"] is True
    assert shown["resolution"]["remaining_seconds"] == -HOUR.total_seconds()


@pytest.mark.django_db
def test_resolved_incidents_are_not_marked(agent, reporter, make_incident, clock):
    incident = make_incident(reporter, impact=1, urgency=1)
    act(incident, agent, "resolve")
    assert incident_mark_breaches(at=T0 + DAY) == 0
    assert entries(incident, "sla") == []


# --- business-hours calendars ----------------------------------------------------------

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def office(zone: str = "Europe/Berlin", holidays: list[str] | None = None) -> BusinessCalendar:
    return BusinessCalendar.objects.create(
        name=f"Office {zone}",
        time_zone=zone,
        weekdays="0,1,2,3,4",
        day_start=dt.time(9),
        day_end=dt.time(17),
        holidays=holidays or [],
    )


def use_calendar(calendar: BusinessCalendar, priority: int = 3) -> None:
    SlaTarget.objects.filter(priority=priority).update(calendar=calendar)


@pytest.mark.django_db
def test_friday_afternoon_is_due_on_monday(reporter, make_incident):
    use_calendar(office())
    friday = dt.datetime(2026, 3, 6, 16, 30, tzinfo=BERLIN)
    with time_machine.travel(friday, tick=False):
        incident = reload(make_incident(reporter))  # P3: response 2 h
    assert incident.response_due_at == dt.datetime(2026, 3, 9, 10, 30, tzinfo=BERLIN)


@pytest.mark.django_db
def test_holidays_are_skipped(reporter, make_incident, clock):
    use_calendar(office(holidays=["2026-03-09"]))
    clock.move_to(dt.datetime(2026, 3, 6, 16, 30, tzinfo=BERLIN))
    incident = reload(make_incident(reporter))
    assert incident.response_due_at == dt.datetime(2026, 3, 10, 10, 30, tzinfo=BERLIN)


@pytest.mark.django_db
def test_remaining_counts_working_time_only(reporter, make_incident, clock):
    use_calendar(office())
    clock.move_to(dt.datetime(2026, 3, 6, 16, 30, tzinfo=BERLIN))
    incident = make_incident(reporter)
    clock.move_to(dt.datetime(2026, 3, 7, 12, 0, tzinfo=BERLIN))  # Saturday
    assert state(incident)["response"]["remaining_seconds"] == 90 * 60
    clock.move_to(dt.datetime(2026, 3, 9, 10, 0, tzinfo=BERLIN))  # Monday
    assert state(incident)["response"]["remaining_seconds"] == 30 * 60
    clock.move_to(dt.datetime(2026, 3, 9, 11, 0, tzinfo=BERLIN))
    shown = state(incident)
    assert shown["response"]["breached"] is True
    assert shown["response"]["remaining_seconds"] == -30 * 60


@pytest.mark.django_db
def test_calendar_hold_and_resume(agent, reporter, make_incident, clock):
    use_calendar(office())
    clock.move_to(dt.datetime(2026, 3, 6, 16, 0, tzinfo=BERLIN))  # Friday
    incident = make_incident(reporter)
    clock.move_to(dt.datetime(2026, 3, 6, 16, 30, tzinfo=BERLIN))
    act(incident, agent, "hold")
    clock.move_to(dt.datetime(2026, 3, 9, 15, 0, tzinfo=BERLIN))  # Monday afternoon
    assert state(incident)["response"]["remaining_seconds"] == 90 * 60
    act(incident, agent, "resume")
    resumed = reload(incident)
    # 3 days = 72 working hours; 30 min consumed: 71.5 h from Monday 15:00 = 2 h Monday,
    # 8 full days (Tue 10 .. Thu 19) and 5.5 h on Friday the 20th.
    assert resumed.resolution_due_at == dt.datetime(2026, 3, 20, 14, 30, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("zone", "start", "due"),
    [
        # Far east of UTC: a start before 13:00 local falls on the previous UTC date.
        (
            "Pacific/Auckland",
            dt.datetime(2026, 2, 4, 9, 0),
            dt.datetime(2026, 3, 4, 17, 0),
        ),
        # West of UTC: a start in the evening falls on the next UTC date.
        (
            "America/New_York",
            dt.datetime(2026, 2, 3, 20, 0),
            dt.datetime(2026, 3, 4, 17, 0),
        ),
        ("Europe/Berlin", dt.datetime(2026, 2, 4, 9, 0), dt.datetime(2026, 3, 4, 17, 0)),
    ],
)
def test_long_targets_on_a_calendar(zone, start, due, db):
    """P4's 7 days = 168 working hours = 21 working days of 8 h, over several weeks."""
    calendar = office(zone)
    tz = zoneinfo.ZoneInfo(zone)
    begin = start.replace(tzinfo=tz)
    result = sla.add_working(calendar, begin, 7 * 24 * 3600)
    assert result == due.replace(tzinfo=tz)
    assert sla.working_seconds(calendar, begin, result) == 7 * 24 * 3600


@pytest.mark.django_db
def test_priority_change_on_calendars_measures_elapsed_time_on_the_old_calendar(
    agent, reporter, make_incident, clock
):
    """P3 runs 24x7 here, P1 on office hours: the hours before the change are 24x7 hours."""
    use_calendar(office(), priority=1)
    clock.move_to(dt.datetime(2026, 3, 7, 10, 0, tzinfo=BERLIN))  # Saturday
    incident = make_incident(reporter)  # P3, 24x7
    clock.move_to(dt.datetime(2026, 3, 7, 11, 0, tzinfo=BERLIN))
    incident_update(
        incident=incident, actor=Actor.for_user(agent), changes={"impact": 1, "urgency": 1}
    )
    p1 = reload(incident)
    assert p1.priority == 1
    # One 24x7 hour was consumed: P1's 4 h resolution leaves 3 working hours from Monday 09:00
    assert p1.resolution_due_at == dt.datetime(2026, 3, 9, 12, 0, tzinfo=BERLIN)
    assert p1.response_due_at < dt.datetime(2026, 3, 7, 11, 0, tzinfo=BERLIN)
