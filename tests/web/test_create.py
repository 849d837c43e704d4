"""Filing incidents: the staff form and the reporter portal."""

from __future__ import annotations

import json
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.web.helpers import text_of
from tocsin.accounts.models import Role
from tocsin.incidents.models import Incident, TimelineEntry

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def form_data(**fields: Any) -> dict[str, Any]:
    return {
        "title": "Wi-Fi down on floor 3",
        "description": "No network since 9am",
        "source": "phone",
        "impact": "2",
        "urgency": "2",
    } | fields


def test_the_form_offers_grouped_subcategories_help_nudge_and_matrix(
    browse: Any, agent: Any, catalogue: dict[str, Any]
) -> None:
    response = browse(agent).get("/incidents/new/")
    html = response.content.decode()
    page = text_of(response)
    assert '<optgroup label="Network">' in html and '<optgroup label="Application">' in html
    assert "Whole organisation or many customers" in page
    assert "One person, workaround exists" in page
    assert "Work has stopped" in page and "Can wait" in page
    assert "When unsure between two levels, pick the higher one" in page
    matrix_attr = html.split('data-matrix="', 1)[1].split('"', 1)[0].replace("&quot;", '"')
    assert json.loads(matrix_attr)["1"]["1"] == 1
    assert json.loads(matrix_attr)["4"]["4"] == 4
    assert 'type="file" name="attachments"' in html and "multiple" in html


def test_staff_create_an_incident_with_everything(
    browse: Any, agent: Any, reporter: Any, make_user: Any, catalogue: dict[str, Any]
) -> None:
    responder = make_user(Role.RESPONDER)
    client = browse(agent)
    response = client.post(
        "/incidents/new/",
        form_data(
            reporter=reporter.pk,
            service=catalogue["vpn_service"].pk,
            affected_services=[catalogue["mail_service"].pk],
            category=catalogue["network"].pk,
            subcategory=catalogue["wifi"].pk,
            assignee=responder.pk,
            team=catalogue["team"].pk,
            attachments=[
                SimpleUploadedFile("shot.png", PNG, "image/png"),
                SimpleUploadedFile("log.txt", b"error 42\n", "text/plain"),
            ],
        ),
    )
    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/incidents/{incident.ref}/"
    assert incident.title == "Wi-Fi down on floor 3"
    assert incident.reporter == reporter
    assert incident.source == "phone"
    assert incident.priority == 2  # impact 2, urgency 2
    assert incident.subcategory == catalogue["wifi"]
    assert incident.assignee == responder and incident.team == catalogue["team"]
    assert [s.name for s in incident.affected_services.all()] == ["Email"]
    assert sorted(a.filename for a in incident.attachments.all()) == ["log.txt", "shot.png"]
    page = text_of(client.get(response["Location"]))
    assert f"{incident.ref} created" in page and "Wi-Fi down on floor 3" in page


def test_an_outside_reporter_by_name_and_email(browse: Any, agent: Any) -> None:
    browse(agent).post(
        "/incidents/new/",
        form_data(reporter_name="Carla Client", reporter_email="carla@example.org"),
    )
    incident = Incident.objects.get()
    assert incident.reporter is None
    assert incident.reporter_display == "Carla Client"


def test_a_subcategory_of_another_category_is_refused_and_nothing_is_created(
    browse: Any, agent: Any, catalogue: dict[str, Any]
) -> None:
    response = browse(agent).post(
        "/incidents/new/",
        form_data(category=catalogue["network"].pk, subcategory=catalogue["login"].pk),
    )
    assert response.status_code == 422
    assert "belongs to Application, not to the chosen category" in text_of(response)
    assert 'aria-invalid="true"' in response.content.decode()
    assert not Incident.objects.exists()


def test_bad_input_re_renders_with_errors_naming_the_fields(browse: Any, agent: Any) -> None:
    response = browse(agent).post("/incidents/new/", form_data(title="", impact="7"))
    page = text_of(response)
    assert response.status_code == 422
    assert "Title This field is required." in page
    assert "Select a valid choice. 7 is not one of the available choices." in page
    assert 'value="No network since 9am"' not in response.content.decode()  # textarea keeps it
    assert "No network since 9am" in page
    assert not Incident.objects.exists()
    assert not TimelineEntry.objects.exists()


def test_a_forbidden_file_type_creates_nothing(browse: Any, agent: Any) -> None:
    response = browse(agent).post(
        "/incidents/new/",
        form_data(attachments=[SimpleUploadedFile("run.exe", b"MZ..", "application/x-msdownload")]),
    )
    assert response.status_code == 422
    assert "is not allowed" in text_of(response)
    assert not Incident.objects.exists()


def test_a_reporter_files_from_the_portal_with_a_screenshot(
    browse: Any, reporter: Any, catalogue: dict[str, Any]
) -> None:
    client = browse(reporter)
    response = client.post(
        "/portal/",
        {
            "title": "Cannot log in",
            "description": "Says password expired",
            "service": catalogue["mail_service"].pk,
            "attachments": SimpleUploadedFile("error.png", PNG, "image/png"),
        },
    )
    incident = Incident.objects.get()
    assert response["Location"] == f"/incidents/{incident.ref}/"
    assert incident.reporter == reporter and incident.source == "portal"
    assert incident.attachments.get().filename == "error.png"
    portal = text_of(client.get("/portal/"))
    assert f"{incident.ref} Cannot log in · Email New Updated" in portal


def test_the_portal_lists_only_my_incidents_in_any_status(
    browse: Any, reporter: Any, agent: Any, make_user: Any, make_incident: Any
) -> None:
    from tocsin.core.actors import Actor
    from tocsin.incidents import services

    closed = make_incident(reporter, title="Old trouble")
    services.incident_resolve(
        incident=closed,
        actor=Actor.for_user(agent),
        resolution_code="fixed",
        resolution_notes="done",
    )
    services.incident_close(incident=closed, actor=Actor.for_user(agent))
    make_incident(make_user(Role.REPORTER), title="Not mine")
    page = text_of(browse(reporter).get("/portal/"))
    assert "Old trouble Closed" in page
    assert "Not mine" not in page


def test_an_empty_portal_report_names_the_field(browse: Any, reporter: Any) -> None:
    response = browse(reporter).post("/portal/", {"title": "  "})
    assert response.status_code == 422
    assert "What is wrong? This field is required." in text_of(response)
    assert not Incident.objects.exists()
