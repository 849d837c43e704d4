"""Every example configuration on docs/integrations/*.md is one a test runs.

The examples are read from the pages (tests/system/examples.py): what a reader copies is
what is sent here. The Alertmanager examples run against the real Alertmanager in
test_alertmanager.py; the others are posted to the ingest endpoints in-process, and the
engine is ticked until it has handled them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.test import Client

from tests.conftest import ApiClient
from tests.system.examples import BASE, DOCS, KEY, example, examples, fill

pytestmark = pytest.mark.django_db

# (page, example) -> the test that uses it. A new example must be added here, with a test.
TESTED = {
    ("alertmanager.md", "alertmanager-webhook"): "test_alertmanager.py::test_webhook_configs",
    (
        "pagerduty.md",
        "alertmanager-pagerduty",
    ): "test_alertmanager.py::test_pagerduty_configs_with_url",
    ("pagerduty.md", "trigger-event"): "test_pagerduty_events_and_change_events",
    ("pagerduty.md", "resolve-event"): "test_pagerduty_events_and_change_events",
    ("pagerduty.md", "change-event"): "test_pagerduty_events_and_change_events",
    (
        "opsgenie.md",
        "alertmanager-opsgenie",
    ): "test_alertmanager.py::test_opsgenie_configs_with_api_url_from_the_docs",
    ("opsgenie.md", "opsgenie-create"): "test_opsgenie_create_and_close",
    ("opsgenie.md", "opsgenie-close"): "test_opsgenie_create_and_close",
    ("grafana.md", "grafana-integration"): "test_grafana_signed_webhook",
    ("grafana.md", "grafana-contact-point"): "test_grafana_signed_webhook",
    ("grafana.md", "grafana-body"): "test_grafana_signed_webhook",
    ("webhook.md", "webhook-integration"): "test_generic_webhook_with_a_field_mapping",
    ("webhook.md", "webhook-firing"): "test_generic_webhook_with_a_field_mapping",
    ("webhook.md", "webhook-resolved"): "test_generic_webhook_with_a_field_mapping",
    ("heartbeat.md", "heartbeat-integration"): "test_heartbeat_ping_miss_and_recovery",
    ("heartbeat.md", "heartbeat-cron"): "test_heartbeat_ping_miss_and_recovery",
}
HMAC_SECRET = "s3cret-shared-with-grafana"


def test_every_integration_page_has_tested_examples_and_every_example_is_tested() -> None:
    pages = sorted(p.name for p in DOCS.glob("*.md") if p.name not in ("index.md", "email.md"))
    assert pages == ["alertmanager.md", "grafana.md", "heartbeat.md", "opsgenie.md",
                     "pagerduty.md", "webhook.md"]  # fmt: skip
    for page in pages:
        marked = set(examples(page))
        assert marked, f"{page} has no tested example"
        tested = {name for (p, name) in TESTED if p == page}
        assert marked == tested, f"{page}: marked {sorted(marked)}, tested {sorted(tested)}"
    for user in set(TESTED.values()):  # the named tests exist
        module, _, name = user.rpartition("::")
        source = (Path(__file__).parent / (module or Path(__file__).name)).read_text()
        assert re.search(rf"^def {name}\b", source, re.M), f"no test {user}"
    index = (DOCS / "index.md").read_text()
    for page in pages:
        assert f"({page})" in index, f"index.md does not link {page}"
    assert "integrations/index.md" in (DOCS.parent / "index.md").read_text()


# --- helpers --------------------------------------------------------------------------


class Tocsin:
    """The API as an administrator, the ingest endpoints as a sender, the engine by hand."""

    def __init__(self, api: ApiClient) -> None:
        from tocsin.engine.engine import default_modules

        self.api = api
        self.sender = Client()
        self.modules = default_modules("docs-examples")

    def service(self, name: str) -> int:
        response = self.api.post("/api/v1/services", {"name": name})
        assert response.status_code == 201, response.content
        return int(response.json()["id"])

    def integration(self, service_id: int, body: dict[str, Any]) -> dict[str, Any]:
        response = self.api.post(f"/api/v1/services/{service_id}/integrations", body)
        assert response.status_code == 201, response.content
        return dict(response.json())

    def send(self, url: str, body: str | bytes, **headers: str) -> Any:
        assert url.startswith(BASE + "/"), url
        return self.sender.post(
            url.removeprefix(BASE), body, content_type="application/json", headers=headers
        )

    def drain(self) -> None:
        """Tick until the engine has nothing left to do (bounded)."""
        from tocsin.engine.engine import run_tick

        for _ in range(20):
            done = run_tick(self.modules)
            assert all(count >= 0 for count in done.values()), done
            if not any(done.values()):
                return
        raise AssertionError("the engine still had work after 20 ticks")

    def alerts(self, service_id: int) -> list[dict[str, Any]]:
        response = self.api.get("/api/v1/alerts", {"service": service_id})
        assert response.status_code == 200, response.content
        return list(response.json()["items"])

    def incidents(self, service_id: int) -> list[dict[str, Any]]:
        response = self.api.get("/api/v1/incidents", {"service": service_id, "status": "all"})
        assert response.status_code == 200, response.content
        return list(response.json()["items"])

    def incident(self, ref: str) -> dict[str, Any]:
        response = self.api.get(f"/api/v1/incidents/{ref}")
        assert response.status_code == 200, response.content
        return dict(response.json())


@pytest.fixture
def tocsin(
    api: Callable[[Any], ApiClient], make_user: Callable[..., Any], settings: Any
) -> Iterator[Tocsin]:
    from tocsin.accounts.models import Role

    settings.BASE_URL = BASE  # the API's URLs and snippets use the docs' host
    yield Tocsin(api(make_user(Role.ADMIN, username="docsadmin")))


def inbox_count(integration_id: int) -> int:
    from tocsin.alerts.models import InboxEvent

    return InboxEvent.objects.filter(integration_id=integration_id).count()


# --- the examples ---------------------------------------------------------------------


def test_pagerduty_events_and_change_events(tocsin: Tocsin) -> None:
    service = tocsin.service("Databases")
    integration = tocsin.integration(service, {"kind": "pagerduty"})
    key = integration["key"]
    assert integration["url"] == f"{BASE}/v2/enqueue"
    trigger = fill(example("pagerduty.md", "trigger-event"), {KEY: key})
    resolve = fill(example("pagerduty.md", "resolve-event"), {KEY: key})
    change = fill(example("pagerduty.md", "change-event"), {KEY: key})

    for _ in range(2):  # the same trigger twice: one alert, two occurrences, one incident
        response = tocsin.send(integration["url"], trigger)
        assert response.status_code == 202, response.content
        assert response.json() == {
            "status": "success",
            "message": "Event processed",
            "dedup_key": "disk-full-db1",
        }
    tocsin.drain()
    (alert,) = tocsin.alerts(service)
    assert alert["summary"] == "Disk full on db1"
    assert alert["severity"] == "critical"
    assert alert["occurrences"] == 2
    assert alert["status"] == "triggered"
    assert {"href": "https://grafana.example.com/d/disks", "text": "Disk dashboard"}.items() <= (
        alert["links"][0].items()
    )
    (incident,) = tocsin.incidents(service)
    assert incident["number"] == alert["incident"]
    assert incident["source"] == "monitoring"
    assert incident["priority"] == "P1"  # critical -> impact 1, urgency 1

    response = tocsin.send(integration["url"], resolve)
    assert response.status_code == 202, response.content
    tocsin.drain()
    (alert,) = tocsin.alerts(service)
    assert alert["status"] == "resolved"
    incident = tocsin.incident(alert["incident"])
    assert incident["status"] == "resolved"
    assert incident["resolution_code"] == "auto-resolved"

    response = tocsin.send(f"{BASE}/v2/change/enqueue", change)
    assert response.status_code == 202, response.content
    tocsin.drain()
    listed = tocsin.api.get(f"/api/v1/services/{service}/change-events").json()
    assert [e["summary"] for e in listed["items"]] == ["Deployed checkout v2.14.1"]
    assert len(tocsin.incidents(service)) == 1  # a change event never opens an incident


def test_opsgenie_create_and_close(tocsin: Tocsin) -> None:
    service = tocsin.service("Checkout")
    integration = tocsin.integration(service, {"kind": "opsgenie"})
    genie = {"Authorization": f"GenieKey {integration['key']}"}
    create = example("opsgenie.md", "opsgenie-create")
    close = example("opsgenie.md", "opsgenie-close")

    response = tocsin.send(f"{BASE}/opsgenie/v2/alerts", create, **genie)
    assert response.status_code == 202, response.content
    assert response.json()["result"] == "Request will be processed"
    tocsin.drain()
    (alert,) = tocsin.alerts(service)
    assert alert["summary"] == "Checkout latency above 2 s"
    incident = tocsin.incident(alert["incident"])
    assert incident["priority"] == "P2"  # Opsgenie's P2, as the docs' table says

    wrong = {"Authorization": "GenieKey " + "0" * 32}
    assert tocsin.send(f"{BASE}/opsgenie/v2/alerts", create, **wrong).status_code == 401

    url = f"{BASE}/opsgenie/v2/alerts/checkout-latency/close?identifierType=alias"
    response = tocsin.send(url, close, **genie)
    assert response.status_code == 202, response.content
    tocsin.drain()
    (alert,) = tocsin.alerts(service)
    assert alert["status"] == "resolved"
    assert tocsin.incident(alert["incident"])["status"] == "resolved"


def _yaml_value(text: str, name: str) -> str:
    match = re.search(rf"^\s*{name}: (\S+)\s*$", text, re.MULTILINE)
    assert match, f"{name} not found in:\n{text}"
    return match.group(1)


def test_grafana_signed_webhook(tocsin: Tocsin) -> None:
    service = tocsin.service("Shop")
    body = json.loads(
        fill(example("grafana.md", "grafana-integration"), {"YOUR_HMAC_SECRET": HMAC_SECRET})
    )
    integration = tocsin.integration(service, body)
    assert integration["secret_set"] is True
    provisioning = fill(
        example("grafana.md", "grafana-contact-point"),
        {KEY: integration["key"], "YOUR_HMAC_SECRET": HMAC_SECRET},
    )
    url = _yaml_value(provisioning, "url")
    assert url == integration["url"]
    secret = _yaml_value(provisioning, "secret")
    signature_header = _yaml_value(provisioning, "header")
    timestamp_header = _yaml_value(provisioning, "timestampHeader")
    payload = example("grafana.md", "grafana-body").encode()

    def signed(at: int, key: str = secret) -> dict[str, str]:
        """As Grafana signs: hex HMAC-SHA256 of "<unix seconds>:<body>"."""
        digest = hmac.new(key.encode(), f"{at}:".encode() + payload, hashlib.sha256).hexdigest()
        return {signature_header: digest, timestamp_header: str(at)}

    now = int(time.time())
    refused = [
        tocsin.send(url, payload, **signed(now, key="not-the-secret")),
        tocsin.send(url, payload, **signed(now - 600)),  # a replay 10 minutes later
        tocsin.send(url, payload),  # unsigned
    ]
    assert [r.status_code for r in refused] == [401, 401, 401]
    assert inbox_count(integration["id"]) == 0

    response = tocsin.send(url, payload, **signed(now))
    assert response.status_code == 202, response.content
    tocsin.drain()
    (alert,) = tocsin.alerts(service)
    assert alert["summary"] == "5xx rate above 5 % on checkout"
    assert alert["labels"]["grafana_folder"] == "Shop"
    assert "https://grafana.example.com/d/checkout" in {link["href"] for link in alert["links"]}
    (incident,) = tocsin.incidents(service)
    assert incident["number"] == alert["incident"]
    assert incident["priority"] == "P1"


def test_generic_webhook_with_a_field_mapping(tocsin: Tocsin) -> None:
    service = tocsin.service("Storefront")
    integration = tocsin.integration(
        service, json.loads(example("webhook.md", "webhook-integration"))
    )
    assert integration["url"] == f"{BASE}/integrations/webhook/{integration['key']}"
    firing = example("webhook.md", "webhook-firing")
    resolved = example("webhook.md", "webhook-resolved")

    for _ in range(2):
        response = tocsin.send(integration["url"], firing)
        assert response.status_code == 202, response.content
    tocsin.drain()
    (alert,) = tocsin.alerts(service)
    assert alert["summary"] == "Checkout API does not answer"
    assert alert["severity"] == "critical"
    assert alert["dedup_key"] == "checkout-api-https"
    assert alert["occurrences"] == 2
    (incident,) = tocsin.incidents(service)
    assert incident["number"] == alert["incident"]

    response = tocsin.send(integration["url"], resolved)
    assert response.status_code == 202, response.content
    tocsin.drain()
    (alert,) = tocsin.alerts(service)
    assert alert["status"] == "resolved"
    incident = tocsin.incident(alert["incident"])
    assert incident["status"] == "resolved"
    assert incident["resolution_code"] == "auto-resolved"


def test_heartbeat_ping_miss_and_recovery(tocsin: Tocsin) -> None:
    service = tocsin.service("Backups")
    body = json.loads(example("heartbeat.md", "heartbeat-integration"))
    integration = tocsin.integration(service, body)
    cron = fill(example("heartbeat.md", "heartbeat-cron"), {KEY: integration["key"]})
    match = re.search(r"curl [^|>]*?(https://\S+)", cron)
    assert match, cron
    url = match.group(1)
    assert url == integration["url"]
    path = url.removeprefix(BASE)
    period = dt.timedelta(seconds=body["interval_seconds"] + body["grace_seconds"])

    def heartbeat() -> dict[str, Any]:
        got = tocsin.api.get(f"/api/v1/services/{service}/integrations/{integration['id']}")
        return dict(got.json()["heartbeat"])

    start = dt.datetime.now(dt.UTC)
    with time_machine.travel(start, tick=True) as clock:
        assert tocsin.sender.get(path).status_code == 200  # curl's GET is a ping
        tocsin.drain()
        assert heartbeat()["state"] == "up"
        assert tocsin.incidents(service) == []

        clock.move_to(start + period - dt.timedelta(seconds=30))  # not yet late
        tocsin.drain()
        assert tocsin.incidents(service) == []

        clock.move_to(start + period + dt.timedelta(seconds=5))  # the job did not ping
        tocsin.drain()
        assert heartbeat()["state"] == "down"
        (incident,) = tocsin.incidents(service)
        assert incident["source"] == "monitoring"
        assert incident["status"] == "new"

        clock.move_to(start + period + dt.timedelta(minutes=10))
        tocsin.drain()
        assert len(tocsin.incidents(service)) == 1  # no second incident while still late

        assert tocsin.sender.post(path).status_code == 200  # the job is back
        tocsin.drain()
        assert heartbeat()["state"] == "up"
        incident = tocsin.incident(incident["number"])
        assert incident["status"] == "resolved"
        assert incident["resolution_code"] == "auto-resolved"
