"""Incident numbers, queue ordering and every filter of incident_list_for (point 6)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction
from django.db.models import Q

from tests.incidents.helpers import act, bring_to
from tocsin.accounts.services import team_create
from tocsin.catalog.services import category_create, service_create
from tocsin.core.actors import Actor
from tocsin.core.errors import Invalid, NotFound
from tocsin.incidents import selectors
from tocsin.incidents.models import Incident
from tocsin.incidents.selectors import IncidentFilters, incident_list_for
from tocsin.incidents.services import (
    incident_assign,
    incident_create,
    incident_merge,
    incident_update,
)

HOUR = dt.timedelta(hours=1)


def numbers(qs) -> list[int]:
    return [i.number for i in qs]


@pytest.mark.django_db
def test_numbers_are_sequential_and_never_reused(agent, reporter, make_incident):
    first = make_incident(reporter)
    second = make_incident(reporter)
    third = make_incident(reporter)
    assert [second.number, third.number] == [first.number + 1, first.number + 2]
    assert (first.ref, third.ref) == (f"INC-{first.number}", f"INC-{first.number + 2}")
    # refused input does not consume a number
    with pytest.raises(Invalid):
        incident_create(actor=Actor.for_user(reporter), title="")
    # merged and closed incidents keep their numbers; new ones continue after them
    incident_merge(incident=third, into=first, actor=Actor.for_user(agent))
    bring_to(second, "closed", agent)
    fourth = make_incident(reporter)
    assert fourth.number == first.number + 3
    assert (
        Incident.objects.filter(number__in=[first.number, second.number, third.number]).count() == 3
    )


@pytest.mark.django_db
@pytest.mark.parametrize("ref", ["INC-{n}", "{n}"])
def test_refs(ref, reporter, make_incident):
    incident = make_incident(reporter)
    assert selectors.access_incident(reporter, ref.format(n=incident.number)) == incident


@pytest.mark.django_db
@pytest.mark.parametrize(
    "ref", ["INC-", "INC-abc", "42x", "", "INC-99999", "inc-1", " 1 ", "1\n", "01", "INC-01"]
)
def test_bad_refs_are_not_found(ref, reporter, make_incident):
    assert make_incident(reporter).number == 1  # "inc-1", " 1 " … still name no incident
    with pytest.raises(NotFound):
        selectors.access_incident(reporter, ref)


@pytest.mark.django_db
def test_queue_order_priority_then_nearest_deadline(agent, reporter, make_incident, clock):
    p2_early = make_incident(reporter, impact=2, urgency=2, title="p2 early")  # due T0+8h
    p3 = make_incident(reporter, title="p3")  # due T0+3d
    clock.shift(HOUR)
    p2_late = make_incident(reporter, impact=2, urgency=2, title="p2 late")  # due T0+9h
    clock.shift(HOUR)
    p1 = make_incident(reporter, impact=1, urgency=1, title="p1")  # due T0+6h
    p4 = make_incident(reporter, impact=4, urgency=4, title="p4")
    queue = list(incident_list_for(agent, IncidentFilters()))
    assert queue == [p1, p2_early, p2_late, p3, p4]
    # holding p2_early for 5 hours then resuming pushes its deadline past p2_late's
    act(p2_early, agent, "hold")
    clock.shift(5 * HOUR)
    act(p2_early, agent, "resume")
    queue = list(incident_list_for(agent, IncidentFilters()))
    assert queue == [p1, p2_late, p2_early, p3, p4]


@pytest.mark.django_db
def test_each_filter(agent, responder, reporter, make_user, make_incident):
    other_reporter = make_user("reporter", username="rex")
    team = team_create(name="Network team", members=[responder], actor=Actor.system("test setup"))
    vpn_service = service_create(name="VPN", actor=Actor.system("test setup"))
    mail_service = service_create(name="Mail", actor=Actor.system("test setup"))
    network = category_create(name="Network", actor=Actor.system("test setup"))
    wifi = category_create(name="Wi-Fi", parent=network, actor=Actor.system("test setup"))
    apps = category_create(name="Application", actor=Actor.system("test setup"))

    a = incident_create(
        actor=Actor.for_user(agent),
        reporter=reporter,
        title="VPN tunnel flaps",
        description="Users in Lisbon drop every hour",
        impact=1,
        urgency=1,
        source="phone",
        service=vpn_service,
        category=network,
        subcategory=wifi,
    )
    b = incident_create(
        actor=Actor.for_user(agent),
        reporter=other_reporter,
        title="Mail slow",
        description="Outlook hangs",
        source="email",
        service=mail_service,
        affected_services=[vpn_service],
        category=apps,
    )
    c = make_incident(reporter, title="Printer jam")
    incident_assign(
        incident=b, actor=Actor.for_user(agent), assignee=responder, team=team, set_team=True
    )
    bring_to(c, "resolved", agent)
    act(a, agent, "acknowledge")  # acknowledging makes it the agent's

    def run(**kwargs) -> set[Incident]:
        return set(incident_list_for(agent, IncidentFilters(**kwargs)))

    assert run() == {a, b}  # open ones only by default
    assert run(status=["all"]) == {a, b, c}
    assert run(status=["resolved"]) == {c}
    assert run(status=["acknowledged", "resolved"]) == {a, c}
    assert run(status=["open"]) == {a, b}
    assert run(priority=[1]) == {a}
    assert run(priority=[3, 4]) == {b}
    assert run(team=team.pk) == {b}
    assert run(assignee="rob") == {b}
    assert run(assignee="alice") == {a}
    incident_assign(incident=a, actor=Actor.for_user(agent), assignee=None)
    assert run(assignee="none") == {a}
    assert run(service=vpn_service.pk) == {a, b}  # primary or affected
    assert list(incident_list_for(agent, IncidentFilters(service=vpn_service.pk))).count(b) == 1
    assert run(service=mail_service.pk) == {b}
    assert run(category=network.pk) == {a}
    assert run(category=wifi.pk) == {a}
    assert run(category=apps.pk) == {b}
    assert run(source="email") == {b}
    assert run(reporter="rex") == {b}
    assert run(q="lisbon") == {a}
    assert run(q="outlook") == {b}
    assert run(q="mail SLOW") == {b}
    assert run(q=b.ref) == {b}
    assert run(q=str(a.number), status=["all"]) == {a}
    assert run(q="printer", status=["all"]) == {c}
    assert run(q="nothing like this") == set()
    assert run(priority=[1], source="email") == set()
    # the reporter's queue is scoped to their own, whatever the filters
    assert set(incident_list_for(reporter, IncidentFilters(status=["all"]))) == {a, c}
    assert set(incident_list_for(reporter, IncidentFilters(reporter="rex"))) == set()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"status": ["exploded"]}, "status"),
        ({"priority": [5]}, "priority"),
        ({"source": "pigeon"}, "source"),
    ],
)
def test_bad_filters_name_the_field(filters, field, agent):
    with pytest.raises(Invalid) as caught:
        list(incident_list_for(agent, IncidentFilters(**filters)))
    assert caught.value.field == field


@pytest.mark.django_db
def test_priority_change_reorders_the_queue(agent, reporter, make_incident):
    low = make_incident(reporter, title="low")
    high = make_incident(reporter, impact=2, urgency=2, title="high")
    assert list(incident_list_for(agent, IncidentFilters())) == [high, low]
    incident_update(
        incident=low, actor=Actor.for_user(agent), changes={"priority": 1}, priority_reason="VIP"
    )
    assert list(incident_list_for(agent, IncidentFilters())) == [low, high]


@pytest.mark.django_db
@pytest.mark.parametrize("number", [None, "1", "2", "3", "9", "0", "-1", "x", "2.0", ""])
def test_a_searched_page_is_the_same_page_counted_apart(agent, reporter, make_incident, number):
    """A search counts its matches in the same query as its page's ids (bench/ui): the
    page, its count and the page chosen for a number out of range are what counting
    apart gives."""
    for n in range(27):
        make_incident(reporter, title=f"Disk full {n}", impact=1 + n % 4, urgency=1 + n % 3)
    make_incident(reporter, title="Printer jam")
    qs = incident_list_for(agent, IncidentFilters(q="disk"))
    searched = selectors.incident_page(qs, number, 10, searched=True)
    apart = selectors.incident_page(qs, number, 10)
    assert searched.paginator.count == apart.paginator.count == 27
    assert searched.number == apart.number
    assert searched.paginator.num_pages == 3
    assert [i.number for i in searched] == [i.number for i in apart]
    assert len(searched) == (7 if searched.number == 3 else 10)
    nothing = incident_list_for(agent, IncidentFilters(q="nothing like this"))
    empty = selectors.incident_page(nothing, number, 10, searched=True)
    assert (empty.paginator.count, empty.number, list(empty)) == (0, 1, [])


@pytest.mark.postgresql_only
@pytest.mark.django_db
def test_a_search_on_postgresql_can_read_the_trigram_indexes(agent, reporter, make_incident):
    """PostgreSQL can find a search's matches in the trigram indexes of title and
    description (migration 0010) rather than read every incident: the indexes are of the
    very expressions Django writes for the search. The rows are the same either way
    (the tests above run on both databases)."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's indexes; SQLite reads every row once")
    match = make_incident(reporter, title="Printer jams", description="Floor 3")
    make_incident(reporter, title="VPN drops", description="Since noon")
    qs = Incident.objects.filter(
        Q(title__icontains="PRINTER") | Q(description__icontains="PRINTER")
    ).values_list("pk", flat=True)
    with transaction.atomic(), connection.cursor() as cursor:
        # A table of two rows is read whole unless the planner may not.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        plan = qs.explain()
        assert list(qs) == [match.pk]
    assert "Bitmap Index Scan on incident_title_trgm" in plan
    assert "Bitmap Index Scan on incident_description_trgm" in plan
