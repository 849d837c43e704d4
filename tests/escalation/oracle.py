"""The paging oracle (N3 in specs/reliability-and-security.md): an independent model of
what the escalation engine must have written, compared with what it did write.

The model knows only the test's inputs: each person's notification cycle (which contact
method, how many minutes after the page), each policy's levels (targets, delay, mode)
and repeat count, each schedule as a plain rotation (shifts of `hours` from `start`
over `users`, an optional daily window outside which nobody is on call, overrides),
and the events the test drives (an incident opened, acknowledged, resolved, escalated,
reassigned, restarted; an engine tick at an instant; an outbox turn). From them it
computes the set of pages `(incident, climb, step, person, level, cycle, state)` and the
set of page messages `(incident, climb, step, person, method, not_before, state)` that
must exist, and `check()` compares them with the database: missing = 0 and extra = 0.

A climb is named by its order among the incident's climbs (0 for the first, 1 for the
one a restart or a reassignment started, ...), so the model needs no database ids.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import time_machine

from tests.notify.conftest import Inbox
from tocsin.accounts.models import Role, Team, User
from tocsin.accounts.services import contact_method_add, notification_rules_set
from tocsin.catalog.models import Service
from tocsin.core.actors import Actor
from tocsin.escalation.engine import EscalationModule
from tocsin.escalation.models import Escalation, EscalationPolicy, Page
from tocsin.escalation.policies import policy_create, service_paging_set
from tocsin.incidents.models import EntryKind, Incident, TimelineEntry
from tocsin.incidents.services import incident_acknowledge, incident_resolve
from tocsin.notify.engine import OutboxModule
from tocsin.notify.models import OutboxMessage
from tocsin.oncall.models import Schedule
from tocsin.oncall.services import override_create, schedule_create
from tocsin.oncall.specs import parse_layers

SETUP = Actor.system("test setup")

# --- inputs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One step of a person's cycle: the contact method (by its label) after `delay` min."""

    method: str
    delay: int = 0


@dataclass(frozen=True)
class Level:
    targets: tuple[tuple[str, str], ...]  # ("user" | "schedule" | "team", its name)
    delay: int = 15
    mode: str = "all"


@dataclass
class Policy:
    name: str
    levels: list[Level]
    repeat: int = 0
    rr: dict[int, int] = field(default_factory=dict)  # level index -> next turn


@dataclass
class Rotation:
    """A schedule as the oracle sees it: `users` take turns of `hours` from `start`; with a
    `window` (from_hour, to_hour) nobody is on call outside those UTC hours; overrides
    (start, end, username) put someone else on call over the whole schedule."""

    start: dt.datetime
    hours: int
    users: list[str]
    window: tuple[int, int] | None = None
    overrides: list[tuple[dt.datetime, dt.datetime, str]] = field(default_factory=list)

    def oncall(self, at: dt.datetime) -> str | None:
        for start, end, user in reversed(self.overrides):  # the latest override wins
            if start <= at < end:
                return user
        if at < self.start:
            return None
        if self.window is not None and not self.window[0] <= at.hour < self.window[1]:
            return None
        turn = int((at - self.start).total_seconds() // (self.hours * 3600))
        return self.users[turn % len(self.users)]


def working_hours_from(at: dt.datetime, zone: str) -> dt.datetime:
    """`at`, or the first whole hour after it that falls on Monday-Friday 09:00-17:00 in
    `zone` (working hours start on the hour)."""
    tz = zoneinfo.ZoneInfo(zone)

    def working(t: dt.datetime) -> bool:
        local = t.astimezone(tz)
        return local.weekday() < 5 and 9 <= local.hour < 17

    if working(at):
        return at
    t = at.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    for _ in range(24 * 8):
        if working(t):
            return t
        t += dt.timedelta(hours=1)
    raise AssertionError("no working hour within a week")


# --- the model's state --------------------------------------------------------------------


@dataclass
class Climb:
    incident: str
    ordinal: int
    policy: Policy | None
    target: tuple[str, str] | None  # an ad-hoc climb ("page now")
    next_at: dt.datetime | None
    level: int = 0
    cycle: int = 0
    step: int = 0
    state: str = "active"
    urgency: str = "high"


PageKey = tuple[str, int, int, str]  # incident, climb, step, person
PageRow = tuple[str, int, int, str, int, int, str]
MessageRow = tuple[str, int, int, str, str, dt.datetime, str]


@dataclass
class Message:
    page: PageKey
    method: str
    delay: int
    not_before: dt.datetime
    state: str = "queued"


class Oracle:
    def __init__(
        self,
        *,
        people: dict[str, list[Rule]],
        schedules: dict[str, Rotation] | None = None,
        policies: Iterable[Policy] = (),
    ) -> None:
        self.people = people
        self.schedules = schedules or {}
        self.policies = {p.name: p for p in policies}
        self.teams: dict[str, list[str]] = {}  # team -> its schedules
        # people whose low-urgency pages wait for their working hours, and their zone
        self.working_hours: dict[str, str] = {}
        self.climbs: list[Climb] = []
        self.pages: dict[PageKey, tuple[int, int, str]] = {}  # -> level, cycle, state
        self.messages: list[Message] = []
        # the addresses the outbox must have delivered to, in order
        self.delivered: list[tuple[str, str]] = []  # person, method

    # events -----------------------------------------------------------------------------

    def start(
        self,
        incident: str,
        at: dt.datetime,
        *,
        policy: str | None = None,
        target: tuple[str, str] | None = None,
        level: int = 0,
        urgency: str = "high",
    ) -> None:
        ordinal = sum(1 for c in self.climbs if c.incident == incident)
        self.climbs.append(
            Climb(
                incident=incident,
                ordinal=ordinal,
                policy=self.policies[policy] if policy else None,
                target=target,
                next_at=at,
                level=level,
                urgency=urgency,
            )
        )

    def _stop(self, incident: str, climb_state: str, page_state: str) -> None:
        for climb in self.climbs:
            if climb.incident == incident and climb.state == "active":
                climb.state = climb_state
                climb.next_at = None
        for key, (level, cycle, state) in self.pages.items():
            if key[0] == incident and state == "open":
                self.pages[key] = (level, cycle, page_state)
        for message in self.messages:
            if message.page[0] == incident and message.state == "queued":
                message.state = "cancelled"

    def acknowledge(self, incident: str) -> None:
        self._stop(incident, "acknowledged", "acknowledged")

    def acknowledge_climb(self, incident: str, ordinal: int) -> None:
        """The paged person acknowledged a page of one climb on an incident someone had
        already taken: that climb alone stops."""
        for climb in self.climbs:
            if climb.incident == incident and climb.ordinal == ordinal and climb.state == "active":
                climb.state = "acknowledged"
                climb.next_at = None
        for key, (level, cycle, state) in self.pages.items():
            if key[:2] == (incident, ordinal) and state == "open":
                self.pages[key] = (level, cycle, "acknowledged")
        for message in self.messages:
            if message.page[:2] == (incident, ordinal) and message.state == "queued":
                message.state = "cancelled"

    def resolve(self, incident: str) -> None:
        self._stop(incident, "resolved", "cancelled")

    def restart(self, incident: str, at: dt.datetime, *, policy: str, level: int = 0) -> None:
        """Back to new (ack timeout, unacknowledge) or a reassignment: the climbs under way
        end, a new one starts at `level`."""
        urgency = next(c.urgency for c in self.climbs if c.incident == incident)
        self._stop(incident, "replaced", "cancelled")
        self.start(incident, at, policy=policy, level=level, urgency=urgency)

    def escalate_now(self, incident: str, at: dt.datetime) -> None:
        climbs = [
            c
            for c in self.climbs
            if c.incident == incident and c.state == "active" and c.policy is not None
        ]
        climbs[-1].next_at = at

    def tick(self, at: dt.datetime) -> int:
        """The escalation module's turn at `at`: every due climb fires once, oldest due
        first (then in the order the climbs were started)."""
        due = [c for c in self.climbs if c.state == "active" and c.next_at and c.next_at <= at]
        due.sort(key=lambda c: (c.next_at, self.climbs.index(c)))  # type: ignore[arg-type, return-value]
        for climb in due:
            self._fire(climb, at)
        return len(due)

    def _fire(self, climb: Climb, at: dt.datetime) -> None:
        if climb.policy is not None:
            levels = climb.policy.levels
            level = levels[climb.level]
            chosen = list(level.targets)
            if level.mode == "round_robin":
                turn = climb.policy.rr.get(climb.level, 0)
                climb.policy.rr[climb.level] = turn + 1
                chosen = [chosen[turn % len(chosen)]]
        else:
            chosen = [climb.target]  # type: ignore[list-item]
        people: list[str] = []
        for kind, name in chosen:
            if kind == "user":
                named = [name]
            elif kind == "schedule":
                named = [self.schedules[name].oncall(at)]
            else:  # a team: whoever its schedules have on call
                named = [self.schedules[s].oncall(at) for s in self.teams[name]]
            for person in named:
                if person is not None and person not in people:
                    people.append(person)
        for person in people:
            key = (climb.incident, climb.ordinal, climb.step, person)
            self.pages[key] = (climb.level, climb.cycle, "open")
            start = at
            if climb.urgency == "low" and person in self.working_hours:
                # the cycle starts at the person's next working hour, delays kept
                start = working_hours_from(at, self.working_hours[person])
            for rule in self.people[person]:
                when = start + dt.timedelta(minutes=rule.delay)
                self.messages.append(
                    Message(page=key, method=rule.method, delay=rule.delay, not_before=when)
                )
        climb.step += 1
        if climb.policy is None:
            climb.next_at = None
            return
        nobody = not people
        delay = dt.timedelta(minutes=climb.policy.levels[climb.level].delay)
        if climb.level + 1 < len(climb.policy.levels):
            climb.level += 1
            climb.next_at = at + delay
        elif climb.cycle < climb.policy.repeat:
            climb.level = 0
            climb.cycle += 1
            climb.next_at = at + delay
        else:
            climb.next_at = None
        if nobody and climb.next_at is not None:
            climb.next_at = at  # nobody to page here: the next level goes at once

    def send(self, at: dt.datetime, *, failing: Iterable[str] = ()) -> None:
        """The outbox's turn at `at`: every queued message due by then is sent, except to
        the methods (labels) in `failing`, which fail for good and bring the same page's
        next queued message forward to `at`."""
        dead = set(failing)
        due = [m for m in self.messages if m.state == "queued" and m.not_before <= at]
        due.sort(key=lambda m: m.not_before)
        for message in due:
            if message.method in dead:
                message.state = "failed"
                later = sorted(
                    (
                        m
                        for m in self.messages
                        if m.page == message.page and m.state == "queued" and m.not_before > at
                    ),
                    key=lambda m: m.not_before,
                )
                if later:
                    later[0].not_before = at
            else:
                message.state = "sent"
                self.delivered.append((message.page[3], message.method))

    # what must exist --------------------------------------------------------------------

    def expected_pages(self) -> set[PageRow]:
        return {(*key, level, cycle, state) for key, (level, cycle, state) in self.pages.items()}

    def expected_messages(self) -> set[MessageRow]:
        return {(*m.page, m.method, m.not_before, m.state) for m in self.messages}


# --- what does exist ------------------------------------------------------------------------


def _ordinals() -> dict[int, int]:
    """Climb id -> its order among its incident's climbs."""
    ordinals: dict[int, int] = {}
    counts: dict[int, int] = {}
    for pk, incident_id in Escalation.objects.order_by("pk").values_list("pk", "incident_id"):
        ordinals[pk] = counts.get(incident_id, 0)
        counts[incident_id] = ordinals[pk] + 1
    return ordinals


def actual_pages() -> set[PageRow]:
    ordinals = _ordinals()
    return {
        (
            f"INC-{number}",
            ordinals[climb],
            step,
            person,
            level,
            cycle,
            state,
        )
        for climb, number, step, person, level, cycle, state in Page.objects.values_list(
            "escalation_id",
            "incident__number",
            "step",
            "person__username",
            "level",
            "cycle",
            "state",
        )
    }


def actual_page_list() -> list[tuple[str, int, int, str]]:
    """Every page row (a list: a duplicate would show twice)."""
    ordinals = _ordinals()
    return [
        (f"INC-{number}", ordinals[climb], step, person)
        for climb, number, step, person in Page.objects.values_list(
            "escalation_id", "incident__number", "step", "person__username"
        )
    ]


def actual_messages() -> set[MessageRow]:
    ordinals = _ordinals()
    pages = {
        pk: (f"INC-{number}", ordinals[climb], step, person)
        for pk, climb, number, step, person in Page.objects.values_list(
            "pk", "escalation_id", "incident__number", "step", "person__username"
        )
    }
    rows: set[MessageRow] = set()
    for payload, label, not_before, state in OutboxMessage.objects.filter(
        purpose="page"
    ).values_list("payload", "contact_method__label", "not_before", "state"):
        rows.add((*pages[payload["page"]], label, not_before, state))
    return rows


def _diff(what: str, expected: set, actual: set) -> str:  # type: ignore[type-arg]
    missing = sorted(expected - actual, key=repr)
    extra = sorted(actual - expected, key=repr)
    if not missing and not extra:
        return ""
    lines = [f"{what}: {len(missing)} missing, {len(extra)} extra"]
    lines += [f"  missing {row}" for row in missing]
    lines += [f"  extra   {row}" for row in extra]
    return "\n".join(lines)


def check(oracle: Oracle, when: str = "") -> None:
    """Assert the database holds exactly the oracle's pages and page messages."""
    problems = [
        _diff("pages", oracle.expected_pages(), actual_pages()),
        _diff("messages", oracle.expected_messages(), actual_messages()),
    ]
    rows = actual_page_list()
    if len(rows) != len(set(rows)):
        problems.append(f"duplicate pages: {sorted(r for r in rows if rows.count(r) > 1)}")
    report = "\n".join(p for p in problems if p)
    assert not report, f"after {when}:\n{report}" if when else report


@dataclass
class RefusingInbox(Inbox):
    """A real SMTP server that refuses some recipients for good (550)."""

    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"


# --- the world a test builds: the database and the oracle from the same inputs -------------

ADDRESS = {
    "email": "{user}+{label}@example.com",
    "sms": "+4416329{n:05d}",
    "voice": "+4416329{n:05d}",
    "ntfy": "https://ntfy.example.com/{user}-{label}",
    "webhook": "https://hooks.example.com/{user}/{label}",
}


class World:
    """Builds people, schedules, policies and services in the database AND in the oracle,
    drives both with the same events at the same (travelled-to) instants, and checks them
    against each other after every step."""

    def __init__(self, make_user: Any, make_incident: Any, inbox: Any = None) -> None:
        self.make_user = make_user
        self.make_incident = make_incident
        self.inbox = inbox
        self.oracle = Oracle(people={})
        self.users: dict[str, User] = {}
        self.labels: dict[str, str] = {}  # method label -> address (email kinds)
        self.schedule_ids: dict[str, int] = {}
        self.team_ids: dict[str, int] = {}
        self.policy_rows: dict[str, EscalationPolicy] = {}
        self.services: dict[str, tuple[Service, str]] = {}
        self.incidents: dict[str, Incident] = {}
        self.failing: set[str] = set()
        self.reporter = make_user(Role.AGENT, username="reporter")
        self._n = 0

    # inputs -----------------------------------------------------------------------------

    def person(
        self,
        username: str,
        methods: Iterable[tuple[str, str, int]] = (("mail", "email", 0), ("later", "email", 3)),
        *,
        stored_rules: bool = True,
        expect: list[Rule] | None = None,
        working_hours_in: str | None = None,
    ) -> User:
        """A responder with contact methods `(label, kind, delay)`; with `stored_rules` the
        delays are stored as notification rules, else the defaults apply and `expect`
        says what the oracle expects them to be."""
        extra: dict[str, Any] = {"time_zone": working_hours_in} if working_hours_in else {}
        user = self.make_user(Role.RESPONDER, username=username, **extra)
        if working_hours_in:
            User.objects.filter(pk=user.pk).update(low_urgency_working_hours=True)
            user.refresh_from_db()
            self.oracle.working_hours[username] = working_hours_in
        rules: list[dict[str, int]] = []
        oracle_rules: list[Rule] = []
        for label, kind, delay in methods:
            self._n += 1
            full = f"{username}:{label}"
            address = ADDRESS[kind].format(user=username, label=label, n=self._n)
            method = contact_method_add(
                user=user, kind=kind, address=address, label=full, actor=SETUP
            )
            if kind == "email":
                self.labels[full] = address
            rules.append({"contact_method": method.pk, "delay_minutes": delay})
            oracle_rules.append(Rule(full, delay))
        if stored_rules and rules:
            notification_rules_set(user=user, rules={"high": rules, "low": rules}, actor=SETUP)
        self.oracle.people[username] = expect if expect is not None else oracle_rules
        self.users[username] = user
        return user

    def schedule(self, name: str, rotation: Rotation, team: Any = None) -> None:
        layer: dict[str, Any] = {
            "name": "Primary",
            "start": rotation.start.replace(tzinfo=None).isoformat(timespec="minutes"),
            "rotation": {"every": rotation.hours, "unit": "hours"},
            "users": rotation.users,
        }
        if rotation.window is not None:
            layer["restrictions"] = [
                {
                    "type": "daily",
                    "start": f"{rotation.window[0]:02d}:00",
                    "end": f"{rotation.window[1]:02d}:00",
                }
            ]
        row = schedule_create(
            name=name, time_zone="UTC", layers=parse_layers([layer]), team=team, actor=SETUP
        )
        self.schedule_ids[name] = row.pk
        self.oracle.schedules[name] = rotation

    def team(self, name: str, schedules: dict[str, Rotation]) -> None:
        """A team and its schedules (a team target pages whoever they have on call)."""
        team = Team.objects.create(name=name)
        self.team_ids[name] = team.pk
        for schedule, rotation in schedules.items():
            self.schedule(schedule, rotation, team=team)
        self.oracle.teams[name] = list(schedules)

    def override(self, schedule: str, user: str, start: dt.datetime, end: dt.datetime) -> None:
        override_create(
            schedule=Schedule.objects.get(pk=self.schedule_ids[schedule]),
            user=self.users[user],
            start=start,
            end=end,
            actor=SETUP,
        )
        self.oracle.schedules[schedule].overrides.append((start, end, user))

    def policy(self, name: str, levels: list[Level], repeat: int = 0) -> None:
        api_levels = [
            {
                "delay_minutes": level.delay,
                "mode": level.mode,
                "targets": [
                    {
                        "type": kind,
                        "id": ident
                        if kind == "user"
                        else self.schedule_ids[ident]
                        if kind == "schedule"
                        else self.team_ids[ident],
                    }
                    for kind, ident in level.targets
                ],
            }
            for level in levels
        ]
        self.policy_rows[name] = policy_create(
            actor=SETUP, name=name, levels=api_levels, repeat=repeat
        )
        self.oracle.policies[name] = Policy(name=name, levels=levels, repeat=repeat)

    def service(self, name: str, policy: str, ack_timeout: int | None = None) -> None:
        service = Service.objects.create(name=name, ack_timeout_minutes=ack_timeout)
        service_paging_set(service=service, actor=SETUP, policy=self.policy_rows[policy])
        self.services[name] = (service, policy)

    # events -----------------------------------------------------------------------------

    def incident(
        self, service: str, at: dt.datetime, title: str = "Payments failing", priority: int = 1
    ) -> str:
        """An incident on `service` at `at` (impact = urgency = `priority`: P1 pages at high
        urgency, P3 at low)."""
        row, policy = self.services[service]
        with time_machine.travel(at, tick=False):
            incident = self.make_incident(
                self.reporter, title=title, service=row, impact=priority, urgency=priority
            )
        self.incidents[incident.ref] = incident
        urgency = "high" if incident.priority in (1, 2) else "low"
        self.oracle.start(incident.ref, at, policy=policy, urgency=urgency)
        self.check(f"{incident.ref} opened at {at:%H:%M:%S}")
        return incident.ref

    def tick(self, at: dt.datetime, *, send: bool = True) -> int:
        with time_machine.travel(at, tick=False):
            fired = EscalationModule().tick(at)
            expected = self.oracle.tick(at)
            if send:
                OutboxModule().tick(at)
                self.oracle.send(at, failing=self.failing)
        self.check(f"tick at {at:%H:%M:%S}")
        assert bool(fired) == bool(expected), f"tick at {at}: fired {fired}, expected {expected}"
        return fired

    def run(self, start: dt.datetime, end: dt.datetime, every: dt.timedelta, **kw: Any) -> None:
        """Tick from `start` to `end` (inclusive) every `every`, checking after each."""
        at = start
        while at <= end:
            self.tick(at, **kw)
            at += every

    def acknowledge(self, ref: str, at: dt.datetime, by: str) -> None:
        with time_machine.travel(at, tick=False):
            incident_acknowledge(incident=self._fresh(ref), actor=Actor.for_user(self.users[by]))
        self.oracle.acknowledge(ref)
        self.check(f"{ref} acknowledged at {at:%H:%M:%S}")

    def resolve(self, ref: str, at: dt.datetime, by: str) -> None:
        with time_machine.travel(at, tick=False):
            incident_resolve(
                incident=self._fresh(ref),
                actor=Actor.for_user(self.users[by]),
                resolution_code="fixed",
                resolution_notes="Restarted the payment gateway.",
            )
        self.oracle.resolve(ref)
        self.check(f"{ref} resolved at {at:%H:%M:%S}")

    def _fresh(self, ref: str) -> Incident:
        return Incident.objects.get(pk=self.incidents[ref].pk)

    # the comparison ---------------------------------------------------------------------

    def check(self, when: str) -> None:
        check(self.oracle, when)
        if self.inbox is None:
            return
        addresses = set(self.labels.values())
        got = Counter(str(m["To"]) for m in self.inbox.messages if str(m["To"]) in addresses)
        want = Counter(self.labels[label] for _person, label in self.oracle.delivered)
        assert got == want, f"after {when}: the SMTP server got {dict(got)}, expected {dict(want)}"

    def timeline(self, ref: str) -> list[str]:
        return list(
            TimelineEntry.objects.filter(incident=self.incidents[ref], kind=EntryKind.PAGE)
            .order_by("created_at", "pk")
            .values_list("text", flat=True)
        )
