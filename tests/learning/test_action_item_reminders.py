"""Reminders to an action item's owner, on a clock the test controls: once before the due
date (2 days by default) and once at it, through the owner's low-urgency contact methods
(never a call), delivered by the outbox to a real SMTP server; never twice (also with two
workers), never for a settled item, again after the due date moves."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import time_machine

from tests.escalation.paging_helpers import reachable
from tests.notify.conftest import Inbox, _serve
from tocsin.accounts.models import ContactKind, Role, User
from tocsin.accounts.services import contact_method_add
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.engine.engine import default_modules
from tocsin.incidents.models import EntryKind, Incident, TimelineEntry
from tocsin.learning import action_items
from tocsin.learning.engine import ActionItemReminderModule
from tocsin.learning.models import ActionItem
from tocsin.notify.engine import OutboxModule
from tocsin.notify.models import OutboxMessage, OutboxState

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
PURPOSE = "action_item_reminder"


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[Inbox]:
    """A real SMTP server (aiosmtpd) on loopback; Django's mail goes to it."""
    yield from _serve(settings, Inbox())


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def world(
    clock: Any, make_user: Callable[..., User], make_incident: Callable[..., Incident]
) -> dict[str, Any]:
    rita = make_user(Role.REPORTER, username="rita")
    alice = make_user(Role.AGENT, username="alice", name="Alice Agent")
    rob = make_user(Role.RESPONDER, username="rob", name="Rob Responder")
    return {"rita": rita, "alice": alice, "rob": rob, "incident": make_incident(rita)}


def item_for(world: dict[str, Any], owner: User, due: dt.datetime, **kw: Any) -> ActionItem:
    return action_items.action_item_create(
        actor=Actor.for_user(world["alice"]),
        incident=world["incident"],
        title=kw.pop("title", "Replace the printer's fuser"),
        owner=owner,
        due_at=due,
        **kw,
    )


def run_at(clock: Any, moment: dt.datetime, module: Any = None) -> int:
    clock.move_to(moment)
    return int((module or ActionItemReminderModule()).tick(now()))


def sent() -> list[tuple[str, str]]:
    rows = OutboxMessage.objects.filter(purpose=PURPOSE).order_by("pk")
    return [(m.payload["reminder"], m.channel) for m in rows]


def test_before_and_at_the_due_date_once_each_by_real_mail(
    world: dict[str, Any], clock: Any, smtp_server: Any, settings: Any
) -> None:
    settings.BASE_URL = "https://tocsin.example.com"
    rob = world["rob"]
    reachable(rob, "email")
    contact_method_add(
        user=rob, kind=ContactKind.VOICE, address="+441632960009", actor=Actor.system("t")
    )
    item = item_for(world, rob, T0 + 5 * DAY, tracker_url="https://tracker.example.com/OPS-1")
    assert run_at(clock, T0) == 0
    assert run_at(clock, T0 + 3 * DAY - dt.timedelta(minutes=1)) == 0
    # two days before: one reminder, whichever of two workers looks first
    first, second = ActionItemReminderModule(), ActionItemReminderModule()
    assert run_at(clock, T0 + 3 * DAY, first) == 1
    assert run_at(clock, T0 + 3 * DAY, second) == 0
    assert sent() == [("before", "email")]  # the low-urgency cycle's email, never a call
    OutboxModule().tick(now())
    [mail] = smtp_server.messages
    assert mail["To"] == "rob@example.com"
    assert mail["Subject"] == "Action item due 2026-03-07 10:00 UTC: Replace the printer's fuser"
    body = mail.get_payload()
    assert f"https://tocsin.example.com/action-items/{item.pk}/" in body
    assert "INC-1" in body and "https://tracker.example.com/OPS-1" in body
    assert run_at(clock, T0 + 4 * DAY) == 0
    # at the due date: the second and last
    assert run_at(clock, T0 + 5 * DAY) == 1
    assert run_at(clock, T0 + 5 * DAY + DAY) == 0
    OutboxModule().tick(now())
    assert [m["Subject"] for m in smtp_server.messages][1] == (
        "Action item due now: Replace the printer's fuser"
    )
    assert len(smtp_server.messages) == 2
    assert [m.state for m in OutboxMessage.objects.filter(purpose=PURPOSE)] == [
        OutboxState.SENT
    ] * 2
    item.refresh_from_db()
    assert item.reminded_before_at == T0 + 3 * DAY and item.reminded_due_at == T0 + 5 * DAY
    texts = TimelineEntry.objects.filter(kind=EntryKind.ACTION_ITEM).values_list("text", flat=True)
    assert sum("reminded Rob Responder" in t for t in texts) == 2


def test_a_new_due_date_or_owner_reminds_again_a_settled_item_never(
    world: dict[str, Any], clock: Any, smtp_server: Any
) -> None:
    rob, alice = world["rob"], world["alice"]
    reachable(rob)
    reachable(alice)
    item = item_for(world, rob, T0 + DAY)  # inside the two days: the early one at once
    assert run_at(clock, T0) == 1
    assert sent() == [("before", "email")]
    action_items.action_item_update(item=item, actor=Actor.for_user(rob), due_at=T0 + 10 * DAY)
    assert run_at(clock, T0 + DAY) == 0  # the old due date is no longer a reason
    assert run_at(clock, T0 + 8 * DAY) == 1
    action_items.action_item_update(item=item, actor=Actor.for_user(rob), owner=alice)
    assert run_at(clock, T0 + 8 * DAY) == 1  # the new owner is told too
    action_items.action_item_update(item=item, actor=Actor.for_user(alice), status="done")
    assert run_at(clock, T0 + 20 * DAY) == 0
    OutboxModule().tick(now())
    assert [m["To"] for m in smtp_server.messages] == [
        "rob@example.com",
        "rob@example.com",
        "alice@example.com",
    ]


def test_a_late_worker_sends_only_the_due_reminder(
    world: dict[str, Any], clock: Any, settings: Any
) -> None:
    reachable(world["rob"])
    item_for(world, world["rob"], T0 + 3 * DAY)
    assert run_at(clock, T0 + 4 * DAY) == 1
    assert run_at(clock, T0 + 4 * DAY) == 0
    assert sent() == [("due", "email")]
    # with the early reminder turned off, only the one at the due date goes
    settings.TOCSIN_ACTION_ITEM_REMIND_DAYS = 0
    item_for(world, world["rob"], T0 + 6 * DAY, title="Second")
    assert run_at(clock, T0 + 5 * DAY + dt.timedelta(hours=23)) == 0
    assert run_at(clock, T0 + 6 * DAY) == 1
    assert sent() == [("due", "email"), ("due", "email")]


def test_an_owner_without_contact_methods_is_mailed_at_their_address(
    world: dict[str, Any], clock: Any, smtp_server: Any
) -> None:
    item_for(world, world["rob"], T0 + 3 * DAY)
    assert run_at(clock, T0 + 3 * DAY) == 1
    OutboxModule().tick(now())
    assert [m["To"] for m in smtp_server.messages] == ["rob@example.com"]


def test_the_worker_runs_the_module() -> None:
    assert "action_item_reminders" in [m.name for m in default_modules("test")]
