"""Django admin as part of the product: internal tables read-only and out of the "Add"
links, labels spelt properly, Tocsin's colours and icon; and /favicon.ico."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from tocsin.accounts.models import User
from tocsin.core.clock import now
from tocsin.core.models import Counter, Lease, SignInThrottle

pytestmark = pytest.mark.django_db

# Tocsin's own bookkeeping: written by the services and the worker, never by hand.
INTERNAL = [
    "core/lease",
    "core/counter",
    "core/signinthrottle",
    "core/idempotencyrecord",
    "core/auditentry",
    "alerts/inboxevent",
    "alerts/heartbeat",
    "alerts/seensignature",
    "alerts/alert",
    "alerts/alertstorm",
    "notify/outboxmessage",
    "engine/workerheartbeat",
    "incidents/mailreceipt",
    "incidents/incident",
    "incidents/timelineentry",
]


def _signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("model", INTERNAL)
def test_internal_tables_are_shown_but_cannot_be_added(admin: User, model: str) -> None:
    client = _signed_in(admin)
    listing = client.get(f"/admin/{model}/")
    assert listing.status_code == 200
    assert b"Read-only" in listing.content
    assert client.get(f"/admin/{model}/add/").status_code == 403
    index = client.get("/admin/").content.decode()
    assert f'href="/admin/{model}/"' in index  # listed, to look at
    assert f"/admin/{model}/add/" not in index  # but no "Add" link


def test_no_add_link_for_anything_tocsin_writes_itself(admin: User) -> None:
    html = _signed_in(admin).get("/admin/").content.decode()
    addable = sorted(set(re.findall(r'href="/admin/(\w+/\w+)/add/"', html)))
    assert addable == [
        "accounts/team",
        "accounts/user",
        "catalog/category",
        "catalog/service",
        "incidents/businesscalendar",
    ]


def test_internal_rows_cannot_be_changed_through_the_admin(admin: User) -> None:
    lease = Lease.objects.create(name="ingest:service:1", holder="w1", lease_until=now())
    Counter.next_value("incident")
    counter = Counter.objects.get(name="incident")
    throttle = SignInThrottle.objects.create(
        scope="ip", key="192.0.2.1", failures=9, first_failure_at=now(), last_failure_at=now()
    )
    client = _signed_in(admin)
    changes = {"name": "x", "holder": "me", "lease_until": "2030-01-01"}
    assert client.post(f"/admin/core/lease/{lease.pk}/change/", changes).status_code == 403
    assert client.post(f"/admin/core/counter/{counter.pk}/change/", {"value": 1}).status_code == 403
    assert client.post(f"/admin/core/signinthrottle/{throttle.pk}/delete/").status_code == 403
    lease.refresh_from_db()
    counter.refresh_from_db()
    assert (lease.name, lease.holder) == ("ingest:service:1", "w1")
    assert counter.value == 1
    assert SignInThrottle.objects.filter(pk=throttle.pk).exists()
    page = client.get(f"/admin/core/lease/{lease.pk}/change/").content.decode()
    assert 'name="_save"' not in page  # shown, with no Save button


@pytest.mark.parametrize(
    ("right", "wrong"),
    [
        ("API tokens", "Api tokens"),
        ("SLA targets", "Sla targets"),
        ("Priority matrix", "Priority matrix cells"),
        ("Sign-in throttles", "Sign in throttles"),
        ("Worker leases", ">Leases<"),
        ("Business-hours calendars", "Business calendars"),
        ("Integration heartbeats", ">Heartbeats<"),
        ("Audit log and internals", "Tocsin core"),
    ],
)
def test_admin_labels_are_spelt_properly(admin: User, right: str, wrong: str) -> None:
    html = _signed_in(admin).get("/admin/").content.decode()
    assert right in html
    assert wrong not in html


def test_sla_target_fields_say_their_unit(admin: User) -> None:
    html = _signed_in(admin).get("/admin/incidents/slatarget/").content.decode()
    assert "Response target (minutes)" in html
    assert "Settings → SLA targets (/settings/sla-targets/)" in html
    assert "/admin/incidents/slatarget/add/" not in html


def test_the_admin_wears_tocsins_colours_and_icon(admin: User) -> None:
    html = _signed_in(admin).get("/admin/").content.decode()
    assert re.search(r'<link rel="stylesheet" href="/static/tocsin/css/admin\.css">', html)
    assert '<link rel="icon" href="/static/tocsin/img/icon.svg" type="image/svg+xml">' in html
    assert 'src="/static/tocsin/js/admin-theme.js"' in html
    assert "<style" not in html and "style=" not in html.split("<body")[1]
    css = Path(str(finders.find("tocsin/css/admin.css"))).read_text()
    assert "--header-bg: #3730a3;" in css  # Tocsin's indigo, not Django's teal
    assert "#417690" not in css


def test_the_browser_gets_the_icon_at_favicon_ico() -> None:
    response = Client().get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<svg")
    assert "max-age=604800" in response["Cache-Control"]
    assert Client().post("/favicon.ico").status_code == 405


def test_an_admin_changelist_still_saves_sla_targets_in_minutes(admin: User) -> None:
    from tocsin.incidents.models import SlaTarget

    target = SlaTarget.objects.get(priority=2)
    response = _signed_in(admin).post(
        f"/admin/incidents/slatarget/{target.pk}/change/",
        {"priority": 2, "response_minutes": 20, "resolution_minutes": 600, "calendar": ""},
    )
    assert response.status_code == 302
    target.refresh_from_db()
    assert (target.response_minutes, target.resolution_minutes) == (20, 600)
    assert dt.timedelta(minutes=target.response_minutes) == dt.timedelta(minutes=20)


def test_audit_columns_are_named_as_people_say_them(admin: User) -> None:
    from tocsin.core.actors import Actor
    from tocsin.core.audit import audit_record

    audit_record(actor=Actor.for_user(admin, "r1", "192.0.2.7"), action="test.thing")
    html = _signed_in(admin).get("/admin/core/auditentry/").content.decode()
    headers = re.findall(
        r'class="[^"]*column-(\w+)[^"]*">.*?<div class="text">(.*?)</div>', html, re.S
    )
    labels = {name: re.sub(r"<[^>]+>", "", text).strip() for name, text in headers}
    assert labels["at"] == "Time"
    assert labels["actor_label"] == "Actor"
    assert labels["object_label"] == "Object"
    assert labels["ip"] == "IP address"


def _directives(header: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            found[words[0]] = words[1:]
    return found


def test_only_the_admin_allows_inline_styles_and_scripts_stay_strict(admin: User) -> None:
    """Django's admin sets inline styles (change forms, related-object widgets): under
    /admin/ style-src allows them; scripts stay 'self' there, and Tocsin's own pages keep
    the strict policy."""
    client = _signed_in(admin)
    inside = _directives(client.get("/admin/accounts/team/add/")["Content-Security-Policy"])
    assert inside["style-src"] == ["'self'", "'unsafe-inline'"]
    assert inside["script-src"] == ["'self'"]
    for path in ("/", "/settings/", "/alerts/"):
        outside = _directives(client.get(path)["Content-Security-Policy"])
        assert outside["style-src"] == ["'self'"], path
        assert outside["script-src"] == ["'self'"], path


def test_editable_admin_lists_name_every_cell(admin: User) -> None:
    client = _signed_in(admin)
    matrix = client.get("/admin/incidents/prioritymatrixcell/").content.decode()
    assert 'aria-label="Priority for impact 4, urgency 1"' in matrix
    targets = client.get("/admin/incidents/slatarget/").content.decode()
    assert 'aria-label="P2 response minutes"' in targets
    assert 'aria-label="P1 calendar"' in targets
