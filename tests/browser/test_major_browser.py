"""Major incidents in Chromium: an agent declares one from the incident page; the
major-incident policy's page reaches Ann's webhook receiver on loopback through the
engine; the banner appears on every staff page (desktop and phone screenshots), not
for the reporter; the checklist is ticked with the keyboard-free forms; nobody takes
the commander role, so the rota (Cid) is paged once; standing down clears the banner."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.comms.major_helpers import make_world
from tests.notify.test_channels_http import Receiver
from tocsin.accounts.models import User
from tocsin.accounts.services import contact_method_add
from tocsin.comms.models import CommanderDeadline
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.engine.engine import default_modules, run_tick
from tocsin.incidents.models import Incident

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


def _pages_to(receiver: Receiver, username: str) -> list[dict[str, Any]]:
    return [json.loads(s.body) for s in receiver.seen if s.path == f"/pager/{username}"]


def _run_engine_until(modules: list[Any], done: Callable[[], bool], seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "the engine did not get there in time"
        run_tick(modules)
        time.sleep(0.05)


def test_declare_page_banner_checklist_and_commander_rota(
    make_user: Callable[..., User],
    make_incident: Callable[..., Incident],
    open_as: Callable[[str], Watched],
    live_server: Any,
    receiver: Receiver,
    settings: Any,
    shots: Path,
) -> None:
    settings.TOCSIN_OUTBOUND_ALLOW = ["127.0.0.1/32"]
    settings.BASE_URL = live_server.url
    world = make_world(make_user, make_incident)
    for person in (world.ann, world.cid):
        contact_method_add(
            user=person,
            kind="webhook",
            address=receiver.url(f"/pager/{person.username}"),
            actor=SETUP,
        )
    world.configure()
    incident = world.incident(3, title="Card payments failing in every region")
    world.incident(3, title="Printer jam")  # not major

    watched = open_as("alice")
    page = watched.page
    page.goto(f"/incidents/{incident.ref}/")
    section = page.locator("#major")
    expect(section).to_contain_text("Not a major incident.")
    expect(page.locator(".major-banner")).to_have_count(0)
    section.get_by_label("Reason").fill("Card payments fail everywhere")
    section.get_by_role("button", name="Declare major incident").click()
    page.wait_for_load_state()
    expect(page.locator(".flash")).to_contain_text(f"{incident.ref} is now a major incident.")
    banner = page.get_by_role("region", name="Major incidents")
    expect(banner).to_contain_text(
        f"Major incident {incident.ref}: Card payments failing in every region"
        " — commander: none yet"
    )
    # the policy pages Ann, at her webhook, through the engine
    modules = default_modules("major-acceptance")
    _run_engine_until(modules, lambda: bool(_pages_to(receiver, "ann")))
    [to_ann] = _pages_to(receiver, "ann")
    assert to_ann["incident"] == incident.ref

    # tick "Open the war room"
    section.get_by_role(
        "button", name="Mark done: Open the war room (chat channel and video bridge)"
    ).click()
    page.wait_for_load_state()
    expect(section).to_contain_text("2 of 5 done")
    page.locator("#major").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "incident-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(shots / "incident-phone.png"), full_page=True)
    page.goto("/")
    expect(banner).to_be_visible()
    page.screenshot(path=str(shots / "queue-banner-phone.png"))
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(shots / "queue-banner-desktop.png"))

    # the reporter sees the incident, but neither the banner nor the section
    rita = open_as("rita").page
    rita.goto(f"/incidents/{incident.ref}/")
    expect(rita.locator(".major-banner")).to_have_count(0)
    expect(rita.locator("#major")).to_have_count(0)

    # nobody takes the commander role: ten minutes on, the rota (Cid) is paged, once
    # (the test does not wait the ten minutes: it moves the deadline to now, as time would;
    # the deadline tests in tests/comms drive the module's clock minute by minute)
    deadline = CommanderDeadline.objects.get(incident=incident)
    assert deadline.due_at - deadline.declared_at == dt.timedelta(minutes=10)
    run_tick(modules)
    assert _pages_to(receiver, "cid") == []  # not before its time
    CommanderDeadline.objects.filter(pk=deadline.pk).update(due_at=now())
    _run_engine_until(modules, lambda: bool(_pages_to(receiver, "cid")))
    for _ in range(3):
        run_tick(modules)
    assert len(_pages_to(receiver, "cid")) == 1
    page.goto(f"/incidents/{incident.ref}/")
    expect(page.locator("#timeline, .timeline").first).to_contain_text(
        "paging the commander rota Incident commanders"
    )

    # standing down clears the banner
    section.get_by_text("Stand down…").click()
    section.get_by_role("button", name="Stand down", exact=True).click()
    page.wait_for_load_state()
    expect(page.locator(".major-banner")).to_have_count(0)
    assert watched.problems() == []
