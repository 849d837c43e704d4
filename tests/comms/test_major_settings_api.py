"""`GET|PUT /api/v1/major-incident-settings` (administrators) and the checklist API:
defaults, a full replace, per role, bad input naming the field with nothing changed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.comms.major_helpers import World, make_world
from tocsin.accounts.models import Role
from tocsin.comms import major
from tocsin.comms.models import ServiceMajorRule
from tocsin.core.actors import Actor
from tocsin.core.audit import AuditEntry
from tocsin.escalation.policies import policy_archive

pytestmark = pytest.mark.django_db
URL = "/api/v1/major-incident-settings"


@pytest.fixture
def world(make_user: Any, make_incident: Any) -> World:
    return make_world(make_user, make_incident)


def put(client: Any, body: Any) -> Any:
    return client.client.put(
        URL, body, content_type="application/json", headers=client._headers(None)
    )


def good_body(world: World, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "policy": world.policy.pk,
        "commander_schedule": world.rota.pk,
        "commander_minutes": 5,
        "checklist": ["Declare", "Open the bridge"],
        "p2_services": [world.service.pk],
    }
    body.update(changes)
    return body


def test_defaults_then_a_full_replace(world: World, api: Any) -> None:
    client = api(world.admin)
    reply = client.get(URL)
    assert reply.status_code == 200
    body = reply.json()
    assert body["policy"] is None and body["commander_schedule"] is None
    assert body["commander_minutes"] == 10 and body["p2_services"] == []
    assert body["checklist"] == major.default_major_checklist()
    reply = put(client, good_body(world))
    assert reply.status_code == 200, reply.content
    body = reply.json()
    assert body["policy"] == {"id": world.policy.pk, "name": "Major incident bridge"}
    assert body["commander_schedule"] == {"id": world.rota.pk, "name": "Incident commanders"}
    assert body["commander_minutes"] == 5
    assert body["checklist"] == ["Declare", "Open the bridge"]
    assert body["p2_services"] == [{"id": world.service.pk, "name": "Payments API"}]
    assert client.get(URL).json() == body
    entry = AuditEntry.objects.filter(action="major_settings.update").get()
    assert entry.after["commander_minutes"] == 5  # type: ignore[index]
    # clearing the rule and the policy
    reply = put(client, good_body(world, policy=None, p2_services=[]))
    assert reply.status_code == 200 and reply.json()["policy"] is None
    assert not ServiceMajorRule.objects.exists()


@pytest.mark.parametrize("role", [Role.AGENT, Role.RESPONDER, Role.MANAGER, Role.REPORTER])
def test_only_administrators(world: World, api: Any, make_user: Any, role: str) -> None:
    client = api(make_user(role))
    assert client.get(URL).status_code == 403
    assert put(client, good_body(world)).status_code == 403
    assert major.major_settings().policy is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"commander_minutes": 0}, "commander_minutes"),
        ({"commander_minutes": 1441}, "commander_minutes"),
        ({"commander_minutes": "10"}, "commander_minutes"),
        ({"checklist": []}, "checklist"),
        ({"checklist": [""]}, "checklist"),
        ({"checklist": ["x" * 201]}, "checklist"),
        ({"checklist": ["a"] * 31}, "checklist"),
        ({"checklist": "Declare"}, "checklist"),
        ({"policy": 99999}, "policy"),
        ({"policy": "1"}, "policy"),
        ({"commander_schedule": 99999}, "commander_schedule"),
        ({"p2_services": [99999]}, "p2_services"),
        ({"p2_services": [0]}, "p2_services"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    world: World, api: Any, changes: dict[str, Any], field: str
) -> None:
    reply = put(api(world.admin), good_body(world, **changes))
    assert reply.status_code == 422, reply.content
    assert field in str(reply.json()["detail"])
    current = major.major_settings()
    assert current.policy is None and current.commander_minutes == 10
    assert not ServiceMajorRule.objects.exists()


def test_an_archived_policy_is_refused(world: World, api: Any) -> None:
    policy_archive(policy=world.policy, actor=Actor.for_user(world.admin))
    reply = put(api(world.admin), good_body(world))
    assert reply.status_code == 422
    assert "archived" in str(reply.json()["detail"])


def test_checklist_ticks_through_the_api(world: World, api: Any) -> None:
    incident = world.incident(1)
    client = api(world.ann)  # a responder
    path = f"/api/v1/incidents/{incident.ref}/major/checklist"
    reply = client.post(f"{path}/4", {"done": True})
    assert reply.status_code == 200, reply.content
    body = reply.json()
    assert body["position"] == 4 and body["done"] is True and body["done_by"] == "ann"
    assert body["text"] == "Send the first stakeholder update"
    assert client.post(f"{path}/4", {"done": False}).json()["done"] is False
    assert client.post(f"{path}/6", {"done": True}).status_code == 404
    assert client.post(f"{path}/0", {"done": True}).status_code == 422
    assert client.post(f"{path}/4", {"done": "yes"}).status_code == 422
    got = client.get(f"/api/v1/incidents/{incident.ref}/major").json()
    assert [i["done"] for i in got["checklist"]] == [True, False, False, False, False]
