"""The status-page administration pages (/status-admin/): who sees them, the forms a
person fills in, and the section on an internal incident's page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tocsin.accounts.models import Role, User
from tocsin.alerts.services.windows import maintenance_window_create
from tocsin.catalog.services import service_create
from tocsin.comms import statuspage
from tocsin.comms.models import (
    Component,
    ComponentStatusChange,
    PublicIncident,
    PublicMaintenance,
)
from tocsin.comms.services import status_page
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.incidents.services import incident_create

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x03\x00\x08\xfc\x02\xfe\xa7\x9a"
    b"\xa0\xa0\x00\x00\x00\x00IEND\xaeB`\x82"
)


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def setup(admin: User) -> dict[str, Any]:
    service = service_create(name="Payments", actor=Actor.system("t"))
    actor = Actor.for_user(admin)
    group = statuspage.group_create(actor=actor, name="Core")
    api = statuspage.component_create(actor=actor, name="API", group=group, services=[service])
    site = statuspage.component_create(actor=actor, name="Website", rule="derived")
    return {"service": service, "group": group, "api": api, "site": site}


def test_reporters_get_404_and_anonymous_sign_in(
    reporter: User, setup: dict[str, Any], client: Client
) -> None:
    paths = [
        "/status-admin/",
        f"/status-admin/components/{setup['api'].pk}/",
        "/status-admin/incidents/new/",
        "/status-admin/maintenances/new/",
        "/status-admin/page/",
        "/status-admin/logo",
    ]
    as_reporter = login(reporter)
    for path in paths:
        assert as_reporter.get(path).status_code == 404, path
        r = client.get(path)
        assert r.status_code == 302 and "/login" in r["Location"], path
    r = as_reporter.post(
        f"/status-admin/components/{setup['api'].pk}/status/", {"status": "major_outage"}
    )
    assert r.status_code == 404
    assert Component.objects.get(pk=setup["api"].pk).status == "operational"


def test_agent_sees_and_sets_status_but_not_manage_or_brand(
    agent: User, setup: dict[str, Any]
) -> None:
    c = login(agent)
    assert 'href="/status-admin/"' in c.get("/services/").content.decode()
    r = c.get("/status-admin/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "API" in html and "Website" in html
    assert "Add component" not in html
    assert "Name, logo and colours" not in html
    assert c.get(f"/status-admin/components/{setup['site'].pk}/").status_code == 200
    assert c.get(f"/status-admin/groups/{setup['group'].pk}/").status_code == 404
    assert c.get("/status-admin/components/new/").status_code == 404
    assert c.get("/status-admin/page/").status_code == 404
    r = c.post(
        f"/status-admin/components/{setup['api'].pk}/status/",
        {"status": "degraded_performance", "reason": "slow responses"},
    )
    assert r.status_code == 302
    last = ComponentStatusChange.objects.filter(component=setup["api"]).last()
    assert last is not None
    assert (last.status, last.by, last.reason) == (
        "degraded_performance",
        agent,
        "slow responses",
    )
    r = c.post(f"/status-admin/components/{setup['site'].pk}/status/", {"status": "major_outage"})
    assert r.status_code == 422  # derived: set its rule to manual first
    r = c.post(f"/status-admin/components/{setup['api'].pk}/status/", {"status": "melting"})
    assert r.status_code == 422


def test_manager_adds_and_edits_a_component(
    make_user: Callable[..., User], setup: dict[str, Any]
) -> None:
    c = login(make_user(Role.MANAGER))
    assert c.get("/status-admin/components/new/").status_code == 200
    form = {
        "name": "Checkout",
        "group": setup["group"].pk,
        "services": [setup["service"].pk],
        "rule": "derived",
        "p1": "major_outage",
        "p2": "major_outage",
        "p3": "degraded_performance",
        "p4": "operational",
        "showcase": "on",
    }
    r = c.post("/status-admin/components/new/", form)
    assert r.status_code == 302, r.content.decode()[:2000]
    checkout = Component.objects.get(name="Checkout")
    assert checkout.derive_map["2"] == "major_outage"
    assert list(checkout.services.all()) == [setup["service"]]
    r = c.post("/status-admin/components/new/", {**form, "name": "api"})
    assert r.status_code == 422
    assert "exists already" in r.content.decode()
    r = c.post(f"/status-admin/components/{checkout.pk}/", {**form, "rule": "manual"})
    assert r.status_code == 302
    assert Component.objects.get(pk=checkout.pk).rule == "manual"
    r = c.post(f"/status-admin/components/{checkout.pk}/move/", {"direction": "up"})
    assert r.status_code == 302
    names = list(
        Component.objects.filter(group=setup["group"])
        .order_by("position")
        .values_list("name", flat=True)
    )
    assert names == ["Checkout", "API"]
    r = c.post("/status-admin/groups/new/", {"name": "Edge"})
    assert r.status_code == 302


def test_public_incident_from_an_internal_incident(agent: User, setup: dict[str, Any]) -> None:
    internal = incident_create(
        actor=Actor.for_user(agent),
        title="db-7 primary OOM (internal only)",
        reporter=agent,
        service=setup["service"],
        priority=1,
        priority_reason="test",
    )
    c = login(agent)
    page = c.get(f"/incidents/{internal.ref}/").content.decode()
    assert "Create public incident" in page
    r = c.get(f"/status-admin/incidents/new/?incident={internal.ref}")
    html = r.content.decode()
    assert r.status_code == 200
    # the public title is empty, not the internal one; the service's component is chosen
    # (the internal title is in the staff-only major-incident banner, not in the form)
    field = html.index('name="title"')
    form = html[html.rindex("<form", 0, field) : html.index("</form>", field)]
    assert "db-7 primary OOM" not in form
    assert f'name="component_{setup["api"].pk}"' in html
    assert '<option value="major_outage" selected>' in html
    r = c.post(
        "/status-admin/incidents/new/",
        {
            "title": "Payments failing",
            "status": "investigating",
            "impact": "critical",
            "body": "Some payments fail; we are on it.",
            f"component_{setup['api'].pk}": "major_outage",
            "incidents": internal.ref,
            "source": internal.ref,
            "action": "draft",
        },
    )
    assert r.status_code == 302
    pi = PublicIncident.objects.get()
    assert pi.published_at is None
    assert list(pi.incidents.all()) == [internal]
    rev = status_page().revision
    r = c.post(f"/status-admin/incidents/{pi.pk}/publish/")
    assert r.status_code == 302
    assert status_page().revision == rev + 1
    assert Component.objects.get(pk=setup["api"].pk).status == "major_outage"
    r = c.post(f"/status-admin/incidents/{pi.pk}/publish/")
    assert r.status_code == 409
    r = c.post(
        f"/status-admin/incidents/{pi.pk}/update/",
        {"status": "resolved", "body": "Fixed."},
    )
    assert r.status_code == 302
    assert Component.objects.get(pk=setup["api"].pk).status == "operational"
    r = c.post(f"/status-admin/incidents/{pi.pk}/update/", {"status": "monitoring", "body": "?"})
    assert r.status_code == 409
    page = c.get(f"/incidents/{internal.ref}/").content.decode()
    assert "Payments failing" in page


def test_mark_a_window_public(agent: User, setup: dict[str, Any]) -> None:
    window = maintenance_window_create(
        actor=Actor.for_user(agent),
        services=[setup["service"]],
        starts_at=now() + dt.timedelta(hours=2),
        ends_at=now() + dt.timedelta(hours=4),
        reason="kernel upgrade on db01",
    )
    c = login(agent)
    overview = c.get("/status-admin/").content.decode()
    assert f"/status-admin/maintenances/new/?window={window.pk}" in overview
    r = c.get(f"/status-admin/maintenances/new/?window={window.pk}")
    assert r.status_code == 200
    r = c.post(
        "/status-admin/maintenances/new/",
        {
            "window": window.pk,
            "title": "Payments maintenance",
            "body": "Short interruptions possible.",
            "components": [setup["api"].pk],
            "publish": "on",
        },
    )
    assert r.status_code == 302
    m = PublicMaintenance.objects.get()
    assert (m.scheduled_for, m.scheduled_until) == (window.starts_at, window.ends_at)
    assert m.published_at is not None and m.status == "scheduled"
    r = c.post(
        "/status-admin/maintenances/new/",
        {"title": "No times", "components": [], "publish": "on"},
    )
    assert r.status_code == 422


def test_admin_brands_the_page(admin: User, setup: dict[str, Any]) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    c = login(admin)
    assert c.get("/status-admin/page/").status_code == 200
    base = {"name": "Acme status", "intro": "", "brand_colour": "#eeeeee", "time_zone": "UTC"}
    r = c.post("/status-admin/page/", base)
    assert r.status_code == 422
    assert "contrast" in r.content.decode()
    r = c.post(
        "/status-admin/page/",
        {
            **base,
            "brand_colour": "#1a5e20",
            "logo": SimpleUploadedFile("logo.png", b"GIF89a<script>", "image/png"),
        },
    )
    assert r.status_code == 302  # a GIF named .png is stored as what it is
    logo = c.get("/status-admin/logo")
    assert logo["Content-Type"] == "image/gif"
    assert logo["X-Content-Type-Options"] == "nosniff"
    r = c.post(
        "/status-admin/page/",
        {**base, "brand_colour": "#1a5e20", "logo": SimpleUploadedFile("x.html", b"<html>")},
    )
    assert r.status_code == 422
    assert "PNG, JPEG, GIF or WebP" in r.content.decode()
    r = c.post(
        "/status-admin/page/",
        {**base, "brand_colour": "#1a5e20", "logo": SimpleUploadedFile("l.png", PNG)},
    )
    assert r.status_code == 302
    assert c.get("/status-admin/logo")["Content-Type"] == "image/png"
    assert status_page().name == "Acme status"
