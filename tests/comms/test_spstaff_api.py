"""The status page's staff API (/api/v1/status/...): who may do what, bad input, the
public revision bumps on every public change and not on internal-only ones, and each
public update is announced to the public side (`public_update` event)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import ApiClient
from tocsin.accounts.models import Role, User
from tocsin.catalog.services import service_create
from tocsin.comms import events
from tocsin.comms.models import (
    Component,
    ComponentStatusChange,
    PublicIncident,
    PublicUpdate,
    StatusPage,
)
from tocsin.comms.services import status_page
from tocsin.core.actors import Actor

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x03\x00\x08\xfc\x02\xfe\xa7\x9a"
    b"\xa0\xa0\x00\x00\x00\x00IEND\xaeB`\x82"
)


def revision() -> int:
    return status_page().revision if StatusPage.objects.exists() else 1


@pytest.fixture
def heard() -> Iterator[list[dict[str, Any]]]:
    got: list[dict[str, Any]] = []

    def listener(*, event: str, incident: Any, actor: Any, data: dict[str, Any]) -> None:
        if event == "public_update":
            got.append({"incident": incident, **data})

    events.listen(listener)
    yield got
    events._listeners.remove(listener)


@pytest.fixture
def as_admin(admin: User, api: Callable[[User], ApiClient]) -> ApiClient:
    return api(admin)


@pytest.fixture
def as_agent(agent: User, api: Callable[[User], ApiClient]) -> ApiClient:
    return api(agent)


@pytest.fixture
def component(as_admin: ApiClient) -> dict[str, Any]:
    r = as_admin.post("/api/v1/status/components", {"name": "API"})
    assert r.status_code == 201, r.json()
    return dict(r.json())


def test_reporter_and_anonymous_see_nothing(
    reporter: User, api: Callable[[User], ApiClient], component: dict[str, Any], client: Any
) -> None:
    as_reporter = api(reporter)
    for path in (
        "/api/v1/status/components",
        f"/api/v1/status/components/{component['id']}",
        "/api/v1/status/component-groups",
        "/api/v1/status/incidents",
        "/api/v1/status/maintenances",
        "/api/v1/status/page",
    ):
        assert as_reporter.get(path).status_code == 404, path
        assert client.get(path).status_code == 401, path
    r = as_reporter.post(
        "/api/v1/status/incidents", {"title": "Down", "body": "Looking", "publish": True}
    )
    assert r.status_code == 404
    assert not PublicIncident.objects.exists()


def test_agent_publishes_but_does_not_shape_or_brand(
    as_agent: ApiClient, component: dict[str, Any]
) -> None:
    assert as_agent.get("/api/v1/status/components").json()["count"] == 1
    r = as_agent.post("/api/v1/status/components", {"name": "Website"})
    assert r.status_code == 403
    assert "manage the status page" in r.json()["detail"]
    r = as_agent.patch(f"/api/v1/status/components/{component['id']}", {"name": "X"})
    assert r.status_code == 403
    r = as_agent.client.put(
        "/api/v1/status/page",
        {"name": "Ours"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {as_agent.token}"},
    )
    assert r.status_code == 403
    assert status_page().name == "Service status"
    r = as_agent.post(
        f"/api/v1/status/components/{component['id']}/status",
        {"status": "partial_outage", "reason": "packet loss"},
    )
    assert r.status_code == 200, r.json()
    assert r.json()["status"] == "partial_outage"
    change = ComponentStatusChange.objects.filter(component_id=component["id"]).last()
    assert change is not None
    assert (change.status, change.by, change.reason) == (
        "partial_outage",
        as_agent.user,
        "packet loss",
    )


def test_manager_shapes_components(make_user: Callable[..., User], api: Any) -> None:
    as_manager = api(make_user(Role.MANAGER))
    g = as_manager.post("/api/v1/status/component-groups", {"name": "Core"}).json()
    service = service_create(name="Payments", actor=Actor.system("t"))
    r = as_manager.post(
        "/api/v1/status/components",
        {"name": "Checkout", "group": g["id"], "services": [service.pk], "rule": "derived"},
    )
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["group"] == {"id": g["id"], "name": "Core"}
    assert body["services"] == [{"id": service.pk, "name": "Payments"}]
    assert body["derive_map"] == {
        "1": "major_outage",
        "2": "partial_outage",
        "3": "degraded_performance",
        "4": "operational",
    }
    r = as_manager.post(
        f"/api/v1/status/components/{body['id']}/status", {"status": "major_outage"}
    )
    assert r.status_code == 422
    assert "rule to manual" in r.json()["detail"][0]["msg"]


def test_bad_input_names_the_field_and_changes_nothing(
    as_admin: ApiClient, component: dict[str, Any]
) -> None:
    before = revision()
    r = as_admin.post(f"/api/v1/status/components/{component['id']}/status", {"status": "on_fire"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "status"]
    r = as_admin.post("/api/v1/status/components", {"name": "Y", "rule": "sometimes"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "rule"]
    r = as_admin.post("/api/v1/status/components", {"name": "Z", "derive_map": {"7": "x"}})
    assert r.status_code == 422
    r = as_admin.post("/api/v1/status/components", {"name": "api"})
    assert r.status_code == 422  # the same name, another case
    r = as_admin.post(
        "/api/v1/status/incidents",
        {"title": "Down", "body": "x", "components": [{"id": 9999, "status": "major_outage"}]},
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "components"]
    r = as_admin.post(
        "/api/v1/status/incidents",
        {"title": "Down", "body": "x", "impact": "apocalyptic"},
    )
    assert r.status_code == 422
    assert Component.objects.count() == 1
    assert not PublicIncident.objects.exists()
    assert revision() == before


def _put(client: ApiClient, path: str, body: Any, content_type: str = "application/json") -> Any:
    return client.client.put(
        path,
        body,
        content_type=content_type,
        headers={"Authorization": f"Bearer {client.token}"},
    )


def test_branding_checks_contrast_and_logo(as_admin: ApiClient) -> None:
    r = _put(as_admin, "/api/v1/status/page", {"brand_colour": "#ffcc00"})
    assert r.status_code == 422
    detail = r.json()["detail"][0]
    assert detail["loc"] == ["body", "brand_colour"]
    assert "contrast" in detail["msg"] and "4.5:1" in detail["msg"]
    r = _put(as_admin, "/api/v1/status/page", {"brand_colour": "blue"})
    assert r.status_code == 422
    r = _put(as_admin, "/api/v1/status/page", {"time_zone": "Mars/Olympus"})
    assert r.status_code == 422
    assert status_page().brand_colour == "#1f4e8c"
    before = revision()
    r = _put(
        as_admin,
        "/api/v1/status/page",
        {"name": "Acme status", "brand_colour": "#0B5394", "time_zone": "Europe/Paris"},
    )
    assert r.status_code == 200, r.json()
    assert r.json()["brand_colour"] == "#0b5394"
    assert revision() == before + 1
    r = _put(as_admin, "/api/v1/status/page/logo", b"<svg onload=alert(1)>", "image/svg+xml")
    assert r.status_code == 422
    assert "PNG, JPEG, GIF or WebP" in r.json()["detail"][0]["msg"]
    r = _put(
        as_admin, "/api/v1/status/page/logo", b"\x89PNG\r\n\x1a\n" + b"0" * 600_000, "image/png"
    )
    assert r.status_code in (413, 422)
    assert not status_page().logo
    r = _put(as_admin, "/api/v1/status/page/logo", PNG, "image/png")
    assert r.status_code == 200
    assert r.json()["logo"] is True


def test_public_incident_lifecycle(
    as_agent: ApiClient,
    component: dict[str, Any],
    make_incident: Callable[..., Any],
    reporter: User,
    heard: list[dict[str, Any]],
) -> None:
    internal = make_incident(reporter, title="DB primary down: secret host db-7")
    start = revision()
    r = as_agent.post(
        "/api/v1/status/incidents",
        {
            "title": "Checkout errors",
            "body": "We are looking into failed payments.",
            "impact": "major",
            "components": [{"id": component["id"], "status": "major_outage"}],
            "incidents": [internal.ref],
        },
    )
    assert r.status_code == 201, r.json()
    pi = r.json()
    assert pi["published"] is False
    assert pi["incidents"] == [
        {"id": internal.number, "number": internal.ref, "title": internal.title}
    ]
    # a draft: nothing public changed, no component status, no event
    assert revision() == start
    assert Component.objects.get(pk=component["id"]).status == "operational"
    assert heard == []
    r = as_agent.post(
        f"/api/v1/status/incidents/{pi['id']}/updates", {"status": "identified", "body": "x"}
    )
    assert r.status_code == 409 and "publish" in r.json()["detail"]

    r = as_agent.post(f"/api/v1/status/incidents/{pi['id']}/publish")
    assert r.status_code == 200
    assert r.json()["published"] is True
    assert revision() == start + 1
    assert Component.objects.get(pk=component["id"]).status == "major_outage"
    first = PublicUpdate.objects.get(public_incident_id=pi["id"])
    assert first.affected_components == [
        {
            "code": component["id"],
            "name": "API",
            "old_status": "operational",
            "new_status": "major_outage",
        }
    ]
    assert heard == [{"incident": None, "update_id": first.pk, "public_incident_id": pi["id"]}]
    r = as_agent.post(f"/api/v1/status/incidents/{pi['id']}/publish")
    assert r.status_code == 409

    r = as_agent.post(
        f"/api/v1/status/incidents/{pi['id']}/updates",
        {
            "status": "monitoring",
            "body": "A fix is out.",
            "components": [{"id": component["id"], "status": "degraded_performance"}],
        },
    )
    assert r.status_code == 201, r.json()
    assert revision() == start + 2
    assert len(heard) == 2

    # internal-only: linking and unlinking does not bump the public revision
    other = make_incident(reporter, title="Second internal")
    r = as_agent.post(f"/api/v1/status/incidents/{pi['id']}/links", {"incident": f"{other.number}"})
    assert r.status_code == 200
    assert {i["number"] for i in r.json()["incidents"]} == {internal.ref, other.ref}
    r = as_agent.post(f"/api/v1/status/incidents/{pi['id']}/links", {"incident": "INC-999"})
    assert r.status_code == 422
    r = as_agent.client.delete(
        f"/api/v1/status/incidents/{pi['id']}/links/{other.ref}",
        headers={"Authorization": f"Bearer {as_agent.token}"},
    )
    assert r.status_code == 200
    assert revision() == start + 2
    assert other.timeline.filter(text__contains="Checkout errors").count() == 2

    r = as_agent.post(
        f"/api/v1/status/incidents/{pi['id']}/updates",
        {"status": "resolved", "body": "All good."},
    )
    assert r.status_code == 201
    assert r.json()["status"] == "resolved" and r.json()["resolved_at"]
    # resolving returns the hand-set components to operational
    assert Component.objects.get(pk=component["id"]).status == "operational"
    assert revision() == start + 3
    r = as_agent.post(
        f"/api/v1/status/incidents/{pi['id']}/updates", {"status": "monitoring", "body": "?"}
    )
    assert r.status_code == 409
    assert "resolved" in r.json()["detail"]
    assert revision() == start + 3
    r = as_agent.client.delete(
        f"/api/v1/status/incidents/{pi['id']}",
        headers={"Authorization": f"Bearer {as_agent.token}"},
    )
    assert r.status_code == 409


def test_published_at_once_and_idempotent(as_agent: ApiClient, heard: list[Any]) -> None:
    body = {"title": "Slow", "body": "Slow pages.", "publish": True}
    r1 = as_agent.post("/api/v1/status/incidents", body, headers={"Idempotency-Key": "k1"})
    r2 = as_agent.post("/api/v1/status/incidents", body, headers={"Idempotency-Key": "k1"})
    assert r1.status_code == r2.status_code == 201
    assert r1.json()["id"] == r2.json()["id"]
    assert PublicIncident.objects.count() == 1
    assert len(heard) == 1


def test_component_crud_and_reorder_bump_revision(as_admin: ApiClient) -> None:
    ids = [as_admin.post("/api/v1/status/components", {"name": n}).json()["id"] for n in "ABC"]
    before = revision()
    r = as_admin.patch(f"/api/v1/status/components/{ids[2]}", {"position": 0, "description": "c"})
    assert r.status_code == 200
    assert revision() == before + 1
    r = as_admin.client.delete(
        f"/api/v1/status/components/{ids[0]}",
        headers={"Authorization": f"Bearer {as_admin.token}"},
    )
    assert r.status_code == 200 and r.json()["archived"] is True
    assert revision() == before + 2
    names = [c["name"] for c in as_admin.get("/api/v1/status/components").json()["items"]]
    assert names == ["C", "B"]
    r = as_admin.patch(f"/api/v1/status/components/{ids[0]}", {"name": "again"})
    assert r.status_code == 409
