"""The status-page administration in Chromium: a manager adds a component, an agent
opens a public incident from an internal incident's page, publishes it and resolves it,
an administrator brands the page; every page at desktop and phone width, without
console errors or CSP violations and without sideways scrolling on a phone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from tocsin.accounts.models import Role, User
from tocsin.alerts.services.windows import maintenance_window_create
from tocsin.catalog.services import service_create
from tocsin.comms import statuspage
from tocsin.comms.models import Component, PublicIncident, PublicMaintenance
from tocsin.comms.services import status_page
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.incidents.services import incident_create

from .a11y import axe_violations
from .conftest import Watched

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install '.[dev]')"
)
expect = sync_api.expect

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def _both_widths(watched: Watched, shots: Path, name: str) -> None:
    page = watched.page
    page.set_viewport_size(DESKTOP)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= DESKTOP["width"], f"{name} scrolls sideways on a desktop ({width}px)"
    violations = axe_violations(page)
    assert violations == [], f"{name}: serious or critical axe-core violations"
    page.screenshot(path=str(shots / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(shots / f"{name}-phone.png"), full_page=True)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name} scrolls sideways on a phone ({width}px)"
    page.set_viewport_size(DESKTOP)


def test_running_the_status_page(
    make_user: Callable[..., User], open_as: Callable[[str], Watched], shots: Path
) -> None:
    ada = make_user(Role.ADMIN, username="ada", name="Ada Admin")
    make_user(Role.MANAGER, username="maya", name="Maya Manager")
    sam = make_user(Role.AGENT, username="sam", name="Sam Agent")
    payments = service_create(name="Payments", actor=Actor.system("t"))
    core = statuspage.group_create(actor=Actor.for_user(ada), name="Customer-facing")
    statuspage.component_create(
        actor=Actor.for_user(ada), name="Website", group=core, rule="derived"
    )
    internal = incident_create(
        actor=Actor.for_user(sam),
        title="pg-primary-3 OOM killer",
        reporter=sam,
        service=payments,
        priority=1,
        priority_reason="customers affected",
    )

    # a manager adds a component for the Payments service
    maya = open_as("maya")
    page = maya.page
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Services").click()
    page.get_by_role("main").get_by_role("link", name="Status page").click()
    expect(page.get_by_role("heading", name="Status page", exact=True)).to_be_visible()
    page.get_by_role("link", name="Add component").click()
    page.get_by_label("Name", exact=True).fill("Checkout")
    page.get_by_label("Group").select_option(label="Customer-facing")
    page.get_by_label("Payments").check()
    _both_widths(maya, shots, "status-admin-component-new")
    page.get_by_role("button", name="Add component").click()
    expect(page.get_by_text("Component “Checkout” added.")).to_be_visible()
    assert maya.problems() == []
    checkout = Component.objects.get(name="Checkout")

    # an agent starts from the internal incident's page
    sam_w = open_as("sam")
    page = sam_w.page
    page.goto(f"/incidents/{internal.ref}/")
    page.get_by_role("link", name="Create public incident").click()
    title = page.get_by_label("Public title")
    expect(title).to_have_value("")  # not the internal title
    expect(page.get_by_label("Checkout")).to_have_value("major_outage")
    title.fill("Payments are failing for some customers")
    page.get_by_label("First message").fill("Some card payments fail. We are investigating.")
    _both_widths(sam_w, shots, "status-admin-incident-new")
    page.get_by_role("button", name="Save as draft").click()
    expect(page.get_by_text("Draft — not public")).to_be_visible()
    assert Component.objects.get(pk=checkout.pk).status == "operational"
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.get_by_text("Published on the status page.")).to_be_visible()
    assert Component.objects.get(pk=checkout.pk).status == "major_outage"
    page.get_by_label("Status", exact=True).select_option("identified")
    page.get_by_label("Public message").fill("The cause is found; a fix is rolling out.")
    page.get_by_label("Checkout").select_option("partial_outage")
    page.get_by_role("button", name="Post update").click()
    expect(page.get_by_text("Update posted on the status page.")).to_be_visible()
    _both_widths(sam_w, shots, "status-admin-incident")
    # and marks a maintenance window public
    window = maintenance_window_create(
        actor=Actor.for_user(sam),
        services=[payments],
        starts_at=now() + dt.timedelta(days=1),
        ends_at=now() + dt.timedelta(days=1, hours=2),
        reason="pg-primary-3 kernel upgrade",
    )
    page.goto("/status-admin/")
    _both_widths(sam_w, shots, "status-admin-overview")
    page.get_by_role("link", name="Mark public").click()
    expect(page.get_by_label("Checkout")).to_be_checked()  # the window's service's component
    page.get_by_label("Public title").fill("Payments maintenance")
    page.get_by_label("Public description").fill("Card payments may be slow for a few minutes.")
    _both_widths(sam_w, shots, "status-admin-maintenance-new")
    page.get_by_role("button", name="Save maintenance").click()
    expect(page.get_by_text("Maintenance published.")).to_be_visible()
    _both_widths(sam_w, shots, "status-admin-maintenance")
    assert PublicMaintenance.objects.get().window == window
    assert sam_w.problems() == []
    pi = PublicIncident.objects.get()
    assert list(pi.incidents.all()) == [internal]

    # an administrator brands it; a pale colour is refused with the reason
    ada_w = open_as("ada")
    page = ada_w.page
    page.goto("/status-admin/page/")
    page.get_by_label("Status page name").fill("Acme status")
    page.get_by_label("Brand colour").evaluate("(el) => { el.value = '#ffdd55'; }")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("WCAG 2.2 AA needs at least 4.5:1")).to_be_visible()
    _both_widths(ada_w, shots, "status-admin-branding-refused")
    page.get_by_label("Brand colour").evaluate("(el) => { el.value = '#0b5394'; }")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Status page settings saved.")).to_be_visible()
    assert status_page().name == "Acme status"
    assert status_page().brand_colour == "#0b5394"
    page.goto(f"/status-admin/components/{checkout.pk}/")
    _both_widths(ada_w, shots, "status-admin-component")
    # the refused save answered 422, which the browser logs; nothing else went wrong
    assert [p for p in ada_w.problems() if "status of 422" not in p] == []
