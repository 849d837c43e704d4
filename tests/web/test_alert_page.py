"""Alerts you can act on (issue 8, point 11): the alert page with its whole payload, safe
links, acknowledge and resolve from the page and the list, bulk actions, the incident's
summary of its alerts; and the alerts list's empty states and filter errors (point 1)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tests.alerts.engine.helpers import drain, make_integration, make_service, push, trigger
from tests.web.helpers import text_of
from tocsin.accounts.models import User
from tocsin.alerts.models import Alert
from tocsin.catalog.models import Integration, Service
from tocsin.core.audit import AuditEntry
from tocsin.incidents.models import Incident, Status

Browse = Callable[[User | None], Client]


@pytest.fixture
def service(db: Any) -> Service:
    return make_service("Checkout")


@pytest.fixture
def integration(service: Service) -> Integration:
    return make_integration(service, kind="pagerduty", name="Prometheus prod")


def fire(integration: Integration, key: str, summary: str, **fields: Any) -> Alert:
    """An alert as monitoring sends it, through the inbox and the engine."""
    push(integration, trigger(key, summary, **fields))
    drain()
    return Alert.objects.get(integration=integration, dedup_key=key)


def html(response: Any) -> str:
    return response.content.decode()


# --- the alert page --------------------------------------------------------------------------


def test_the_alert_page_shows_the_whole_payload_with_safe_links(
    browse: Browse, agent: User, integration: Integration
) -> None:
    alert = fire(
        integration,
        "disk",
        "Disk full on db1",
        severity="critical",
        source="db1",
        labels={"alertname": "DiskFull", "instance": "db1:9100", "note": "<script>x()</script>"},
        details={
            "annotations": {
                "description": "Only 0 bytes left on /var",
                "runbook_url": "https://runbooks.example/disk",
                "trap": "javascript:alert(1)",
            },
            "mount": {"path": "/var", "free": 0},
        },
        links=[
            {"href": "https://grafana.example/d/1", "text": "Dashboard"},
            {"href": "javascript:alert(2)", "text": "Evil"},
            {"href": "data:text/html,<b>x</b>", "text": "Data"},
        ],
    )
    page = browse(agent).get(f"/alerts/{alert.pk}/")
    assert page.status_code == 200
    text, body = text_of(page), html(page)
    for shown in (
        "Disk full on db1",
        "alertname DiskFull",
        "instance db1:9100",
        "description Only 0 bytes left on /var",
        "Dedup key disk",
        "Prometheus prod",
    ):
        assert shown in text
    assert '"path": "/var"' in text  # structured details shown as JSON, escaped
    assert "<script>x()</script>" not in body and "&lt;script&gt;x()&lt;/script&gt;" in body
    # http(s) links are links, with rel; anything else stays text
    hrefs = re.findall(r'<a href="([^"]+)" rel="noopener noreferrer nofollow">', body)
    assert "https://grafana.example/d/1" in hrefs and "https://runbooks.example/disk" in hrefs
    assert not any(h.startswith(("javascript:", "data:")) for h in hrefs)
    assert 'href="javascript:' not in body and 'href="data:' not in body
    assert "javascript:alert(1)" in text  # the annotation is shown, as text
    assert "Evil" not in text  # a link that may not be followed is not offered


def test_who_may_not_see_alerts_is_not_told_it_exists(
    browse: Browse, reporter: User, agent: User, integration: Integration
) -> None:
    alert = fire(integration, "a", "Queue backlog")
    assert browse(reporter).get(f"/alerts/{alert.pk}/").status_code == 404
    assert browse(reporter).post(f"/alerts/{alert.pk}/acknowledge/").status_code == 404
    assert browse(agent).get("/alerts/424242/").status_code == 404
    alert.refresh_from_db()
    assert alert.status == "triggered"


def test_acknowledge_from_the_page_acknowledges_a_new_incident_and_is_recorded(
    browse: Browse, responder: User, integration: Integration
) -> None:
    alert = fire(integration, "disk", "Disk full on db1")
    incident = alert.incident
    assert incident is not None and incident.status == Status.NEW
    client = browse(responder)
    page = client.get(f"/alerts/{alert.pk}/")
    assert f'action="/alerts/{alert.pk}/acknowledge/"' in html(page)
    done = client.post(f"/alerts/{alert.pk}/acknowledge/", {"next": f"/alerts/{alert.pk}/"})
    assert done.status_code == 302 and done["Location"] == f"/alerts/{alert.pk}/"
    alert.refresh_from_db()
    incident.refresh_from_db()
    assert alert.status == "acknowledged" and alert.acknowledged_at is not None
    assert incident.status == Status.ACKNOWLEDGED
    entry = incident.timeline.get(kind="transition", actor_user=responder)
    assert entry.text == f"Alert acknowledged: Disk full on db1 (alert #{alert.pk})"
    audit = AuditEntry.objects.get(action="alert.acknowledge")
    assert (audit.object_id, audit.actor_user_id) == (str(alert.pk), responder.pk)
    followed = client.get(done["Location"])
    assert "Alert acknowledged: Disk full on db1" in text_of(followed)
    assert f'action="/alerts/{alert.pk}/acknowledge/"' not in html(followed)
    # reloading the form's address shows the alert, not a blank 405
    again = client.get(f"/alerts/{alert.pk}/acknowledge/")
    assert again.status_code == 302 and again["Location"] == f"/alerts/{alert.pk}/"


def test_a_stale_action_says_why_and_changes_nothing(
    browse: Browse, agent: User, integration: Integration
) -> None:
    alert = fire(integration, "disk", "Disk full on db1")
    client = browse(agent)
    assert client.post(f"/alerts/{alert.pk}/resolve/").status_code == 302
    stale = client.post(f"/alerts/{alert.pk}/acknowledge/")
    assert stale.status_code == 409
    assert f"Alert #{alert.pk} is already resolved" in text_of(stale)
    alert.refresh_from_db()
    assert alert.status == "resolved" and alert.acknowledged_at is None


def test_resolving_the_last_alert_resolves_its_monitoring_incident(
    browse: Browse, agent: User, integration: Integration
) -> None:
    alert = fire(integration, "disk", "Disk full on db1")
    response = browse(agent).post(
        f"/alerts/{alert.pk}/resolve/", {"next": "/alerts/?status=open&q=disk"}
    )
    assert response.status_code == 302 and response["Location"] == "/alerts/?status=open&q=disk"
    incident = Incident.objects.get(pk=alert.incident_id)
    assert incident.status == Status.RESOLVED
    assert incident.resolution_notes == "All alerts resolved"


def test_next_may_only_lead_back_to_the_alerts(
    browse: Browse, agent: User, integration: Integration
) -> None:
    alert = fire(integration, "disk", "Disk full on db1")
    response = browse(agent).post(
        f"/alerts/{alert.pk}/acknowledge/", {"next": "https://evil.example/alerts/"}
    )
    assert response["Location"] == f"/alerts/{alert.pk}/"


# --- the list: one alert, and the selected ones ----------------------------------------------


def test_the_list_offers_actions_per_row_and_for_the_selection(
    browse: Browse, agent: User, integration: Integration
) -> None:
    first = fire(integration, "a", "Disk full on db1")
    second = fire(integration, "b", "Queue backlog")
    third = fire(integration, "c", "Cert expires")
    client = browse(agent)
    page = html(client.get("/alerts/"))
    assert f'href="/alerts/{first.pk}/"' in page  # the summary links to the alert page
    assert f'name="alert" value="{second.pk}"' in page
    assert f'formaction="/alerts/{third.pk}/acknowledge/"' in page
    done = client.post(
        "/alerts/bulk/",
        {"action": "acknowledge", "alert": [first.pk, second.pk], "next": "/alerts/?status=open"},
    )
    assert done.status_code == 302 and done["Location"] == "/alerts/?status=open"
    statuses = dict(Alert.objects.values_list("pk", "status"))
    assert statuses == {first.pk: "acknowledged", second.pk: "acknowledged", third.pk: "triggered"}
    assert "2 alerts acknowledged." in text_of(client.get(done["Location"]))
    # again, with one already acknowledged: it is left as it was, and said so
    again = client.post("/alerts/bulk/", {"action": "acknowledge", "alert": [first.pk, third.pk]})
    message = text_of(client.get(again["Location"]))
    assert (
        f"1 alert acknowledged. 1 left as it was: alert #{first.pk} is already acknowledged"
        in message
    )
    resolved = client.post("/alerts/bulk/", {"action": "resolve", "alert": [first.pk, second.pk]})
    assert resolved.status_code == 302
    assert Alert.objects.filter(status="resolved").count() == 2


def test_a_bulk_action_with_nothing_selected_says_so_and_keeps_the_list(
    browse: Browse, agent: User, integration: Integration
) -> None:
    fire(integration, "a", "Disk full on db1")
    client = browse(agent)
    response = client.post("/alerts/bulk/", {"action": "resolve", "next": "/alerts/?status=open"})
    assert response.status_code == 422
    text = text_of(response)
    assert "Select at least one alert to resolve" in text and "Disk full on db1" in text
    wrong = client.post("/alerts/bulk/", {"action": "delete", "alert": ["1"]})
    assert wrong.status_code == 422 and "Choose Acknowledge or Resolve" in text_of(wrong)
    assert not Alert.objects.exclude(status="triggered").exists()
    assert client.get("/alerts/bulk/")["Location"] == "/alerts/"


def test_reporters_cannot_act_in_bulk(
    browse: Browse, reporter: User, integration: Integration
) -> None:
    alert = fire(integration, "a", "Disk full on db1")
    response = browse(reporter).post("/alerts/bulk/", {"action": "resolve", "alert": [alert.pk]})
    assert response.status_code == 404
    alert.refresh_from_db()
    assert alert.status == "triggered"


# --- the list: empty states and filter errors (point 1), filters (point 6) -----------------


def test_a_quiet_night_is_calm_and_keeps_the_count(browse: Browse, agent: User, db: Any) -> None:
    page = browse(agent).get("/alerts/")
    assert page.status_code == 200
    text = text_of(page)
    assert "No open alerts — all quiet." in text
    assert "0 alerts" in text
    assert "correct" not in text.lower()


def test_an_empty_filter_names_what_was_asked(
    browse: Browse, agent: User, integration: Integration, service: Service
) -> None:
    fire(integration, "a", "Disk full on db1")
    page = browse(agent).get("/alerts/", {"status": "resolved", "service": service.pk, "q": "cpu"})
    text = text_of(page)
    assert page.status_code == 200
    assert "No resolved alerts for Checkout matching “cpu”." in text
    assert "0 alerts" in text and "correct" not in text.lower()


def test_a_real_filter_error_marks_the_field(
    browse: Browse, agent: User, integration: Integration
) -> None:
    bad = browse(agent).get("/alerts/", {"status": "burning"})
    assert bad.status_code == 400
    body = html(bad)
    field = re.search(r'<div class="filter has-error">\s*<label for="id_status">', body)
    assert field, "the status filter is marked"
    assert 'aria-invalid="true"' in body and 'id="err-status"' in body
    long = browse(agent).get("/alerts/", {"q": "x" * 201})
    assert long.status_code == 400
    assert '<div class="filter filter-q has-error">' in html(long)
    assert "Search: Ensure this value has at most 200 characters" in text_of(long)


def test_the_filters_submit_on_the_button_not_on_change(
    browse: Browse, agent: User, db: Any
) -> None:
    body = html(browse(agent).get("/alerts/"))
    form = re.search(r"<form class=\"filters card[^>]*>", body)
    assert form and "data-autosubmit" not in form.group(0)
    assert '<button type="submit" class="btn">Apply</button>' in body


# --- the incident's alerts ---------------------------------------------------------------------


def test_a_monitoring_incident_summarises_its_alerts_readably(
    browse: Browse, agent: User, integration: Integration
) -> None:
    alert = fire(
        integration,
        "disk",
        "Disk full on db1",
        severity="critical",
        source="db1",
        labels={"alertname": "DiskFull", "instance": "db1:9100", "team": "storage"},
        details={"annotations": {"description": "Only 0 bytes left"}, "mount": {"path": "/var"}},
        links=[{"href": "https://grafana.example/d/1", "text": "Dashboard"}],
    )
    incident = Incident.objects.get(pk=alert.incident_id)
    # the description is short and readable: no label dump, no raw JSON
    description = incident.description
    assert "Severity: critical · Source: db1 · Started:" in description
    assert "Labels: alertname=DiskFull, instance=db1:9100, team=storage" in description
    assert "Only 0 bytes left" in description
    assert "- Dashboard: https://grafana.example/d/1" in description
    assert "{" not in description and '"path"' not in description
    page = browse(agent).get(f"/incidents/{incident.ref}/")
    body, text = html(page), text_of(page)
    section = body[body.index('aria-labelledby="h-alerts"') :]
    section = section[: section.index("</section>")]
    assert f'<a class="alert-link" href="/alerts/{alert.pk}/">Disk full on db1</a>' in section
    assert "alertname=DiskFull" in section and "instance=db1:9100" in section
    assert "Critical" in section and "Triggered" in section
    assert "Alerts (1) · 1 open" in text
