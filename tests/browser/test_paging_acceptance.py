"""Issue 10's acceptance flow in Chromium: an administrator builds a two-level escalation
policy on a weekly rotation in the editor and gives it to a service; a PagerDuty alert
pages level 1 (seen at a webhook receiver on loopback); nobody acknowledges, so level 2
is paged; the acknowledge link in that page, opened without a session, acknowledges the
incident with one button and the climb stops."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.notify.test_channels_http import Receiver
from tocsin.accounts.models import Role, User
from tocsin.accounts.services import contact_method_add
from tocsin.catalog.models import IntegrationKind
from tocsin.catalog.services import integration_create, service_create
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.engine.engine import default_modules, run_tick
from tocsin.escalation.models import ClimbState, Escalation, Page
from tocsin.incidents.models import Incident, Status
from tocsin.oncall import services as oncall_services
from tocsin.oncall import specs

from .conftest import Watched

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install '.[dev]')"
)
expect = sync_api.expect
SETUP = Actor.system("test setup")
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _run_engine_until(modules: list[Any], done: Callable[[], bool], seconds: float = 15) -> None:
    """Tick the engine (in this process, on the test database) until `done()` holds."""
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "the engine did not get there in time"
        run_tick(modules)
        time.sleep(0.05)


def _pages_to(receiver: Receiver, username: str) -> list[dict[str, Any]]:
    return [json.loads(s.body) for s in receiver.seen if s.path == f"/pager/{username}"]


def test_a_policy_built_in_the_editor_pages_two_levels_until_the_link_acknowledges(
    make_user: Callable[..., User],
    open_as: Callable[[str], Watched],
    browser: Any,
    live_server: Any,
    receiver: Receiver,
    settings: Any,
    shots: Path,
) -> None:
    settings.TOCSIN_OUTBOUND_ALLOW = ["127.0.0.1/32"]
    settings.BASE_URL = live_server.url
    make_user(Role.ADMIN, username="ada", name="Ada Admin")
    ann = make_user(Role.RESPONDER, username="ann", name="Ann Archer")
    bob = make_user(Role.RESPONDER, username="bob", name="Bob Baker")
    for person in (ann, bob):
        contact_method_add(
            user=person,
            kind="webhook",
            address=receiver.url(f"/pager/{person.username}"),
            actor=SETUP,
        )
    layers = specs.parse_layers(
        [{"name": "Weekly", "start": "2026-03-02T09:00", "rotation": "weekly", "users": ["ann"]}]
    )
    oncall_services.schedule_create(
        name="Checkout weekly", time_zone="Europe/Berlin", layers=layers, actor=SETUP
    )
    service = service_create(name="Checkout", actor=SETUP)
    _, key = integration_create(service=service, kind=IntegrationKind.PAGERDUTY, actor=SETUP)

    # the administrator builds the policy: the weekly rotation, then Bob after 1 minute
    watched = open_as("ada")
    page = watched.page
    page.goto("/escalation-policies/new/")
    page.get_by_label("Name", exact=True).fill("Checkout paging")
    first = page.locator("#level-0")
    first.get_by_label("Minutes before the next level").fill("1")
    first.get_by_label("Target 1 of level 1").select_option(label="Checkout weekly")
    expect(first.locator("[data-now-for]")).to_have_text("On call now: Ann Archer")
    page.get_by_role("button", name="Add a level").click()
    second = page.locator("#level-1")
    second.get_by_label("Target 1 of level 2").select_option(label="Bob Baker (bob)")
    page.get_by_role("button", name="Create policy").click()
    page.wait_for_load_state()
    expect(page.get_by_role("heading", name="Checkout paging")).to_be_visible()
    page.screenshot(path=str(shots / "policy.png"), full_page=True)
    page.goto(f"/services/{service.pk}/")
    page.get_by_label("Escalation policy").select_option(label="Checkout paging")
    page.get_by_role("button", name="Save policy").click()
    page.wait_for_load_state()
    expect(page.locator("#h-paging").locator("..")).to_contain_text("Pages through Checkout paging")

    # an alert: level 1 (the weekly rotation: Ann) is paged at the receiver
    reply = httpx.post(
        f"{live_server.url}/v2/enqueue",
        json={
            "routing_key": key,
            "event_action": "trigger",
            "dedup_key": "checkout-5xx",
            "payload": {
                "summary": "Checkout 5xx above 20%",
                "source": "lb-1",
                "severity": "critical",
            },
        },
        timeout=10,
    )
    assert reply.status_code == 202, reply.text
    modules = default_modules("acceptance")
    _run_engine_until(modules, lambda: bool(_pages_to(receiver, "ann")))
    incident = Incident.objects.get()
    [to_ann] = _pages_to(receiver, "ann")
    assert to_ann["incident"] == incident.ref and to_ann["payload"]["level"] == 1
    assert _pages_to(receiver, "bob") == []

    # nobody acknowledges: when level 1's minute is up, level 2 (Bob) is paged. The test
    # does not wait the minute: it moves the climb's due time to now, as time would.
    climb = Escalation.objects.get(incident=incident)
    assert climb.level == 1 and climb.next_at is not None and climb.next_at > now()
    run_tick(modules)
    assert _pages_to(receiver, "bob") == []  # not before its time
    Escalation.objects.filter(pk=climb.pk).update(next_at=now())
    _run_engine_until(modules, lambda: bool(_pages_to(receiver, "bob")))
    [to_bob] = _pages_to(receiver, "bob")
    assert to_bob["payload"]["level"] == 2

    # Bob opens the acknowledge link from the page, without a session: one button
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        link_page = context.new_page()
        link_page.goto(to_bob["links"]["acknowledge"])
        button = link_page.get_by_role("button", name=f"Acknowledge {incident.ref}")
        expect(button).to_be_visible()
        incident.refresh_from_db()
        assert incident.status == Status.NEW  # opening the link changed nothing
        link_page.screenshot(path=str(shots / "link-desktop.png"), full_page=True)
        link_page.set_viewport_size(PHONE)
        link_page.screenshot(path=str(shots / "link-phone.png"), full_page=True)
        button.click()
        link_page.wait_for_load_state()
        expect(link_page.locator("body")).to_contain_text("Acknowledged")
        link_page.screenshot(path=str(shots / "link-done-phone.png"), full_page=True)
    finally:
        context.close()
    incident.refresh_from_db()
    assert incident.status == Status.ACKNOWLEDGED and incident.acknowledged_by == bob
    climb.refresh_from_db()
    assert climb.state == ClimbState.ACKNOWLEDGED

    # the climb has stopped: however long nobody else acts, nobody more is paged
    Escalation.objects.filter(pk=climb.pk).update(next_at=now())  # (ignored: not active)
    for _ in range(3):
        run_tick(modules)
    time.sleep(0.5)
    assert len(receiver.seen) == 2
    assert list(
        Page.objects.filter(incident=incident).values_list("person__username", flat=True)
    ) == [
        "ann",
        "bob",
    ]
    assert watched.problems() == []
