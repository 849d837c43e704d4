"""Hierarchical escalation (issue 11, point 4): "notify management" to the incident team's
manager or the executive list, per role and with bad input; the messages through the
outbox to a real SMTP server on loopback; the automatic notice on an SLA breach, once
per incident and target, on a clock the test controls; the executive list."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client

from tests.escalation.paging_helpers import reachable
from tocsin.accounts.models import Role, Team, User
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.escalation.hierarchy import executives_set
from tocsin.escalation.models import ExecutiveMember, ManagementNotice
from tocsin.escalation.sla import SlaWarningModule
from tocsin.incidents import services as incident_services
from tocsin.incidents.models import EntryKind, Incident, TimelineEntry
from tocsin.notify.engine import OutboxModule
from tocsin.notify.models import OutboxMessage

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)


@pytest.fixture
def world(make_user: Callable[..., User]) -> dict[str, Any]:
    maya = make_user(Role.MANAGER, username="maya", name="Maya Manager")
    reachable(maya, "email", "sms")
    cleo = make_user(Role.MANAGER, username="cleo", name="Cleo Chief")
    reachable(cleo, "email")
    dan = make_user(Role.ADMIN, username="dan", name="Dan Director")  # no contact method
    network = Team.objects.create(name="Network", manager=maya)
    orphans = Team.objects.create(name="Orphans")
    rita = make_user(Role.REPORTER, username="rita")
    incident = incident_services.incident_create(
        actor=Actor.system("monitoring"),
        reporter=rita,
        title="VPN drops every hour",
        impact=2,
        urgency=2,
        team=network,
    )
    return {
        "maya": maya,
        "cleo": cleo,
        "dan": dan,
        "network": network,
        "orphans": orphans,
        "rita": rita,
        "incident": incident,
    }


def notify(client: Any, incident: Incident, body: Any) -> Any:
    return client.post(f"/api/v1/incidents/{incident.ref}/notify-management", body)


def sent(incident: Incident) -> list[tuple[str, str, str]]:
    rows = OutboxMessage.objects.filter(incident=incident, purpose="management").order_by("pk")
    return [(m.person.username, m.channel, m.recipient) for m in rows]  # type: ignore[union-attr]


# --- per role --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.AGENT, Role.RESPONDER, Role.MANAGER, Role.ADMIN])
def test_staff_notify_the_team_manager(
    role: str, world: dict[str, Any], make_user: Callable[..., User], api: Any
) -> None:
    incident = world["incident"]
    person = make_user(role, username="sam", name="Sam")
    reply = notify(
        api(person), incident, {"to": "team_manager", "reason": "Customers are calling."}
    )
    assert reply.status_code == 201, reply.content
    body = reply.json()
    assert body["to"] == "team_manager" and body["trigger"] == "manual"
    assert body["recipients"] == ["maya"] and body["by"] == "sam"
    assert body["reason"] == "Customers are calling."
    # the first step of Maya's rules at P2's urgency (high: by the defaults, email now and
    # sms later; the later steps are not for a notice), email in any case
    assert sent(incident) == [("maya", "email", "")]
    entry = TimelineEntry.objects.get(incident=incident, kind=EntryKind.MANAGEMENT)
    assert entry.text == (
        "Management notified: Maya Manager, manager of team Network.\nCustomers are calling."
    )
    assert entry.actor_user_id == person.pk and entry.data["recipients"] == ["maya"]


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.AGENT, 403), (Role.RESPONDER, 403), (Role.MANAGER, 201), (Role.ADMIN, 201)],
)
def test_only_managers_and_administrators_reach_the_executives(
    role: str, status: int, world: dict[str, Any], make_user: Callable[..., User], api: Any
) -> None:
    executives_set(people=[world["cleo"], world["dan"]], actor=Actor.system("test setup"))
    reply = notify(
        api(make_user(role)), world["incident"], {"to": "executives", "reason": "Press asking"}
    )
    assert reply.status_code == status, reply.content
    if status == 201:
        assert reply.json()["recipients"] == ["cleo", "dan"]
        # Cleo by her email method; Dan has none: the address on his account
        assert sent(world["incident"]) == [
            ("cleo", "email", ""),
            ("dan", "email", "dan@example.com"),
        ]
    else:
        assert not ManagementNotice.objects.exists() and sent(world["incident"]) == []


def test_the_reporter_gets_404(world: dict[str, Any], api: Any) -> None:
    client = api(world["rita"])
    incident = world["incident"]
    assert client.get(f"/api/v1/incidents/{incident.ref}").status_code == 200  # their own
    assert notify(client, incident, {"to": "team_manager", "reason": "x"}).status_code == 404
    path = f"/api/v1/incidents/{incident.ref}/management-notices"
    assert client.get(path).status_code == 404
    browser = Client()
    browser.force_login(world["rita"])
    reply = browser.post(
        f"/incidents/{incident.ref}/notify-management/", {"to": "team_manager", "reason": "x"}
    )
    assert reply.status_code == 404
    assert "Notify management" not in browser.get(f"/incidents/{incident.ref}/").content.decode()
    assert not ManagementNotice.objects.exists()


def test_anonymous_gets_401(world: dict[str, Any]) -> None:
    reply = Client().post(
        f"/api/v1/incidents/{world['incident'].ref}/notify-management",
        {"to": "team_manager", "reason": "x"},
        content_type="application/json",
    )
    assert reply.status_code == 401


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"to": "team_manager", "reason": ""}, "reason"),
        ({"to": "team_manager", "reason": "   \n "}, "reason"),
        ({"to": "team_manager"}, "reason"),
        ({"to": "the_board", "reason": "x"}, "to"),
        ({"to": "team_manager", "reason": "x" * 2001}, "reason"),
        ({"to": "team_manager", "reason": "x", "cc": "ceo"}, "cc"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    body: dict[str, Any], field: str, world: dict[str, Any], api: Any
) -> None:
    reply = notify(api(world["maya"]), world["incident"], body)
    assert reply.status_code == 422, reply.content
    assert reply.json()["detail"][0]["loc"][-1] == field
    assert not ManagementNotice.objects.exists()
    assert not TimelineEntry.objects.filter(kind=EntryKind.MANAGEMENT).exists()


def test_nobody_to_tell_is_409_saying_why(world: dict[str, Any], api: Any) -> None:
    client = api(world["maya"])
    incident = world["incident"]
    incident_services.incident_escalate(
        incident=incident, actor=Actor.system("t"), team=world["orphans"], note="to orphans"
    )
    reply = notify(client, incident, {"to": "team_manager", "reason": "x"})
    assert reply.status_code == 409
    assert reply.json()["detail"] == "team Orphans has no manager; notify the executives instead"
    reply = notify(client, incident, {"to": "executives", "reason": "x"})
    assert reply.status_code == 409
    assert "executive list is empty" in reply.json()["detail"]
    assert not ManagementNotice.objects.exists() and sent(incident) == []


def test_a_closed_incident_is_409(world: dict[str, Any], api: Any) -> None:
    incident = world["incident"]
    actor = Actor.for_user(world["maya"])
    incident_services.incident_resolve(
        incident=incident, actor=actor, resolution_code="fixed", resolution_notes="ok"
    )
    incident_services.incident_act(
        incident=Incident.objects.get(pk=incident.pk), actor=actor, action="close"
    )
    reply = notify(api(world["maya"]), incident, {"to": "team_manager", "reason": "x"})
    assert reply.status_code == 409


# --- the real thing: mail on loopback ----------------------------------------------------------


def test_the_manager_receives_the_reason_by_smtp(
    world: dict[str, Any], make_user: Callable[..., User], api: Any, smtp_server: Any
) -> None:
    incident = world["incident"]
    reason = "Half the sales floor is offline; <b>customers</b> notice."
    reply = notify(
        api(make_user(Role.AGENT, name="Alice")), incident, {"to": "team_manager", "reason": reason}
    )
    assert reply.status_code == 201
    OutboxModule().tick(now())
    mails = [m for m in smtp_server.messages if m["To"] == "maya@example.com"]
    assert len(mails) == 1
    mail = mails[0]
    assert mail["Subject"] == (f"[P2] {incident.ref}: management notified: VPN drops every hour")
    text = mail.get_payload(decode=True).decode()
    assert "Alice notified management:" in text
    assert reason in text
    assert f"/incidents/{incident.ref}/" in text


# --- the web page -------------------------------------------------------------------------------


def test_the_incident_page_section_and_form(
    world: dict[str, Any], make_user: Callable[..., User]
) -> None:
    incident = world["incident"]
    browser = Client()
    browser.force_login(make_user(Role.AGENT, name="Alice"))
    html = browser.get(f"/incidents/{incident.ref}/").content.decode()
    assert 'id="management"' in html and "Management has not been notified." in html
    assert "manager Maya Manager" in html
    assert 'value="executives"' not in html  # agents tell the team manager only
    assert "/settings/escalation/" not in html  # nothing for an agent to change there
    url = f"/incidents/{incident.ref}/notify-management/"
    reply = browser.post(url, {"to": "team_manager", "reason": ""}, follow=True)
    assert "Reason: This field is required." in reply.content.decode()
    assert not ManagementNotice.objects.exists()
    reply = browser.post(url, {"to": "team_manager", "reason": "Outage spreading"}, follow=True)
    html = reply.content.decode()
    assert "Management notified (maya)." in html
    assert "Outage spreading" in html
    assert ManagementNotice.objects.get().by.username.startswith("agent")  # type: ignore[union-attr]
    # Network's manager finds the settings page from here
    browser.force_login(world["maya"])
    html = browser.get(f"/incidents/{incident.ref}/").content.decode()
    assert 'href="/settings/escalation/"' in html and 'value="executives"' in html


# --- SLA breach: once per incident and target -----------------------------------------------


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def run_at(clock: Any, moment: dt.datetime) -> int:
    clock.move_to(moment)
    return SlaWarningModule().tick(now())


def p1(world: dict[str, Any]) -> Incident:
    return incident_services.incident_create(
        actor=Actor.system("monitoring"),
        reporter=world["rita"],
        title="Checkout down",
        impact=1,
        urgency=1,
        team=world["network"],
    )


def test_a_breach_notifies_management_once_per_target(clock: Any, world: dict[str, Any]) -> None:
    incident = p1(world)  # respond in 15 min, resolve in 4 h
    assert run_at(clock, T0 + 15 * MIN) == 1
    notice = ManagementNotice.objects.get(incident=incident)
    assert (notice.to, notice.trigger, notice.recipients, notice.by_id) == (
        "team_manager",
        "sla_response",
        ["maya"],
        None,
    )
    assert notice.reason == "The response target was breached (it was due 02 Mar 10:15 UTC)."
    entry = TimelineEntry.objects.get(incident=incident, kind=EntryKind.MANAGEMENT)
    assert entry.text.startswith(
        "Management notified: Maya Manager (manager of team Network) (SLA breach)."
    )
    # held and resumed: a new response due time, breached again: Maya is not told twice
    clock.move_to(T0 + 16 * MIN)
    ann = Actor.for_user(world["maya"])
    incident_services.incident_act(
        incident=Incident.objects.get(pk=incident.pk), actor=ann, action="hold"
    )
    clock.move_to(T0 + 20 * MIN)
    incident_services.incident_act(
        incident=Incident.objects.get(pk=incident.pk), actor=ann, action="resume"
    )
    run_at(clock, T0 + 60 * MIN)
    run_at(clock, T0 + 61 * MIN)
    assert ManagementNotice.objects.filter(incident=incident).count() == 1
    breach_to_maya = OutboxMessage.objects.filter(
        incident=incident, purpose="sla-breach", payload__target="response"
    )
    assert breach_to_maya.count() == 1  # her first sla rule step, once
    # the resolution target is another kind: one more notice
    run_at(clock, T0 + 5 * 60 * MIN)
    mine = ManagementNotice.objects.filter(incident=incident)
    triggers = sorted(mine.values_list("trigger", flat=True))
    assert triggers == ["sla_resolution", "sla_response"]
    for _ in range(3):
        run_at(clock, now() + MIN)
    assert mine.count() == 2


def test_the_setting_turns_the_breach_notice_off(
    clock: Any, world: dict[str, Any], settings: Any
) -> None:
    settings.SLA_NOTIFY_MANAGEMENT = False
    incident = p1(world)
    assert run_at(clock, T0 + 15 * MIN) == 1
    assert not ManagementNotice.objects.exists()
    assert not OutboxMessage.objects.filter(incident=incident, purpose="sla-breach").exists()
    entry = TimelineEntry.objects.filter(incident=incident, data__notice="breach").get()
    assert entry.text.endswith("nobody to notify (the automatic management notice is turned off).")


def test_both_counts_are_countable_by_sql(world: dict[str, Any], api: Any) -> None:
    """Reports (issue 13): hierarchical escalations are ManagementNotice rows."""
    client = api(world["maya"])
    for reason in ("one", "two"):
        assert notify(client, world["incident"], {"to": "team_manager", "reason": reason})
    with connection.cursor() as cursor:
        cursor.execute(
            'SELECT to_whom, COUNT(*) FROM (SELECT "to" AS to_whom FROM '
            "escalation_managementnotice WHERE incident_id = %s) AS n GROUP BY to_whom",
            [world["incident"].pk],
        )
        assert cursor.fetchall() == [("team_manager", 2)]


# --- the executive list --------------------------------------------------------------------------


def put(client: Any, path: str, body: Any) -> Any:
    return client.client.put(
        path, body, content_type="application/json", headers=client._headers(None)
    )


def test_administrators_keep_the_executive_list(
    world: dict[str, Any], make_user: Callable[..., User], api: Any
) -> None:
    path = "/api/v1/escalation/executives"
    admin = api(world["dan"])
    reply = put(admin, path, {"people": ["cleo", "dan", "cleo"]})
    assert reply.status_code == 200, reply.content
    assert reply.json() == {"people": ["cleo", "dan"]}
    assert api(make_user(Role.AGENT)).get(path).json() == {"people": ["cleo", "dan"]}
    # a manager may not edit it; a reporter does not see it
    assert put(api(world["maya"]), path, {"people": []}).status_code == 403
    assert api(world["rita"]).get(path).status_code == 404
    # bad input: an unknown person, a reporter; nothing changes
    reply = put(admin, path, {"people": ["cleo", "nobody"]})
    assert reply.status_code == 422 and reply.json()["detail"][0]["loc"][-1] == "people.1"
    assert put(admin, path, {"people": ["rita"]}).status_code == 422
    assert list(ExecutiveMember.objects.values_list("user__username", flat=True)) == [
        "cleo",
        "dan",
    ]
    assert put(admin, path, {"people": ["maya"]}).json() == {"people": ["maya"]}


def test_the_settings_page_edits_the_executive_list(
    world: dict[str, Any], make_user: Callable[..., User]
) -> None:
    browser = Client()
    browser.force_login(world["dan"])
    page = browser.get("/settings/escalation/")
    assert page.status_code == 200 and "Executive list" in page.content.decode()
    reply = browser.post("/settings/escalation/", {"form": "executives", "people": ["cleo"]})
    assert reply.status_code == 302
    assert [u.username for u in (m.user for m in ExecutiveMember.objects.all())] == ["cleo"]
    # a manager's POST to the list is refused
    browser.force_login(world["maya"])
    reply = browser.post("/settings/escalation/", {"form": "executives", "people": ["maya"]})
    assert reply.status_code == 403
    assert ExecutiveMember.objects.count() == 1
