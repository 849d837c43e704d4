"""The real Prometheus Alertmanager sending to Tocsin (issue 3, "How it is checked").

Alertmanager runs on loopback with a config built from what Tocsin hands out: the
snippet the integrations API answers, or the example on the docs page (both are what a
user pastes). Only the timings are shortened so the test is quick: group_wait 1 s,
group_interval 1 s, repeat_interval 2 s, hence a re-send every ~2 s.

For each way in (webhook_configs, pagerduty_configs with `url:`, opsgenie_configs with
`api_url:`): an alert posted to Alertmanager opens exactly one incident (source
monitoring, on the integration's service); Alertmanager's re-sends add none; resolving
the alert in Alertmanager resolves the alert and, by auto-resolve, the incident.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.system.conftest import Alertmanager, LiveTocsin, pretty
from tests.system.examples import BASE, KEY, example, fill

pytestmark = pytest.mark.django_db(transaction=True)

FAST = {
    "group_wait: 30s": "group_wait: 1s",
    "group_interval: 5m": "group_interval: 1s",
    "repeat_interval: 4h": "repeat_interval: 2s",
}
FAST_ROUTE = "route:\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 2s\n"
RESENDS = 3  # requests Tocsin must have seen before the test resolves the alert

LABELS = {
    "alertname": "DiskFull",
    "service": "checkout",
    "severity": "critical",
    "instance": "db-1",
}
ANNOTATIONS = {"summary": "Disk almost full on db-1", "description": "Only 2 % left on /var."}


def snippet_text(answer: dict[str, Any], marker: str) -> str:
    """The Alertmanager YAML among the snippets the integrations API answered."""
    for item in answer["snippets"]:
        if item["language"] == "yaml" and marker in item["text"]:
            return str(item["text"])
    raise AssertionError(f"no Alertmanager snippet with {marker!r} in {pretty(answer)}")


def from_snippet(snippet: str) -> str:
    """A whole alertmanager.yml from a snippet: add the route if it has none, fast timings."""
    config = (
        snippet
        if re.search(r"^route:", snippet, re.M)
        else ("route:\n  receiver: tocsin\n" + snippet)
    )
    return fill(config, {"route:\n": FAST_ROUTE})


def from_docs(page: str, name: str, live: LiveTocsin, key: str) -> str:
    return fill(example(page, name), {**FAST, BASE: live.url, KEY: key})


def make_integration(live: LiveTocsin, kind: str) -> tuple[int, dict[str, Any]]:
    service = live.api_post("/api/v1/services", {"name": f"Checkout ({kind})"})
    answer = live.api_post(f"/api/v1/services/{service['id']}/integrations", {"kind": kind})
    assert answer["kind"] == kind
    assert re.fullmatch(r"[a-z0-9]{32}", answer["key"]), answer["key"]
    return service["id"], answer


def failed_notifications(manager: Alertmanager) -> float:
    """Alertmanager's own count of notifications that Tocsin did not take (any 4xx/5xx)."""
    text = httpx.get(f"{manager.url}/metrics", timeout=5).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("alertmanager_notifications_failed_total")
    )


def state(live: LiveTocsin, manager: Alertmanager, service_id: int, integration_id: int) -> str:
    """What Tocsin and Alertmanager hold, for a failure message."""
    from tocsin.alerts.models import Alert, InboxEvent
    from tocsin.incidents.models import Incident

    def read() -> dict[str, Any]:
        return {
            "inbox": list(
                InboxEvent.objects.filter(integration_id=integration_id).values(
                    "id", "received_at", "state", "outcome", "outcome_detail", "events"
                )
            ),
            "alerts": list(
                Alert.objects.filter(integration_id=integration_id).values(
                    "id",
                    "dedup_key",
                    "status",
                    "occurrences",
                    "first_seen_at",
                    "last_seen_at",
                    "incident_id",
                )
            ),
            "incidents": list(
                Incident.objects.filter(service_id=service_id).values(
                    "number", "status", "source", "resolution_code"
                )
            ),
        }

    return f"{pretty(live.read(read))}\nAlertmanager log:\n{manager.log_tail(60)}"


def one_alert_lifecycle(
    live: LiveTocsin,
    manager: Alertmanager,
    *,
    service_id: int,
    integration_id: int,
    snapshots: bool,
) -> None:
    try:
        _lifecycle(
            live,
            manager,
            service_id=service_id,
            integration_id=integration_id,
            snapshots=snapshots,
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{state(live, manager, service_id, integration_id)}") from exc


def _lifecycle(
    live: LiveTocsin,
    manager: Alertmanager,
    *,
    service_id: int,
    integration_id: int,
    snapshots: bool,
) -> None:
    """Fire → one incident; re-sends → nothing new; resolve → alert and incident resolved."""
    from tocsin.alerts.models import Alert, InboxEvent
    from tocsin.incidents.models import Incident

    def incidents() -> list[Incident]:
        return list(Incident.objects.filter(service_id=service_id))

    def alerts() -> list[Alert]:
        return list(Alert.objects.filter(integration_id=integration_id))

    def requests() -> int:
        return InboxEvent.objects.filter(integration_id=integration_id).count()

    starts_at = manager.fire(LABELS, ANNOTATIONS)
    live.wait_for("an incident from the alert", lambda: incidents() or None)

    # Alertmanager re-sends the group every repeat_interval; each re-send is absorbed.
    live.wait_for(f"{RESENDS} requests from Alertmanager", lambda: requests() >= RESENDS)
    live.settle(0.5)  # the engine takes what arrived
    (incident,) = live.read(incidents)
    (alert,) = live.read(alerts)
    assert incident.source == "monitoring"
    assert incident.service_id == service_id
    assert incident.status not in ("resolved", "closed")
    assert alert.incident_id == incident.pk
    assert alert.status == "triggered"
    assert "Disk" in alert.summary
    if snapshots:
        # Whole-group snapshots: a re-sent identical snapshot only refreshes last_seen.
        assert alert.occurrences == 1
        assert alert.last_seen_at > alert.first_seen_at

    def taken() -> list[tuple[str, str]] | None:
        # Alertmanager keeps re-sending: a request that came in after the settle may still
        # be waiting for the engine's next turn (seen on a loaded machine); the engine ticks
        # until none is pending, then every one must have been applied
        rows = list(
            InboxEvent.objects.filter(integration_id=integration_id).values_list("state", "outcome")
        )
        return rows if all(state != "pending" for state, _ in rows) else None

    outcomes = live.wait_for("every request from Alertmanager taken", taken)
    assert all(state == "done" and outcome for state, outcome in outcomes), outcomes

    manager.resolve(LABELS, ANNOTATIONS, starts_at)
    live.wait_for(
        "the incident resolved by its resolved alert",
        lambda: Incident.objects.get(pk=incident.pk).status == "resolved",
    )
    (incident,) = live.read(incidents)
    (alert,) = live.read(alerts)
    assert alert.status == "resolved"
    assert incident.resolution_code == "auto-resolved"
    assert failed_notifications(manager) == 0, manager.log_tail()


@pytest.mark.parametrize("config_from", ["api-snippet", "docs"])
def test_webhook_configs(
    live: LiveTocsin, alertmanager: Callable[[str], Alertmanager], config_from: str
) -> None:
    service_id, answer = make_integration(live, "alertmanager")
    assert answer["url"] == f"{live.url}/integrations/alertmanager/{answer['key']}"
    if config_from == "docs":
        config = from_docs("alertmanager.md", "alertmanager-webhook", live, answer["key"])
    else:
        config = from_snippet(snippet_text(answer, "webhook_configs"))
    assert answer["url"] in config
    manager = alertmanager(config)
    one_alert_lifecycle(
        live, manager, service_id=service_id, integration_id=answer["id"], snapshots=True
    )


@pytest.mark.parametrize("config_from", ["api-snippet", "docs"])
def test_pagerduty_configs_with_url(
    live: LiveTocsin, alertmanager: Callable[[str], Alertmanager], config_from: str
) -> None:
    service_id, answer = make_integration(live, "pagerduty")
    assert answer["url"] == f"{live.url}/v2/enqueue"
    if config_from == "docs":
        config = from_docs("pagerduty.md", "alertmanager-pagerduty", live, answer["key"])
    else:
        config = from_snippet(snippet_text(answer, "pagerduty_configs"))
    assert f"routing_key: {answer['key']}" in config
    manager = alertmanager(config)
    one_alert_lifecycle(
        live, manager, service_id=service_id, integration_id=answer["id"], snapshots=False
    )


def test_opsgenie_configs_with_api_url_from_the_docs(
    live: LiveTocsin, alertmanager: Callable[[str], Alertmanager]
) -> None:
    """The docs' opsgenie_configs example, priority template included: critical → P1."""
    from tocsin.incidents.models import Incident

    service_id, answer = make_integration(live, "opsgenie")
    config = from_docs("opsgenie.md", "alertmanager-opsgenie", live, answer["key"])
    manager = alertmanager(config)
    one_alert_lifecycle(
        live, manager, service_id=service_id, integration_id=answer["id"], snapshots=False
    )
    incident = live.read(lambda: Incident.objects.get(service_id=service_id))
    assert incident.priority == 1  # the example maps severity=critical to Opsgenie's P1
