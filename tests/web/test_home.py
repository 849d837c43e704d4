"""The staff home page (/home/): what needs me now, per role, escaped, bounded."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tests.web.helpers import text_of
from tocsin.accounts.models import Role, User
from tocsin.accounts.services import contact_method_add
from tocsin.catalog.models import Service
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.escalation.engine import EscalationModule
from tocsin.escalation.models import Escalation
from tocsin.escalation.policies import policy_create, service_paging_set
from tocsin.incidents import services as incident_services
from tocsin.incidents.models import Incident
from tocsin.oncall import services as oncall_services
from tocsin.oncall import specs

SETUP = Actor.system("test setup")
pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", [Role.AGENT, Role.RESPONDER, Role.MANAGER, Role.ADMIN])
def test_staff_see_their_home(
    role: str, make_user: Callable[..., User], browse: Callable[[User | None], Client]
) -> None:
    user = make_user(role)
    response = browse(user).get("/home/")
    assert response.status_code == 200
    text = text_of(response)
    for heading in ("Pages waiting for you", "Assigned to you", "Major incidents"):
        assert heading in text
    assert "Your next shift" in text
    assert 'href="/home/" aria-current="page"' in response.content.decode()


def test_reporters_get_the_desk_refusal_and_anonymous_sign_in(
    make_user: Callable[..., User], browse: Callable[[User | None], Client]
) -> None:
    rita = make_user(Role.REPORTER, username="rita")
    response = browse(rita).get("/home/")
    assert response.status_code == 403  # as every desk page answers a reporter
    assert "Report a problem" in text_of(response)
    anonymous = browse(None).get("/home/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    assert browse(rita).post("/home/").status_code in (403, 405)


@pytest.fixture
def world(make_user: Callable[..., User], make_incident: Callable[..., Incident]) -> dict[str, Any]:
    pat = make_user(Role.RESPONDER, username="pat", name="Pat Paged", time_zone="UTC")
    other = make_user(Role.RESPONDER, username="olly", name="Olly Other")
    for person in (pat, other):
        contact_method_add(user=person, kind="email", address=person.email, actor=SETUP)
    policy = policy_create(
        actor=SETUP,
        name="Checkout",
        levels=[{"delay_minutes": 5, "targets": [{"type": "user", "id": "pat"}]}],
    )
    service = Service.objects.create(name="Checkout")
    service_paging_set(service=service, actor=SETUP, policy=policy)
    paged = make_incident(
        other, title="<img src=x onerror=alert(1)> checkout", service=service, impact=1, urgency=1
    )
    EscalationModule().tick(Escalation.objects.get(incident=paged).next_at)
    mine = make_incident(other, title="Assigned to Pat", impact=3, urgency=3)
    incident_services.incident_assign(
        incident=mine, actor=Actor.for_user(other), assignee=pat, team=None
    )
    schedule = oncall_services.schedule_create(
        name="Checkout primary",
        time_zone="UTC",
        layers=specs.parse_layers(
            [
                {
                    "name": "Weekly",
                    "start": (now() - dt.timedelta(days=3)).strftime("%Y-%m-%dT09:00"),
                    "rotation": "weekly",
                    "users": ["olly", "pat"],
                }
            ]
        ),
        actor=SETUP,
    )
    return {"pat": pat, "other": other, "paged": paged, "mine": mine, "schedule": schedule}


def test_what_needs_me_now(world: dict[str, Any], browse: Callable[[User | None], Client]) -> None:
    pat, paged, mine = world["pat"], world["paged"], world["mine"]
    client = browse(pat)
    response = client.get("/home/")
    html = response.content.decode()
    text = text_of(response)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    waiting = html.split('id="h-home-pages"')[1].split("</section>")[0]
    assert paged.ref in waiting and "Acknowledge" in waiting
    assert f'action="/incidents/{paged.ref}/act/acknowledge/"' in waiting
    assigned = html.split('id="h-home-mine"')[1].split("</section>")[0]
    assert mine.ref in assigned and paged.ref not in assigned
    major = html.split('id="h-home-major"')[1].split("</section>")[0]
    assert paged.ref in major and mine.ref not in major
    assert "Checkout primary" in text  # my next shift and who is on call now
    oncall = html.split('id="h-home-oncall"')[1].split("</section>")[0]
    assert "Olly Other" in oncall
    # someone else acknowledges: nothing waits for pat any more
    incident_services.incident_acknowledge(incident=paged, actor=Actor.for_user(world["other"]))
    waiting = client.get("/home/").content.decode().split('id="h-home-pages"')[1]
    assert paged.ref not in waiting.split("</section>")[0]


def test_another_person_does_not_see_my_pages(
    world: dict[str, Any], browse: Callable[[User | None], Client]
) -> None:
    html = browse(world["other"]).get("/home/").content.decode()
    waiting = html.split('id="h-home-pages"')[1].split("</section>")[0]
    assert world["paged"].ref not in waiting
    assert "No page is waiting for you" in waiting


def test_the_page_costs_a_bounded_number_of_queries(
    world: dict[str, Any],
    make_incident: Callable[..., Incident],
    browse: Callable[[User | None], Client],
    django_assert_max_num_queries: Any,
) -> None:
    pat = world["pat"]
    client = browse(pat)
    client.get("/home/")
    for n in range(25):
        incident = make_incident(world["other"], title=f"Major {n}", impact=1, urgency=1)
        incident_services.incident_assign(
            incident=incident, actor=Actor.for_user(world["other"]), assignee=pat, team=None
        )
    with django_assert_max_num_queries(40):
        response = client.get("/home/")
    assert response.status_code == 200
    text = text_of(response)
    assert "All 26 in the queue" in text
