"""The engine tick by tick: order, isolation of failures, heartbeat, SLA breaches, auto-close."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core import mail
from django.test import Client
from django.utils import timezone

from tocsin.accounts.models import User
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.engine.engine import HeartbeatModule, default_modules, run_forever, run_tick
from tocsin.engine.models import WorkerHeartbeat
from tocsin.engine.modules import budget_spent
from tocsin.incidents.models import EntryKind, Incident, Status
from tocsin.incidents.services import incident_act
from tocsin.notify.services import outbox_enqueue_email

pytestmark = pytest.mark.django_db


class Recorder:
    def __init__(self, name: str, calls: list[str], work: int = 0) -> None:
        self.name = name
        self.calls = calls
        self.work = work

    def tick(self, now: dt.datetime) -> int:
        self.calls.append(self.name)
        return self.work


class Exploding:
    name = "exploding"

    def tick(self, now: dt.datetime) -> int:
        raise RuntimeError("boom")


def test_a_tick_runs_the_modules_in_their_order() -> None:
    calls: list[str] = []
    modules = [Recorder("first", calls), Recorder("second", calls, 3), Recorder("third", calls)]
    assert run_tick(modules) == {"first": 0, "second": 3, "third": 0}
    assert calls == ["first", "second", "third"]


def test_one_tick_of_the_default_worker_beats_and_sends_queued_mail() -> None:
    message = outbox_enqueue_email(recipient="rita@example.com", subject="Hello", body="x")
    result = run_tick(default_modules("w-default"))
    assert result["outbox"] == 1 and -1 not in result.values()
    assert WorkerHeartbeat.objects.filter(worker_id="w-default").exists()
    assert [m.subject for m in mail.outbox] == ["Hello"]
    message.refresh_from_db()
    assert message.state == "sent"


class Clocked:
    """Records the `now` it is given and the real time when its turn came."""

    def __init__(self, name: str, seen: list[tuple[str, dt.datetime]], sleep: float = 0) -> None:
        self.name = name
        self.seen = seen
        self.sleep = sleep

    def tick(self, now: dt.datetime) -> int:
        self.seen.append((self.name, now))
        time.sleep(self.sleep)
        return 0


def test_each_module_gets_the_time_of_its_own_turn() -> None:
    seen: list[tuple[str, dt.datetime]] = []
    run_tick([Clocked("slow", seen, sleep=0.3), Clocked("next", seen)])
    (_, slow_at), (_, next_at) = seen
    assert next_at - slow_at >= dt.timedelta(seconds=0.3)


def test_a_module_that_loops_stops_when_its_budget_is_spent() -> None:
    calls: list[str] = []

    class Looping:
        name = "looping"
        items = 0

        def tick(self, now: dt.datetime) -> int:
            while not budget_spent():
                self.items += 1
                time.sleep(0.01)
                if self.items >= 1000:
                    break
            return self.items

    looping = Looping()
    started = time.monotonic()
    result = run_tick([looping, Recorder("after", calls)], budget=0.1)
    assert time.monotonic() - started < 1.0
    assert 0 < result["looping"] < 1000  # more work left: it said so with a positive count
    assert calls == ["after"]  # the next module had its turn


def test_a_failing_module_does_not_stop_the_others() -> None:
    calls: list[str] = []
    heartbeat = HeartbeatModule("w-fail")
    result = run_tick([Recorder("before", calls), Exploding(), heartbeat, Recorder("after", calls)])
    assert result["exploding"] == -1
    assert calls == ["before", "after"]
    # What the module after the failure wrote was committed.
    assert WorkerHeartbeat.objects.filter(worker_id="w-fail").exists()


def test_the_heartbeat_row_is_written_and_touched_every_tick() -> None:
    module = HeartbeatModule("w-beat")
    start = timezone.now()
    run_tick([module], at=start)
    row = WorkerHeartbeat.objects.get(worker_id="w-beat")
    assert (row.ticks, row.last_seen_at) == (1, start)
    later = start + dt.timedelta(seconds=5)
    run_tick([module], at=later)
    row.refresh_from_db()
    assert (row.ticks, row.last_seen_at) == (2, later)


def test_heartbeats_of_workers_gone_for_a_day_are_pruned() -> None:
    old = timezone.now() - dt.timedelta(days=2)
    WorkerHeartbeat.objects.create(worker_id="dead", started_at=old, last_seen_at=old)
    run_tick([HeartbeatModule("alive")])
    assert list(WorkerHeartbeat.objects.values_list("worker_id", flat=True)) == ["alive"]


def test_readyz_needs_a_worker_seen_in_the_last_minute() -> None:
    client = Client()
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"] != "ok"
    assert response["Retry-After"]

    run_tick([HeartbeatModule("w-ready")])
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "worker": "ok"}

    with time_machine.travel(timezone.now() + dt.timedelta(seconds=90)):
        assert client.get("/readyz").status_code == 503


# run_forever resets connections between ticks (close_old_connections), which
# must not happen inside the test's wrapping transaction: use a real transaction.
@pytest.mark.django_db(transaction=True)
def test_run_forever_stops_cleanly_and_forgets_its_heartbeat(settings: object) -> None:
    settings.TOCSIN_ENGINE_TICK_SECONDS = 0.01  # type: ignore[attr-defined]
    calls: list[str] = []
    seen: list[int] = []

    class Peek:
        name = "peek"

        def tick(self, now: dt.datetime) -> int:
            seen.append(WorkerHeartbeat.objects.count())
            return 0

    modules = [HeartbeatModule("w-run"), Peek(), Exploding(), Recorder("after", calls)]
    assert run_forever(modules, max_ticks=3) == 0
    assert calls == ["after"] * 3
    assert seen == [1, 1, 1]
    assert not WorkerHeartbeat.objects.exists()


# run_forever resets connections between ticks (close_old_connections), which
# must not happen inside the test's wrapping transaction: use a real transaction.
@pytest.mark.django_db(transaction=True)
def test_run_forever_returns_promptly_when_asked_to_stop(settings: object) -> None:
    settings.TOCSIN_ENGINE_TICK_SECONDS = 0.01  # type: ignore[attr-defined]
    stop = threading.Event()

    class StopAfterTwo:
        name = "stopper"
        ticks = 0

        def tick(self, now: dt.datetime) -> int:
            self.ticks += 1
            if self.ticks == 2:
                stop.set()
            return 0

    module = StopAfterTwo()
    assert run_forever([module], stop=stop) == 0
    assert module.ticks == 2


@pytest.fixture
def resolved(make_incident: Callable[..., Incident], reporter: User, agent: User) -> Incident:
    incident = make_incident(reporter)
    return incident_act(
        incident=incident,
        actor=Actor.for_user(agent),
        action="resolve",
        resolution_code="fixed",
        resolution_notes="Replaced the fuser",
    )


def test_the_engine_closes_resolved_incidents_after_the_quiet_period(resolved: Incident) -> None:
    modules = default_modules("w-close")
    days = django_settings.TOCSIN_AUTO_CLOSE_DAYS
    resolved_at = resolved.resolved_at
    assert resolved_at is not None
    with time_machine.travel(resolved_at + dt.timedelta(days=days) - dt.timedelta(minutes=1)):
        run_tick(modules)
    resolved.refresh_from_db()
    assert resolved.status == Status.RESOLVED

    with time_machine.travel(resolved_at + dt.timedelta(days=days, minutes=1)):
        result = run_tick(modules)
        closed_at = now()
    assert result["auto_close"] == 1
    resolved.refresh_from_db()
    assert resolved.status == Status.CLOSED
    assert resolved.closed_at is not None and abs(resolved.closed_at - closed_at) < dt.timedelta(
        seconds=5
    )
    entry = resolved.timeline.filter(kind=EntryKind.TRANSITION).last()
    assert entry is not None
    assert (entry.actor_kind, entry.actor_label, entry.data["to"]) == (
        "system",
        "auto-close",
        "closed",
    )
    # A second tick finds nothing more to do.
    with time_machine.travel(resolved_at + dt.timedelta(days=days, minutes=2)):
        assert run_tick(modules)["auto_close"] == 0


def test_a_reopened_incident_is_not_auto_closed(resolved: Incident, agent: User) -> None:
    reopened = incident_act(incident=resolved, actor=Actor.for_user(agent), action="reopen")
    with time_machine.travel(timezone.now() + dt.timedelta(days=30)):
        run_tick(default_modules("w-reopen"))
    reopened.refresh_from_db()
    assert reopened.status == Status.IN_PROGRESS


def test_the_engine_marks_sla_breaches_once(
    make_incident: Callable[..., Incident], reporter: User
) -> None:
    incident = make_incident(reporter, impact=1, urgency=1)  # P1: respond within 15 minutes
    assert incident.priority == 1 and incident.response_due_at is not None
    modules = default_modules("w-sla")
    with time_machine.travel(incident.response_due_at - dt.timedelta(seconds=30)):
        assert run_tick(modules)["sla_breaches"] == 0
    with time_machine.travel(incident.response_due_at + dt.timedelta(seconds=30)):
        assert run_tick(modules)["sla_breaches"] == 1
        assert run_tick(modules)["sla_breaches"] == 0
    incident.refresh_from_db()
    assert incident.response_breached_at == incident.response_due_at
    assert incident.resolution_breached_at is None
    entries = incident.timeline.filter(kind=EntryKind.SLA)
    assert [(e.actor_kind, e.data["target"]) for e in entries] == [("system", "response")]


def test_work_nobody_waits_for_gives_way_to_a_busy_alert_path() -> None:
    """During a storm (a module before it found work in the same pass, or in a pass less
    than BUSY_LINGER ago), the reports' facts wait — at most a minute after their last
    turn — so the pages go first; once the alert path is quiet they run at their usual
    pace."""
    from tocsin.engine.engine import REPORTS_MAX_DEFER, Every

    calls: list[str] = []
    alerts = Recorder("ingest", calls, work=5)
    reports = Every(Recorder("report_facts", calls), 5, defer_while_busy=REPORTS_MAX_DEFER)
    timer = Every(Recorder("sla_breaches", calls), 1)  # a timer that is not deferred
    t0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)

    def ran(at: dt.datetime) -> list[str]:
        calls.clear()
        run_tick([alerts, reports, timer], at)
        return calls[1:]

    assert ran(t0) == ["report_facts", "sla_breaches"]  # never ran: runs at once
    assert ran(t0 + dt.timedelta(seconds=10)) == ["sla_breaches"]  # the storm: deferred
    assert ran(t0 + dt.timedelta(seconds=59)) == ["sla_breaches"]
    assert ran(t0 + dt.timedelta(seconds=61)) == ["report_facts", "sla_breaches"]  # bound
    assert ran(t0 + dt.timedelta(seconds=70)) == ["sla_breaches"]
    alerts.work = 0  # a pass of the storm that found nothing on the alert path
    assert ran(t0 + dt.timedelta(seconds=71)) == ["sla_breaches"]  # still the storm
    assert ran(t0 + dt.timedelta(seconds=72)) == ["sla_breaches"]
    # quiet for BUSY_LINGER (3 s) since the last busy pass: the storm is over
    assert ran(t0 + dt.timedelta(seconds=73)) == ["report_facts", "sla_breaches"]
    assert ran(t0 + dt.timedelta(seconds=75)) == ["sla_breaches"]  # every 5 s, as before
    assert ran(t0 + dt.timedelta(seconds=78)) == ["report_facts", "sla_breaches"]


def test_the_default_worker_defers_only_what_nobody_is_paged_by() -> None:
    """The reports and the purge give way for up to a minute; the timers that only watch
    (SLA warnings and breaches, the status page's components) for up to 10 s; the alert
    path, acknowledgement timeouts, commander deadlines and hand-offs never."""
    from tocsin.engine.engine import Every

    deferred = {
        m.name: m.defer.total_seconds()
        for m in default_modules("w-defer")
        if isinstance(m, Every) and m.defer
    }
    assert deferred == {
        "report_facts": 60,
        "retention": 60,
        "sla_warnings": 10,
        "sla_breaches": 10,
        "status_derive": 10,
    }


def test_workers_that_split_the_modules_run_each_once_in_the_engines_order() -> None:
    """`tocsin worker --only/--skip`: the names are checked, the order is the engine's,
    and a worker given `--only` still proves it is alive (heartbeat)."""
    from tocsin.engine.engine import select_modules

    modules = default_modules("w-split")
    names = [m.name for m in modules]
    sender = [m.name for m in select_modules(modules, only=["outbox"])]
    rest = [m.name for m in select_modules(modules, skip=["outbox"])]
    assert sender == [n for n in names if n in ("outbox", "heartbeat")]
    assert rest == [n for n in names if n != "outbox"]
    assert sorted(set(sender) | set(rest)) == sorted(names)  # together: every module
    assert select_modules(modules) == modules
    with pytest.raises(ValueError, match="'outbx'"):
        select_modules(modules, only=["outbx"])
    with pytest.raises(ValueError, match="not both"):
        select_modules(modules, only=["outbox"], skip=["ingest"])
