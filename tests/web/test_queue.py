"""The queue: what is open, in what order, filtered, paged, refreshing itself."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import time_machine

from tests.web.helpers import text_of
from tocsin.accounts.models import Role
from tocsin.core.actors import Actor
from tocsin.incidents import services


def refs(response: Any) -> list[str]:
    return re.findall(r'class="ref" href="/incidents/(INC-\d+)/"', response.content.decode())


def test_open_incidents_by_priority_then_nearest_deadline(
    browse: Any, agent: Any, reporter: Any, make_incident: Any
) -> None:
    start = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        p3_old = make_incident(reporter, title="P3 filed first", impact=3, urgency=3)
    with time_machine.travel(start + dt.timedelta(hours=1), tick=False):
        p3_new = make_incident(reporter, title="P3 filed later", impact=3, urgency=3)
        p1 = make_incident(reporter, title="P1 everything down", impact=1, urgency=1)
        p4 = make_incident(reporter, title="P4 can wait", impact=4, urgency=4)
        done = make_incident(reporter, title="Already resolved", impact=1, urgency=1)
        services.incident_resolve(
            incident=done,
            actor=Actor.for_user(agent),
            resolution_code="fixed",
            resolution_notes="ok",
        )
        response = browse(agent).get("/")
    assert response.status_code == 200
    assert refs(response) == [p1.ref, p3_old.ref, p3_new.ref, p4.ref]
    assert "Already resolved" not in text_of(response)


def test_each_row_shows_the_fields_and_sla_countdowns(
    browse: Any, agent: Any, reporter: Any, make_incident: Any, catalogue: dict[str, Any]
) -> None:
    start = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        incident = make_incident(
            reporter,
            title="VPN drops",
            impact=1,
            urgency=1,
            service=catalogue["vpn_service"],
            category=catalogue["network"],
            subcategory=catalogue["vpn"],
        )
        services.incident_assign(
            incident=incident,
            actor=Actor.for_user(agent),
            assignee=agent,
            team=catalogue["team"],
            set_team=True,
        )
    # P1: respond within 15 min, resolve within 4 h. 12 minutes later: 3 min left (< 25 %).
    with time_machine.travel(start + dt.timedelta(minutes=12), tick=False):
        response = browse(agent).get("/")
    page = text_of(response)
    html = response.content.decode()
    row = page[page.index(incident.ref) :]
    assert row.startswith(f"{incident.ref} P1 VPN drops New VPN Network › VPN Alice Network team")
    assert "Response 3m left" in row and "Resolution 3h 48m left" in row
    assert 'class="sla sla-warning" data-due="2026-05-04T09:15:00+00:00"' in html
    assert 'class="sla sla-ok" data-due="2026-05-04T13:00:00+00:00"' in html

    with time_machine.travel(start + dt.timedelta(hours=3, minutes=20), tick=False):
        page = text_of(browse(agent).get("/"))
    assert "Response breached 3h 5m ago" in page


def test_a_held_incident_shows_a_paused_clock(
    browse: Any, agent: Any, reporter: Any, make_incident: Any
) -> None:
    incident = make_incident(reporter, impact=3, urgency=3)
    services.incident_hold(incident=incident, actor=Actor.for_user(agent))
    page = text_of(browse(agent).get("/"))
    assert "Resolution paused · 2d 23h left" in page


def test_filters_narrow_the_queue(
    browse: Any, make_user: Any, reporter: Any, make_incident: Any, catalogue: dict[str, Any]
) -> None:
    me = make_user(Role.AGENT, username="me_agent")
    other = make_user(Role.RESPONDER, username="other_responder")
    actor = Actor.for_user(me)
    vpn = make_incident(
        reporter,
        title="VPN tunnel flaps",
        service=catalogue["vpn_service"],
        category=catalogue["network"],
        subcategory=catalogue["vpn"],
        impact=1,
        urgency=1,
    )
    mail = make_incident(
        reporter,
        title="Mail bounces",
        service=catalogue["mail_service"],
        category=catalogue["application"],
        source="email",
    )
    loose = make_incident(reporter, title="Nobody owns me", impact=4, urgency=4)
    services.incident_assign(
        incident=vpn, actor=actor, assignee=me, team=catalogue["team"], set_team=True
    )
    services.incident_assign(incident=mail, actor=actor, assignee=other)
    services.incident_hold(incident=mail, actor=actor)
    client = browse(me)

    def shown(**params: Any) -> list[str]:
        response = client.get("/", params)
        assert response.status_code == 200, response.content
        return refs(response)

    assert shown(assignee="me") == [vpn.ref]
    assert shown(assignee="unassigned") == [loose.ref]
    assert shown(assignee="other_responder") == [mail.ref]
    assert shown(priority="1") == [vpn.ref]
    assert shown(status="on_hold") == [mail.ref]
    assert shown(team=catalogue["team"].pk) == [vpn.ref]
    assert shown(service=catalogue["mail_service"].pk) == [mail.ref]
    assert shown(category=catalogue["network"].pk) == [vpn.ref]
    assert shown(category=catalogue["vpn"].pk) == [vpn.ref]
    assert shown(source="email") == [mail.ref]
    assert shown(q="bounces") == [mail.ref]
    assert shown(q=vpn.ref) == [vpn.ref]
    assert set(shown()) == {vpn.ref, mail.ref, loose.ref}
    # The refreshing partial honours the same filters.
    rows = client.get("/queue/rows/", {"assignee": "me"})
    assert rows.status_code == 200
    assert refs(rows) == [vpn.ref]
    assert "<html" not in rows.content.decode()


def test_resolved_and_closed_incidents_appear_with_any_status(
    browse: Any, agent: Any, reporter: Any, make_incident: Any
) -> None:
    incident = make_incident(reporter)
    services.incident_resolve(
        incident=incident,
        actor=Actor.for_user(agent),
        resolution_code="fixed",
        resolution_notes="ok",
    )
    client = browse(agent)
    assert refs(client.get("/")) == []
    assert refs(client.get("/", {"status": "all"})) == [incident.ref]
    assert refs(client.get("/", {"status": "resolved"})) == [incident.ref]


def test_a_bad_filter_is_a_400_naming_the_field(browse: Any, agent: Any) -> None:
    response = browse(agent).get("/", {"priority": "9"})
    assert response.status_code == 400
    assert "Select a valid choice" in text_of(response)
    assert 'id="id_priority"' in response.content.decode()


def test_the_queue_pages_by_25(browse: Any, agent: Any, reporter: Any, make_incident: Any) -> None:
    for n in range(27):
        make_incident(reporter, title=f"Issue {n}")
    client = browse(agent)
    first = client.get("/", {"q": "Issue"})
    assert len(refs(first)) == 25
    assert "27 incidents · page 1 of 2" in text_of(first)
    assert 'href="?q=Issue&amp;page=2"' in first.content.decode()
    second = client.get("/", {"q": "Issue", "page": "2"})
    assert len(refs(second)) == 2
    assert set(refs(first)).isdisjoint(refs(second))


def test_the_queue_refreshes_from_the_rows_partial_with_its_filters(
    browse: Any, agent: Any
) -> None:
    html = browse(agent).get("/", {"assignee": "me", "q": "vpn"}).content.decode()
    assert 'data-refresh-url="/queue/rows/?assignee=me&amp;q=vpn"' in html
    assert 'data-live-region="queue-rows"' in html


def test_a_service_filter_pages_in_order_with_each_incident_once(
    browse: Any, agent: Any, reporter: Any, make_incident: Any, catalogue: dict[str, Any]
) -> None:
    """The page is read by id first (bench/ui): a service matched both as the main
    service and as an affected one still lists its incident once, in the queue's order,
    25 a page."""
    vpn, mail = catalogue["vpn_service"], catalogue["mail_service"]
    made = [
        make_incident(
            reporter,
            title=f"VPN {n}",
            impact=1 + n % 4,
            urgency=2,
            service=vpn,
            affected_services=[vpn, mail],
        )
        for n in range(30)
    ]
    make_incident(reporter, title="Mail only", service=mail)
    client = browse(agent)
    first = refs(client.get(f"/?service={vpn.pk}"))
    second = refs(client.get(f"/?service={vpn.pk}&page=2"))
    expected = [
        i.ref for i in sorted(made, key=lambda i: (i.priority, i.resolution_due_at, -i.number))
    ]
    assert first + second == expected
    assert len(first) == 25
