"""Events are normalised once, at the door: what the inbox holds is what alerts are
made of, and the drain takes such events as they are."""

from __future__ import annotations

from typing import Any

from tests.alerts.engine.helpers import drain
from tests.alerts.ingest.conftest import am_alert, am_body, only_row, post
from tocsin.alerts.models import Alert


def test_the_stored_events_are_normalised_and_marked(client: Any, make_integration: Any) -> None:
    _, key = make_integration("alertmanager")
    alert = am_alert()
    alert["labels"] = {**alert["labels"], "team": "  storage  ", "severity": "CRITICAL"}
    response = post(client, f"/integrations/alertmanager/{key}", am_body([alert]))
    assert response.status_code == 202
    [event] = only_row().events
    assert event["normalised"] is True
    assert event["labels"]["team"] == "storage"  # trimmed before it was stored
    assert event["severity"] == "critical"
    drain()
    stored = Alert.objects.get()
    assert stored.labels["team"] == "storage"
    assert stored.severity == "critical"
