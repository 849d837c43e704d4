"""Attachments: upload limits, the type allow-list, and who may download."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.api.conftest import file_incident
from tests.conftest import ApiClient
from tocsin.accounts.models import Role
from tocsin.incidents.models import Attachment

Clients = Callable[[str], ApiClient]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def upload(
    client: ApiClient, number: int, name: str, content: bytes, kind: str, **form: str
) -> Any:
    return client.client.post(
        f"/api/v1/incidents/{number}/attachments",
        {"file": SimpleUploadedFile(name, content, content_type=kind), **form},
        headers=client._headers(None),
    )


def test_a_reporter_attaches_a_screenshot_and_downloads_it(
    client_for: Clients, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    owner = client_for(Role.REPORTER)
    number = file_incident(owner)["id"]
    response = upload(owner, number, "screen shot.png", PNG, "image/png")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["filename"], body["size"], body["content_type"]) == (
        "screen_shot.png", len(PNG), "image/png",
    )  # fmt: skip
    assert body["uploaded_by"] == owner.user.username

    listed = owner.get(f"/api/v1/incidents/{number}/attachments").json()
    assert [item["id"] for item in listed["items"]] == [body["id"]]
    download = owner.get(body["url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PNG
    assert download["Content-Disposition"].startswith("attachment")
    assert "screen_shot.png" in download["Content-Disposition"]
    assert download["X-Content-Type-Options"] == "nosniff"
    timeline = owner.get(f"/api/v1/incidents/{number}/timeline").json()["items"]
    assert timeline[-1]["kind"] == "attachment"


def test_only_people_who_may_see_the_incident_download(
    client_for: Clients, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    owner, stranger, agent = (
        client_for(Role.REPORTER), client_for(Role.REPORTER), client_for(Role.AGENT)
    )  # fmt: skip
    number = file_incident(owner)["id"]
    url = upload(owner, number, "log.txt", b"secret log", "text/plain").json()["url"]
    assert stranger.get(url).status_code == 404
    assert stranger.get(f"/api/v1/incidents/{number}/attachments").status_code == 404
    assert upload(stranger, number, "x.txt", b"x", "text/plain").status_code == 404
    assert agent.get(url).status_code == 200
    assert agent.get(url.rsplit("/", 1)[0] + "/999999").status_code == 404


def test_internal_attachments_are_hidden_from_the_reporter(
    client_for: Clients, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    owner, agent = client_for(Role.REPORTER), client_for(Role.AGENT)
    number = file_incident(owner)["id"]
    internal = upload(agent, number, "dump.txt", b"core", "text/plain", visibility="internal")
    assert internal.status_code == 201
    assert internal.json()["visibility"] == "internal"
    assert owner.get(f"/api/v1/incidents/{number}/attachments").json()["count"] == 0
    assert owner.get(internal.json()["url"]).status_code == 404
    assert agent.get(internal.json()["url"]).status_code == 200
    texts = [e["text"] for e in owner.get(f"/api/v1/incidents/{number}/timeline").json()["items"]]
    assert "dump.txt" not in texts


def test_the_size_limit_is_a_422_naming_file(
    client_for: Clients, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    settings.TOCSIN_ATTACHMENT_MAX_BYTES = 1024 * 1024
    owner = client_for(Role.REPORTER)
    number = file_incident(owner)["id"]
    big = upload(owner, number, "big.png", PNG.ljust(1024 * 1024 + 1, b"\x00"), "image/png")
    assert big.status_code == 422
    assert big.json()["detail"][0]["loc"] == ["body", "file"]
    assert "1 MB" in big.json()["detail"][0]["msg"]
    just_fits = upload(owner, number, "ok.png", PNG.ljust(1024 * 1024, b"\x00"), "image/png")
    assert just_fits.status_code == 201
    assert Attachment.objects.count() == 1


def test_types_outside_the_allow_list_are_refused(
    client_for: Clients, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    owner = client_for(Role.REPORTER)
    number = file_incident(owner)["id"]
    for name, kind in [("page.html", "text/html"), ("run.exe", "application/x-msdownload"),
                       ("pic.svg", "image/svg+xml")]:  # fmt: skip
        response = upload(owner, number, name, b"<script>alert(1)</script>", kind)
        assert response.status_code == 422, name
        assert response.json()["detail"][0]["loc"] == ["body", "file"]
        assert "not allowed" in response.json()["detail"][0]["msg"]
    assert Attachment.objects.count() == 0


def test_missing_or_empty_file_is_422(client_for: Clients, settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    owner = client_for(Role.REPORTER)
    number = file_incident(owner)["id"]
    missing = owner.client.post(
        f"/api/v1/incidents/{number}/attachments", {"visibility": "public"},
        headers=owner._headers(None),
    )  # fmt: skip
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"][-1] == "file"
    empty = upload(owner, number, "empty.txt", b"", "text/plain")
    assert empty.status_code == 422
    assert empty.json()["detail"][0]["loc"] == ["body", "file"]


def test_a_file_whose_content_is_not_its_declared_type_is_refused(
    client_for: Clients, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    owner = client_for(Role.REPORTER)
    number = file_incident(owner)["id"]
    page = b"<html><script>alert(1)</script></html>"
    response = upload(owner, number, "x.png", page, "image/png")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "file"]
    assert Attachment.objects.count() == 0
