"""A service takes an escalation policy: `PATCH /api/v1/services/{id}` with
`escalation_policy` (and `high_urgency_priorities`), shown by GET; the service page's
paging card and its form. Managers and administrators change it; everyone else may not."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import time_machine
from django.test import Client

from tests.conftest import ApiClient
from tests.escalation.policy_setup import NOW, SETUP, World, make_world
from tocsin.accounts.models import User
from tocsin.catalog.models import Service
from tocsin.catalog.services import service_create
from tocsin.core.models import AuditEntry
from tocsin.escalation.models import ServicePaging
from tocsin.escalation.policies import policy_archive, service_paging_set

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def world(make_user: Callable[..., User]) -> World:
    return make_world(make_user)


@pytest.fixture
def service(db: Any) -> Service:
    return service_create(name="Checkout", actor=SETUP)


def url(service: Service) -> str:
    return f"/api/v1/services/{service.pk}"


def paging(service: Service) -> tuple[int | None, list[int]]:
    row = ServicePaging.objects.filter(service=service).first()
    return (row.policy_id, row.high_urgency_priorities) if row else (None, [1, 2])


def locs(response: Any) -> list[str]:
    return [".".join(str(p) for p in e["loc"]) for e in response.json()["detail"]]


@pytest.mark.parametrize("who", ["manager", "admin"])
def test_managers_and_admins_attach_and_detach_a_policy(
    world: World, service: Service, who: str
) -> None:
    policy = world.policy()
    client = ApiClient(world.people[who])
    shown = client.get(url(service)).json()
    assert shown["escalation_policy"] is None and shown["high_urgency_priorities"] == [1, 2]
    response = client.patch(
        url(service), {"escalation_policy": policy.pk, "high_urgency_priorities": [1, 2, 3]}
    )
    assert response.status_code == 200, response.content
    assert response.json()["escalation_policy"] == {"id": policy.pk, "name": "Platform paging"}
    assert response.json()["high_urgency_priorities"] == [1, 2, 3]
    assert paging(service) == (policy.pk, [1, 2, 3])
    assert client.get(url(service)).json()["escalation_policy"]["id"] == policy.pk
    listed = client.get("/api/v1/services").json()["items"]
    assert listed[0]["escalation_policy"]["name"] == "Platform paging"
    # the policy lists the service
    got = client.get(f"/api/v1/escalation-policies/{policy.pk}").json()
    assert got["services"] == [{"id": service.pk, "name": "Checkout"}]
    detached = client.patch(url(service), {"escalation_policy": None})
    assert detached.status_code == 200 and detached.json()["escalation_policy"] is None
    assert paging(service) == (None, [1, 2, 3])
    # one audit entry per field changed (policy, priorities), then the detach
    assert AuditEntry.objects.filter(action="service.paging").count() == 3


@pytest.mark.parametrize("who", ["ann", "agent", "reporter"])
def test_others_may_not_change_it(world: World, service: Service, who: str) -> None:
    policy = world.policy()
    response = ApiClient(world.people[who]).patch(url(service), {"escalation_policy": policy.pk})
    assert response.status_code == 403
    assert paging(service) == (None, [1, 2])


def test_a_reporter_reads_the_service_without_its_policy(world: World, service: Service) -> None:
    policy = world.policy()
    service_paging_set(service=service, actor=SETUP, policy=policy)
    got = ApiClient(world.people["reporter"]).get(url(service)).json()
    assert got["name"] == "Checkout" and got["escalation_policy"] is None
    staff = ApiClient(world.people["ann"]).get(url(service)).json()
    assert staff["escalation_policy"]["id"] == policy.pk


@pytest.mark.parametrize(
    ("sent", "field"),
    [
        ({"escalation_policy": 999999}, "body.escalation_policy"),
        ({"escalation_policy": "1"}, "body.payload.escalation_policy"),
        ({"escalation_policy": True}, "body.payload.escalation_policy"),
        ({"high_urgency_priorities": [5]}, "body.payload.high_urgency_priorities.0"),
        ({"high_urgency_priorities": None}, "body.payload.high_urgency_priorities"),
        ({"escalation_policy": 1, "colour": "red"}, "body.payload.colour"),
    ],
)
def test_bad_values_are_named_and_change_nothing(
    world: World, service: Service, sent: dict[str, Any], field: str
) -> None:
    world.policy()
    response = ApiClient(world.people["admin"]).patch(url(service), sent)
    assert response.status_code == 422, response.content
    assert locs(response)[0].startswith(field)
    assert paging(service) == (None, [1, 2])


def test_an_archived_policy_cannot_be_chosen(world: World, service: Service) -> None:
    policy = world.policy()
    policy_archive(policy=policy, actor=SETUP)
    response = ApiClient(world.people["admin"]).patch(
        url(service), {"escalation_policy": policy.pk}
    )
    assert response.status_code == 422 and locs(response) == ["body.escalation_policy"]
    assert paging(service) == (None, [1, 2])


def test_alert_settings_and_the_policy_change_together(world: World, service: Service) -> None:
    policy = world.policy()
    client = ApiClient(world.people["manager"])
    response = client.patch(
        url(service), {"ack_timeout_minutes": 30, "escalation_policy": policy.pk}
    )
    assert response.status_code == 200
    assert response.json()["ack_timeout_minutes"] == 30
    # one bad field undoes the other
    bad = client.patch(url(service), {"ack_timeout_minutes": 45, "escalation_policy": 999999})
    assert bad.status_code == 422
    service.refresh_from_db()
    assert service.ack_timeout_minutes == 30 and paging(service)[0] == policy.pk


# --- the service page -------------------------------------------------------------------


def page_of(client: Client, service: Service) -> str:
    return re.sub(r"\s+", " ", client.get(f"/services/{service.pk}/").content.decode())


def login(world: World, who: str, **kw: Any) -> Client:
    client = Client(**kw)
    client.force_login(world.people[who])
    return client


def test_the_service_page_shows_the_policy_and_managers_change_it(
    world: World, service: Service
) -> None:
    policy = world.policy()
    manager = login(world, "manager")
    page = page_of(manager, service)
    assert 'id="h-paging"' in page and "page nobody" in page
    assert f'action="/services/{service.pk}/escalation-policy/"' in page
    response = manager.post(
        f"/services/{service.pk}/escalation-policy/", {"escalation_policy": str(policy.pk)}
    )
    assert response.status_code == 302
    assert paging(service)[0] == policy.pk
    page = page_of(manager, service)
    assert f'href="/escalation-policies/{policy.pk}/"' in page
    assert "1 warning on this policy" in page
    bad = manager.post(f"/services/{service.pk}/escalation-policy/", {"escalation_policy": "999"})
    assert bad.status_code == 422 and paging(service)[0] == policy.pk
    none = manager.post(f"/services/{service.pk}/escalation-policy/", {"escalation_policy": ""})
    assert none.status_code == 302 and paging(service)[0] is None


def test_responders_see_the_policy_but_not_the_form(world: World, service: Service) -> None:
    policy = world.policy()
    service_paging_set(service=service, actor=SETUP, policy=policy)
    responder = login(world, "ann")
    page = page_of(responder, service)
    assert "Platform paging" in page and 'escalation-policy/"' not in page
    refused = responder.post(
        f"/services/{service.pk}/escalation-policy/", {"escalation_policy": ""}
    )
    assert refused.status_code == 403 and paging(service)[0] == policy.pk
    reporter = login(world, "reporter")
    assert (
        reporter.post(
            f"/services/{service.pk}/escalation-policy/", {"escalation_policy": ""}
        ).status_code
        == 404
    )
    assert paging(service)[0] == policy.pk
    assert responder.get(f"/services/{service.pk}/escalation-policy/").status_code == 405


def test_the_form_needs_the_csrf_token(world: World, service: Service) -> None:
    policy = world.policy()
    strict = login(world, "admin", enforce_csrf_checks=True)
    response = strict.post(
        f"/services/{service.pk}/escalation-policy/", {"escalation_policy": str(policy.pk)}
    )
    assert response.status_code == 403 and paging(service)[0] is None
