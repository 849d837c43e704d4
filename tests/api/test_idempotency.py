"""Idempotency-Key: the same person and key within 24 hours get the first answer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.api.conftest import file_incident
from tests.conftest import ApiClient
from tocsin.accounts.models import Role, Team, User
from tocsin.catalog.models import Category, Service
from tocsin.core.models import IdempotencyRecord
from tocsin.incidents.models import Attachment, Incident, TimelineEntry

Clients = Callable[[str], ApiClient]
T0 = dt.datetime(2026, 5, 4, 12, 0, tzinfo=dt.UTC)


def test_the_same_key_creates_once_and_replays_the_first_answer(client_for: Clients) -> None:
    agent = client_for(Role.AGENT)
    key = {"Idempotency-Key": "retry-7f3a"}
    first = agent.post("/api/v1/incidents", {"title": "Disk full"}, headers=key)
    second = agent.post("/api/v1/incidents", {"title": "Disk full"}, headers=key)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Incident.objects.count() == 1


def test_the_same_key_with_another_body_is_422_naming_the_key(client_for: Clients) -> None:
    """Issue 7 (20): a different body under a used key silently replayed the first answer."""
    agent = client_for(Role.AGENT)
    key = {"Idempotency-Key": "retry-7f3a"}
    first = agent.post("/api/v1/incidents", {"title": "Disk full", "impact": 2}, headers=key)
    assert first.status_code == 201
    different = agent.post("/api/v1/incidents", {"title": "Something else"}, headers=key)
    assert different.status_code == 422
    [error] = different.json()["detail"]
    assert error["loc"] == ["header", "Idempotency-Key"]
    assert "different request body" in error["msg"]
    assert Incident.objects.count() == 1
    # The same JSON written another way (key order, spaces) is the same request.
    same = agent.client.post(
        "/api/v1/incidents",
        '{ "impact" : 2,\n "title": "Disk full" }',
        content_type="application/json",
        headers=agent._headers(key),
    )
    assert same.status_code == 201
    assert same.json() == first.json()


def test_other_keys_and_no_key_create_again(client_for: Clients) -> None:
    agent = client_for(Role.AGENT)
    a = agent.post("/api/v1/incidents", {"title": "x"}, headers={"Idempotency-Key": "a"})
    b = agent.post("/api/v1/incidents", {"title": "x"}, headers={"Idempotency-Key": "b"})
    agent.post("/api/v1/incidents", {"title": "x"})
    agent.post("/api/v1/incidents", {"title": "x"})
    assert a.json()["id"] != b.json()["id"]
    assert Incident.objects.count() == 4


def test_keys_belong_to_their_owner(client_for: Clients) -> None:
    alice, bob = client_for(Role.AGENT), client_for(Role.AGENT)
    key = {"Idempotency-Key": "shared"}
    mine = alice.post("/api/v1/incidents", {"title": "mine"}, headers=key).json()
    theirs = bob.post("/api/v1/incidents", {"title": "theirs"}, headers=key).json()
    assert mine["id"] != theirs["id"]
    assert theirs["title"] == "theirs"


def test_a_key_expires_after_24_hours(client_for: Clients) -> None:
    agent = client_for(Role.AGENT)
    key = {"Idempotency-Key": "daily"}
    with time_machine.travel(T0, tick=False):
        first = agent.post("/api/v1/incidents", {"title": "x"}, headers=key).json()
    with time_machine.travel(T0 + dt.timedelta(hours=23, minutes=59), tick=False):
        again = agent.post("/api/v1/incidents", {"title": "x"}, headers=key).json()
    with time_machine.travel(T0 + dt.timedelta(hours=24, minutes=1), tick=False):
        later = agent.post("/api/v1/incidents", {"title": "x"}, headers=key).json()
    assert again["id"] == first["id"]
    assert later["id"] != first["id"]
    assert IdempotencyRecord.objects.filter(key="daily").count() == 1


def test_a_failed_create_is_not_remembered(client_for: Clients) -> None:
    agent = client_for(Role.AGENT)
    key = {"Idempotency-Key": "try-again"}
    failed = agent.post("/api/v1/incidents", {"title": ""}, headers=key)
    assert failed.status_code == 422
    ok = agent.post("/api/v1/incidents", {"title": "fixed"}, headers=key)
    assert ok.status_code == 201
    assert agent.post("/api/v1/incidents", {"title": "fixed"}, headers=key).json() == ok.json()
    assert agent.post("/api/v1/incidents", {"title": "x"}, headers=key).status_code == 422


def test_a_bad_key_is_422(client_for: Clients) -> None:
    agent = client_for(Role.AGENT)
    for bad in ["x" * 256, "tab\there"]:
        response = agent.post("/api/v1/incidents", {"title": "x"}, headers={"Idempotency-Key": bad})
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert Incident.objects.count() == 0


def test_every_create_honours_the_key(client_for: Clients) -> None:
    admin = client_for(Role.ADMIN)
    number = file_incident(admin)["id"]
    creates: list[tuple[str, dict[str, object], type, dict[str, object]]] = [
        ("/api/v1/users", {"username": "zoe", "email": "zoe@example.com"}, User, {}),
        ("/api/v1/teams", {"name": "Storage"}, Team, {}),
        ("/api/v1/services", {"name": "Backups"}, Service, {}),
        ("/api/v1/categories", {"name": "Hardware"}, Category, {}),
        (f"/api/v1/incidents/{number}/timeline", {"text": "note"}, TimelineEntry, {"kind": "note"}),
    ]
    for path, body, model, where in creates:
        before = model.objects.filter(**where).count()  # type: ignore[attr-defined]
        key = {"Idempotency-Key": f"k-{path}"}
        first = admin.post(path, body, headers=key)
        second = admin.post(path, body, headers=key)
        assert first.status_code == second.status_code == 201, (path, first.content)
        assert first.json() == second.json()
        assert model.objects.filter(**where).count() == before + 1, path  # type: ignore[attr-defined]

    def upload() -> object:
        return admin.client.post(
            f"/api/v1/incidents/{number}/attachments",
            {"file": SimpleUploadedFile("log.txt", b"boom", content_type="text/plain")},
            headers=admin._headers({"Idempotency-Key": "upload-1"}),
        )

    first, second = upload(), upload()
    assert first.status_code == second.status_code == 201  # type: ignore[attr-defined]
    assert Attachment.objects.count() == 1
    other = admin.client.post(
        f"/api/v1/incidents/{number}/attachments",
        {"file": SimpleUploadedFile("log.txt", b"other", content_type="text/plain")},
        headers=admin._headers({"Idempotency-Key": "upload-1"}),
    )
    assert other.status_code == 422
    assert Attachment.objects.count() == 1
