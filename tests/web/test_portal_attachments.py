"""Issue 8, point 3: the reporter can attach a log file; a refused file is named, and the
other chosen files are named as fine (the browser keeps them chosen: uploads.js)."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.web.helpers import text_of
from tocsin.accounts.models import User
from tocsin.incidents.models import Attachment, Incident

LOG = b"2026-12-05T20:51:03Z ERROR vpn: tunnel down (peer 10.0.0.1)\n" * 40
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def report(client: Any, *files: SimpleUploadedFile) -> Any:
    return client.post("/portal/", {"title": "VPN keeps dropping", "attachments": list(files)})


def test_a_log_file_is_accepted_however_the_browser_names_its_type(
    browse: Any, reporter: User
) -> None:
    client = browse(reporter)
    response = report(
        client,
        SimpleUploadedFile("vpn.log", LOG, "text/x-log"),  # what Chromium sends for .log
        SimpleUploadedFile("notes.txt", b"tried twice\n", "application/octet-stream"),
        SimpleUploadedFile("steps.md", "# Étapes\n1. connect\n".encode(), "text/markdown"),
    )
    assert response.status_code == 302, text_of(response)
    incident = Incident.objects.get()
    stored = {a.filename: a.content_type for a in incident.attachments.all()}
    assert stored == {"vpn.log": "text/plain", "notes.txt": "text/plain", "steps.md": "text/plain"}


def test_a_refused_file_is_named_and_the_others_listed_as_fine(browse: Any, reporter: User) -> None:
    response = report(
        browse(reporter),
        SimpleUploadedFile("vpn.log", LOG, "text/x-log"),
        SimpleUploadedFile("setup.exe", b"MZ\x90\x00\x03", "application/x-msdownload"),
        SimpleUploadedFile("shot.png", PNG, "image/png"),
    )
    assert response.status_code == 422
    page = text_of(response)
    assert "setup.exe: type 'application/x-msdownload' is not allowed; allowed: PNG" in page
    assert "text and log files (.txt, .log)" in page
    assert "These files were fine; choose them again with this form: vpn.log, shot.png" in page
    assert 'value="VPN keeps dropping"' in response.content.decode()  # the form is kept
    assert not Incident.objects.exists() and not Attachment.objects.exists()


def test_a_binary_file_called_log_is_not_text(browse: Any, reporter: User) -> None:
    response = report(
        browse(reporter), SimpleUploadedFile("core.log", b"\x7fELF\x00\x00\x01", "text/x-log")
    )
    assert response.status_code == 422
    assert "core.log is not plain text" in text_of(response)
    assert not Incident.objects.exists()


def test_html_stays_refused(browse: Any, reporter: User) -> None:
    response = report(
        browse(reporter), SimpleUploadedFile("page.html", b"<script>x</script>", "text/html")
    )
    assert response.status_code == 422
    assert "page.html: type 'text/html' is not allowed" in text_of(response)


def test_the_picker_offers_logs(browse: Any, reporter: User) -> None:
    html = browse(reporter).get("/portal/").content.decode()
    assert 'accept="image/png,' in html and "text/*,.log,.txt" in html
    assert "data-upload-check" in html and "uploads.js" in html


def test_the_api_takes_a_log_too(api: Any, reporter: User, make_incident: Any) -> None:
    incident = make_incident(reporter)
    client = api(reporter)
    response = client.client.post(
        f"/api/v1/incidents/{incident.ref}/attachments",
        {"file": SimpleUploadedFile("vpn.log", LOG, "text/x-log")},
        headers=client._headers(None),
    )
    assert response.status_code == 201, response.content
    assert response.json()["content_type"] == "text/plain"
