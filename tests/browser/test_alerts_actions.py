"""Alerts you can act on, in Chromium at desktop (1400×900) and phone (390×844) widths:
the list with a calm empty state, filters that wait for the button, bulk and per-row
actions (also without JavaScript), the alert page with its payload and safe links, and the
incident's summary of its alerts. Screenshots go to test-output/browser/."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.alerts.engine.helpers import drain, make_integration, make_service, push, trigger
from tocsin.accounts.models import Role, User
from tocsin.alerts.models import Alert
from tocsin.incidents.models import Incident

from .conftest import PASSWORD, Watched

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install '.[dev]')"
)
expect = sync_api.expect

DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
HOSTILE = '<img src=x onerror="alert(1)">'


def shoot(page: Page, path: Path) -> None:
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=True)


def no_duplicate_ids(page: Page) -> None:
    duplicates = page.evaluate(
        """() => { const seen = {}; const twice = [];
        document.querySelectorAll("[id]").forEach(e => {
          if (seen[e.id]) twice.push(e.id); seen[e.id] = true; });
        return twice; }"""
    )
    assert duplicates == [], f"{page.url}: duplicate ids {duplicates}"


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways on a phone ({width}px)"


def alerts_fired() -> list[Alert]:
    service = make_service("Checkout")
    prometheus = make_integration(service, kind="pagerduty", name="Prometheus prod")
    push(
        prometheus,
        trigger(
            "disk",
            "Disk full on db1",
            severity="critical",
            source="db1",
            labels={"alertname": "DiskFull", "instance": "db1:9100", "job": "node", "env": "prod"},
            details={
                "annotations": {
                    "description": "Only 0 bytes left on /var",
                    "runbook_url": "https://runbooks.example/disk-full",
                    "trap": "javascript:alert(1)",
                },
                "mount": {"path": "/var", "free_bytes": 0},
            },
            links=[
                {"href": "https://grafana.example/d/disk", "text": "Grafana dashboard"},
                {"href": "javascript:alert(2)", "text": "Not a link"},
            ],
        ),
        trigger("queue", "Queue backlog over 10k", severity="warning", labels={"queue": "mail"}),
        trigger("hostile", f"Summary {HOSTILE}", severity="info", labels={"note": HOSTILE}),
    )
    drain()
    return list(Alert.objects.order_by("pk"))


def test_an_agent_acts_on_alerts_from_the_list_and_the_alert_page(
    make_user: Callable[..., User], open_as: Callable[[str], Watched], shots: Path
) -> None:
    make_user(Role.AGENT, username="ines", name="Inês Agent")
    disk, _, hostile = alerts_fired()
    watched = open_as("ines")
    page = watched.page
    page.set_viewport_size(DESKTOP)
    page.goto("/alerts/")
    expect(page.get_by_role("heading", name="Alerts", exact=True)).to_be_visible()
    expect(page.locator("#alerts-count")).to_contain_text("3 alerts")
    expect(page.locator("tbody")).to_contain_text(f"Summary {HOSTILE}")  # shown as text
    # numeric header over its numbers; the summary is a link that looks like one
    header = page.locator("th", has_text="Occurrences")
    assert header.evaluate("th => getComputedStyle(th).textAlign") == "right"
    # exact: the major-incident banner links "INC-1: Disk full on db1" too
    link = page.get_by_role("link", name="Disk full on db1", exact=True)
    styles = link.evaluate(
        "a => [getComputedStyle(a).color, getComputedStyle(a).textDecorationLine,"
        " getComputedStyle(document.body).color]"
    )
    assert styles[0] != styles[2] and "underline" in styles[1]
    shoot(page, shots / "list-desktop.png")
    no_duplicate_ids(page)

    # the filters wait for the button (arrowing through a select does not reload)
    page.get_by_label("Status").select_option("acknowledged")
    page.wait_for_timeout(400)
    expect(page).to_have_url(re.compile(r"/alerts/$"))
    page.get_by_label("Status").select_option("open")

    # select two, acknowledge them with one button
    page.get_by_label("Select alert: Disk full on db1").check()
    page.get_by_label("Select alert: Queue backlog over 10k").check()
    expect(page.locator("[data-bulk-count]")).to_have_text("2 selected")
    page.get_by_role("button", name="Acknowledge selected").click()
    expect(page.locator(".flash-success")).to_have_text("2 alerts acknowledged.")
    expect(page.locator("tbody tr", has_text="Disk full on db1")).to_contain_text("Acknowledged")
    # the select-all box picks every open alert on the page
    page.get_by_label("Select every alert on this page").check()
    expect(page.locator("[data-bulk-count]")).to_have_text("3 selected")
    page.get_by_label("Select every alert on this page").uncheck()

    # resolve one from its row
    page.get_by_role("button", name="Resolve: Queue backlog over 10k").click()
    expect(page.locator(".flash-success")).to_contain_text("Alert resolved: Queue backlog")
    expect(page.locator("tbody")).not_to_contain_text("Queue backlog over 10k")

    # the alert page: the whole payload, links only for http(s)
    page.get_by_role("link", name="Disk full on db1", exact=True).click()
    expect(page.get_by_role("heading", name="Disk full on db1")).to_be_visible()
    payload = page.locator(".payload")
    expect(payload.first).to_contain_text("Only 0 bytes left on /var")
    expect(page.locator("dl.payload").nth(1)).to_contain_text("db1:9100")
    expect(page.locator(".payload-json")).to_contain_text('"path": "/var"')
    runbook = page.get_by_role("link", name="https://runbooks.example/disk-full")
    expect(runbook).to_have_attribute("rel", "noopener noreferrer nofollow")
    dashboard = page.get_by_role("link", name="Grafana dashboard")
    expect(dashboard).to_have_attribute("href", "https://grafana.example/d/disk")
    expect(page.locator('a[href^="javascript:"]')).to_have_count(0)
    expect(page.get_by_text("javascript:alert(1)")).to_be_visible()  # as text
    shoot(page, shots / "alert-desktop.png")
    no_duplicate_ids(page)
    page.set_viewport_size(PHONE)
    shoot(page, shots / "alert-phone.png")
    no_sideways_scroll(page)
    page.set_viewport_size(DESKTOP)
    page.get_by_role("button", name="Resolve").click()
    expect(page.locator(".flash-success")).to_have_text("Alert resolved: Disk full on db1")
    expect(page.locator(".alert-head")).to_contain_text("Resolved")
    expect(page.get_by_role("button", name="Resolve")).to_have_count(0)

    # the incident of an alert shows a readable summary, linking to each alert
    incident = Incident.objects.get(pk=hostile.incident_id)
    page.goto(f"/incidents/{incident.ref}/")
    section = page.locator("section.incident-alerts")
    expect(section).to_contain_text(f"Summary {HOSTILE}")
    expect(section).to_contain_text(f"note={HOSTILE}")
    disk_incident = Incident.objects.get(pk=disk.incident_id)
    page.goto(f"/incidents/{disk_incident.ref}/")
    section = page.locator("section.incident-alerts")
    expect(section.get_by_role("link", name="Disk full on db1")).to_have_attribute(
        "href", f"/alerts/{disk.pk}/"
    )
    expect(section).to_contain_text("alertname=DiskFull")
    expect(section).to_contain_text("Critical")
    expect(page.locator(".prose")).not_to_contain_text("{")  # no raw JSON in the description
    shoot(page, shots / "incident-desktop.png")
    page.set_viewport_size(PHONE)
    shoot(page, shots / "incident-phone.png")
    no_sideways_scroll(page)

    # the service page lists its open alerts, each linking to its page
    page.set_viewport_size(DESKTOP)
    page.goto(f"/services/{disk.service_id}/")
    expect(page.get_by_role("link", name=f"Summary {HOSTILE}")).to_have_attribute(
        "href", f"/alerts/{hostile.pk}/"
    )
    shoot(page, shots / "service-desktop.png")
    page.set_viewport_size(PHONE)

    # the list on a phone, then a quiet list
    page.goto("/alerts/")
    shoot(page, shots / "list-phone.png")
    no_sideways_scroll(page)
    page.get_by_label("Select alert: Summary").check()
    page.get_by_role("button", name="Resolve selected").click()
    expect(page.locator(".empty-row")).to_have_text("No open alerts — all quiet.")
    expect(page.locator("#alerts-count")).to_contain_text("0 alerts")
    shoot(page, shots / "empty-phone.png")
    page.set_viewport_size(DESKTOP)
    shoot(page, shots / "empty-desktop.png")
    assert watched.problems() == []
    # a real filter error marks its field (a 400: the browser logs the status)
    page.goto("/alerts/?status=burning")
    expect(page.get_by_label("Status")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#err-status")).to_contain_text("Status: Select a valid choice")
    shoot(page, shots / "filter-error-desktop.png")
    assert watched.csp_violations() == [] and watched.page_errors == []


def test_bulk_actions_work_without_javascript(
    make_user: Callable[..., User], browser: Browser, live_server: Any, shots: Path
) -> None:
    make_user(Role.RESPONDER, username="rui", name="Rui Responder")
    disk, queue, _ = alerts_fired()
    context = browser.new_context(
        viewport=PHONE, base_url=live_server.url, java_script_enabled=False
    )
    try:
        page = context.new_page()
        page.goto("/login/")
        page.get_by_label("Username").fill("rui")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.goto("/alerts/")
        expect(page.get_by_label("Select every alert on this page")).to_be_hidden()
        page.get_by_role("button", name="Resolve selected").click()  # nothing selected
        expect(page.get_by_role("alert")).to_contain_text("Select at least one alert to resolve")
        shoot(page, shots / "nojs-nothing-selected-phone.png")
        page.get_by_label("Select alert: Disk full on db1").check()
        page.get_by_label("Select alert: Queue backlog over 10k").check()
        page.get_by_role("button", name="Resolve selected").click()
        expect(page.locator(".flash-success")).to_contain_text("2 alerts resolved.")
        shoot(page, shots / "nojs-phone.png")
    finally:
        context.close()
    resolved = Alert.objects.filter(pk__in=[disk.pk, queue.pk], status="resolved")
    assert resolved.count() == 2
