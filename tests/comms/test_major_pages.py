"""Major incidents on the web: the incident page's section (who sees it, declare, stand
down, checklist ticks as POSTs on the timeline, CSRF, GET changes nothing), the banner
on every staff page (absent for reporters, anonymous visitors and the public status
page), and the settings page for administrators."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client, RequestFactory

from tests.comms.major_helpers import World, make_world, signed_in
from tocsin.accounts.models import Role
from tocsin.comms import major
from tocsin.comms.major_views import major_banner
from tocsin.comms.models import MajorChecklistItem, ServiceMajorRule
from tocsin.core.actors import Actor
from tocsin.incidents.models import EntryKind, TimelineEntry
from tocsin.incidents.services import major_declare

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(make_user: Any, make_incident: Any) -> World:
    return make_world(make_user, make_incident)


def html(reply: Any) -> str:
    return str(reply.content.decode())


def banner(page: str) -> str | None:
    found = re.search(r'<section class="major-banner".*?</section>', page, re.S)
    return re.sub(r"\s+", " ", found.group(0)) if found else None


def messages_in(page: str) -> list[str]:
    return [
        re.sub(r"\s+", " ", m).strip() for m in re.findall(r'class="flash[^"]*">(.*?)</p>', page)
    ]


# --- the section ------------------------------------------------------------------------------


def test_staff_declare_from_the_incident_page_and_tick_the_checklist(world: World) -> None:
    world.configure()
    incident = world.incident(3, title="Checkout <b>slow</b>")
    client = signed_in(world.agent)
    page = html(client.get(f"/incidents/{incident.ref}/"))
    assert 'id="h-major"' in page and "Not a major incident." in page
    assert "Declare major incident" in page
    reply = client.post(
        f"/incidents/{incident.ref}/major/declare/",
        {"reason": "All card payments fail"},
        follow=True,
    )
    assert reply.redirect_chain[-1][0].endswith(f"/incidents/{incident.ref}/#major")
    page = html(reply)
    assert f"{incident.ref} is now a major incident." in messages_in(page)
    assert "Stand down" in page and "1 of 5 done" in page
    assert "Commander: <strong>none yet</strong>" in page
    # tick item 3 (open war room)
    reply = client.post(
        f"/incidents/{incident.ref}/major/checklist/3/", {"done": "yes"}, follow=True
    )
    assert "2 of 5 done" in html(reply)
    item = MajorChecklistItem.objects.get(incident=incident, position=2)
    assert item.done_by == world.agent and item.done_at is not None
    entry = TimelineEntry.objects.filter(incident=incident, kind=EntryKind.MAJOR).last()
    assert entry is not None
    assert entry.text == "Checklist: done — Open the war room (chat channel and video bridge)."
    # untick
    client.post(f"/incidents/{incident.ref}/major/checklist/3/", {"done": "no"})
    item.refresh_from_db()
    assert item.done_at is None and item.done_by is None
    # the banner names it, escaped
    page = html(client.get("/"))
    shown = banner(page)
    assert shown is not None
    assert f"{incident.ref}: Checkout &lt;b&gt;slow&lt;/b&gt;" in shown and "none yet" in shown
    # stand down
    reply = client.post(
        f"/incidents/{incident.ref}/major/stand-down/", {"reason": "ok"}, follow=True
    )
    assert f"{incident.ref} is no longer a major incident." in messages_in(html(reply))
    incident.refresh_from_db()
    assert incident.major_declared_at is None
    assert banner(html(client.get("/"))) is None


def test_bad_checklist_posts_change_nothing(world: World) -> None:
    incident = world.incident(1)
    client = signed_in(world.agent)
    reply = client.post(
        f"/incidents/{incident.ref}/major/checklist/2/", {"done": "maybe"}, follow=True
    )
    assert "Done: Choose yes or no." in messages_in(html(reply))
    reply = client.post(
        f"/incidents/{incident.ref}/major/checklist/9/", {"done": "yes"}, follow=True
    )
    assert f"{incident.ref} has no checklist item 9." in messages_in(html(reply))
    reply = client.post(
        f"/incidents/{incident.ref}/major/declare/", {"reason": "x" * 501}, follow=True
    )
    assert messages_in(html(reply)) == [f"{incident.ref} is already a major incident."]
    # GET changes nothing
    assert client.get(f"/incidents/{incident.ref}/major/checklist/2/").status_code == 405
    assert client.get(f"/incidents/{incident.ref}/major/stand-down/").status_code == 405
    assert MajorChecklistItem.objects.filter(incident=incident, done_at__isnull=False).count() == 1
    other = world.incident(3)
    reply = client.post(
        f"/incidents/{other.ref}/major/declare/", {"reason": "x" * 501}, follow=True
    )
    assert messages_in(html(reply)) == ["Reason: At most 500 characters."]
    other.refresh_from_db()
    assert other.major_declared_at is None


def test_the_forms_need_csrf(world: World) -> None:
    incident = world.incident(3)
    client = signed_in(world.agent, csrf=True)
    assert client.post(f"/incidents/{incident.ref}/major/declare/").status_code == 403
    incident.refresh_from_db()
    assert incident.major_declared_at is None


def test_reporters_and_visitors_see_no_section_and_get_404(world: World) -> None:
    incident = world.incident(1)
    client = signed_in(world.reporter)
    page = html(client.get(f"/incidents/{incident.ref}/"))
    assert 'id="h-major"' not in page
    for action in ("declare", "stand-down", "checklist/2"):
        reply = client.post(f"/incidents/{incident.ref}/major/{action}/", {"done": "yes"})
        assert reply.status_code == 404
    anonymous = Client().post(f"/incidents/{incident.ref}/major/stand-down/")
    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]
    incident.refresh_from_db()
    assert incident.major_declared_at is not None
    assert MajorChecklistItem.objects.filter(incident=incident, done_at__isnull=False).count() == 1


# --- the banner ---------------------------------------------------------------------------------


def test_the_banner_is_on_staff_pages_only(world: World) -> None:
    incident = world.incident(1, title="Payments down")
    world.make_commander(incident, world.ann)
    for person in (world.agent, world.ann, world.admin):
        client = signed_in(person)
        for path in ("/", "/alerts/", f"/incidents/{incident.ref}/"):
            shown = banner(html(client.get(path)))
            assert shown is not None, (person, path)
            assert f'href="/incidents/{incident.ref}/"' in shown
            assert "Payments down" in shown and "commander: Ann Archer" in shown
    # a reporter, even the incident's own, never sees it
    reporter = signed_in(world.reporter)
    for path in ("/portal/", f"/incidents/{incident.ref}/"):
        assert banner(html(reporter.get(path))) is None
    # nor an anonymous visitor
    assert banner(html(Client().get("/login/"))) is None


def test_several_majors_are_counted_and_listed(world: World) -> None:
    for title in ("Payments down", "Search down", "Mail slow"):
        world.incident(1, title=title)
    shown = banner(html(signed_in(world.agent).get("/")))
    assert shown is not None and "3 major incidents open" in shown
    assert shown.index("Payments down") < shown.index("Search down") < shown.index("Mail slow")


def test_the_banner_costs_one_query_when_none_is_open(
    world: World, django_assert_max_num_queries: Any
) -> None:
    request = RequestFactory().get("/")
    request.user = world.agent
    context = major_banner(request)
    with django_assert_max_num_queries(1):
        assert not context["major_incidents"]
        assert not context["major_incidents"]  # cached for the request
    status = RequestFactory().get("/status/")
    status.user = world.agent
    assert major_banner(status) == {"major_incidents": ()}


# --- settings ------------------------------------------------------------------------------


def test_an_administrator_sets_the_major_incident_settings(world: World) -> None:
    client = signed_in(world.admin)
    page = html(client.get("/settings/major-incidents/"))
    assert "Declare the major incident" in page and 'aria-current="page">Major incidents' in page
    reply = client.post(
        "/settings/major-incidents/",
        {
            "policy": str(world.policy.pk),
            "commander_schedule": str(world.rota.pk),
            "commander_minutes": "15",
            "checklist": "Declare\n\n  Call the bridge  \nTell the board",
            "p2_services": [str(world.service.pk)],
        },
        follow=True,
    )
    assert "Major-incident settings saved." in messages_in(html(reply))
    current = major.major_settings()
    assert current.policy == world.policy and current.commander_schedule == world.rota
    assert current.commander_minutes == 15
    assert current.checklist == ["Declare", "Call the bridge", "Tell the board"]
    assert list(ServiceMajorRule.objects.values_list("service_id", flat=True)) == [world.service.pk]
    # a P2 on the service is now major, with the new checklist
    incident = world.incident(2, service=world.service)
    assert incident.major_declared_at is not None
    assert [i.text for i in MajorChecklistItem.objects.filter(incident=incident)] == [
        "Declare",
        "Call the bridge",
        "Tell the board",
    ]


def test_bad_settings_are_refused_naming_the_field(world: World) -> None:
    client = signed_in(world.admin)
    reply = client.post(
        "/settings/major-incidents/",
        {"policy": "", "commander_schedule": "", "commander_minutes": "0", "checklist": " \n "},
    )
    assert reply.status_code == 422
    page = html(reply)
    assert "Correct the 2 fields marked below." in page
    assert major.major_settings().commander_minutes == 10


@pytest.mark.parametrize("role", [Role.AGENT, Role.RESPONDER, Role.MANAGER, Role.REPORTER])
def test_only_administrators_open_the_settings(world: World, make_user: Any, role: str) -> None:
    client = signed_in(make_user(role))
    assert client.get("/settings/major-incidents/").status_code == 403
    assert client.post("/settings/major-incidents/", {"commander_minutes": "5"}).status_code == 403
    assert major.major_settings().commander_minutes == 10
    assert Client().get("/settings/major-incidents/").status_code == 302


def test_the_section_shows_the_commander_and_the_deadline(world: World) -> None:
    incident = world.incident(3)
    major_declare(incident=incident, actor=Actor.for_user(world.agent))
    page = html(signed_in(world.agent).get(f"/incidents/{incident.ref}/"))
    assert "the commander rota is paged if nobody takes the role by" in page
    world.make_commander(incident, world.ann)
    page = html(signed_in(world.agent).get(f"/incidents/{incident.ref}/"))
    assert "Commander: <strong>Ann Archer</strong>" in page
