"""No person gets more than one SMS or one call a minute per contact method; pages due
meanwhile go out together as one bundle ("12 more incidents for Payments").

The SMS and voice channels are the test double of Tocsin's own channel
(tests.notify.outbox_testchannel), sending to a real HTTP receiver on loopback as an SMS
provider would be called; the clock is moved with time_machine, the outbox ticked in the
test's thread.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import time_machine

from tocsin.accounts.models import ContactMethod, Role, User
from tocsin.accounts.services import contact_method_add
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.incidents.models import Incident
from tocsin.notify import hooks
from tocsin.notify.channels import CHANNELS
from tocsin.notify.engine import OutboxModule, bundle_line
from tocsin.notify.models import OutboxMessage, OutboxState
from tocsin.notify.services import outbox_enqueue

from . import outbox_testchannel
from .outbox_testchannel import Receiver

pytestmark = pytest.mark.django_db
SETUP = Actor.system("test setup")
T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[Receiver]:
    receiver = Receiver().start()
    for kind in ("sms", "voice"):
        monkeypatch.setitem(CHANNELS, kind, "tests.notify.outbox_testchannel")
    monkeypatch.setattr(outbox_testchannel, "SMS_URL", f"{receiver.url}/sms")
    settings.TOCSIN_OUTBOUND_ALLOW = ["127.0.0.0/8"]
    yield receiver
    receiver.stop()


@pytest.fixture
def outcomes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str, str]]:
    seen: list[tuple[int, str, str]] = []

    def record(*, message: OutboxMessage, outcome: str, reason: str) -> None:
        seen.append((message.pk, outcome, reason))

    monkeypatch.setattr(hooks, "on_outcome", [*hooks.on_outcome, record])
    return seen


@pytest.fixture
def person(make_user: Callable[..., User]) -> User:
    return make_user(Role.RESPONDER, username="paula")


@pytest.fixture
def sms(person: User) -> ContactMethod:
    return contact_method_add(user=person, kind="sms", address="+441632960001", actor=SETUP)


@pytest.fixture
def voice(person: User) -> ContactMethod:
    return contact_method_add(user=person, kind="voice", address="+441632960001", actor=SETUP)


@pytest.fixture
def incidents(make_incident: Callable[..., Incident], person: User) -> Callable[[int], list[Any]]:
    def make(count: int) -> list[Incident]:
        return [make_incident(person, title=f"Storm {n}") for n in range(count)]

    return make


def page(
    method: ContactMethod,
    incident: Incident | None,
    *,
    priority: int = 3,
    service: str = "Payments",
    purpose: str = "page",
    rule: int = 0,
) -> OutboxMessage:
    return outbox_enqueue(
        channel=method.kind,
        recipient="",
        subject=f"[P{priority}] {incident.ref if incident else 'test'}",
        body=f"Page for {incident.ref if incident else 'nothing'}",
        payload={"kind": "page", "priority": priority, "service": service, "rule": rule},
        incident=incident,
        person=method.user,
        contact_method=method,
        purpose=purpose,
    )


def tick_at(at: dt.datetime) -> int:
    with time_machine.travel(at, tick=False):
        return OutboxModule().tick(now())


def fresh(message: OutboxMessage) -> OutboxMessage:
    return OutboxMessage.objects.get(pk=message.pk)


def test_one_sms_a_minute_per_contact_method(
    provider: Receiver, sms: ContactMethod, voice: ContactMethod, incidents: Any
) -> None:
    one, two, three = incidents(3)
    with time_machine.travel(T0, tick=False):
        first = page(sms, one)
    assert tick_at(T0) == 1
    sent_at = fresh(first).sent_at
    assert sent_at == T0
    with time_machine.travel(T0 + dt.timedelta(seconds=10), tick=False):
        second = page(sms, two)
        call = page(voice, three)  # another method: its own minute
    assert tick_at(T0 + dt.timedelta(seconds=10)) == 1
    held = fresh(second)
    assert (held.state, held.attempts) == (OutboxState.QUEUED, 0)
    assert held.not_before == sent_at + dt.timedelta(seconds=60)
    assert fresh(call).state == OutboxState.SENT
    assert tick_at(T0 + dt.timedelta(seconds=59)) == 0
    assert fresh(second).state == OutboxState.QUEUED
    assert tick_at(T0 + dt.timedelta(seconds=60)) == 1
    assert fresh(second).state == OutboxState.SENT
    assert provider.idempotency_keys() == [
        str(first.message_id),
        str(call.message_id),
        str(second.message_id),
    ]


def test_a_storm_goes_out_as_one_bundle(
    provider: Receiver, sms: ContactMethod, incidents: Any, outcomes: list[Any]
) -> None:
    made = incidents(14)
    with time_machine.travel(T0, tick=False):
        page(sms, made[0])
    assert tick_at(T0) == 1
    storm: list[OutboxMessage] = []
    for n, incident in enumerate(made[1:]):
        with time_machine.travel(T0 + dt.timedelta(seconds=2 + n), tick=False):
            storm.append(page(sms, incident, priority=1 if n == 5 else 3))
    with time_machine.travel(T0 + dt.timedelta(seconds=20), tick=False):
        # the same incident paged by a second rule counts once in the line
        storm.append(page(sms, made[3], rule=2))
    for n in range(len(storm)):
        assert tick_at(T0 + dt.timedelta(seconds=3 + n)) == 0
    assert len(provider.requests) == 1
    assert tick_at(T0 + dt.timedelta(seconds=61)) == 1
    assert tick_at(T0 + dt.timedelta(seconds=62)) == 0
    assert len(provider.requests) == 2
    carrier = storm[5]  # the most urgent
    sent = provider.requests[1]
    assert sent.key == str(carrier.message_id)
    assert sent.body["body"].endswith("\n\n12 more incidents for Payments")
    assert sent.body["payload"]["bundle"]["count"] == 13
    assert sent.body["payload"]["bundle"]["text"] == "12 more incidents for Payments"
    rows = {m.pk: m for m in OutboxMessage.objects.filter(pk__in=[m.pk for m in storm])}
    # N3: every row ends sent, the carried ones pointing at their carrier
    assert {m.state for m in rows.values()} == {OutboxState.SENT}
    assert rows[carrier.pk].provider_message_id == f"test:{carrier.message_id}"
    carried = [m for m in rows.values() if m.pk != carrier.pk]
    assert {m.provider_message_id for m in carried} == {f"bundled:{carrier.message_id}"}
    assert {m.bundled_into_id for m in carried} == {carrier.pk}
    assert rows[carrier.pk].bundled_into_id is None
    # the delivery hooks heard of every page
    assert {pk for pk, outcome, _ in outcomes if outcome == "sent"} >= set(rows)
    # and the next page waits a minute after the bundle
    with time_machine.travel(T0 + dt.timedelta(seconds=70), tick=False):
        late = page(sms, made[0], rule=5)
    assert tick_at(T0 + dt.timedelta(seconds=70)) == 0
    assert fresh(late).not_before == T0 + dt.timedelta(seconds=121)


def test_a_failed_bundle_fails_every_page_it_carried(
    provider: Receiver, sms: ContactMethod, incidents: Any, outcomes: list[Any]
) -> None:
    provider.status = 400
    made = incidents(4)
    with time_machine.travel(T0, tick=False):
        rows = [page(sms, incident) for incident in made]
    assert tick_at(T0) == 0
    assert len(provider.requests) == 1
    carrier = fresh(rows[-1])  # all P3: the newest carries
    assert provider.requests[0].key == str(carrier.message_id)
    assert carrier.state == OutboxState.FAILED and "HTTP 400" in carrier.last_error
    for row in rows[:-1]:
        row = fresh(row)
        assert row.state == OutboxState.FAILED
        assert row.last_error.startswith(f"bundled into {carrier.message_id}: HTTP 400")
    assert sorted(pk for pk, outcome, _ in outcomes if outcome == "failed") == sorted(
        r.pk for r in rows
    )
    sms.refresh_from_db()
    assert sms.last_delivery_ok is False
    # a failed send does not count: the next page goes at once
    with time_machine.travel(T0 + dt.timedelta(seconds=5), tick=False):
        again = page(sms, made[0], rule=3)
    provider.status = 200
    assert tick_at(T0 + dt.timedelta(seconds=5)) == 1
    assert fresh(again).state == OutboxState.SENT


def test_a_temporary_failure_queues_the_whole_bundle_again(
    provider: Receiver, sms: ContactMethod, incidents: Any
) -> None:
    provider.status = 503
    made = incidents(3)
    with time_machine.travel(T0, tick=False):
        rows = [page(sms, incident) for incident in made]
    assert tick_at(T0) == 0
    states = [fresh(r) for r in rows]
    assert {(r.state, r.attempts) for r in states} == {(OutboxState.QUEUED, 1)}
    assert len({r.not_before for r in states}) == 1
    provider.status = 200
    assert tick_at(states[0].not_before) == 1
    assert len(provider.requests) == 2
    assert provider.requests[1].body["body"].endswith("2 more incidents for Payments")
    assert {fresh(r).state for r in rows} == {OutboxState.SENT}


def test_another_workers_send_to_the_method_holds_ours_back(
    provider: Receiver, sms: ContactMethod, incidents: Any
) -> None:
    one, two = incidents(2)
    with time_machine.travel(T0, tick=False):
        theirs = page(sms, one, purpose="test")
        ours = page(sms, two, purpose="test")
    module = OutboxModule()
    with time_machine.travel(T0, tick=False):
        assert module._claim(theirs.pk, now(), dt.timedelta(seconds=30))  # in flight elsewhere
    assert tick_at(T0 + dt.timedelta(seconds=1)) == 0
    held = fresh(ours)
    assert (held.state, held.attempts) == (OutboxState.QUEUED, 0)
    assert held.not_before == T0 + dt.timedelta(seconds=6)
    assert provider.requests == []


def test_messages_that_are_not_pages_are_throttled_but_never_bundled(
    provider: Receiver, sms: ContactMethod
) -> None:
    with time_machine.travel(T0, tick=False):
        first = page(sms, None, purpose="test")
        second = page(sms, None, purpose="test")
    assert tick_at(T0) == 1
    assert provider.idempotency_keys() == [str(first.message_id)]
    assert "more incident" not in provider.requests[0].body["body"]
    assert tick_at(T0 + dt.timedelta(seconds=1)) == 0  # one message per method and turn
    assert fresh(second).not_before == T0 + dt.timedelta(seconds=60)
    assert tick_at(T0 + dt.timedelta(seconds=60)) == 1
    assert fresh(second).bundled_into_id is None


def test_the_bundle_line() -> None:
    assert bundle_line([(1, "Payments")]) == "1 more incident for Payments"
    assert bundle_line([(1, "Payments"), (1, "Payments"), (2, "Payments")]) == (
        "2 more incidents for Payments"
    )
    assert bundle_line([(1, "Payments"), (2, "Payments"), (3, "Checkout"), (None, "")]) == (
        "4 more incidents: 2 for Payments, 1 for Checkout, 1 for no service"
    )
    assert bundle_line([(None, ""), (None, "")]) == "2 more incidents"
    assert bundle_line([]) == ""


@pytest.mark.django_db(transaction=True)
def test_workers_racing_for_one_method_send_one_bundle(
    provider: Receiver, sms: ContactMethod
) -> None:
    """Two workers (threads with their own connections and sending pools; one on SQLite)
    find the same storm due at the same moment: the person gets one message."""
    import threading

    from django.db import connection

    from tocsin.engine.engine import run_tick

    rows = [page(sms, None) for _ in range(10)]
    count = 2 if connection.vendor == "postgresql" else 1
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def worker() -> None:
        module = OutboxModule(threads=2)
        try:
            barrier.wait(timeout=10)
            for _ in range(30):
                run_tick([module])
                threading.Event().wait(0.05)
            module.wait_idle(10)
            module.forget()
        except BaseException as exc:  # reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert len(provider.requests) == 1, provider.idempotency_keys()
    assert provider.requests[0].body["body"].endswith("9 more incidents for Payments")
    assert {fresh(r).state for r in rows} == {OutboxState.SENT}
