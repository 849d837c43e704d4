"""Paging for the demo organisation: contact methods, notification rules, an escalation
policy on every service, and incidents whose timelines show pages, escalations and
acknowledgements.

Safe by construction: every contact method is an email to the person's example.com
address (mail goes to `TOCSIN_EMAIL_URL` — a local mail catcher — or, when that is not
set, to the worker's console); the two SMS numbers are Ofcom's drama range and the
methods are disabled ("no SMS provider in the demo").

The stories run through the real services on a clock set in the past (`travel`): the
incident is created (its service's policy starts the climb), the escalation engine's
step fires each level at its time, people acknowledge from a page link
(`page_act`), by hand, or after "escalate now". Nothing is sent for the past: the
messages a worker would have delivered by then are recorded as sent. The last story is
live: a low-urgency page waiting for the on-call person, which a running worker sends
(to the mail catcher or console) and escalates if nobody acknowledges.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db.models import F

from tocsin.accounts.models import ContactKind, Role, Team, User
from tocsin.accounts.services import (
    contact_method_add,
    contact_method_remove,
    notification_rules_set,
)
from tocsin.catalog.models import Service
from tocsin.core.actors import Actor
from tocsin.core.clock import travel
from tocsin.escalation import responders
from tocsin.escalation import services as paging
from tocsin.escalation.engine import EscalationModule
from tocsin.escalation.models import EscalationPolicy, Page, ResponderAsk
from tocsin.escalation.policies import policy_create, service_paging_set
from tocsin.incidents import services as incidents
from tocsin.incidents.models import Incident, Source
from tocsin.notify.models import OutboxMessage, OutboxState
from tocsin.oncall.models import Schedule

ACTOR = Actor.system("demo loader")
MINUTE = dt.timedelta(minutes=1)
# people with their own rules (the rest get the defaults), and a disabled SMS method
SMS = {"noah": "+447700900123", "ines": "+447700900456"}


def _people() -> dict[str, User]:
    return {u.username: u for u in User.objects.exclude(role=Role.REPORTER)}


def write_contacts() -> None:
    for user in _people().values():
        contact_method_add(
            user=user, kind=ContactKind.EMAIL, address=user.email, label="Work", actor=ACTOR
        )
    people = _people()
    for username, number in SMS.items():
        user = people[username]
        email = user.contact_methods.get(kind=ContactKind.EMAIL)
        sms = contact_method_add(
            user=user, kind=ContactKind.SMS, address=number, label="Mobile", actor=ACTOR
        )
        # Email at once, SMS after 3 minutes (high), a reminder mail after 10; low
        # urgency by mail only. The SMS method is then disabled: the demo has no SMS
        # provider, and the rule shows how a disabled method is skipped.
        notification_rules_set(
            user=user,
            rules={
                "high": [
                    {"contact_method": email.pk, "delay_minutes": 0},
                    {"contact_method": sms.pk, "delay_minutes": 3},
                    {"contact_method": email.pk, "delay_minutes": 10},
                ],
                "low": [{"contact_method": email.pk, "delay_minutes": 0}],
            },
            actor=ACTOR,
        )
        contact_method_remove(method=sms, actor=ACTOR)
    # Ravi lets low-urgency pages wait for his working hours (not on the live story's path)
    User.objects.filter(username="ravi").update(low_urgency_working_hours=True)


def _schedule(name: str) -> dict[str, object]:
    return {"type": "schedule", "id": Schedule.objects.get(name=name).pk}


def _user(username: str) -> dict[str, object]:
    return {"type": "user", "id": username}


def write_policies() -> dict[str, EscalationPolicy]:
    teams = {t.name: t for t in Team.objects.all()}
    plans: dict[str, tuple[str, int, list[dict[str, object]]]] = {
        "Platform": (
            "The Platform primary on call, then one of the engineers in turn, then Tom.",
            1,
            [
                {"delay_minutes": 10, "targets": [_schedule("Platform primary")]},
                {
                    "delay_minutes": 10,
                    "mode": "round_robin",
                    "targets": [_user("arjun"), _user("ines")],
                },
                {"delay_minutes": 15, "targets": [_user("tom")]},
            ],
        ),
        "Network": (
            "Whoever is on call in Berlin or Chicago, then Noah or Ravi in turn, then Daniel.",
            1,
            [
                {
                    "delay_minutes": 10,
                    "targets": [
                        _schedule("Network — Berlin day"),
                        _schedule("Network — Chicago day"),
                    ],
                },
                {
                    "delay_minutes": 10,
                    "mode": "round_robin",
                    "targets": [_user("noah"), _user("ravi")],
                },
                {"delay_minutes": 15, "targets": [_user("daniel")]},
            ],
        ),
        "Applications": (
            "The Applications on call, then the whole team.",
            2,
            [
                {"delay_minutes": 10, "targets": [_schedule("Applications")]},
                {"delay_minutes": 15, "targets": [_user("priya"), _user("chloe")]},
            ],
        ),
        "Service Desk": (
            "The desk's on call, then the team's on call again with Maya.",
            0,
            [
                {"delay_minutes": 5, "targets": [_schedule("Service Desk on call")]},
                {
                    "delay_minutes": 10,
                    "targets": [{"type": "team", "id": teams["Service Desk"].pk}],
                },
                {"delay_minutes": 15, "targets": [_user("maya")]},
            ],
        ),
    }
    policies = {
        team: policy_create(
            actor=ACTOR,
            name=f"{team} escalation",
            description=description,
            repeat=repeat,
            team=teams[team],
            levels=levels,
        )
        for team, (description, repeat, levels) in plans.items()
    }
    for service in Service.objects.select_related("team"):
        team = service.team.name if service.team else "Service Desk"
        service_paging_set(service=service, actor=ACTOR, policy=policies.get(team))
    return policies


# --- stories: the paging of a few incidents ------------------------------------------------


class _Clock:
    """Runs steps at their times in the past; before each, the messages a worker would
    have delivered by then are recorded as sent (nothing is sent for the past)."""

    def __init__(self, t0: dt.datetime) -> None:
        self.t0 = t0
        self.engine = EscalationModule()

    def at(self, minutes: float, fn: Callable[[], object] | None = None) -> None:
        moment = self.t0 + minutes * MINUTE
        _delivered_until(moment)
        with travel(moment):
            incidents.incident_mark_breaches(at=moment)
            if fn is not None:
                fn()
            self.engine.tick(moment)


def _delivered_until(moment: dt.datetime) -> None:
    OutboxMessage.objects.filter(
        state=OutboxState.QUEUED, purpose=paging.PAGE_PURPOSE, not_before__lte=moment
    ).update(
        state=OutboxState.SENT,
        sent_at=F("not_before"),
        attempts=1,
        provider_message_id="demo: recorded, not sent",
    )


def _first_page(incident: Incident, level: int) -> Page | None:
    return Page.objects.filter(incident=incident, level=level).order_by("pk").first()


def _page(incident: Incident, *levels: int) -> Page:
    """The first page of the first of `levels` that paged anyone."""
    for level in levels:
        page = _first_page(incident, level)
        if page is not None:
            return page
    raise LookupError(f"the demo story {incident.title!r} paged nobody")


def _by(page: Page) -> Actor:
    return Actor.for_user(page.person)


def _create(title: str, service: str, impact: int, urgency: int, **kw: object) -> Incident:
    return incidents.incident_create(
        title=title,
        service=Service.objects.get(name=service),
        impact=impact,
        urgency=urgency,
        **kw,  # type: ignore[arg-type]
    )


def story_escalated_then_acknowledged_by_link(end: dt.datetime) -> Incident:
    """P1 from monitoring: level 1 does not answer, level 2 is paged, Priya acknowledges
    from the link in her page; resolved and closed."""
    clock = _Clock(end - dt.timedelta(days=2, hours=5))
    made: list[Incident] = []
    clock.at(
        0,
        lambda: made.append(
            _create(
                "Customer portal checkout returns 500 for every order",
                "Customer portal",
                1,
                1,
                actor=Actor.integration("Alertmanager"),
                description="Alert CheckoutErrors firing: 5xx ratio 0.97 over 2m.",
                source=Source.MONITORING,
                reporter_name="Alertmanager",
            )
        ),
    )
    incident = made[0]
    clock.at(10)  # level 2
    page = Page.objects.filter(
        incident=incident, level=1, person__username="priya"
    ).first() or _page(incident, 1, 0)
    clock.at(12, lambda: paging.page_act(page=page, action="acknowledge"))
    who = _by(page)
    clock.at(14, lambda: incidents.incident_start(incident=incident, actor=who))
    clock.at(
        48,
        lambda: incidents.incident_resolve(
            incident=incident,
            actor=who,
            resolution_code="fixed",
            resolution_notes="Rolled back the payment client; checkout works again.",
        ),
    )
    clock.at(60 * 20, lambda: incidents.incident_close(incident=incident, actor=who))
    return incident


def story_acknowledged_at_once(end: dt.datetime) -> Incident:
    """P2 on the VPN: the on call acknowledges from the page within minutes."""
    clock = _Clock(end - dt.timedelta(days=1, hours=3))
    sam = User.objects.get(username="sam")
    made: list[Incident] = []
    clock.at(
        0,
        lambda: made.append(
            _create(
                "VPN gateway vpn-gw-2 refusing new sessions",
                "VPN",
                2,
                2,
                actor=Actor.for_user(sam),
                reporter=sam,
                description="Staff in Sydney cannot connect; existing sessions stay up.",
                source=Source.PHONE,
            )
        ),
    )
    incident = made[0]
    if _first_page(incident, 0) is None:  # nobody on call then: level 2 answers
        clock.at(10)
    page = _page(incident, 0, 1)
    clock.at(14, lambda: paging.page_act(page=page, action="acknowledge"))
    clock.at(
        95,
        lambda: incidents.incident_resolve(
            incident=incident,
            actor=_by(page),
            resolution_code="configuration",
            resolution_notes="Licence pool on vpn-gw-2 was full; raised the limit.",
        ),
    )
    return incident


def story_escalate_now(end: dt.datetime) -> Incident:
    """P2 on single sign-on: a manager escalates at once, nobody answers level 2 either,
    Tom (level 3) acknowledges by hand; still being worked on."""
    clock = _Clock(end - dt.timedelta(hours=5))
    maya = User.objects.get(username="maya")
    made: list[Incident] = []
    clock.at(
        0,
        lambda: made.append(
            _create(
                "Single sign-on rejects every MFA push",
                "Single sign-on",
                2,
                2,
                actor=Actor.for_user(maya),
                reporter=maya,
                description="Everyone signing in now gets 'MFA challenge expired'.",
                source=Source.CHAT,
            )
        ),
    )
    incident = made[0]
    clock.at(3, lambda: paging.escalate_now(incident=incident, actor=Actor.for_user(maya)))
    clock.at(13)  # level 3
    tom = User.objects.get(username="tom")
    clock.at(
        15, lambda: incidents.incident_acknowledge(incident=incident, actor=Actor.for_user(tom))
    )
    clock.at(18, lambda: incidents.incident_start(incident=incident, actor=Actor.for_user(tom)))
    _responders(clock, incident, maya)
    return incident


def _responders(clock: _Clock, incident: Incident, maya: User) -> None:
    """Maya asks for responders: Inês accepts, Arjun declines, the Network on-call has
    not answered (issue 11, escalation/responders.py)."""
    people = _people()

    def ask() -> None:
        responders.responders_add(
            incident=incident,
            actor=Actor.for_user(maya),
            users=[people["ines"], people["arjun"]],
            teams=list(Team.objects.filter(name="Network")),
            message="The MFA provider says it is healthy. Need Identity and someone from "
            "Network to check the RADIUS path.",
        )

    def answer(username: str, what: str, reason: str = "") -> None:
        found = ResponderAsk.objects.filter(
            request__incident=incident, person__username=username
        ).first()
        if found is not None:
            responders.responder_answer(
                ask=found, actor=Actor.for_user(found.person), answer=what, reason=reason
            )

    clock.at(20, ask)
    clock.at(23, lambda: answer("ines", "accept"))
    clock.at(26, lambda: answer("arjun", "decline", "On a flight until 14:00."))


def story_waiting_now(end: dt.datetime) -> Incident:
    """Live: a low-urgency page sent four minutes ago, waiting for acknowledgement."""
    clock = _Clock(end - 4 * MINUTE)
    olivia = User.objects.get(username="olivia")
    made: list[Incident] = []
    clock.at(
        0,
        lambda: made.append(
            _create(
                "Shared drive S: slow to open folders",
                "File storage",
                3,
                3,
                actor=Actor.for_user(olivia),
                reporter=olivia,
                description="Opening a folder on S: takes 20-30 seconds since this morning.",
                source=Source.PHONE,
            )
        ),
    )
    return made[0]


def write_paging(end: dt.datetime) -> list[Incident]:
    """Contact methods, rules, policies, then the paging stories (oldest first)."""
    write_contacts()
    write_policies()
    stories = [
        story_escalated_then_acknowledged_by_link(end),
        story_acknowledged_at_once(end),
        story_escalate_now(end),
    ]
    _delivered_until(end - 5 * MINUTE)
    # as for the rest of the history: mail to reporters belongs to the past, unsent
    OutboxMessage.objects.filter(incident__in=stories).exclude(purpose=paging.PAGE_PURPOSE).delete()
    stories.append(story_waiting_now(end))
    return stories
