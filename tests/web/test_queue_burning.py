"""The queue shows what is burning (issue 8, points 1, 6, 7, 8, 10): the summary line,
views with counts, saved views, sorting, empty states, the SLA display, service health."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import time_machine

from tests.web.helpers import text_of
from tocsin.accounts.models import Role
from tocsin.accounts.services import team_create
from tocsin.catalog.services import service_create
from tocsin.core.actors import Actor
from tocsin.incidents import services
from tocsin.incidents.models import Incident, SavedView
from tocsin.incidents.templatetags.tocsin_ui import sla_display, sla_tone

START = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)
SETUP = Actor.system("test setup")


def refs(response: Any) -> list[str]:
    return re.findall(r'class="ref" href="/incidents/(INC-\d+)/"', response.content.decode())


def desk(agent: Any, reporter: Any, make_incident: Any, make_user: Any) -> dict[str, Any]:
    bob = make_user(Role.AGENT, username="bob")
    team = team_create(name="Network team", members=[agent], actor=SETUP)
    vpn = service_create(name="VPN", actor=SETUP)
    with time_machine.travel(START, tick=False):
        p1 = make_incident(reporter, title="Core router down", impact=1, urgency=1, service=vpn)
        services.incident_assign(incident=p1, actor=SETUP, team=team, set_team=True)
    with time_machine.travel(START + dt.timedelta(hours=1), tick=False):
        p2 = make_incident(reporter, title="Mail delayed", impact=3, urgency=1)
        services.incident_assign(incident=p2, actor=SETUP, assignee=agent)
        p3 = make_incident(reporter, title="Printer jams", impact=3, urgency=3)
        services.incident_assign(incident=p3, actor=SETUP, assignee=bob)
    return {"team": team, "vpn": vpn, "p1": p1, "p2": p2, "p3": p3, "bob": bob}


def test_the_summary_line_counts_and_links_to_its_filters(
    browse: Any, agent: Any, reporter: Any, make_incident: Any, make_user: Any
) -> None:
    d = desk(agent, reporter, make_incident, make_user)
    # At 10:45 the P1's 15-minute response target (09:15) and the P2's 30-minute one
    # (10:30) have passed: two SLAs breached.
    with time_machine.travel(START + dt.timedelta(hours=1, minutes=45), tick=False):
        response = browse(agent).get("/")
    page = text_of(response)
    assert "3 open 1 P1 1 P2 2 SLA breached 1 unassigned 1 mine" in page
    html = response.content.decode()
    for link in ("?priority=1", "?priority=2", "?sla=breached", "?assignee=unassigned"):
        assert f'href="/{link}"' in html
    assert "All open 3 Mine 1 Unassigned 1 Breached 2 My team's 1" in page
    with time_machine.travel(START + dt.timedelta(hours=1, minutes=45), tick=False):
        breached = browse(agent).get("/?sla=breached")
        mine = browse(agent).get("/?team=mine")
    assert refs(breached) == [d["p1"].ref, d["p2"].ref]
    assert 'class="queue-row prio-row-1 row-breached"' in breached.content.decode()
    assert refs(mine) == [d["p1"].ref]


def test_a_person_without_a_team_has_no_team_view(
    browse: Any, make_user: Any, reporter: Any, make_incident: Any
) -> None:
    loner = make_user(Role.AGENT, username="lone")
    make_incident(reporter, title="Anything")
    page = text_of(browse(loner).get("/"))
    assert "Mine 0" in page and "My team's" not in page


def test_columns_sort_both_ways_and_the_age_shows(
    browse: Any, agent: Any, reporter: Any, make_incident: Any, make_user: Any
) -> None:
    d = desk(agent, reporter, make_incident, make_user)
    client = browse(agent)
    with time_machine.travel(START + dt.timedelta(hours=3), tick=False):
        by_title = client.get("/?sort=title")
        reverse = client.get("/?sort=-title")
        oldest = client.get("/?sort=-age")
        default = client.get("/")
    p1, p2, p3 = d["p1"].ref, d["p2"].ref, d["p3"].ref
    assert refs(by_title) == [p1, p2, p3]  # Core, Mail, Printer
    assert refs(reverse) == [p3, p2, p1]
    assert refs(oldest)[0] == p1
    html = by_title.content.decode()
    assert 'aria-sort="ascending"><a class="sort-link" href="/?sort=-title">Title' in html
    assert 'aria-sort="ascending"><a class="sort-link" href="/?sort=-priority">Priority' in (
        default.content.decode()
    )
    assert "opened 3h ago" in text_of(default)
    assert client.get("/?sort=reporter_email").status_code == 400


def test_empty_results_say_so_calmly(
    browse: Any, agent: Any, reporter: Any, make_incident: Any
) -> None:
    client = browse(agent)
    quiet = client.get("/")
    assert quiet.status_code == 200
    page = text_of(quiet)
    assert "0 incidents open" in page and "No open incidents — all clear." in page
    assert "need correcting" not in page and "Correct the" not in page
    make_incident(reporter, title="Slow VPN", impact=3, urgency=3)
    assert "No open P1 incidents — all clear." in text_of(client.get("/?priority=1"))
    assert "Nothing open is assigned to you." in text_of(client.get("/?assignee=me"))
    assert "No open incident has breached its SLA." in text_of(client.get("/?sla=breached"))
    assert "No incidents match “keyboard” with these filters." in text_of(
        client.get("/?q=keyboard")
    )


def test_a_long_search_marks_the_search_field(browse: Any, agent: Any) -> None:
    response = browse(agent).get("/", {"q": "x" * 201})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="filter filter-q has-error"' in html
    assert 'aria-invalid="true"' in html
    assert "Search for at most 200 characters (this has 201)." in text_of(response)


def test_the_filter_form_no_longer_submits_on_change_and_drops_empty_fields(
    browse: Any, agent: Any
) -> None:
    client = browse(agent)
    html = client.get("/").content.decode()
    assert "data-autosubmit" not in html
    assert '<button type="submit" class="btn btn-primary">Apply</button>' in html
    response = client.get("/?q=&status=&priority=1&sla=&assignee=&team=&page=2")
    assert response.status_code == 302
    assert response["Location"] == "/?priority=1&page=2"


def test_saving_and_deleting_a_view_of_ones_own(
    browse: Any, agent: Any, reporter: Any, make_incident: Any, make_user: Any
) -> None:
    desk(agent, reporter, make_incident, make_user)
    client = browse(agent)
    response = client.post("/queue/views/", {"name": "  Burning  P1s ", "query": "priority=1"})
    assert response.status_code == 302 and response["Location"] == "/?priority=1"
    view = SavedView.objects.get(owner=agent)
    assert view.name == "Burning P1s"
    page = text_of(client.get("/?priority=1"))
    assert "Burning P1s 1" in page and "Saved the view “Burning P1s”." in page
    # The sort on screen is saved with the filters.
    sorted_view = client.post("/queue/views/", {"name": "Oldest", "query": "sort=-age"})
    assert sorted_view["Location"] == "/?sort=-age"
    assert 'aria-current="page">Oldest' in client.get("/?sort=-age").content.decode()
    SavedView.objects.filter(name="Oldest").delete()
    again = client.post("/queue/views/", {"name": "burning p1s", "query": "priority=2"})
    assert "View name: you already have a view named 'burning p1s'" in text_of(
        client.get(again["Location"])
    )
    bad = client.post("/queue/views/", {"name": "Odd", "query": "priority=9"})
    assert "Filters: Select a valid choice." in text_of(client.get(bad["Location"]))
    assert SavedView.objects.count() == 1
    # Someone else cannot delete it (404), and nobody else sees it.
    bob = make_user(Role.AGENT, username="carol")
    assert browse(bob).post(f"/queue/views/{view.pk}/delete/").status_code == 404
    assert "Burning P1s" not in text_of(browse(bob).get("/"))
    # The form URLs answer GET with the queue, not a blank 405.
    assert client.get("/queue/views/").status_code == 302
    assert client.get(f"/queue/views/{view.pk}/delete/").status_code == 302
    assert client.post(f"/queue/views/{view.pk}/delete/").status_code == 302
    assert not SavedView.objects.exists()


def test_a_reporter_cannot_save_views(browse: Any, reporter: Any) -> None:
    response = browse(reporter).post("/queue/views/", {"name": "x", "query": ""})
    assert response.status_code in (302, 403, 404)
    assert not SavedView.objects.exists()


def test_sla_tones_follow_the_share_of_the_target_used() -> None:
    total = 15 * 60.0
    assert sla_tone(14 * 60, total) == "ok"  # 7 % used
    assert sla_tone(7.4 * 60, total) == "warning"  # 51 % used
    assert sla_tone(3 * 60, total) == "warning"  # exactly 80 %
    assert sla_tone(2 * 60, total) == "critical"  # 87 % used
    assert sla_tone(-1, total) == "breached"
    at = START
    view = sla_display(
        {"due_at": at + dt.timedelta(minutes=2), "met_at": None, "remaining_seconds": 120},
        total,
        at,
    )
    assert (view["text"], view["tone"]) == ("2m left", "critical")


def test_a_held_incident_header_says_the_clock_stopped_and_its_kind(
    browse: Any, agent: Any, reporter: Any, make_incident: Any
) -> None:
    incident = make_incident(reporter, title="Waiting on supplier", impact=3, urgency=3)
    services.incident_start(incident=incident, actor=Actor.for_user(agent))
    services.incident_hold(incident=incident, actor=Actor.for_user(agent), note="supplier")
    page = text_of(browse(agent).get(f"/incidents/{incident.ref}/"))
    assert "Resolution paused · 2d 23h left clock stopped while on hold · 24×7" in page
    assert "no target" not in page
    queue = text_of(browse(agent).get("/"))
    assert "Resolution paused · 2d 23h left 24×7" in queue


def test_services_list_health_from_open_incidents_and_alerts(
    browse: Any, agent: Any, reporter: Any, make_incident: Any
) -> None:
    from tocsin.alerts.models import Alert
    from tocsin.catalog.services import integration_create

    quiet = service_create(name="Quiet", actor=SETUP)
    busy = service_create(name="Busy", actor=SETUP)
    warned = service_create(name="Warned", actor=SETUP)
    make_incident(reporter, title="Busy is down", impact=1, urgency=1, service=busy)
    make_incident(reporter, title="Busy is slow", impact=3, urgency=3, affected_services=[busy])
    integration, _key = integration_create(service=warned, kind="webhook", name="hook", actor=SETUP)
    for n, severity in enumerate(("critical", "critical", "warning")):
        Alert.objects.create(
            integration=integration,
            service=warned,
            dedup_key=f"k{n}",
            status="triggered",
            severity=severity,
            summary="disk full",
            started_at=START,
            first_seen_at=START,
            last_seen_at=START,
        )
    page = text_of(browse(agent).get("/services/"))
    assert "Busy — 0 0 Critical 1 open P1 incident · 1 open P3 incident" in page
    assert "Quiet — 0 0 Healthy" in page
    assert "Warned — 1 3 Critical 2 critical alerts · 1 warning alert" in page
    assert "Active" not in page
    quiet.is_active = False
    quiet.save(update_fields=["is_active"])
    assert "Quiet — 0 0 Inactive" in text_of(browse(agent).get("/services/"))


def test_breached_means_overdue_now_not_met_late(
    browse: Any, agent: Any, reporter: Any, make_incident: Any
) -> None:
    """A response met late stays on the record but no longer burns; a target the worker
    marked breached and not met yet does."""
    late = make_incident(reporter, title="Late answer", impact=3, urgency=3)
    Incident.objects.filter(pk=late.pk).update(response_met_at=START, response_breached_at=START)
    client = browse(agent)
    response = client.get("/")
    assert "0 SLA breached" in text_of(response)
    assert "row-breached" not in response.content.decode()
    Incident.objects.filter(pk=late.pk).update(resolution_breached_at=START)
    assert "1 SLA breached" in text_of(client.get("/"))


def test_the_queue_reads_a_fixed_number_of_queries(
    browse: Any,
    agent: Any,
    reporter: Any,
    make_incident: Any,
    make_user: Any,
    django_assert_max_num_queries: Any,
) -> None:
    """The summary and the built-in views are one query; rows do not query one by one."""
    from tocsin.incidents.services.saved_views import saved_view_create

    desk(agent, reporter, make_incident, make_user)
    saved_view_create(owner=agent, name="P1s", query="priority=1")
    client = browse(agent)
    client.get("/")
    with django_assert_max_num_queries(30) as few:
        client.get("/")
    for n in range(20):
        make_incident(reporter, title=f"More {n}", impact=2, urgency=2)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/")


def test_every_sort_works_both_ways_with_missing_values_last(
    browse: Any, agent: Any, reporter: Any, make_incident: Any, make_user: Any
) -> None:
    from tocsin.incidents.selectors import QUEUE_SORTS

    d = desk(agent, reporter, make_incident, make_user)
    client = browse(agent)
    for key in QUEUE_SORTS:
        for sort in (key, f"-{key}"):
            response = client.get("/", {"sort": sort})
            assert response.status_code == 200, sort
            assert len(refs(response)) == 3, sort
    # Unassigned incidents come last whichever way assignees are sorted.
    assert refs(client.get("/?sort=assignee"))[-1] == d["p1"].ref
    assert refs(client.get("/?sort=-assignee"))[-1] == d["p1"].ref


def test_a_business_hours_clock_says_so_and_counts_working_time(
    browse: Any, agent: Any, reporter: Any, make_incident: Any
) -> None:
    """P3 on a Mon–Fri 09–17 calendar, filed Friday 16:30: on Saturday it has 1h 30m of
    its 2-hour response target left (working time), not a wall-clock countdown."""
    from tocsin.incidents.sla import business_calendar_save, sla_target_set

    office = business_calendar_save(calendar=None, values={"name": "Office"}, actor=SETUP)
    sla_target_set(
        priority=3,
        response_minutes=120,
        resolution_minutes=3 * 8 * 60,
        calendar=office,
        actor=SETUP,
    )
    friday = dt.datetime(2026, 5, 8, 16, 30, tzinfo=dt.UTC)
    with time_machine.travel(friday, tick=False):
        incident = make_incident(reporter, title="Invoice page slow", impact=3, urgency=3)
    with time_machine.travel(friday + dt.timedelta(hours=18), tick=False):
        queue = browse(agent).get("/")
        head = browse(agent).get(f"/incidents/{incident.ref}/")
    page = text_of(queue)
    assert "Response 1h 30m left Resolution 23h 30m left business hours (Office)" in page
    assert "data-due" not in queue.content.decode()  # it does not tick out of hours
    assert "business hours (Office)" in text_of(head)
