"""Alert noise in Chromium (issue 13): the report at desktop and phone widths, and a
paged person answering "was this page actionable?" from the incident page and from the
page's link."""

from __future__ import annotations

import datetime as dt
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD, Watched
from tests.reports.test_noise import incident_at, make_alerts, make_integration, make_page, resolve
from tocsin.accounts.models import Role, User
from tocsin.accounts.services import user_create
from tocsin.catalog.models import Service
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.escalation.links import page_token
from tocsin.escalation.models import PageFeedback
from tocsin.reports import facts

pytestmark = pytest.mark.django_db(transaction=True)
SETUP = Actor.system("test setup")


def _person(username: str, role: str) -> User:
    return user_create(
        username=username,
        email=f"{username}@example.com",
        name=username.title(),
        role=role,
        password=PASSWORD,
        actor=SETUP,
    )


@pytest.fixture
def warm(live_server: Any) -> None:
    """The live server's first page renders its templates: on a loaded machine that can
    outlast the sign-in's 10 s, so it is fetched once first."""
    with urllib.request.urlopen(live_server.url + "/login/", timeout=120) as reply:
        assert reply.status == 200


@pytest.fixture
def flapping(warm: None) -> dict[str, Any]:
    """An alert that fired four times, paged pat each time and cleared itself."""
    pat = _person("pat", Role.RESPONDER)
    _person("alice", Role.AGENT)
    rita = _person("rita", Role.REPORTER)
    service = Service.objects.create(name="File storage")
    nodes = make_integration(service, "alertmanager", "Node exporter")
    t0 = now() - dt.timedelta(days=4)
    pages = []
    for day in range(4):
        at = t0 + dt.timedelta(days=day)
        incident = incident_at(at, rita, service, f"disk latency {day}")
        make_alerts(incident, nodes, 1, summary="Disk latency", labels={"alertname": "DiskLatency"})
        pages.append(make_page(incident, pat))
        resolve(incident, at + dt.timedelta(minutes=3))
    facts.rebuild()
    return {"pat": pat, "service": service, "pages": pages}


def test_noise_report_desktop_and_phone(
    flapping: dict[str, Any], open_as: Callable[[str], Watched], shots: Path
) -> None:
    watched = open_as("alice")
    page = watched.page
    page.goto("/reports/noise/")
    expect(page.get_by_role("heading", name="Alert noise", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Noisiest integrations")).to_be_visible()
    expect(page.get_by_text("Silence “DiskLatency” or raise its threshold")).to_be_visible()
    expect(page.locator(".noise-stat").nth(1)).to_contain_text("100 %")
    page.screenshot(path=str(shots / "noise-desktop.png"), full_page=True)
    # the suggestion leads to the service's silences
    page.get_by_role("link", name="Silences of File storage").click()
    expect(page).to_have_url(
        f"{page.url.split('/services/')[0]}/services/{flapping['service'].pk}/#h-silences"
    )
    page.go_back()
    # filters: another period shows nothing
    page.get_by_label("From").fill("2020-01-01")
    page.get_by_label("To (included)").fill("2020-01-31")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("No alerts opened or joined an incident")).to_be_visible()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/reports/noise/")
    expect(page.get_by_text("Silence “DiskLatency” or raise its threshold")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(shots / "noise-phone.png"), full_page=True)
    assert watched.problems() == []


def test_answer_from_incident_page_and_link(
    flapping: dict[str, Any], open_as: Callable[[str], Watched], shots: Path
) -> None:
    first, second = flapping["pages"][:2]
    watched = open_as("pat")
    page = watched.page
    page.goto(f"/incidents/INC-{first.incident.number}/")
    section = page.locator("#page-feedback")
    expect(section).to_contain_text("Your page at")
    section.locator("form").first.get_by_placeholder("Note (optional)").fill("flaps at night")
    section.locator("form").first.get_by_role("button", name="Not actionable").click()
    expect(page.get_by_text("Thank you: your answer is saved.")).to_be_visible()
    section.screenshot(path=str(shots / "incident-section.png"))
    answer = PageFeedback.objects.get(page=first)
    assert (answer.actionable, answer.note) == (False, "flaps at night")
    # from the link (no session): the incident is resolved, so the question shows
    link = page.context.browser.new_context(viewport={"width": 390, "height": 844})  # type: ignore[union-attr]
    phone = link.new_page()
    phone.goto(page.url.split("/incidents/")[0] + f"/p/{page_token(second.pk, 'acknowledge')}/")
    expect(phone.get_by_text("Was this page actionable?")).to_be_visible()
    phone.get_by_role("button", name="Yes, it needed me").click()
    expect(phone.get_by_text("Thank you: your answer is saved.")).to_be_visible()
    phone.screenshot(path=str(shots / "link-phone.png"), full_page=True)
    link.close()
    assert PageFeedback.objects.get(page=second).actionable is True
    assert watched.problems() == []
