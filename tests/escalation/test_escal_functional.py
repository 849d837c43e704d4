"""Functional escalation (issue 11, point 4): the receiving team's on-call is paged on a
hand-off, the hand-off note starts as the team's template (and must be filled in), the
queue and the incident page say "escalated to L2 Network"."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.escalation.paging_helpers import always_on_call, reachable
from tocsin.accounts.models import HANDOFF_TEMPLATE_DEFAULT, Role, Team, User
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.escalation.engine import EscalationModule
from tocsin.escalation.models import Escalation, Page
from tocsin.incidents import services as incident_services
from tocsin.incidents.models import EntryKind, Incident, TimelineEntry
from tocsin.notify.models import OutboxMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def make_incident(db: None) -> Callable[..., Incident]:
    """Incidents filed by monitoring (the system may set the team) for `reporter`."""

    def make(reporter: User, **kwargs: Any) -> Incident:
        return incident_services.incident_create(
            actor=Actor.system("monitoring"), reporter=reporter, **kwargs
        )

    return make


@pytest.fixture
def world(make_user: Callable[..., User], make_incident: Callable[..., Incident]) -> dict[str, Any]:
    nina = make_user(Role.RESPONDER, username="nina", name="Nina Network")
    reachable(nina, "email", "sms")
    maya = make_user(Role.MANAGER, username="maya", name="Maya")
    desk = Team.objects.create(name="Service Desk")
    network = Team.objects.create(
        name="Network",
        manager=maya,
        handoff_template="Circuit ID: \nTraceroute: \nCustomer impact: ",
    )
    network.members.add(nina)
    always_on_call(nina, name="Network primary", team=network)
    rita = make_user(Role.REPORTER, username="rita")
    incident = make_incident(rita, title="VPN drops every hour", impact=2, urgency=2, team=desk)
    return {
        "nina": nina,
        "maya": maya,
        "desk": desk,
        "network": network,
        "rita": rita,
        "incident": incident,
    }


def escalate(client: Any, incident: Incident, **body: Any) -> Any:
    return client.post(f"/api/v1/incidents/{incident.ref}/escalate", body)


def test_a_hand_off_pages_the_receiving_teams_on_call(
    world: dict[str, Any], make_user: Callable[..., User], api: Any
) -> None:
    agent = make_user(Role.AGENT, username="alice")
    incident = world["incident"]
    reply = escalate(
        api(agent),
        incident,
        support_level=2,
        team=world["network"].pk,
        note="What was tried: reset the tunnel. Why: it keeps dropping. Impact: 40 users.",
    )
    assert reply.status_code == 200, reply.content
    # the timeline says who is paged, in the escalation's transaction
    entry = TimelineEntry.objects.filter(incident=incident, kind=EntryKind.PAGE).last()
    assert entry is not None
    assert entry.text == (
        "Escalated to L2 Network: paging the team's on-call, "
        "Nina Network (team Network (Network primary))."
    )
    assert entry.data["paged"] == ["nina"]
    climb = Escalation.objects.get(incident=incident)
    assert climb.target_team_id == world["network"].pk and climb.reason == "escalated to L2 Network"
    # the engine writes the page and queues Nina's messages (P2: high urgency)
    EscalationModule().tick(now() + dt.timedelta(seconds=1))
    page = Page.objects.get(incident=incident)
    assert page.person.username == "nina" and page.urgency == "high"
    rows = OutboxMessage.objects.filter(incident=incident, purpose="page", person=world["nina"])
    assert sorted(rows.values_list("channel", flat=True)) == ["email", "sms"]


def test_a_level_change_alone_pages_nobody(
    world: dict[str, Any], make_user: Callable[..., User], api: Any
) -> None:
    incident = world["incident"]
    reply = escalate(api(make_user(Role.AGENT)), incident, support_level=2, note="needs L2 eyes")
    assert reply.status_code == 200
    assert not Escalation.objects.filter(incident=incident).exists()
    assert not TimelineEntry.objects.filter(incident=incident, kind=EntryKind.PAGE).exists()
    assert TimelineEntry.objects.filter(incident=incident, kind=EntryKind.ESCALATION).count() == 1


def test_a_team_with_nobody_on_call_is_said_so(
    world: dict[str, Any], make_user: Callable[..., User], api: Any
) -> None:
    empty = Team.objects.create(name="Databases")
    incident = world["incident"]
    reply = escalate(api(make_user(Role.AGENT)), incident, team=empty.pk, note="slow queries")
    assert reply.status_code == 200
    entry = TimelineEntry.objects.filter(incident=incident, kind=EntryKind.PAGE).get()
    assert entry.text == (
        "Escalated to L1 Databases: nobody is on call for team Databases; nobody was paged."
    )
    assert not Escalation.objects.filter(incident=incident).exists()


def test_the_untouched_template_is_refused_like_an_empty_note(
    world: dict[str, Any], make_user: Callable[..., User], api: Any
) -> None:
    client = api(make_user(Role.AGENT))
    incident = world["incident"]
    for note in ("", "   ", world["network"].handoff_template, HANDOFF_TEMPLATE_DEFAULT):
        reply = escalate(client, incident, team=world["network"].pk, note=note)
        assert reply.status_code == 422, note
        assert reply.json()["detail"][0]["loc"][-1] == "note"
    incident.refresh_from_db()
    assert incident.team_id == world["desk"].pk and incident.escalated_at is None
    assert not Escalation.objects.filter(incident=incident).exists()


def test_the_reporter_cannot_escalate(world: dict[str, Any], api: Any) -> None:
    reply = escalate(api(world["rita"]), world["incident"], team=world["network"].pk, note="x")
    assert reply.status_code in (403, 404)
    assert not Escalation.objects.exists()


def test_queue_and_incident_page_show_escalated_to_l2_network(
    world: dict[str, Any],
    make_user: Callable[..., User],
    make_incident: Callable[..., Incident],
    api: Any,
) -> None:
    agent = make_user(Role.AGENT, username="alice")
    incident = world["incident"]
    for n in range(5):  # other, escalated incidents: the badge costs no query per row
        other = make_incident(
            world["rita"], title=f"Other {n}", impact=2, urgency=2, team=world["desk"]
        )
        escalate(api(agent), other, support_level=3, team=world["network"].pk, note="because")
    escalate(api(agent), incident, support_level=2, team=world["network"].pk, note="see above")
    browser = Client()
    browser.force_login(agent)
    html = browser.get("/").content.decode()
    assert '<span class="badge badge-escalated">escalated to L2 Network</span>' in html
    assert html.count("escalated to L3 Network") == 5
    page = browser.get(f"/incidents/{incident.ref}/").content.decode()
    assert '<span class="badge badge-escalated">escalated to L2 Network</span>' in page
    # no query per row: the queue costs the same with one row as with six
    with CaptureQueriesContext(connection) as six:
        browser.get("/queue/rows/")
    Incident.objects.exclude(pk=incident.pk).update(status="closed")
    with CaptureQueriesContext(connection) as one:
        browser.get("/queue/rows/")
    assert len(six.captured_queries) == len(one.captured_queries)
    # a reporter sees neither badge on the portal's view of the incident
    reporter = Client()
    reporter.force_login(world["rita"])
    assert "escalated to" not in reporter.get(f"/incidents/{incident.ref}/").content.decode()


def test_an_incident_never_escalated_has_no_badge(
    world: dict[str, Any], make_user: Callable[..., User]
) -> None:
    browser = Client()
    browser.force_login(make_user(Role.AGENT))
    assert "badge-escalated" not in browser.get("/").content.decode()


def test_the_escalate_form_starts_with_the_template(
    world: dict[str, Any], make_user: Callable[..., User], make_incident: Callable[..., Incident]
) -> None:
    browser = Client()
    browser.force_login(make_user(Role.AGENT))
    html = browser.get(f"/incidents/{world['incident'].ref}/").content.decode()
    # the Service Desk's template is the built-in one; each team's is there for the script
    assert "What was tried: \nWhy escalate: \nCustomer impact: </textarea>" in html
    assert 'id="handoff-templates"' in html and "Circuit ID:" in html
    on_network = make_incident(world["rita"], title="Packet loss", team=world["network"])
    html = browser.get(f"/incidents/{on_network.ref}/").content.decode()
    assert "Circuit ID: \nTraceroute: \nCustomer impact: </textarea>" in html


def test_the_web_form_escalates_with_a_filled_in_note(
    world: dict[str, Any], make_user: Callable[..., User]
) -> None:
    browser = Client()
    browser.force_login(make_user(Role.AGENT))
    incident = world["incident"]
    url = f"/incidents/{incident.ref}/escalate/"
    untouched = {
        "support_level": "2",
        "team": world["network"].pk,
        "note": HANDOFF_TEMPLATE_DEFAULT,
    }
    reply = browser.post(url, untouched)
    assert reply.status_code == 422
    assert "still the template" in reply.content.decode()
    filled = untouched | {"note": "What was tried: reboot\nWhy escalate: flaps\nImpact: 40"}
    reply = browser.post(url, filled)
    assert reply.status_code == 302
    incident.refresh_from_db()
    assert incident.escalation_label == "escalated to L2 Network"


# --- the template: who may edit it ---------------------------------------------------------------


def put(client: Any, path: str, body: Any) -> Any:
    return client.client.put(
        path, body, content_type="application/json", headers=client._headers(None)
    )


@pytest.mark.parametrize(
    ("who", "status"),
    [("maya", 200), ("admin", 200), ("other_manager", 403), ("agent", 403), ("rita", 404)],
)
def test_who_may_edit_a_teams_template(
    who: str, status: int, world: dict[str, Any], make_user: Callable[..., User], api: Any
) -> None:
    people = {
        "maya": world["maya"],
        "admin": make_user(Role.ADMIN),
        "other_manager": make_user(Role.MANAGER),
        "agent": make_user(Role.AGENT),
        "rita": world["rita"],
    }
    network = world["network"]
    path = f"/api/v1/teams/{network.pk}/handoff-template"
    reply = put(api(people[who]), path, {"text": "Tried: \nWhy: "})
    assert reply.status_code == status, reply.content
    network.refresh_from_db()
    if status == 200:
        assert reply.json() == {"team": network.pk, "text": "Tried: \nWhy: "}
        assert network.handoff_template == "Tried: \nWhy: "
    else:
        assert network.handoff_template.startswith("Circuit ID:")


def test_template_bad_input(world: dict[str, Any], api: Any) -> None:
    client = api(world["maya"])
    path = f"/api/v1/teams/{world['network'].pk}/handoff-template"
    assert put(client, path, {"text": "x" * 2001}).status_code == 422
    assert put(client, path, {"text": "a\x00b"}).status_code == 422
    assert put(client, path, {"words": "x"}).status_code == 422
    assert put(client, "/api/v1/teams/9999/handoff-template", {"text": "x"}).status_code == 404
    assert api(world["maya"]).get(path).json()["text"].startswith("Circuit ID:")


def test_a_manager_edits_their_teams_template_in_settings(
    world: dict[str, Any], make_user: Callable[..., User]
) -> None:
    browser = Client()
    browser.force_login(world["maya"])
    page = browser.get("/settings/escalation/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Network" in html and "Service Desk" not in html  # only the team she manages
    assert "Executive list" not in html  # administrators keep it
    reply = browser.post(
        "/settings/escalation/",
        {"form": "handoff", "team": world["network"].pk, "text": "Circuit: \nSince: "},
    )
    assert reply.status_code == 302
    world["network"].refresh_from_db()
    assert world["network"].handoff_template == "Circuit: \nSince: "
    # a team she does not manage: 404, nothing changed
    reply = browser.post(
        "/settings/escalation/", {"form": "handoff", "team": world["desk"].pk, "text": "x"}
    )
    assert reply.status_code == 404
    world["desk"].refresh_from_db()
    assert world["desk"].handoff_template == HANDOFF_TEMPLATE_DEFAULT
    # an agent who manages nothing, and a reporter, may not open the page
    for person in (make_user(Role.AGENT), world["rita"]):
        browser.force_login(person)
        assert browser.get("/settings/escalation/").status_code == 403


def test_escalation_count_is_countable_by_sql(
    world: dict[str, Any], make_user: Callable[..., User], api: Any
) -> None:
    """Reports (issue 13) count functional escalations as ESCALATION timeline entries."""
    agent = make_user(Role.AGENT)
    incident = world["incident"]
    escalate(api(agent), incident, support_level=2, note="one")
    escalate(api(agent), incident, team=world["network"].pk, note="two")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM incidents_timelineentry WHERE kind = %s AND incident_id = %s",
            ["escalation", incident.pk],
        )
        assert cursor.fetchone()[0] == 2
