"""Issue 8, points 13 and 4: the reporter's portal says what waits for them; closed
incidents take a follow-up, not a comment; reporters see no internal fields; the report
form comes first (and #report is a real target)."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import ApiClient
from tests.web.helpers import text_of
from tocsin.accounts.models import User
from tocsin.core.actors import Actor
from tocsin.incidents import services
from tocsin.incidents.models import Incident, Status, TimelineEntry


def resolve(incident: Incident, by: User) -> Incident:
    return services.incident_act(
        incident=incident,
        actor=Actor.for_user(by),
        action="resolve",
        resolution_code="fixed",
        resolution_notes="Replaced the toner",
    )


def close(incident: Incident, by: User) -> Incident:
    resolve(incident, by)
    return services.incident_act(incident=incident, actor=Actor.for_user(by), action="close")


def test_resolved_incidents_wait_at_the_top_with_their_buttons(
    browse: Any, agent: User, reporter: User, make_incident: Any
) -> None:
    waiting = make_incident(reporter, title="Printer jams")
    resolve(waiting, agent)
    make_incident(reporter, title="Newer, still open")
    client = browse(reporter)
    response = client.get("/portal/")
    page = text_of(response)
    assert "1 incident waits for you : we think it is fixed — please confirm." in page
    html = response.content.decode()
    rows = re.findall(r'<li class="portal-row[^"]*">.*?</li>\n', html, flags=re.S)
    assert "Printer jams" in rows[0] and "portal-row-waiting" in rows[0]
    assert "Resolved — please confirm" in rows[0]
    assert f'action="/portal/{waiting.ref}/confirm/"' in rows[0]
    assert "Yes, close it<span" in rows[0] and "No, reopen…" in rows[0]
    assert "Newer, still open" in rows[1] and "please confirm" not in rows[1]

    confirmed = client.post(f"/portal/{waiting.ref}/confirm/", {"accept": "yes"})
    assert confirmed.status_code == 302 and confirmed["Location"] == "/portal/"
    assert Incident.objects.get(pk=waiting.pk).status == Status.CLOSED
    page = text_of(client.get("/portal/"))
    assert f"Thank you — {waiting.ref} is closed." in page
    assert "waits for you" not in page


def test_reopening_from_the_row_needs_a_reason(
    browse: Any, agent: User, reporter: User, make_incident: Any
) -> None:
    incident = make_incident(reporter)
    resolve(incident, agent)
    client = browse(reporter)
    refused = client.post(f"/portal/{incident.ref}/confirm/", {"accept": "no", "note": ""})
    assert refused.status_code == 422
    assert "Tell us what is still wrong" in text_of(refused)
    assert Incident.objects.get(pk=incident.pk).status == Status.RESOLVED
    reopened = client.post(
        f"/portal/{incident.ref}/confirm/", {"accept": "no", "note": "Still jams on A3"}
    )
    assert reopened.status_code == 302
    assert Incident.objects.get(pk=incident.pk).status != Status.RESOLVED
    assert client.get(f"/portal/{incident.ref}/confirm/").status_code == 302  # GET: no change


def test_a_closed_incident_offers_a_linked_follow_up_instead_of_comments(
    browse: Any, agent: User, reporter: User, make_incident: Any, catalogue: dict[str, Any]
) -> None:
    incident = make_incident(reporter, title="VPN drops", service=catalogue["vpn_service"])
    close(incident, agent)
    client = browse(reporter)
    page = client.get(f"/incidents/{incident.ref}/").content.decode()
    assert 'id="note-form"' not in page
    assert f'href="/portal/?follow_up={incident.ref}#report"' in page
    assert "is closed and takes no new comments" in text_of(
        client.get(f"/incidents/{incident.ref}/")
    )
    before = TimelineEntry.objects.filter(incident=incident).count()
    comment = client.post(f"/incidents/{incident.ref}/notes/", {"text": "Again!"})
    assert comment.status_code == 409
    assert "report a follow-up instead" in text_of(comment)
    assert TimelineEntry.objects.filter(incident=incident).count() == before
    # The portal row offers it too, and the form comes prefilled and linked.
    assert f"?follow_up={incident.ref}#report" in client.get("/portal/").content.decode()
    form = client.get(f"/portal/?follow_up={incident.ref}")
    text = text_of(form)
    assert "Report a follow-up" in text and f"This report will be linked to {incident.ref}" in text
    html = form.content.decode()
    assert f'value="Follow-up to {incident.ref}: VPN drops"' in html
    assert f'name="follow_up" value="{incident.ref}"' in html
    filed = client.post(
        "/portal/",
        {
            "title": "VPN drops again",
            "follow_up": incident.ref,
            "service": catalogue["vpn_service"].pk,
        },
    )
    assert filed.status_code == 302
    follow_up = Incident.objects.get(title="VPN drops again")
    assert follow_up.related_to == incident
    assert f"Follow-up to {incident.ref}" in text_of(client.get(f"/incidents/{follow_up.ref}/"))


def test_a_follow_up_of_someone_elses_incident_is_not_found(
    browse: Any, make_user: Any, reporter: User, make_incident: Any
) -> None:
    theirs = make_incident(make_user("reporter", username="olga"), title="Olga's secret")
    client = browse(reporter)
    assert client.get(f"/portal/?follow_up={theirs.ref}").status_code == 404
    response = client.post("/portal/", {"title": "Sneaky", "follow_up": theirs.ref})
    assert response.status_code == 404
    assert not Incident.objects.filter(title="Sneaky").exists()


def test_reporters_do_not_see_internal_fields_on_the_page_or_in_the_api(
    browse: Any,
    agent: User,
    reporter: User,
    make_incident: Any,
    catalogue: dict[str, Any],
    api: Any,
) -> None:
    incident = make_incident(reporter, impact=2, urgency=1, service=catalogue["vpn_service"])
    services.incident_escalate(
        incident=incident, actor=Actor.for_user(agent), support_level=2, note="Network L2"
    )
    page = text_of(browse(reporter).get(f"/incidents/{incident.ref}/"))
    assert "Service VPN" in page and "New" in page
    for internal in ("Support level", "Impact", "Urgency", "Priority", "Response", "Team"):
        assert internal not in page, internal
    assert "Rita reported the incident" in page and "(P1)" not in page
    staff_page = text_of(browse(agent).get(f"/incidents/{incident.ref}/"))
    assert "Support level 2" in staff_page and "Impact 2 – High" in staff_page

    mine = api(reporter).get(f"/api/v1/incidents/{incident.ref}").json()
    assert mine["status"] == "new" and mine["service"]["name"] == "VPN"
    for internal in ("support_level", "impact", "urgency", "priority", "team", "sla", "assignee"):
        assert internal not in mine, internal
    listed = api(reporter).get("/api/v1/incidents").json()["items"][0]
    assert "support_level" not in listed and listed["number"] == incident.ref
    # nor can a reporter learn them by filtering on them
    for name, value in (("priority", "P1"), ("assignee", "none"), ("team", "1")):
        refused = api(reporter).get("/api/v1/incidents", {name: value})
        assert refused.status_code == 422, name
        assert refused.json()["detail"][0]["loc"][-1] == name
    [created] = api(reporter).get(f"/api/v1/incidents/{incident.ref}/timeline").json()["items"]
    assert created["kind"] == "created" and created["data"] == {}
    staff: ApiClient = api(agent)
    staff_timeline = staff.get(f"/api/v1/incidents/{incident.ref}/timeline").json()["items"]
    assert staff_timeline[0]["data"]["priority"] == "P1"
    assert staff.get(f"/api/v1/incidents/{incident.ref}").json()["support_level"] == 2


def test_the_report_form_comes_first_and_report_is_a_target(
    browse: Any, reporter: User, make_incident: Any
) -> None:
    make_incident(reporter)
    html = browse(reporter).get("/portal/").content.decode()
    assert html.index('id="report"') < html.index('id="mine"')
    assert 'href="/portal/#report"' in html
