"""The incident page: fields, actions, forms, timeline, notes, attachments, confirmation."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.web.helpers import text_of
from tocsin.accounts.models import Role
from tocsin.core.actors import Actor
from tocsin.incidents import services
from tocsin.incidents.models import Incident, TimelineEntry

RESOLVE = {"resolve-resolution_code": "fixed", "resolve-resolution_notes": "Replaced the AP"}


def reload(incident: Incident) -> Incident:
    return Incident.objects.get(pk=incident.pk)


def resolved(incident: Incident, by: Any) -> Incident:
    return services.incident_act(
        incident=incident,
        actor=Actor.for_user(by),
        action="resolve",
        resolution_code="fixed",
        resolution_notes="Replaced the AP",
    )


def action_buttons(response: Any) -> list[str]:
    return re.findall(r'action="/incidents/INC-\d+/act/([a-z]+)/"', response.content.decode())


# --- what the page shows ------------------------------------------------------------


def test_the_page_shows_the_fields_and_both_sla_targets(
    browse: Any, agent: Any, reporter: Any, make_incident: Any, catalogue: dict[str, Any]
) -> None:
    incident = make_incident(
        reporter,
        title="VPN drops",
        impact=2,
        urgency=1,
        service=catalogue["vpn_service"],
        category=catalogue["network"],
        subcategory=catalogue["vpn"],
        affected_services=[catalogue["mail_service"]],
    )
    page = text_of(browse(agent).get(f"/incidents/{incident.ref}/"))
    assert f"{incident.ref} P1 New VPN drops" in page
    assert "Response 14m left" in page or "Response 15m left" in page
    assert "Resolution 3h 59m left" in page or "Resolution 4h left" in page
    for expected in (
        "Reporter Rita",
        "Source Portal",
        "Service VPN",
        "Affected services Email",
        "Category Network › VPN",
        "Impact 2 – High",
        "Urgency 1 – Critical",
        "Priority P1",
        "Assignee Unassigned",
        "Support level 1",
    ):
        assert expected in page, expected


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (Role.AGENT, ["acknowledge", "start", "resolve", "hold"]),
        (Role.RESPONDER, ["acknowledge", "start", "resolve", "hold"]),
        (Role.REPORTER, []),
    ],
)
def test_only_the_actions_this_person_may_take_are_offered(
    role: str, expected: list[str], browse: Any, make_user: Any, make_incident: Any
) -> None:
    person = make_user(role)
    incident = make_incident(person)
    assert action_buttons(browse(person).get(f"/incidents/{incident.ref}/")) == expected


def test_a_responder_is_not_offered_close_or_merge_but_an_agent_is(
    browse: Any, agent: Any, responder: Any, reporter: Any, make_incident: Any
) -> None:
    incident = make_incident(reporter)
    open_page = browse(responder).get(f"/incidents/{incident.ref}/").content.decode()
    assert "/merge/" not in open_page
    assert "/merge/" in browse(agent).get(f"/incidents/{incident.ref}/").content.decode()
    resolved(incident, agent)
    assert action_buttons(browse(responder).get(f"/incidents/{incident.ref}/")) == ["reopen"]
    assert action_buttons(browse(agent).get(f"/incidents/{incident.ref}/")) == ["close", "reopen"]


# --- the lifecycle forms -----------------------------------------------------------


def test_every_action_form_moves_the_incident(
    browse: Any, agent: Any, reporter: Any, make_incident: Any
) -> None:
    incident = make_incident(reporter)
    client = browse(agent)
    url = f"/incidents/{incident.ref}/act/"
    steps = [
        ("acknowledge", {}, "acknowledged"),
        ("unacknowledge", {}, "new"),
        ("start", {}, "in_progress"),
        ("hold", {}, "on_hold"),
        ("resume", {}, "in_progress"),
        ("resolve", RESOLVE, "resolved"),
        ("reopen", {}, "in_progress"),
        ("resolve", RESOLVE, "resolved"),
        ("close", {"close-resolution_notes": "Confirmed by phone"}, "closed"),
    ]
    for action, data, status in steps:
        response = client.post(f"{url}{action}/", data)
        assert response.status_code == 302, (action, response.content[:500])
        assert reload(incident).status == status, action
    closed = reload(incident)
    assert closed.resolution_code == "fixed"
    assert closed.resolution_notes == "Confirmed by phone"
    page = text_of(client.get(f"/incidents/{incident.ref}/"))
    assert "Alice acknowledged · status New → Acknowledged" in page
    assert "Alice resolved it · status In progress → Resolved" in page
    assert action_buttons(client.get(f"/incidents/{incident.ref}/")) == []


def test_resolve_without_code_and_notes_re_renders_and_changes_nothing(
    browse: Any, agent: Any, reporter: Any, make_incident: Any
) -> None:
    incident = make_incident(reporter)
    entries = TimelineEntry.objects.count()
    response = browse(agent).post(f"/incidents/{incident.ref}/act/resolve/", {})
    assert response.status_code == 422
    html = response.content.decode()
    assert (
        '<ul class="errorlist" id="id_resolve-resolution_code_error"><li>This field is required.'
        in html
    )
    assert (
        '<ul class="errorlist" id="id_resolve-resolution_notes_error"><li>This field is required.'
        in html
    )
    assert '<details class="action-details" id="action-resolve" open>' in response.content.decode()
    assert reload(incident).status == "new"
    assert TimelineEntry.objects.count() == entries


def test_a_stale_action_is_a_409_saying_what_is_allowed(
    browse: Any, agent: Any, reporter: Any, make_incident: Any
) -> None:
    incident = make_incident(reporter)
    services.incident_act(incident=incident, actor=Actor.for_user(agent), action="start")
    response = browse(agent).post(f"/incidents/{incident.ref}/act/acknowledge/")
    assert response.status_code == 409
    assert "Cannot acknowledge an incident that is in progress; allowed: hold, resolve" in (
        text_of(response)
    )
    assert reload(incident).status == "in_progress"


def test_a_reporter_may_not_act_on_their_incident_and_others_get_404(
    browse: Any, reporter: Any, make_user: Any, make_incident: Any
) -> None:
    incident = make_incident(reporter)
    assert browse(reporter).post(f"/incidents/{incident.ref}/act/acknowledge/").status_code == 403
    stranger = make_user(Role.REPORTER)
    assert browse(stranger).post(f"/incidents/{incident.ref}/act/acknowledge/").status_code == 404
    assert (
        browse(stranger).post(f"/incidents/{incident.ref}/notes/", {"text": "hi"}).status_code
        == 404
    )
    assert reload(incident).status == "new"
    assert not TimelineEntry.objects.filter(kind="note").exists()


# --- triage, assignment, escalation, merge ---------------------------------------------


def test_triage_changes_fields_with_worded_timeline_entries(
    browse: Any, agent: Any, reporter: Any, make_incident: Any, catalogue: dict[str, Any]
) -> None:
    incident = make_incident(reporter, impact=3, urgency=2)
    client = browse(agent)
    response = client.post(
        f"/incidents/{incident.ref}/triage/",
        {
            "impact": "3",
            "urgency": "1",
            "category": catalogue["network"].pk,
            "subcategory": catalogue["vpn"].pk,
            "service": catalogue["vpn_service"].pk,
        },
    )
    assert response.status_code == 302
    incident = reload(incident)
    assert (incident.urgency, incident.priority) == (1, 2)
    assert incident.subcategory == catalogue["vpn"]
    page = text_of(client.get(f"/incidents/{incident.ref}/"))
    # One save, one entry listing what it changed.
    assert "Alice changed service, category, subcategory, urgency and priority" in page
    assert "Urgency: 2 – High → to 1 – Critical" in page
    assert "Priority: P3 → to P2" in page
    assert "Category: none → to Network" in page


def test_a_priority_override_needs_a_reason(
    browse: Any, agent: Any, reporter: Any, make_incident: Any
) -> None:
    incident = make_incident(reporter, impact=3, urgency=3)
    client = browse(agent)
    response = client.post(
        f"/incidents/{incident.ref}/triage/", {"impact": "3", "urgency": "3", "priority": "1"}
    )
    assert response.status_code == 422
    assert 'id="triage_priority_reason_error"><li>A manual priority needs a reason' in (
        response.content.decode()
    )
    assert reload(incident).priority == 3
    response = client.post(
        f"/incidents/{incident.ref}/triage/",
        {"impact": "3", "urgency": "3", "priority": "1", "priority_reason": "CEO's laptop"},
    )
    assert response.status_code == 302
    assert reload(incident).priority == 1
    page = text_of(client.get(f"/incidents/{incident.ref}/"))
    assert "Priority: P3 → to P1 (manual override)" in page
    assert "override: CEO's laptop" in page


def test_assign_and_escalate(
    browse: Any,
    agent: Any,
    responder: Any,
    reporter: Any,
    make_incident: Any,
    catalogue: dict[str, Any],
) -> None:
    incident = make_incident(reporter)
    client = browse(agent)
    response = client.post(
        f"/incidents/{incident.ref}/assign/",
        {"assignee": responder.pk, "team": catalogue["desk"].pk},
    )
    assert response.status_code == 302
    assert (reload(incident).assignee, reload(incident).team) == (responder, catalogue["desk"])
    response = client.post(
        f"/incidents/{incident.ref}/escalate/",
        {"support_level": "2", "team": catalogue["team"].pk, "note": "Needs network"},
    )
    assert response.status_code == 302
    incident = reload(incident)
    assert (incident.support_level, incident.team) == (2, catalogue["team"])
    page = text_of(client.get(f"/incidents/{incident.ref}/"))
    assert "Alice assigned it to Rob; set team to Service Desk" in page
    assert "Alice escalated: raised the support level from 1 to 2" in page
    assert "Needs network" in page


def test_escalate_without_a_note_names_the_field(
    browse: Any, agent: Any, reporter: Any, make_incident: Any
) -> None:
    incident = make_incident(reporter)
    response = browse(agent).post(f"/incidents/{incident.ref}/escalate/", {"support_level": "2"})
    assert response.status_code == 422
    assert (
        "Hand-off note Starts as the receiving team's template; fill it in. "
        "This field is required." in text_of(response)
    )
    assert reload(incident).support_level == 1


def test_merge_into_another_incident(
    browse: Any, agent: Any, responder: Any, reporter: Any, make_incident: Any
) -> None:
    original = make_incident(reporter, title="Mail down")
    duplicate = make_incident(reporter, title="Mail down too")
    assert (
        browse(responder)
        .post(f"/incidents/{duplicate.ref}/merge/", {"into": original.ref})
        .status_code
        == 403
    )
    client = browse(agent)
    bad = client.post(f"/incidents/{duplicate.ref}/merge/", {"into": "INC-999"})
    assert bad.status_code == 422
    assert "No incident INC-999." in text_of(bad)
    response = client.post(f"/incidents/{duplicate.ref}/merge/", {"into": original.ref})
    assert response.status_code == 302
    assert reload(duplicate).duplicate_of == original
    page = client.get(f"/incidents/{duplicate.ref}/")
    assert f"Duplicate of {original.ref}" in text_of(page)
    assert f'<a href="/incidents/{original.ref}/">{original.ref}</a>' in page.content.decode()
    assert f"merged this incident into {original.ref}" in text_of(page)


# --- notes and visibility ----------------------------------------------------------------


def test_staff_notes_are_internal_unless_made_public_and_reporters_never_see_them(
    browse: Any, agent: Any, reporter: Any, make_incident: Any
) -> None:
    incident = make_incident(reporter)
    staff = browse(agent)
    staff.post(f"/incidents/{incident.ref}/notes/", {"text": "Suspect the core switch"})
    staff.post(f"/incidents/{incident.ref}/notes/", {"text": "We are on it", "make_public": "on"})
    staff_page = text_of(staff.get(f"/incidents/{incident.ref}/"))
    assert "Alice added a note Internal" in staff_page
    assert "Suspect the core switch" in staff_page and "We are on it" in staff_page

    mine = browse(reporter)
    for path in (f"/incidents/{incident.ref}/", f"/incidents/{incident.ref}/live/"):
        page = text_of(mine.get(path))
        assert "We are on it" in page
        assert "Suspect the core switch" not in page
        assert "Internal" not in page
    response = mine.post(f"/incidents/{incident.ref}/notes/", {"text": "Still broken here"})
    assert response.status_code == 302
    entry = TimelineEntry.objects.get(text="Still broken here")
    assert entry.visibility == "public"
    assert "Rita commented" in text_of(staff.get(f"/incidents/{incident.ref}/"))


def test_an_empty_note_names_the_field_and_adds_nothing(
    browse: Any, agent: Any, reporter: Any, make_incident: Any
) -> None:
    incident = make_incident(reporter)
    response = browse(agent).post(f"/incidents/{incident.ref}/notes/", {"text": ""})
    assert response.status_code == 422
    assert "Note This field is required." in text_of(response)
    assert not TimelineEntry.objects.filter(kind="note").exists()


def test_user_text_is_escaped_everywhere(
    browse: Any, agent: Any, reporter: Any, make_incident: Any
) -> None:
    evil = "<script>alert(1)</script>"
    incident = make_incident(reporter, title=evil, description="<img src=x onerror=alert(2)>")
    services.incident_add_note(
        incident=incident,
        actor=Actor.for_user(agent),
        text=f"<b>bold</b>{evil}",
        visibility="public",
    )
    for client, path in (
        (browse(agent), "/"),
        (browse(agent), "/queue/rows/"),
        (browse(agent), f"/incidents/{incident.ref}/"),
        (browse(agent), f"/incidents/{incident.ref}/live/"),
        (browse(reporter), "/portal/"),
        (browse(reporter), f"/incidents/{incident.ref}/"),
    ):
        html = client.get(path).content.decode()
        assert evil not in html and "<img src=x" not in html and "<b>bold</b>" not in html, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path


# --- redaction ------------------------------------------------------------------------


def test_an_admin_redacts_an_entry_and_the_fact_remains(
    browse: Any, admin: Any, agent: Any, reporter: Any, make_incident: Any
) -> None:
    incident = make_incident(reporter)
    entry = services.incident_add_note(
        incident=incident, actor=Actor.for_user(agent), text="password is hunter2"
    )
    url = f"/incidents/{incident.ref}/timeline/{entry.pk}/redact/"
    assert url not in browse(agent).get(f"/incidents/{incident.ref}/").content.decode()
    assert browse(agent).post(url).status_code == 403
    client = browse(admin)
    assert url in client.get(f"/incidents/{incident.ref}/").content.decode()
    assert client.post(url).status_code == 302
    page = text_of(client.get(f"/incidents/{incident.ref}/"))
    assert "hunter2" not in page
    assert re.search(r"\[redacted by Ada at \d\d \w{3} \d{4}, \d\d:\d\d UTC\]", page)
    assert client.post(url).status_code == 409


# --- attachments ------------------------------------------------------------------------


def test_upload_and_download_only_for_those_who_may_see_the_incident(
    browse: Any, agent: Any, reporter: Any, make_user: Any, make_incident: Any
) -> None:
    incident = make_incident(reporter)
    mine = browse(reporter)
    response = mine.post(
        f"/incidents/{incident.ref}/attachments/",
        {"files": SimpleUploadedFile("trace.log.txt", b"boom\n", "text/plain")},
    )
    assert response.status_code == 302
    attachment = incident.attachments.get()
    url = f"/incidents/{incident.ref}/attachments/{attachment.pk}/"
    assert url in mine.get(f"/incidents/{incident.ref}/").content.decode()

    download = browse(agent).get(url)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"boom\n"
    assert download["Content-Type"] == "text/plain"
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"

    assert browse(make_user(Role.REPORTER)).get(url).status_code == 404
    assert browse(None).get(url).status_code == 302
    assert browse(agent).get(f"/incidents/{incident.ref}/attachments/999/").status_code == 404


def test_an_internal_attachment_is_hidden_from_the_reporter(
    browse: Any, agent: Any, reporter: Any, make_incident: Any
) -> None:
    incident = make_incident(reporter)
    secret = services.incident_attach(
        incident=incident,
        actor=Actor.for_user(agent),
        visibility="internal",
        upload=SimpleUploadedFile("config.txt", b"secret", "text/plain"),
    )
    url = f"/incidents/{incident.ref}/attachments/{secret.pk}/"
    assert browse(reporter).get(url).status_code == 404
    assert "config.txt" not in text_of(browse(reporter).get(f"/incidents/{incident.ref}/"))
    assert browse(agent).get(url).status_code == 200


def test_a_bad_upload_names_the_field_and_stores_nothing(
    browse: Any, agent: Any, reporter: Any, make_incident: Any
) -> None:
    incident = make_incident(reporter)
    client = browse(agent)
    response = client.post(f"/incidents/{incident.ref}/attachments/", {})
    assert response.status_code == 422
    assert "Files Choose at least one file." in text_of(response)
    response = client.post(
        f"/incidents/{incident.ref}/attachments/",
        {"files": SimpleUploadedFile("x.html", b"<html>", "text/html")},
    )
    assert response.status_code == 422
    assert "x.html: type 'text/html' is not allowed" in text_of(response)
    assert not incident.attachments.exists()


# --- the reporter confirms or reopens ------------------------------------------------------


def test_the_reporter_confirms_a_resolved_incident(
    browse: Any, agent: Any, reporter: Any, make_incident: Any
) -> None:
    incident = resolved(make_incident(reporter), agent)
    client = browse(reporter)
    page = text_of(client.get(f"/incidents/{incident.ref}/"))
    assert "Is your problem solved?" in page and "Yes, close it" in page
    assert "Is your problem solved?" not in text_of(
        browse(agent).get(f"/incidents/{incident.ref}/")
    )
    response = client.post(f"/incidents/{incident.ref}/confirm/", {"accept": "yes"})
    assert response.status_code == 302
    assert reload(incident).status == "closed"


def test_reopening_needs_a_comment(
    browse: Any, agent: Any, reporter: Any, make_incident: Any
) -> None:
    incident = resolved(make_incident(reporter), agent)
    client = browse(reporter)
    response = client.post(f"/incidents/{incident.ref}/confirm/", {"accept": "no", "note": ""})
    assert response.status_code == 422
    assert 'id="confirm_note_error"><li>Tell us what is still wrong' in response.content.decode()
    assert reload(incident).status == "resolved"
    response = client.post(
        f"/incidents/{incident.ref}/confirm/", {"accept": "no", "note": "Still no Wi-Fi"}
    )
    assert response.status_code == 302
    assert reload(incident).status == "in_progress"
    assert "Rita said the problem is not solved" in text_of(
        browse(agent).get(f"/incidents/{incident.ref}/")
    )


def test_the_signed_link_works_without_signing_in(
    browse: Any, agent: Any, reporter: Any, make_incident: Any
) -> None:
    incident = resolved(make_incident(reporter, title="Printer jam"), agent)
    url = f"/incidents/{incident.ref}/confirm/{services.confirmation_token(incident)}/"
    anonymous = browse(None)
    page = anonymous.get(url)
    assert page.status_code == 200
    assert "Printer jam" in text_of(page) and "Is your problem solved?" in text_of(page)
    empty = anonymous.post(url, {"accept": "no"})
    assert empty.status_code == 422
    assert reload(incident).status == "resolved"
    done = anonymous.post(url, {"accept": "yes"})
    assert done.status_code == 200
    assert f"We have closed {incident.ref}" in text_of(done)
    assert reload(incident).status == "closed"
    entry = TimelineEntry.objects.filter(incident=incident, kind="confirmation").get()
    assert entry.actor_user == reporter
    # The link has done its job: it is void now.
    again = anonymous.get(url)
    assert again.status_code == 404
    assert "earlier resolution" in text_of(again)


def test_a_forged_or_foreign_link_is_a_404(
    browse: Any, agent: Any, reporter: Any, make_incident: Any
) -> None:
    incident = resolved(make_incident(reporter), agent)
    other = resolved(make_incident(reporter), agent)
    anonymous = browse(None)
    assert anonymous.get(f"/incidents/{incident.ref}/confirm/forged-token/").status_code == 404
    foreign = services.confirmation_token(other)
    response = anonymous.post(f"/incidents/{incident.ref}/confirm/{foreign}/", {"accept": "yes"})
    assert response.status_code == 404
    assert reload(incident).status == "resolved"
    assert anonymous.get("/incidents/INC-999/confirm/x/").status_code == 404
