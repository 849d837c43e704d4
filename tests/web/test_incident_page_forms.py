"""The incident page's forms (issue 8, points 2, 5, 8, 9): form URLs never answer a blank
405, failed forms show the shared error summary linking to real controls, ids are unique,
messages are worded as results, and "Assign to me" is one click."""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser
from typing import Any

import pytest

from tests.web.helpers import text_of
from tocsin.accounts.models import Role
from tocsin.core.actors import Actor
from tocsin.incidents import services
from tocsin.incidents.models import EntryKind, Incident

FORM_PATHS = [
    "act/acknowledge/",
    "act/resolve/",
    "triage/",
    "assign/",
    "assign/me/",
    "escalate/",
    "merge/",
    "notes/",
    "attachments/",
    "confirm/",
]


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: Counter[str] = Counter()
        self.label_for: list[str] = []
        self.in_summary = 0
        self.headings_in_summary: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids[str(values["id"])] += 1
        if tag == "label" and values.get("for"):
            self.label_for.append(str(values["for"]))
        if tag == "summary":
            self.in_summary += 1
        if self.in_summary and re.fullmatch(r"h[1-6]", tag):
            self.headings_in_summary.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "summary":
            self.in_summary -= 1


def page_ids(response: Any) -> _Ids:
    parser = _Ids()
    parser.feed(response.content.decode())
    return parser


def assert_ids_sound(response: Any) -> _Ids:
    found = page_ids(response)
    duplicates = sorted(i for i, n in found.ids.items() if n > 1)
    assert duplicates == [], duplicates
    assert [f for f in found.label_for if f not in found.ids] == []
    assert found.headings_in_summary == []
    return found


@pytest.fixture
def two(make_incident: Any, reporter: Any, catalogue: dict[str, Any]) -> list[Incident]:
    return [
        make_incident(reporter, title="VPN drops", service=catalogue["vpn_service"]),
        make_incident(reporter, title="Mail slow"),
    ]


@pytest.mark.parametrize("path", FORM_PATHS)
def test_a_form_url_answers_get_with_the_incident_page(
    browse: Any, agent: Any, two: list[Incident], path: str
) -> None:
    incident = two[0]
    client = browse(agent)
    response = client.get(f"/incidents/{incident.ref}/{path}")
    assert response.status_code == 302
    assert response["Location"] == f"/incidents/{incident.ref}/"
    assert client.get(response["Location"]).status_code == 200


def test_a_form_url_of_an_incident_you_may_not_see_still_gives_nothing_away(
    browse: Any, make_user: Any, two: list[Incident]
) -> None:
    stranger = make_user(Role.REPORTER, username="sam")
    response = browse(stranger).get(f"/incidents/{two[0].ref}/merge/", follow=True)
    assert response.status_code == 404


def test_the_incident_page_has_no_duplicate_ids_and_no_headings_in_summaries(
    browse: Any, manager: Any, two: list[Incident]
) -> None:
    response = browse(manager).get(f"/incidents/{two[0].ref}/")
    found = assert_ids_sound(response)
    # Every panel is there (so the check covers them): triage, assign, escalate, merge, note.
    for control in ("triage_service", "assign_team", "escalate_team", "escalate_note"):
        assert found.ids[control] == 1
    assert found.ids["note_text"] == found.ids["merge_note"] == 1


def test_the_reporters_incident_page_has_unique_ids(
    browse: Any, agent: Any, reporter: Any, two: list[Incident]
) -> None:
    services.incident_act(
        incident=two[0],
        actor=Actor.for_user(agent),
        action="resolve",
        resolution_code="fixed",
        resolution_notes="Replaced the AP",
    )
    response = browse(reporter).get(f"/incidents/{two[0].ref}/")
    assert "Is your problem solved?" in text_of(response)
    assert_ids_sound(response)


def test_the_new_incident_page_and_the_service_page_have_unique_ids(
    browse: Any, admin: Any, catalogue: dict[str, Any]
) -> None:
    assert_ids_sound(browse(admin).get("/incidents/new/"))
    service = catalogue["vpn_service"]
    response = browse(admin).get(f"/services/{service.pk}/")
    assert response.status_code == 200
    found = assert_ids_sound(response)
    assert found.ids["window_starts_at"] == found.ids["silence_starts_at"] == 1


def test_a_failed_merge_shows_the_error_summary_linking_to_the_field(
    browse: Any, agent: Any, two: list[Incident]
) -> None:
    response = browse(agent).post(f"/incidents/{two[1].ref}/merge/", {"into": "INC-999"})
    assert response.status_code == 422
    html = response.content.decode()
    summary = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    assert summary, "no error summary"
    assert '<a href="#merge_into">Duplicate of: No incident INC-999.</a>' in summary.group(0)
    assert html.index("error-summary") < html.index('class="incident-head"')
    assert re.search(r'<details class="card panel" id="panel-merge"[^>]* open>', html)
    assert_ids_sound(response)


def test_a_stale_action_links_the_summary_to_the_actions(
    browse: Any, agent: Any, two: list[Incident]
) -> None:
    services.incident_act(incident=two[0], actor=Actor.for_user(agent), action="start")
    response = browse(agent).post(f"/incidents/{two[0].ref}/act/acknowledge/")
    assert response.status_code == 409
    assert (
        '<a href="#actions">Cannot acknowledge an incident that is in progress; '
        "allowed: hold, resolve.</a>" in response.content.decode()
    )


def test_a_failed_new_incident_shows_the_summary(browse: Any, agent: Any) -> None:
    response = browse(agent).post("/incidents/new/", {"title": ""})
    assert response.status_code == 422
    assert '<a href="#id_title">Title: This field is required.</a>' in response.content.decode()


@pytest.mark.parametrize(
    ("action", "extra", "flash"),
    [
        ("acknowledge", {}, "{ref} acknowledged and assigned to you"),
        ("start", {}, "{ref} in progress"),
        ("hold", {}, "{ref} put on hold"),
        (
            "resolve",
            {"resolve-resolution_code": "fixed", "resolve-resolution_notes": "Replaced the AP"},
            "{ref} resolved",
        ),
    ],
)
def test_an_action_says_what_happened(
    browse: Any, agent: Any, two: list[Incident], action: str, extra: dict[str, str], flash: str
) -> None:
    incident = two[0]
    response = browse(agent).post(f"/incidents/{incident.ref}/act/{action}/", extra, follow=True)
    page = text_of(response)
    assert flash.format(ref=incident.ref) in page
    assert "done." not in page


def test_assign_to_me_is_one_click(browse: Any, agent: Any, two: list[Incident]) -> None:
    incident = two[0]
    client = browse(agent)
    before = text_of(client.get(f"/incidents/{incident.ref}/"))
    assert "Assign to me" in before
    response = client.post(f"/incidents/{incident.ref}/assign/me/", follow=True)
    page = text_of(response)
    assert f"{incident.ref} assigned to you" in page
    assert "Assignee Alice" in page
    assert "Assign to me" not in page  # it is yours now
    entry = Incident.objects.get(pk=incident.pk).timeline.get(kind=EntryKind.ASSIGNMENT)
    assert entry.data["assignee"] == {"old": None, "new": "alice"}


def test_a_reporter_cannot_assign_to_themselves(
    browse: Any, reporter: Any, two: list[Incident]
) -> None:
    incident = two[0]
    response = browse(reporter).post(f"/incidents/{incident.ref}/assign/me/")
    assert response.status_code == 403
    assert Incident.objects.get(pk=incident.pk).assignee is None


def test_the_people_picker_carries_the_team_and_services_are_checkboxes(
    browse: Any, agent: Any, responder: Any, two: list[Incident], catalogue: dict[str, Any]
) -> None:
    catalogue["team"].members.add(responder)
    html = browse(agent).get(f"/incidents/{two[0].ref}/").content.decode()
    assert re.search(
        r'<select name="assignee" data-picker="one"[^>]*id="assign_assignee"', html
    ) or re.search(r'<select name="assignee"[^>]*data-picker="one"', html)
    assert 'data-meta="Network team"' in html
    new = browse(agent).get("/incidents/new/").content.decode()
    assert 'type="checkbox" name="affected_services"' in new
    assert '<select name="affected_services"' not in new


def test_a_failed_escalation_speaks_in_a_sentence_on_its_field(
    browse: Any, agent: Any, two: list[Incident]
) -> None:
    response = browse(agent).post(
        f"/incidents/{two[0].ref}/escalate/", {"support_level": "", "team": "", "note": "Why not"}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert (
        '<a href="#escalate_support_level">Support level: '
        "Give a higher support level, a team, or both.</a>" in html
    )
    assert re.search(r'<details class="card panel" id="panel-escalate"[^>]* open>', html)
    services.incident_escalate(
        incident=two[0], actor=Actor.for_user(agent), support_level=2, note="Needs L2"
    )
    response = browse(agent).post(
        f"/incidents/{two[0].ref}/escalate/", {"support_level": "1", "note": "Back down"}
    )
    assert "Support level: Escalation raises the level; it is already 2." in text_of(response)


def test_assign_to_me_on_a_closed_incident_says_why_not(
    browse: Any, agent: Any, two: list[Incident]
) -> None:
    incident = two[0]
    actor = Actor.for_user(agent)
    services.incident_act(
        incident=incident,
        actor=actor,
        action="resolve",
        resolution_code="fixed",
        resolution_notes="Replaced the AP",
    )
    services.incident_act(incident=incident, actor=actor, action="close")
    response = browse(agent).post(f"/incidents/{incident.ref}/assign/me/")
    assert response.status_code == 409
    assert "A closed incident cannot be reassigned." in text_of(response)
    assert Incident.objects.get(pk=incident.pk).assignee is None
