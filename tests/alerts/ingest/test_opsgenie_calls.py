"""Issue 7, point 18: the Opsgenie calls migrating users make besides create and close,
as Opsgenie's SDK makes them: acknowledge, unacknowledge, add note, close and get by id,
tiny id or alias, the request status the SDK polls, and JSON on every path."""

from __future__ import annotations

from typing import Any

import pytest

from tests.alerts.engine.helpers import drain
from tests.alerts.ingest.conftest import post, stored
from tocsin.alerts.models import Alert, AlertStatus, InboxEvent
from tocsin.incidents.models import TimelineEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def og(make_integration):
    return make_integration("opsgenie")


def genie(key: str) -> dict[str, str]:
    return {"Authorization": f"GenieKey {key}"}


def create(client, key: str, alias: str = "disk-web1", **fields: Any) -> dict[str, Any]:
    body = {"message": "Disk full on web1", "alias": alias, "priority": "P2", **fields}
    response = post(client, "/opsgenie/v2/alerts", body, headers=genie(key))
    assert response.status_code == 202, response.content
    return response.json()


def status_of(client, key: str, request_id: str) -> Any:
    return client.get(f"/opsgenie/v2/alerts/requests/{request_id}", headers=genie(key))


def call(client, key: str, path: str, body: Any = None) -> Any:
    return post(client, f"/opsgenie/v2/alerts/{path}", body or {}, headers=genie(key))


def the_alert() -> Alert:
    [alert] = Alert.objects.all()
    return alert


def test_create_then_poll_the_request_like_the_sdk(client, og) -> None:
    _, key = og
    accepted = create(client, key)
    waiting = status_of(client, key, accepted["requestId"])
    assert waiting.status_code == 404  # not processed yet: the SDK asks again
    assert waiting["Content-Type"].startswith("application/json")
    assert set(waiting.json()) == {"message", "took", "requestId"}
    drain()
    done = status_of(client, key, accepted["requestId"])
    assert done.status_code == 200
    data = done.json()["data"]
    alert = the_alert()
    assert data["success"] is True and data["isSuccess"] is True
    assert data["action"] == "Create"
    assert data["status"] == "Created alert"
    assert data["alertId"] == str(alert.pk)
    assert data["alias"] == "disk-web1"
    assert data["processedAt"]
    assert set(done.json()) == {"data", "took", "requestId"}


def test_a_request_of_another_integration_is_not_found(client, og, make_integration) -> None:
    _, key = og
    _, other = make_integration("opsgenie")
    accepted = create(client, key)
    drain()
    assert status_of(client, other, accepted["requestId"]).status_code == 404


def test_acknowledge_by_id_without_identifier_type(client, og) -> None:
    _, key = og
    create(client, key)
    drain()
    alert = the_alert()
    accepted = call(client, key, f"{alert.pk}/acknowledge", {"user": "ops", "note": "mine"})
    assert accepted.status_code == 202
    assert accepted.json()["result"] == "Request will be processed"
    drain()
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACKNOWLEDGED
    assert alert.incident is not None and alert.incident.status == "acknowledged"
    data = status_of(client, key, accepted.json()["requestId"]).json()["data"]
    assert (data["action"], data["success"], data["alertId"]) == (
        "Acknowledge",
        True,
        str(alert.pk),
    )


def test_unacknowledge_by_alias(client, og) -> None:
    _, key = og
    create(client, key)
    drain()
    call(client, key, "disk-web1/acknowledge?identifierType=alias")
    drain()
    accepted = call(client, key, "disk-web1/unacknowledge?identifierType=alias")
    assert accepted.status_code == 202
    drain()
    alert = the_alert()
    assert alert.status == AlertStatus.TRIGGERED
    assert alert.acknowledged_at is None
    data = status_of(client, key, accepted.json()["requestId"]).json()["data"]
    assert (data["action"], data["success"]) == ("UnAcknowledge", True)


def test_add_note_by_tiny_id_reaches_the_alert_and_its_incident(client, og) -> None:
    _, key = og
    create(client, key)
    drain()
    alert = the_alert()
    accepted = call(
        client,
        key,
        f"{alert.pk}/notes?identifierType=tiny",
        {"note": "Disk cleaned", "user": "ann"},
    )
    assert accepted.status_code == 202
    drain()
    alert.refresh_from_db()
    assert [n["note"] for n in alert.details["notes"]] == ["Disk cleaned"]
    assert TimelineEntry.objects.filter(
        incident=alert.incident, text__contains="Disk cleaned"
    ).exists()
    data = status_of(client, key, accepted.json()["requestId"]).json()["data"]
    assert (data["action"], data["success"]) == ("AddNote", True)


def test_a_note_without_text_is_422_in_opsgenies_shape(client, og) -> None:
    _, key = og
    create(client, key)
    drain()
    response = call(client, key, "disk-web1/notes?identifierType=alias", {"user": "ann"})
    assert response.status_code == 422
    reply = response.json()
    assert reply["message"] == "Request body is not processable. Please check the errors."
    assert "note" in reply["errors"]
    assert set(reply) == {"message", "errors", "took", "requestId"}


def test_close_by_id(client, og) -> None:
    _, key = og
    create(client, key)
    drain()
    alert = the_alert()
    accepted = call(client, key, f"{alert.pk}/close", {"source": "script"})
    assert accepted.status_code == 202
    drain()
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED
    data = status_of(client, key, accepted.json()["requestId"]).json()["data"]
    assert (data["action"], data["status"]) == ("Close", "Closed alert")


def test_calls_sent_together_are_applied_in_order(client, og) -> None:
    _, key = og
    create(client, key)
    call(client, key, "disk-web1/acknowledge?identifierType=alias")
    call(client, key, "disk-web1/notes?identifierType=alias", {"note": "looking"})
    call(client, key, "disk-web1/close?identifierType=alias")
    assert stored() == 4
    drain()
    alert = the_alert()
    assert alert.status == AlertStatus.RESOLVED
    assert alert.acknowledged_at is not None
    assert alert.details["notes"][0]["note"] == "looking"
    assert [row.outcome for row in InboxEvent.objects.order_by("id")] == ["created"] + [
        "updated"
    ] * 3


def test_a_call_by_id_never_touches_a_newer_alert_with_the_same_alias(client, og) -> None:
    _, key = og
    create(client, key)
    drain()
    first = the_alert()
    call(client, key, "disk-web1/close?identifierType=alias")
    drain()
    create(client, key)  # the alias is free again: a new alert
    drain()
    call(client, key, f"{first.pk}/close")  # addressed to the first, already closed
    drain()
    newer = Alert.objects.exclude(pk=first.pk).get()
    assert newer.status == AlertStatus.TRIGGERED
    assert InboxEvent.objects.order_by("-id").first().outcome == "ignored"


def test_get_by_id_tiny_and_alias(client, og) -> None:
    _, key = og
    create(client, key, tags=["disk"], details={"host": "web1"}, description="97% used")
    drain()
    alert = the_alert()
    for path in (
        f"{alert.pk}",
        f"{alert.pk}?identifierType=tiny",
        "disk-web1?identifierType=alias",
    ):
        response = client.get(f"/opsgenie/v2/alerts/{path}", headers=genie(key))
        assert response.status_code == 200, (path, response.content)
        data = response.json()["data"]
        assert data["id"] == str(alert.pk)
        assert data["alias"] == "disk-web1"
        assert data["message"] == "Disk full on web1"
        assert (data["status"], data["acknowledged"], data["count"]) == ("open", False, 1)
        assert data["priority"] == "P2"
        assert data["tags"] == ["disk"]
        assert data["details"] == {"host": "web1"}
        assert data["description"] == "97% used"
    call(client, key, "disk-web1/close?identifierType=alias")
    drain()
    closed = client.get("/opsgenie/v2/alerts/disk-web1?identifierType=alias", headers=genie(key))
    assert closed.json()["data"]["status"] == "closed"


@pytest.mark.parametrize(
    "path", ["999999", "999999?identifierType=tiny", "nope?identifierType=alias", "abc"]
)
def test_get_of_an_unknown_alert_is_opsgenies_404(client, og, path) -> None:
    _, key = og
    response = client.get(f"/opsgenie/v2/alerts/{path}", headers=genie(key))
    assert response.status_code == 404
    assert response.json()["message"] == "Alert does not exist"


def test_an_alert_of_another_integration_cannot_be_read_or_changed(
    client, og, make_integration
) -> None:
    _, key = og
    _, other = make_integration("opsgenie")
    create(client, key)
    drain()
    alert = the_alert()
    assert client.get(f"/opsgenie/v2/alerts/{alert.pk}", headers=genie(other)).status_code == 404
    assert call(client, other, f"{alert.pk}/close").status_code == 404
    assert stored() == 1


def test_reads_need_the_genie_key(client, og) -> None:
    response = client.get("/opsgenie/v2/alerts/1")
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert "requestId" in response.json()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/opsgenie/v1/alerts"),
        ("post", "/opsgenie/v2/alerts/abc/snooze"),
        ("post", "/opsgenie/v2/alerts/abc/escalate?identifierType=alias"),
        ("get", "/opsgenie/v2/heartbeats/web/ping"),
        ("delete", "/opsgenie/v2/alerts/abc"),
        ("get", "/opsgenie/"),
        ("get", "/opsgenie/v2/alerts/a/b/c/d"),
        ("put", "/opsgenie/v2/alerts"),
    ],
)
def test_every_path_under_opsgenie_answers_json(client, og, method, path) -> None:
    _, key = og
    response = getattr(client, method)(path, headers=genie(key))
    assert 400 <= response.status_code < 500
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    reply = response.json()
    assert {"message", "took", "requestId"} <= set(reply)
    assert stored() == 0
