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
    # (the major-incident banner names the P1 first, as "INC-1: VPN drops")
    row = page[page.index(f"{incident.ref} P1") :]
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


def test_a_search_matches_title_or_description_literally_in_any_case(
    browse: Any, agent: Any, reporter: Any, make_incident: Any
) -> None:
    """The search finds its text anywhere in the title or the description, in upper or
    lower case, with % and _ meaning themselves (not "anything")."""
    in_title = make_incident(reporter, title="PRINTER jams on floor 3", description="Paper")
    in_text = make_incident(
        reporter, title="Paper everywhere", description="The Printer jams again", impact=1
    )
    percent = make_incident(reporter, title="CPU at 100% on db1", description="since noon")
    make_incident(reporter, title="CPU at 1000 MHz on db2", description="since noon")
    underscore = make_incident(reporter, title="Alert disk_usage high", description="db1")
    make_incident(reporter, title="Alert diskXusage high", description="db2")
    done = make_incident(reporter, title="Old one", description="printer toner")
    services.incident_resolve(
        incident=done, actor=Actor.for_user(agent), resolution_code="fixed", resolution_notes="ok"
    )
    client = browse(agent)

    def shown(**params: Any) -> tuple[list[str], str]:
        response = client.get("/", params)
        assert response.status_code == 200
        return refs(response), text_of(response)

    found, text = shown(q="printer")
    assert found == [in_text.ref, in_title.ref]  # the queue's order: P1 first
    assert "2 incidents" in text
    assert shown(q="pRiNtEr JAMS")[0] == [in_text.ref, in_title.ref]
    assert shown(q="floor 3")[0] == [in_title.ref]
    assert shown(q="100%")[0] == [percent.ref]
    assert shown(q="%")[0] == [percent.ref]
    assert shown(q="disk_usage")[0] == [underscore.ref]
    assert shown(q="_")[0] == [underscore.ref]
    found, text = shown(q="PRINTER", status="all")
    assert set(found) == {in_title.ref, in_text.ref, done.ref}
    assert "3 incidents" in text
    found, text = shown(q="no such words", status="all")
    assert found == []
    assert "0 incidents" in text


def test_a_search_pages_in_the_queue_order(
    browse: Any, agent: Any, reporter: Any, make_incident: Any
) -> None:
    """A search's pages (its count and ids come from one query) hold every match once,
    in the queue's order; a page past the last shows the last, a page that is no number
    the first."""
    made = [
        make_incident(reporter, title=f"Disk full on host {n}", impact=1 + n % 4, urgency=2)
        for n in range(30)
    ]
    make_incident(reporter, title="Printer jam")
    expected = [
        i.ref for i in sorted(made, key=lambda i: (i.priority, i.resolution_due_at, -i.number))
    ]
    client = browse(agent)
    first = client.get("/", {"q": "disk full"})
    second = client.get("/", {"q": "disk full", "page": "2"})
    assert refs(first) + refs(second) == expected
    assert "30 incidents · page 1 of 2" in text_of(first)
    assert "30 incidents · page 2 of 2" in text_of(second)
    for page in ("9", "0"):
        beyond = client.get("/", {"q": "disk full", "page": page})
        assert refs(beyond) == expected[25:]
        assert "30 incidents · page 2 of 2" in text_of(beyond)
    assert refs(client.get("/", {"q": "disk full", "page": "two"})) == expected[:25]


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
