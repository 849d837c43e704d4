"""The escalation policy pages: the list, a policy, the editor (without JavaScript:
numbered rows, add/remove/move buttons that re-render), archive with confirmation; who
may open which page; bad input named on the page; user text escaped; CSRF; no GET
changes anything. Also the schedule page's warning about people who cannot be paged."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import time_machine
from django.test import Client

from tests.escalation.policy_setup import NOW, SETUP, World, make_world
from tocsin.accounts.models import User
from tocsin.catalog.services import service_create
from tocsin.core.models import AuditEntry
from tocsin.escalation.models import EscalationPolicy, EscalationTarget
from tocsin.escalation.policies import service_paging_set

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def world(make_user: Callable[..., User]) -> World:
    return make_world(make_user)


def client_for(world: World, who: str) -> Client:
    client = Client()
    client.force_login(world.people[who])
    return client


def text(response: Any) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def form_data(world: World, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Checkout paging",
        "team": str(world.platform.pk),
        "repeat": "1",
        "description": "",
        "levels": "2",
        "level-0-delay_minutes": "5",
        "level-0-mode": "all",
        "level-0-targets": "1",
        "level-0-t-0": f"schedule:{world.primary.pk}",
        "level-1-delay_minutes": "10",
        "level-1-mode": "round_robin",
        "level-1-targets": "2",
        "level-1-t-0": "user:bob",
        "level-1-t-1": f"team:{world.platform.pk}",
        "action": "save",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def targets_of(policy: EscalationPolicy) -> list[list[str]]:
    out = []
    for level in policy.levels.order_by("position"):
        out.append(
            [
                f"{t.kind}:{t.user.username if t.user else t.schedule_id or t.team_id}"
                for t in EscalationTarget.objects.filter(level=level).order_by("position")
            ]
        )
    return out


# --- who may open what -------------------------------------------------------------------


def test_reporters_get_404_everywhere(world: World) -> None:
    policy = world.policy()
    client = client_for(world, "reporter")
    for url in (
        "/escalation-policies/",
        "/escalation-policies/new/",
        f"/escalation-policies/{policy.pk}/",
        f"/escalation-policies/{policy.pk}/edit/",
        f"/escalation-policies/{policy.pk}/archive/",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post("/escalation-policies/new/", form_data(world)).status_code == 404
    assert client.post(f"/escalation-policies/{policy.pk}/archive/").status_code == 404
    assert 'href="/escalation-policies/"' not in text(client.get("/portal/"))


@pytest.mark.parametrize("who", ["ann", "agent"])
def test_responders_read_but_get_404_on_the_editor(world: World, who: str) -> None:
    policy = world.policy()
    client = client_for(world, who)
    listing = text(client.get("/escalation-policies/"))
    assert "Platform paging" in listing and "New policy" not in listing
    assert ">Escalation</a>" in listing  # the nav link
    page = client.get(f"/escalation-policies/{policy.pk}/")
    assert page.status_code == 200 and "Edit policy" not in text(page)
    assert client.get("/escalation-policies/new/").status_code == 404
    assert client.get(f"/escalation-policies/{policy.pk}/edit/").status_code == 404
    assert (
        client.post(f"/escalation-policies/{policy.pk}/edit/", form_data(world)).status_code == 404
    )
    assert client.post(f"/escalation-policies/{policy.pk}/archive/").status_code == 404
    assert EscalationPolicy.objects.get().archived_at is None


def test_a_manager_edits_only_their_teams_policy(world: World) -> None:
    theirs = world.policy("Theirs", team=world.other)
    client = client_for(world, "manager")
    assert client.get(f"/escalation-policies/{theirs.pk}/edit/").status_code == 404
    assert (
        client.post(
            f"/escalation-policies/{theirs.pk}/edit/", form_data(world, name="Taken over")
        ).status_code
        == 404
    )
    assert EscalationPolicy.objects.get(pk=theirs.pk).name == "Theirs"
    assert "Edit policy" not in text(client.get(f"/escalation-policies/{theirs.pk}/"))


# --- the pages --------------------------------------------------------------------------


def test_list_and_detail_show_levels_who_is_on_call_warnings_and_services(world: World) -> None:
    policy = world.policy()
    service = service_create(name="Checkout", actor=SETUP)
    service_paging_set(service=service, actor=SETUP, policy=policy)
    client = client_for(world, "manager")
    listing = text(client.get("/escalation-policies/"))
    assert f'href="/escalation-policies/{policy.pk}/"' in listing
    assert "1 warning" in listing and "Checkout" in listing
    page = text(client.get(f"/escalation-policies/{policy.pk}/"))
    assert "Level 1" in page and "Level 2" in page and "Round-robin" not in page
    assert "Rotate among the targets" in page
    assert "On call now: Ann Archer" in page
    # user text is escaped everywhere
    assert "Bob &lt;b&gt;Bold&lt;/b&gt;" in page and "<b>Bold</b>" not in page
    assert "cannot be paged" in page and "Edit policy" in page
    assert f'href="/services/{service.pk}/"' in page


def test_manager_creates_a_policy_through_the_form(world: World) -> None:
    client = client_for(world, "manager")
    page = client.get("/escalation-policies/new/")
    assert page.status_code == 200
    body = text(page)
    assert 'name="level-0-t-0"' in body and "On call now: Ann Archer" in body
    response = client.post("/escalation-policies/new/", form_data(world))
    policy = EscalationPolicy.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/escalation-policies/{policy.pk}/"
    assert (policy.name, policy.repeat, policy.team) == ("Checkout paging", 1, world.platform)
    assert targets_of(policy) == [
        [f"schedule:{world.primary.pk}"],
        ["user:bob", f"team:{world.platform.pk}"],
    ]
    assert [lv.mode for lv in policy.levels.order_by("position")] == ["all", "round_robin"]


def test_the_structural_buttons_rerender_without_saving(world: World) -> None:
    client = client_for(world, "manager")
    before = AuditEntry.objects.count()
    added = client.post("/escalation-policies/new/", form_data(world, action="add-level"))
    assert added.status_code == 200
    body = text(added)
    assert 'name="levels" value="3"' in body and 'id="level-2"' in body
    assert 'value="Checkout paging"' in body  # what was typed stays
    target = client.post("/escalation-policies/new/", form_data(world, action="add-target:0"))
    assert 'name="level-0-targets" value="2"' in text(target)
    moved = text(client.post("/escalation-policies/new/", form_data(world, action="down:0")))
    # level 1 is now the round-robin one: bob is its first target
    first = moved.index('name="level-0-t-0"')
    assert 'value="user:bob" selected' in moved[first : first + 20000].split("</select>")[0]
    removed = text(
        client.post("/escalation-policies/new/", form_data(world, action="remove-target:1:0"))
    )
    assert 'name="level-1-targets" value="1"' in removed
    gone = text(client.post("/escalation-policies/new/", form_data(world, action="remove-level:0")))
    assert 'name="levels" value="1"' in gone
    assert (
        client.post("/escalation-policies/new/", form_data(world, action="bogus")).status_code
        == 422
    )
    assert EscalationPolicy.objects.count() == 0 and AuditEntry.objects.count() == before


@pytest.mark.parametrize(
    ("changes", "shown"),
    [
        ({"name": ""}, "Name"),
        ({"level-1-delay_minutes": "0"}, "Level 2: Minutes before the next level"),
        ({"level-1-t-0": ""}, "Level 2: target 1"),
        ({"level-1-t-0": "user:nobody"}, "Level 2: target 1"),
        ({"level-1-t-1": "user:rita"}, "Level 2: target 2"),
        ({"level-1-t-1": "user:bob"}, "Level 2"),
        ({"team": str(99999)}, "Owning team"),
        ({"repeat": "12"}, "Repeat the whole policy"),
    ],
)
def test_bad_input_is_named_on_the_page_and_saves_nothing(
    world: World, changes: dict[str, str], shown: str
) -> None:
    client = client_for(world, "manager")
    response = client.post("/escalation-policies/new/", form_data(world, **changes))
    assert response.status_code == 422
    summary = re.search(r'<div class="error-summary".*?</div>', response.content.decode(), re.S)
    assert summary is not None and shown in summary.group(0)
    assert EscalationPolicy.objects.count() == 0


def test_a_manager_may_not_give_a_policy_to_another_team(world: World) -> None:
    client = client_for(world, "manager")
    response = client.post("/escalation-policies/new/", form_data(world, team=str(world.other.pk)))
    assert response.status_code == 422
    assert EscalationPolicy.objects.count() == 0


def test_edit_shows_the_saved_levels_and_saves_changes(world: World) -> None:
    policy = world.policy()
    client = client_for(world, "manager")
    page = text(client.get(f"/escalation-policies/{policy.pk}/edit/"))
    assert 'value="Platform paging"' in page and 'name="level-1-targets" value="2"' in page
    response = client.post(
        f"/escalation-policies/{policy.pk}/edit/",
        form_data(world, name="Renamed", levels="1", **{"level-0-t-0": "user:ann"}),
    )
    assert response.status_code == 302
    policy.refresh_from_db()
    assert policy.name == "Renamed" and targets_of(policy) == [["user:ann"]]


def test_names_are_escaped(world: World) -> None:
    client = client_for(world, "admin")
    evil = '<script>alert("x")</script>'
    client.post("/escalation-policies/new/", form_data(world, name=evil, team=""))
    policy = EscalationPolicy.objects.get()
    for url in (
        "/escalation-policies/",
        f"/escalation-policies/{policy.pk}/",
        f"/escalation-policies/{policy.pk}/edit/",
    ):
        body = client.get(url).content.decode()
        assert "<script>alert" not in body and "&lt;script&gt;alert" in body, url
    # a schedule's name with markup, in the editor's choices
    assert (
        "Empty &lt;i&gt;rota&lt;/i&gt;" in client.get("/escalation-policies/new/").content.decode()
    )


def test_archive_asks_first_refuses_while_used_then_archives(world: World) -> None:
    policy = world.policy()
    service = service_create(name="Checkout", actor=SETUP)
    service_paging_set(service=service, actor=SETUP, policy=policy)
    client = client_for(world, "manager")
    url = f"/escalation-policies/{policy.pk}/archive/"
    confirm = text(client.get(url))
    assert "Checkout" in confirm and "Archive policy" not in confirm
    assert client.post(url).status_code == 409
    service_paging_set(service=service, actor=SETUP, policy=None)
    assert "Archive policy" in text(client.get(url))
    policy.refresh_from_db()
    assert policy.archived_at is None  # the GET changed nothing
    response = client.post(url)
    assert response.status_code == 302
    policy.refresh_from_db()
    assert policy.archived_at is not None
    assert "Archived" in text(client.get(f"/escalation-policies/{policy.pk}/"))
    assert client.get(f"/escalation-policies/{policy.pk}/edit/").status_code == 409


def test_gets_change_nothing(world: World) -> None:
    policy = world.policy()
    client = client_for(world, "admin")
    before = AuditEntry.objects.count()
    for url in (
        "/escalation-policies/",
        "/escalation-policies/new/",
        f"/escalation-policies/{policy.pk}/",
        f"/escalation-policies/{policy.pk}/edit/",
        f"/escalation-policies/{policy.pk}/archive/",
    ):
        assert client.get(url).status_code == 200, url
    assert AuditEntry.objects.count() == before
    assert EscalationPolicy.objects.get().archived_at is None


def test_every_form_needs_the_csrf_token(world: World) -> None:
    policy = world.policy()
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(world.people["admin"])
    assert strict.post("/escalation-policies/new/", form_data(world)).status_code == 403
    assert (
        strict.post(f"/escalation-policies/{policy.pk}/edit/", form_data(world)).status_code == 403
    )
    assert strict.post(f"/escalation-policies/{policy.pk}/archive/").status_code == 403
    assert EscalationPolicy.objects.count() == 1
    assert EscalationPolicy.objects.get().archived_at is None


def test_signed_out_goes_to_sign_in(world: World) -> None:
    response = Client().get("/escalation-policies/")
    assert response.status_code == 302 and "/login/" in response["Location"]


# --- the schedule page's warning ----------------------------------------------------------


def test_schedule_page_warns_about_people_who_cannot_be_paged(world: World) -> None:
    from tocsin.oncall import services as oncall_services
    from tocsin.oncall import specs

    client = client_for(world, "ann")
    page = text(client.get(f"/schedules/{world.primary.pk}/"))
    assert 'id="paging-problems"' not in page  # Ann has an email address
    layers = specs.parse_layers(
        [
            {
                "name": "Weekly",
                "start": "2026-03-02T09:00",
                "rotation": "weekly",
                "users": ["ann", "bob"],
            }
        ]
    )
    oncall_services.schedule_update(schedule=world.primary, layers=layers, actor=SETUP)
    page = text(client.get(f"/schedules/{world.primary.pk}/"))
    assert 'id="paging-problems"' in page
    assert "Bob &lt;b&gt;Bold&lt;/b&gt;: no working high-urgency contact method" in page


@pytest.mark.parametrize(
    "changes",
    [
        {"action": "up:²"},
        {"action": "remove-target:0:99999999999"},
        {"level-0-t-0": "schedule:²"},
        {"level-0-t-0": "schedule:99999999999999999999999"},
        {"level-0-t-0": "team:-1"},
        {"level-0-t-0": "robot:1"},
        {"levels": "999999999999999999"},
        {"level-0-targets": "x"},
        {"level-0-delay_minutes": "1e400"},
    ],
)
def test_odd_form_values_never_make_a_500(world: World, changes: dict[str, str]) -> None:
    response = client_for(world, "admin").post(
        "/escalation-policies/new/", form_data(world, **changes)
    )
    assert response.status_code in (200, 302, 422), response.status_code
