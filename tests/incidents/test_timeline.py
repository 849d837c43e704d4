"""The timeline: one entry per change, visibility, redaction, append-only (point 7)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.incidents.helpers import T0, act, entries, reload, snapshot
from tocsin.accounts.services import team_create
from tocsin.catalog.services import category_create, service_create
from tocsin.core.actors import Actor
from tocsin.core.errors import Conflict, Forbidden, Invalid
from tocsin.incidents import selectors
from tocsin.incidents.models import TimelineEntry
from tocsin.incidents.services import (
    incident_add_note,
    incident_assign,
    incident_attach,
    incident_create,
    incident_escalate,
    incident_update,
    timeline_redact,
)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.mark.django_db
def test_creation_entry(reporter, clock):
    incident = incident_create(actor=Actor.for_user(reporter), title="Mail is down", source="email")
    [entry] = entries(incident)
    assert entry.kind == "created"
    assert entry.visibility == "public"
    assert entry.actor_user == reporter
    assert entry.created_at == T0
    assert entry.data == {"priority": "P3", "impact": 3, "urgency": 3}


@pytest.mark.django_db
def test_one_triage_save_is_one_entry_listing_its_changes(agent, reporter, make_incident, clock):
    incident = make_incident(reporter, title="Old title")
    network = category_create(name="Network", actor=Actor.system("test setup"))
    vpn = category_create(name="VPN", parent=network, actor=Actor.system("test setup"))
    mail = service_create(name="Mail", actor=Actor.system("test setup"))
    count = len(entries(incident))
    clock.shift(dt.timedelta(minutes=1))
    incident_update(
        incident=incident,
        actor=Actor.for_user(agent),
        changes={
            "title": "New title",
            "category": network,
            "subcategory": vpn,
            "service": mail,
            "affected_services": [mail],
            "source": "phone",
        },
    )
    new = entries(incident)[count:]
    assert [e.kind for e in new] == ["field"]
    changes = {c["field"]: (c["old"], c["new"]) for c in new[0].data["changes"]}
    assert changes == {
        "title": ("Old title", "New title"),
        "category": (None, "Network"),
        "subcategory": (None, "Network › VPN"),
        "service": (None, "Mail"),
        "affected_services": ([], ["Mail"]),
        "source": ("portal", "phone"),
    }
    assert all(e.actor_user == agent and e.visibility == "internal" for e in new)
    # no change, no entry
    incident_update(incident=incident, actor=Actor.for_user(agent), changes={"title": "New title"})
    assert len(entries(incident)) == count + len(new)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"impact": 0}, "impact"),
        ({"urgency": "high"}, "urgency"),
        ({"source": "pigeon"}, "source"),
        ({"status": "closed"}, "status"),
        ({"reporter": None}, "reporter"),
    ],
)
def test_bad_triage_input_names_the_field(changes, field, agent, reporter, make_incident):
    incident = make_incident(reporter)
    before = snapshot(incident)
    with pytest.raises(Invalid) as caught:
        incident_update(incident=incident, actor=Actor.for_user(agent), changes=changes)
    assert caught.value.field == field
    assert snapshot(incident) == before


@pytest.mark.django_db
def test_assignment_and_escalation_entries(agent, responder, reporter, make_incident):
    incident = make_incident(reporter)
    team = team_create(name="Network", members=[responder], actor=Actor.system("test setup"))
    incident_assign(
        incident=incident, actor=Actor.for_user(agent), assignee=responder, note="yours"
    )
    [assigned] = entries(incident, "assignment")
    assert assigned.data == {"assignee": {"old": None, "new": "rob"}}
    assert assigned.text == "yours"
    assert reload(incident).assignee == responder
    # the same assignment again writes nothing
    incident_assign(incident=incident, actor=Actor.for_user(agent), assignee=responder)
    assert len(entries(incident, "assignment")) == 1
    incident_escalate(
        incident=incident, actor=Actor.for_user(agent), support_level=2, team=team, note="L2"
    )
    [escalated] = entries(incident, "escalation")
    assert escalated.data == {
        "support_level": {"old": 1, "new": 2},
        "team": {"old": None, "new": "Network"},
    }
    assert reload(incident).support_level == 2
    with pytest.raises(Invalid) as caught:
        incident_escalate(incident=incident, actor=Actor.for_user(agent), support_level=1, note="x")
    assert caught.value.field == "support_level"


@pytest.mark.django_db
def test_assigning_a_reporter_is_invalid(agent, reporter, make_incident):
    incident = make_incident(reporter)
    before = snapshot(incident)
    with pytest.raises(Invalid) as caught:
        incident_assign(incident=incident, actor=Actor.for_user(agent), assignee=reporter)
    assert caught.value.field == "assignee"
    assert snapshot(incident) == before


@pytest.mark.django_db
def test_notes_and_their_visibility(agent, reporter, make_incident):
    incident = make_incident(reporter)
    internal = incident_add_note(
        incident=incident, actor=Actor.for_user(agent), text="looks like DNS"
    )
    public = incident_add_note(
        incident=incident, actor=Actor.for_user(agent), text="We are on it", visibility="public"
    )
    comment = incident_add_note(incident=incident, actor=Actor.for_user(reporter), text="Thanks!")
    assert internal.visibility == "internal"
    assert public.visibility == "public"
    assert comment.visibility == "public"
    staff_view = list(selectors.timeline_for(agent, incident))
    reporter_view = list(selectors.timeline_for(reporter, incident))
    assert internal in staff_view and public in staff_view and comment in staff_view
    assert internal not in reporter_view
    assert public in reporter_view and comment in reporter_view
    assert all(e.visibility == "public" for e in reporter_view)
    with pytest.raises(Exception) as caught:
        selectors.access_timeline_entry(reporter, incident.ref, internal.pk)
    assert caught.type.__name__ == "NotFound"


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["", "   ", "a\x00b", "x" * 20_001])
def test_bad_notes_are_refused(text, agent, reporter, make_incident):
    incident = make_incident(reporter)
    before = snapshot(incident)
    with pytest.raises(Invalid) as caught:
        incident_add_note(incident=incident, actor=Actor.for_user(agent), text=text)
    assert caught.value.field == "text"
    assert snapshot(incident) == before


@pytest.mark.django_db
def test_attachment_entry_and_visibility(agent, reporter, make_incident, media):
    incident = make_incident(reporter)
    upload = SimpleUploadedFile(
        "screen shot.png", b"\x89PNG\r\n\x1a\n" + b"0" * 100, content_type="image/png"
    )
    attachment = incident_attach(incident=incident, actor=Actor.for_user(reporter), upload=upload)
    [entry] = entries(incident, "attachment")
    assert entry.text == attachment.filename == "screen_shot.png"
    assert entry.visibility == "public"
    assert entry.data["attachment"] == attachment.pk
    assert attachment.file.read().startswith(b"\x89PNG")
    assert (media / attachment.file.name).exists()
    log = SimpleUploadedFile("debug.txt", b"trace", content_type="text/plain")
    hidden = incident_attach(
        incident=incident, actor=Actor.for_user(agent), upload=log, visibility="internal"
    )
    assert list(selectors.attachments_for(reporter, incident)) == [attachment]
    assert set(selectors.attachments_for(agent, incident)) == {attachment, hidden}
    internal_entry = entries(incident, "attachment")[-1]
    assert internal_entry.visibility == "internal"
    assert internal_entry not in selectors.timeline_for(reporter, incident)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("evil.exe", b"MZ....", "application/x-msdownload"),
        ("empty.png", b"", "image/png"),
        ("big.txt", b"x" * 2048, "text/plain"),
    ],
)
def test_refused_attachments_change_nothing(
    name, content, content_type, agent, reporter, make_incident, media, settings
):
    settings.TOCSIN_ATTACHMENT_MAX_BYTES = 1024
    incident = make_incident(reporter)
    before = snapshot(incident)
    upload = SimpleUploadedFile(name, content, content_type=content_type)
    with pytest.raises(Invalid) as caught:
        incident_attach(incident=incident, actor=Actor.for_user(agent), upload=upload)
    assert caught.value.field == "file"
    assert snapshot(incident) == before
    assert list(media.rglob("*.*")) == []


@pytest.mark.django_db
def test_redaction(admin, agent, reporter, make_incident, clock):
    incident = make_incident(reporter)
    note = incident_add_note(
        incident=incident, actor=Actor.for_user(agent), text="the root password is hunter2"
    )
    with pytest.raises(Forbidden):
        timeline_redact(entry=note, actor=Actor.for_user(agent))
    assert TimelineEntry.objects.get(pk=note.pk).text == "the root password is hunter2"
    clock.shift(dt.timedelta(minutes=2))
    timeline_redact(entry=note, actor=Actor.for_user(admin))
    redacted = TimelineEntry.objects.get(pk=note.pk)
    assert redacted.text == ""
    assert redacted.redacted_by == admin
    assert redacted.redacted_at == T0 + dt.timedelta(minutes=2)
    # the fact remains: who wrote it, when, what kind
    assert redacted.kind == "note"
    assert redacted.actor_user == agent
    assert redacted.created_at == T0
    with pytest.raises(Conflict):
        timeline_redact(entry=note, actor=Actor.for_user(admin))


@pytest.mark.django_db
def test_timeline_is_append_only(agent, reporter, make_incident, clock):
    """Later changes add entries; they never alter or remove earlier ones."""
    incident = make_incident(reporter)
    seen: list[tuple] = []

    def rows() -> list[tuple]:
        return list(
            TimelineEntry.objects.filter(incident_id=incident.pk)
            .order_by("id")
            .values_list("id", "kind", "text", "data", "visibility", "created_at", "actor_user")
        )

    steps = [
        lambda: act(incident, agent, "acknowledge"),
        lambda: incident_add_note(incident=incident, actor=Actor.for_user(agent), text="n"),
        lambda: incident_update(
            incident=incident, actor=Actor.for_user(agent), changes={"urgency": 1}
        ),
        lambda: incident_assign(incident=incident, actor=Actor.for_user(agent), assignee=None),
        lambda: act(incident, agent, "start"),
        lambda: act(incident, agent, "resolve"),
        lambda: act(incident, agent, "reopen"),
    ]
    for step in steps:
        clock.shift(dt.timedelta(minutes=1))
        step()
        now_rows = rows()
        assert now_rows[: len(seen)] == seen
        assert len(now_rows) > len(seen)
        seen = now_rows
    kinds = [row[1] for row in seen]
    assert kinds == [
        "created",
        "transition",
        "assignment",  # acknowledging an unassigned incident assigns it
        "note",
        "field",
        "assignment",
        "transition",
        "transition",
        "postmortem",  # urgency 1 made it a P2: resolving it drafted the postmortem
        "transition",
    ]


@pytest.mark.django_db
def test_token_and_integration_actors(agent, reporter, make_incident):
    from tocsin.accounts.services import token_create

    incident = make_incident(reporter)
    token, _ = token_create(user=agent, name="ci", actor=Actor.system("test setup"))
    act_actor = Actor.for_token(token, request_id="req-1")
    incident_add_note(incident=incident, actor=act_actor, text="from the API")
    entry = entries(incident, "note")[-1]
    assert entry.actor_kind == "token"
    assert entry.actor_user == agent
    assert entry.actor_token == token
    assert entry.request_id == "req-1"
    incident_add_note(incident=incident, actor=Actor.integration("alertmanager"), text="firing")
    entry = entries(incident, "note")[-1]
    assert (entry.actor_kind, entry.actor_label, entry.visibility) == (
        "integration",
        "alertmanager",
        "internal",
    )
