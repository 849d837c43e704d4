"""Issue 8, point 12: a timeline people can read — order and filter remembered per person,
one entry per triage save, times with their zone, actors by name, highlights (pins)."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client

from tests.conftest import ApiClient
from tests.web.helpers import text_of
from tocsin.accounts.models import User
from tocsin.core.actors import Actor, ActorKind
from tocsin.core.audit import AuditEntry
from tocsin.incidents import services
from tocsin.incidents.models import Incident, TimelineEntry

ALERTMANAGER = Actor(kind=ActorKind.INTEGRATION, label="alertmanager:Prometheus prod")


def entry_ids(client: Client, incident: Incident) -> list[int]:
    html = client.get(f"/incidents/{incident.ref}/").content.decode()
    timeline = html[html.index('data-live-region="timeline"') :]
    timeline = timeline[: timeline.index("</ol>")]
    return [int(n) for n in re.findall(r'id="entry-(\d+)"', timeline)]


def busy_incident(make_incident: Any, reporter: User, agent: User) -> Incident:
    """Created by the reporter; an alert note by Alertmanager; an SLA note by Tocsin; a
    public note and an internal note by the agent."""
    incident = make_incident(reporter)
    services.incident_add_note(incident=incident, actor=ALERTMANAGER, text="Alert joined: disk")
    services.incident_add_note(incident=incident, actor=Actor.system("sla"), text="Clock paused")
    services.incident_add_note(
        incident=incident, actor=Actor.for_user(agent), text="We are on it", visibility="public"
    )
    services.incident_add_note(incident=incident, actor=Actor.for_user(agent), text="Firewall?")
    return incident


def test_the_order_is_remembered_per_person(
    browse: Any, agent: User, make_user: Any, reporter: User, make_incident: Any
) -> None:
    incident = busy_incident(make_incident, reporter, agent)
    other = make_incident(reporter, title="Second")
    mine, colleague = browse(agent), browse(make_user(username="bea"))
    oldest_first = entry_ids(mine, incident)
    assert oldest_first == sorted(oldest_first) and len(oldest_first) == 5

    # A GET to the form's address changes nothing (it only returns to the page).
    assert mine.get(f"/incidents/{incident.ref}/timeline/view/?order=newest").status_code == 302
    assert entry_ids(mine, incident) == oldest_first

    response = mine.post(f"/incidents/{incident.ref}/timeline/view/", {"order": "newest"})
    assert response.status_code == 302
    assert response["Location"] == f"/incidents/{incident.ref}/#timeline"
    assert entry_ids(mine, incident) == oldest_first[::-1]
    # Remembered: on another incident and on the next visit, and for this person only.
    newest = entry_ids(mine, other)
    assert newest == sorted(newest, reverse=True)
    assert entry_ids(colleague, incident) == oldest_first
    page = mine.get(f"/incidents/{incident.ref}/").content.decode()
    assert re.search(r'value="newest" class="seg-btn" aria-pressed="true"', page)


def test_notes_only_and_hiding_system_entries(
    browse: Any, agent: User, reporter: User, make_incident: Any
) -> None:
    incident = busy_incident(make_incident, reporter, agent)
    client = browse(agent)
    client.post(f"/incidents/{incident.ref}/timeline/view/", {"show": "notes"})
    page = text_of(client.get(f"/incidents/{incident.ref}/"))
    assert "We are on it" in page and "Firewall?" in page
    assert "Alert joined" not in page and "Clock paused" not in page
    assert "reported the incident" not in page
    assert "Showing notes only · 3 other entries hidden." in page

    client.post(f"/incidents/{incident.ref}/timeline/view/", {"show": "people"})
    page = text_of(client.get(f"/incidents/{incident.ref}/"))
    assert "Rita reported the incident" in page and "We are on it" in page
    assert "Alert joined" not in page and "Clock paused" not in page

    client.post(f"/incidents/{incident.ref}/timeline/view/", {"show": "all"})
    page = text_of(client.get(f"/incidents/{incident.ref}/"))
    assert "Alert joined" in page and "Clock paused" in page

    bad = client.post(f"/incidents/{incident.ref}/timeline/view/", {"show": "everything!"})
    assert bad.status_code == 422
    assert "Show: must be one of" in text_of(bad)


def test_actors_by_name_and_times_with_their_zone(
    browse: Any, agent: User, reporter: User, make_incident: Any, api: Any
) -> None:
    incident = busy_incident(make_incident, reporter, agent)
    html = browse(agent).get(f"/incidents/{incident.ref}/").content.decode()
    page = text_of(browse(agent).get(f"/incidents/{incident.ref}/"))
    assert "Alertmanager · Prometheus prod added a note" in page
    assert "alertmanager:Prometheus prod" not in page
    assert "Tocsin · sla added a note" in page
    assert "Alice added a note" in page
    times = re.findall(r'<time class="tl-time[^>]*>([^<]+)</time>', html)
    assert times and all(t.endswith(" UTC") for t in times), times

    items = api(agent).get(f"/api/v1/incidents/{incident.ref}/timeline").json()["items"]
    labels = [item["actor"]["label"] for item in items]
    assert "Alertmanager · Prometheus prod" in labels
    assert "Tocsin · sla" in labels
    assert "alertmanager:Prometheus prod" not in labels


def test_one_triage_save_is_one_entry_naming_the_fields(
    browse: Any, agent: User, reporter: User, make_incident: Any, catalogue: dict[str, Any]
) -> None:
    incident = make_incident(reporter, impact=3, urgency=3)
    before = TimelineEntry.objects.filter(incident=incident).count()
    client = browse(agent)
    response = client.post(
        f"/incidents/{incident.ref}/triage/",
        {"impact": "1", "urgency": "1", "service": catalogue["vpn_service"].pk},
    )
    assert response.status_code == 302
    # (raised to P1, the incident is also declared major: that entry is the comms app's)
    assert TimelineEntry.objects.filter(incident=incident).exclude(kind="major").count() == (
        before + 1
    )
    page = text_of(client.get(f"/incidents/{incident.ref}/"))
    assert "Alice changed service, impact, urgency and priority" in page
    assert "Impact: 3 – Medium → to 1 – Critical" in page
    assert "Priority: P3 → to P1" in page


def test_staff_pin_an_entry_as_a_highlight(
    browse: Any, agent: User, reporter: User, make_incident: Any
) -> None:
    incident = busy_incident(make_incident, reporter, agent)
    note = TimelineEntry.objects.get(incident=incident, text="We are on it")
    client = browse(agent)
    response = client.post(f"/incidents/{incident.ref}/timeline/{note.pk}/pin/", {"pinned": "1"})
    assert response.status_code == 302
    assert response["Location"].endswith(f"#entry-{note.pk}")
    note.refresh_from_db()
    assert note.pinned_by == agent and note.pinned_at is not None
    audit = AuditEntry.objects.get(action="timeline.pin")
    assert audit.actor_user == agent and incident.ref in audit.object_label

    html = client.get(f"/incidents/{incident.ref}/").content.decode()
    entry = html[html.index(f'id="entry-{note.pk}"') :][:1500]
    assert "Highlight</span>" in entry and 'title="Pinned by Alice' in entry
    assert ">Unpin</button>" in entry

    client.post(f"/incidents/{incident.ref}/timeline/view/", {"show": "pinned"})
    page = text_of(client.get(f"/incidents/{incident.ref}/"))
    assert "We are on it" in page and "Firewall?" not in page

    client.post(f"/incidents/{incident.ref}/timeline/{note.pk}/pin/", {"pinned": "0"})
    note.refresh_from_db()
    assert note.pinned_at is None
    page = text_of(client.get(f"/incidents/{incident.ref}/"))
    assert "No highlights yet." in page


def test_reporters_may_not_pin_nor_see_pins(
    browse: Any, agent: User, reporter: User, make_incident: Any
) -> None:
    incident = busy_incident(make_incident, reporter, agent)
    public = TimelineEntry.objects.get(incident=incident, text="We are on it")
    internal = TimelineEntry.objects.get(incident=incident, text="Firewall?")
    services.timeline_pin(entry=public, actor=Actor.for_user(agent))
    client = browse(reporter)
    html = client.get(f"/incidents/{incident.ref}/").content.decode()
    assert "Highlight" not in html and ">Pin</button>" not in html
    refused = client.post(f"/incidents/{incident.ref}/timeline/{public.pk}/pin/", {"pinned": "0"})
    assert refused.status_code == 403
    hidden = client.post(f"/incidents/{incident.ref}/timeline/{internal.pk}/pin/")
    assert hidden.status_code == 404
    public.refresh_from_db()
    internal.refresh_from_db()
    assert public.pinned and not internal.pinned


def test_the_api_pins_and_reads_in_either_order(
    api: Any, agent: User, reporter: User, make_incident: Any
) -> None:
    incident = busy_incident(make_incident, reporter, agent)
    note = TimelineEntry.objects.get(incident=incident, text="Firewall?")
    staff: ApiClient = api(agent)
    base = f"/api/v1/incidents/{incident.ref}/timeline"
    pinned = staff.post(f"{base}/{note.pk}/pin")
    assert pinned.status_code == 200, pinned.content
    body = pinned.json()
    assert (body["pinned"], body["pinned_by"]) == (True, agent.username)
    assert body["pinned_at"]
    highlights = staff.get(base, {"show": "pinned"}).json()
    assert [item["id"] for item in highlights["items"]] == [note.pk]
    newest = staff.get(base, {"order": "newest"}).json()["items"]
    assert [i["id"] for i in newest] == sorted((i["id"] for i in newest), reverse=True)
    assert staff.get(base, {"order": "sideways"}).status_code == 422
    notes = staff.get(base, {"show": "notes"}).json()["items"]
    assert {i["text"] for i in notes} == {"We are on it", "Firewall?"}
    assert staff.post(f"{base}/{note.pk}/unpin").json()["pinned"] is False
    assert api(reporter).post(f"{base}/{note.pk}/pin").status_code == 404  # internal: unseen
    public = TimelineEntry.objects.get(incident=incident, text="We are on it")
    assert api(reporter).post(f"{base}/{public.pk}/pin").status_code == 403
