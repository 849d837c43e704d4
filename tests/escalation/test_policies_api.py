"""The escalation policy API: create, read (targets with who is on call now, warnings,
services), change, archive; per role; bad input named; idempotent creates."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ApiClient
from tests.escalation.policy_setup import NOW, SETUP, World, make_world
from tocsin.accounts.models import User
from tocsin.catalog.models import Service
from tocsin.catalog.services import service_create
from tocsin.core.models import AuditEntry
from tocsin.escalation.models import EscalationPolicy, EscalationTarget
from tocsin.escalation.policies import service_paging_set

pytestmark = pytest.mark.django_db
URL = "/api/v1/escalation-policies"


@pytest.fixture(autouse=True)
def _clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def world(make_user: Callable[..., User]) -> World:
    return make_world(make_user)


def as_(world: World, who: str) -> ApiClient:
    return ApiClient(world.people[who])


def body(world: World, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Checkout paging",
        "repeat": 2,
        "team": world.platform.pk,
        "levels": [
            {"delay_minutes": 5, "targets": [{"type": "schedule", "id": world.primary.pk}]},
            {
                "delay_minutes": 15,
                "mode": "round_robin",
                "targets": [{"type": "user", "id": "bob"}, {"type": "user", "id": "ann"}],
            },
            {"delay_minutes": 30, "targets": [{"type": "team", "id": world.platform.pk}]},
        ],
    }
    data.update(changes)
    return data


def locs(response: Any) -> list[str]:
    return [".".join(str(p) for p in e["loc"]) for e in response.json()["detail"]]


def test_admin_creates_and_reads_a_policy_with_who_is_on_call_and_warnings(world: World) -> None:
    client = as_(world, "admin")
    response = client.post(URL, body(world))
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["name"], created["repeat"], created["team"]["name"]) == (
        "Checkout paging",
        2,
        "Platform",
    )
    got = client.get(f"{URL}/{created['id']}").json()
    assert got == created
    levels = got["levels"]
    assert [(lv["position"], lv["delay_minutes"], lv["mode"]) for lv in levels] == [
        (1, 5, "all"),
        (2, 15, "round_robin"),
        (3, 30, "all"),
    ]
    schedule = levels[0]["targets"][0]
    assert schedule["type"] == "schedule" and schedule["name"] == "Platform primary"
    assert schedule["oncall"] == [{"username": "ann", "name": "Ann Archer"}]
    assert schedule["gap"] is False
    assert [(t["type"], t["id"], t["name"]) for t in levels[1]["targets"]] == [
        ("user", "bob", "Bob <b>Bold</b>"),
        ("user", "ann", "Ann Archer"),
    ]
    team = levels[2]["targets"][0]
    assert team["id"] == world.platform.pk and team["oncall"][0]["username"] == "ann"
    # Bob has no contact method: he cannot be paged; Ann can (an email address)
    assert [(w["kind"], w["user"]) for w in got["warnings"]] == [("person", "bob")]
    assert "cannot be paged" in got["warnings"][0]["message"]
    assert got["services"] == [] and got["archived"] is False


def test_a_gap_and_a_deactivated_person_are_warnings(world: World) -> None:
    client = as_(world, "admin")
    data = body(world, team=None)
    data["levels"][0]["targets"].append({"type": "schedule", "id": world.empty.pk})
    created = client.post(URL, data).json()
    target = created["levels"][0]["targets"][1]
    assert (target["gap"], target["oncall"]) == (True, [])
    messages = [w["message"] for w in created["warnings"]]
    assert "Schedule Empty <i>rota</i> has nobody on call right now" in messages
    User.objects.filter(username="bob").update(is_active=False)
    again = client.get(f"{URL}/{created['id']}").json()
    assert again["levels"][1]["targets"][0]["inactive"] is True
    assert "Bob <b>Bold</b> is deactivated" in [w["message"] for w in again["warnings"]]


def test_list_pages_and_hides_archived_unless_asked(world: World) -> None:
    for name in ("A", "B", "C"):
        world.policy(name)
    world.policy("Old")
    client = as_(world, "admin")
    old = EscalationPolicy.objects.get(name="Old")
    assert (
        client.client.delete(
            f"{URL}/{old.pk}", headers={"Authorization": f"Bearer {client.token}"}
        ).status_code
        == 200
    )
    listed = client.get(URL, {"limit": 2, "offset": 1}).json()
    assert listed["count"] == 3 and [p["name"] for p in listed["items"]] == ["B", "C"]
    everything = client.get(URL, {"include_archived": "true"}).json()
    assert [p["name"] for p in everything["items"]] == ["A", "B", "C", "Old"]
    assert client.get(URL, {"limit": 0}).status_code == 422


def test_idempotency_key_creates_once(world: World) -> None:
    client = as_(world, "admin")
    first = client.post(URL, body(world), headers={"Idempotency-Key": "k1"})
    again = client.post(URL, body(world), headers={"Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert EscalationPolicy.objects.count() == 1
    other = client.post(URL, body(world, name="Else"), headers={"Idempotency-Key": "k1"})
    assert other.status_code == 422 and locs(other) == ["header.Idempotency-Key"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": ""}, "body.payload.name"),
        ({"repeat": 10}, "body.repeat"),
        ({"repeat": "1"}, "body.payload.repeat"),
        ({"levels": []}, "body.levels"),
        ({"team": 999999}, "body.team"),
        ({"colour": "red"}, "body.payload.colour"),
    ],
)
def test_bad_policy_fields_are_named(world: World, change: dict[str, Any], field: str) -> None:
    response = as_(world, "admin").post(URL, body(world, **change))
    assert response.status_code == 422, response.content
    assert locs(response) == [field]
    assert EscalationPolicy.objects.count() == 0


@pytest.mark.parametrize(
    ("level", "field"),
    [
        (
            {"delay_minutes": 0, "targets": [{"type": "user", "id": "ann"}]},
            "levels[1].delay_minutes",
        ),
        ({"delay_minutes": 5, "targets": []}, "levels[1].targets"),
        ({"targets": [{"type": "user", "id": "nobody"}]}, "levels[1].targets[0].id"),
        ({"targets": [{"type": "user", "id": "rita"}]}, "levels[1].targets[0].id"),
        ({"targets": [{"type": "schedule", "id": 999999}]}, "levels[1].targets[0].id"),
        ({"targets": [{"type": "schedule", "id": "3"}]}, "levels[1].targets[0].id"),
        (
            {"targets": [{"type": "user", "id": "ann"}, {"type": "user", "id": "ann"}]},
            "levels[1].targets[1]",
        ),
    ],
)
def test_bad_levels_are_named(world: World, level: dict[str, Any], field: str) -> None:
    data = body(world)
    data["levels"][1] = level
    response = as_(world, "admin").post(URL, data)
    assert response.status_code == 422, response.content
    assert locs(response) == [f"body.{field}"]
    assert EscalationPolicy.objects.count() == 0


def test_bad_target_type_is_named_by_the_schema(world: World) -> None:
    data = body(world)
    data["levels"][0]["targets"][0]["type"] = "robot"
    response = as_(world, "admin").post(URL, data)
    assert response.status_code == 422
    assert locs(response)[0].startswith("body.payload.levels.0.targets.0.type")


def test_duplicate_name_is_refused(world: World) -> None:
    world.policy("Checkout paging")
    response = as_(world, "admin").post(URL, body(world, name="checkout  PAGING"))
    assert response.status_code == 422 and locs(response) == ["body.name"]


def test_reporter_finds_nothing(world: World) -> None:
    policy = world.policy()
    client = as_(world, "reporter")
    auth = {"Authorization": f"Bearer {client.token}"}
    assert client.get(URL).status_code == 404
    assert client.get(f"{URL}/{policy.pk}").status_code == 404
    assert client.post(URL, body(world)).status_code == 404
    assert client.patch(f"{URL}/{policy.pk}", {"repeat": 0}).status_code == 404
    assert client.client.delete(f"{URL}/{policy.pk}", headers=auth).status_code == 404
    policy.refresh_from_db()
    assert policy.repeat == 1 and policy.archived_at is None


@pytest.mark.parametrize("who", ["ann", "agent"])
def test_responders_and_agents_read_but_do_not_write(world: World, who: str) -> None:
    policy = world.policy()
    client = as_(world, who)
    auth = {"Authorization": f"Bearer {client.token}"}
    assert client.get(URL).json()["count"] == 1
    assert client.get(f"{URL}/{policy.pk}").status_code == 200
    assert client.post(URL, body(world)).status_code == 403
    assert client.patch(f"{URL}/{policy.pk}", {"repeat": 0}).status_code == 403
    assert client.client.delete(f"{URL}/{policy.pk}", headers=auth).status_code == 403
    assert EscalationPolicy.objects.count() == 1
    assert EscalationPolicy.objects.get().repeat == 1


def test_a_manager_creates_for_their_own_team_only(world: World) -> None:
    client = as_(world, "manager")
    assert client.post(URL, body(world)).status_code == 201
    other = client.post(URL, body(world, name="Other", team=world.other.pk))
    assert other.status_code == 422 and locs(other) == ["body.team"]
    teamless = client.post(URL, body(world, name="Nobody's", team=None))
    assert teamless.status_code == 422 and locs(teamless) == ["body.team"]
    assert EscalationPolicy.objects.count() == 1


def test_a_manager_edits_their_teams_policy_only(world: World) -> None:
    mine = world.policy("Mine")
    theirs = world.policy("Theirs", team=world.other)
    client = as_(world, "manager")
    changed = client.patch(
        f"{URL}/{mine.pk}",
        {
            "name": "Mine, renamed",
            "repeat": 0,
            "levels": [{"delay_minutes": 3, "targets": [{"type": "user", "id": "ann"}]}],
        },
    )
    assert changed.status_code == 200, changed.content
    got = changed.json()
    assert (got["name"], got["repeat"]) == ("Mine, renamed", 0)
    assert [[t["id"] for t in lv["targets"]] for lv in got["levels"]] == [["ann"]]
    assert EscalationTarget.objects.filter(level__policy=mine).count() == 1
    assert client.patch(f"{URL}/{theirs.pk}", {"repeat": 0}).status_code == 403
    # nor may they hand their policy to a team they do not manage
    moved = client.patch(f"{URL}/{mine.pk}", {"team": world.other.pk})
    assert moved.status_code == 422 and locs(moved) == ["body.team"]
    assert EscalationPolicy.objects.get(pk=mine.pk).team == world.platform
    # the other team's manager and an administrator may
    assert as_(world, "other_manager").patch(f"{URL}/{theirs.pk}", {"repeat": 3}).status_code == 200
    assert as_(world, "admin").patch(f"{URL}/{mine.pk}", {"team": None}).status_code == 200


def test_patch_refuses_bad_fields_and_changes_nothing(world: World) -> None:
    policy = world.policy()
    client = as_(world, "admin")
    before = AuditEntry.objects.count()
    bad = client.patch(
        f"{URL}/{policy.pk}",
        {"repeat": 0, "levels": [{"targets": [{"type": "team", "id": 999999}]}]},
    )
    assert bad.status_code == 422 and locs(bad) == ["body.levels[0].targets[0].id"]
    assert client.patch(f"{URL}/{policy.pk}", {"name": None}).status_code == 422
    assert client.patch(f"{URL}/{policy.pk}", {"levels": None}).status_code == 422
    policy.refresh_from_db()
    assert policy.repeat == 1 and policy.levels.count() == 2
    assert AuditEntry.objects.count() == before
    assert client.patch(f"{URL}/999999", {"repeat": 0}).status_code == 404


def test_archive_refuses_while_a_service_uses_it_then_archives(world: World) -> None:
    policy = world.policy()
    service = service_create(name="Checkout", actor=SETUP)
    service_paging_set(service=service, actor=SETUP, policy=policy)
    client = as_(world, "manager")
    auth = {"Authorization": f"Bearer {client.token}"}
    shown = client.get(f"{URL}/{policy.pk}").json()
    assert shown["services"] == [{"id": service.pk, "name": "Checkout"}]
    refused = client.client.delete(f"{URL}/{policy.pk}", headers=auth)
    assert refused.status_code == 409 and "Checkout" in refused.json()["detail"]
    service_paging_set(service=service, actor=SETUP, policy=None)
    archived = client.client.delete(f"{URL}/{policy.pk}", headers=auth)
    assert archived.status_code == 200 and archived.json()["archived"] is True
    assert client.patch(f"{URL}/{policy.pk}", {"repeat": 0}).status_code == 409
    # its name is free again
    assert as_(world, "admin").post(URL, body(world, name=policy.name)).status_code == 201


def test_reads_change_nothing(world: World) -> None:
    policy = world.policy()
    client = as_(world, "admin")
    before = (AuditEntry.objects.count(), EscalationPolicy.objects.get().updated_at)
    client.get(URL)
    client.get(f"{URL}/{policy.pk}")
    assert (AuditEntry.objects.count(), EscalationPolicy.objects.get().updated_at) == before


def test_the_routes_are_in_the_openapi_schema(world: World) -> None:
    schema = as_(world, "admin").get("/api/v1/openapi.json").json()
    assert {"post", "get"} <= set(schema["paths"]["/api/v1/escalation-policies"])
    assert {"get", "patch", "delete"} <= set(
        schema["paths"]["/api/v1/escalation-policies/{policy_id}"]
    )


# --- bad input never makes a 500 --------------------------------------------------------

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from(["user", "schedule", "team", "all", "round_robin", "ann", "\x00", "1"])
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["type", "id", "delay_minutes", "mode", "targets", "x"]),
            inner,
            max_size=4,
        )
    ),
    max_leaves=8,
)
FIELDS = st.sampled_from(
    ["name", "repeat", "team", "levels", "description", "escalation_policy",
     "high_urgency_priorities"]
) | st.text(max_size=6)  # fmt: skip
BODIES = st.dictionaries(FIELDS, VALUES, max_size=5)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(route=st.sampled_from(["post", "patch", "service"]), data=BODIES | VALUES)
def test_random_json_never_makes_a_500(world: World, route: str, data: Any) -> None:
    client = as_(world, "admin")
    if route == "post":
        response = client.post(URL, data)
    elif route == "patch":
        policy = EscalationPolicy.objects.first() or world.policy()
        response = client.patch(f"{URL}/{policy.pk}", data)
    else:
        service = Service.objects.first() or service_create(name="Fuzz", actor=SETUP)
        response = client.patch(f"/api/v1/services/{service.pk}", data)
    assert response.status_code < 500, response.content
