"""Postmortems through the REST API, on the real database: a P1 resolved → a draft with
the generated parts filled from its record → review → published; the rules (priority,
service, due days); access per role (404 for reporters); bad input; templates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import ApiClient
from tests.learning.postmortem_helpers import seeded
from tocsin.accounts.models import Role, User
from tocsin.catalog.models import Service
from tocsin.core.actors import Actor
from tocsin.core.clock import now, travel
from tocsin.escalation.models import Escalation, EscalationPolicy, Page
from tocsin.incidents.models import EntryKind, Incident, IncidentRole, TimelineEntry
from tocsin.incidents.services import (
    incident_acknowledge,
    incident_add_note,
    incident_resolve,
    timeline_pin,
)
from tocsin.incidents.services.response import role_assign
from tocsin.learning.models import ActionItem, ActionItemStatus, Postmortem

T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def people(make_user: Callable[..., User]) -> dict[str, User]:
    seeded()
    return {
        "reporter": make_user(Role.REPORTER, username="rita", name="Rita Reporter"),
        "agent": make_user(Role.AGENT, username="alice", name="Alice Agent"),
        "commander": make_user(Role.RESPONDER, username="ines", name="Inês Duarte"),
        "admin": make_user(Role.ADMIN, username="ada", name="Ada Admin"),
    }


def _p1(people: dict[str, User], *, title: str = "Checkout returns 502") -> Incident:
    """A P1 with a life: impact 08:50, detected 08:55, reported 09:00, paged, acknowledged
    09:04 by the commander, a pinned note, resolved 09:40."""
    service = Service.objects.create(name="Payments API")
    commander = people["commander"]
    agent = people["agent"]
    with travel(T0):
        from tocsin.incidents.services import incident_create

        incident = incident_create(
            actor=Actor.for_user(agent),
            title=title,
            description="Card payments fail for all customers.",
            impact=1,
            urgency=1,
            reporter=people["reporter"],
            service=service,
            detected_at=T0 - dt.timedelta(minutes=5),
            impact_started_at=T0 - dt.timedelta(minutes=10),
        )
        policy = EscalationPolicy.objects.create(name="Payments on-call")
        climb = Escalation.objects.create(incident=incident, policy=policy, started_at=T0)
        Page.objects.create(
            escalation=climb,
            incident=incident,
            person=commander,
            step=1,
            level=0,
            cycle=0,
            via="schedule Payments primary",
            state="acknowledged",
            created_at=T0 + dt.timedelta(minutes=1),
        )
    with travel(T0 + dt.timedelta(minutes=4)):
        incident = incident_acknowledge(incident=incident, actor=Actor.for_user(commander))
        role_assign(
            incident=incident,
            role=IncidentRole.objects.get(key=IncidentRole.COMMANDER),
            user=commander,
            actor=Actor.for_user(agent),
        )
    with travel(T0 + dt.timedelta(minutes=20)):
        note = incident_add_note(
            incident=incident,
            actor=Actor.for_user(commander),
            text="Inês Duarte rolled back the 08:45 deploy of payments-gw",
        )
        entry = (
            note
            if isinstance(note, TimelineEntry)
            else TimelineEntry.objects.filter(incident=incident, kind=EntryKind.NOTE).latest("pk")
        )
        timeline_pin(entry=entry, actor=Actor.for_user(agent))
    with travel(T0 + dt.timedelta(minutes=40)):
        incident = incident_resolve(
            incident=Incident.objects.get(pk=incident.pk),
            actor=Actor.for_user(commander),
            resolution_code="fixed",
            resolution_notes="Rolled back the gateway deploy.",
        )
    return incident


def test_p1_resolved_is_drafted_reviewed_and_published(
    people: dict[str, User], api: Callable[[User], ApiClient]
) -> None:
    incident = _p1(people)
    postmortem = Postmortem.objects.get(incident=incident)
    agent = api(people["agent"])

    got = agent.get(f"/api/v1/postmortems/{postmortem.pk}").json()
    assert got["status"] == "draft"
    assert got["incident"] == incident.ref
    assert got["owner"] == "ines"  # the incident commander
    assert got["required"] is True
    assert got["allowed"] == ["in_review"]
    assert dt.datetime.fromisoformat(got["due_at"]) == T0 + dt.timedelta(minutes=40, days=5)
    md = got["markdown"]
    assert "This review is blameless" in md
    assert "Card payments fail for all customers." in md
    assert "Payments API" in md
    # key times and this incident's metrics
    assert "| Impact started | 2026-11-02 08:50 UTC |" in md
    assert "| Detected | 2026-11-02 08:55 UTC |" in md
    assert "| Acknowledged | 2026-11-02 09:04 UTC |" in md
    assert "| Resolved | 2026-11-02 09:40 UTC |" in md
    assert "**Time to detect** (impact start → detection): 5 min" in md
    assert "**Time to acknowledge** (detection → acknowledgement): 9 min" in md
    assert "**Time to resolve** (impact start → resolution): 50 min" in md
    assert "**Duration:** 50 min" in md
    # who was paged: the level, the policy, the schedule; not the person
    assert (
        "02 Nov 09:01 — Level 1 of Payments on-call, via schedule Payments primary, "
        "high urgency: acknowledged" in md
    )
    # the timeline, the pinned entry highlighted, and no one named
    assert "- ★ **02 Nov 09:20 — Note: the incident commander rolled back" in md
    assert "Inês" not in md and "Alice" not in md and "ines" not in md
    for heading in (
        "## Root cause",
        "## Contributing factors",
        "## What went well",
        "## What went badly",
        "## Where we got lucky",
    ):
        assert heading in md
    # drafting is on the incident's timeline
    assert TimelineEntry.objects.filter(
        incident=incident, kind=EntryKind.POSTMORTEM, text__startswith="Postmortem drafted"
    ).exists()

    # write, review, send back, review again, publish
    edited = agent.patch(
        f"/api/v1/postmortems/{postmortem.pk}",
        {"markdown": md + "\nRoot cause: a config flag.", "title": "Checkout outage"},
    )
    assert edited.status_code == 200, edited.content
    assert edited.json()["title"] == "Checkout outage"
    wrong = agent.patch(f"/api/v1/postmortems/{postmortem.pk}", {"status": "published"})
    assert wrong.status_code == 409
    assert "allowed: in_review" in wrong.json()["detail"]
    assert agent.patch(f"/api/v1/postmortems/{postmortem.pk}", {"status": "in_review"}).json()[
        "allowed"
    ] == ["draft", "published"]
    comment = agent.post(
        f"/api/v1/postmortems/{postmortem.pk}/comments", {"body": "Add the **alert** gap."}
    )
    assert comment.status_code == 201
    assert comment.json()["html"] == "<p>Add the <strong>alert</strong> gap.</p>\n"
    assert (
        agent.patch(f"/api/v1/postmortems/{postmortem.pk}", {"status": "draft"}).json()["status"]
        == "draft"
    )
    agent.patch(f"/api/v1/postmortems/{postmortem.pk}", {"status": "in_review"})
    published = agent.patch(f"/api/v1/postmortems/{postmortem.pk}", {"status": "published"})
    assert published.status_code == 200
    body = published.json()
    assert body["status"] == "published" and body["published_at"]
    assert body["completed_at"]  # no action items: complete at once
    assert body["allowed"] == []
    # published: no more changes
    late = agent.patch(f"/api/v1/postmortems/{postmortem.pk}", {"title": "Another"})
    assert late.status_code == 409
    moves = list(
        TimelineEntry.objects.filter(incident=incident, kind=EntryKind.POSTMORTEM).values_list(
            "text", flat=True
        )
    )
    assert moves[-5:] == [
        "Postmortem sent for review.",
        "Postmortem sent back to draft.",
        "Postmortem sent for review.",
        "Postmortem published.",
        "Postmortem complete: published, and every action item is done or accepted as a risk.",
    ]
    listed = agent.get("/api/v1/postmortems", {"status": "published"}).json()
    assert listed["count"] == 1 and listed["items"][0]["id"] == postmortem.pk


def test_published_is_complete_only_when_every_action_item_is_finished(
    people: dict[str, User], api: Callable[[User], ApiClient]
) -> None:
    incident = _p1(people)
    postmortem = Postmortem.objects.get(incident=incident)
    ActionItem.objects.create(postmortem=postmortem, title="Alert on 502s", status="done")
    ActionItem.objects.create(
        postmortem=postmortem, title="Canary deploys", status=ActionItemStatus.OPEN
    )
    agent = api(people["agent"])
    agent.patch(f"/api/v1/postmortems/{postmortem.pk}", {"status": "in_review"})
    body = agent.patch(f"/api/v1/postmortems/{postmortem.pk}", {"status": "published"}).json()
    assert body["status"] == "published"
    assert body["completed_at"] is None


def test_rules_priority_service_and_due_days(
    people: dict[str, User],
    api: Callable[[User], ApiClient],
    make_incident: Callable[..., Incident],
) -> None:
    admin = api(people["admin"])
    agent = people["agent"]
    quiet = Service.objects.create(name="Wiki")
    loud = Service.objects.create(name="Printers")
    response = admin.client.put(
        "/api/v1/postmortem-settings",
        {
            "required_priorities": [1, 2],
            "due_days": 3,
            "services": [
                {"service": quiet.pk, "required_priorities": []},
                {"service": loud.pk, "required_priorities": [1, 2, 3]},
            ],
        },
        content_type="application/json",
        headers=admin._headers(None),
    )
    assert response.status_code == 200, response.content
    assert response.json()["due_days"] == 3

    def resolve(**fields: Any) -> Incident:
        incident = make_incident(agent, **fields)
        return incident_resolve(
            incident=incident,
            actor=Actor.for_user(agent),
            resolution_code="fixed",
            resolution_notes="done",
        )

    p2 = resolve(title="P2 anywhere", impact=2, urgency=1)
    assert Postmortem.objects.filter(incident=p2, required=True).exists()
    assert Postmortem.objects.get(incident=p2).due_at == p2.resolved_at + dt.timedelta(days=3)  # type: ignore[operator]
    p1_quiet = resolve(title="P1 on the wiki", impact=1, urgency=1, service=quiet)
    assert not Postmortem.objects.filter(incident=p1_quiet).exists()
    p3_loud = resolve(title="P3 printers", impact=3, urgency=3, service=loud)
    assert p3_loud.priority == 3
    assert Postmortem.objects.filter(incident=p3_loud).exists()
    p3 = resolve(title="P3 elsewhere", impact=3, urgency=3)
    assert not Postmortem.objects.filter(incident=p3).exists()


def test_by_hand_409_when_one_exists_and_idempotency(
    people: dict[str, User],
    api: Callable[[User], ApiClient],
    make_incident: Callable[..., Incident],
) -> None:
    agent = api(people["agent"])
    incident = make_incident(people["reporter"], title="Slow VPN")
    first = agent.post(
        "/api/v1/postmortems", {"incident": incident.ref}, headers={"Idempotency-Key": "k1"}
    )
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["status"] == "draft" and body["incident"] == incident.ref
    assert body["required"] is False
    assert "Slow VPN" in body["markdown"] and "{timeline}" not in body["markdown"]
    again = agent.post(
        "/api/v1/postmortems", {"incident": incident.ref}, headers={"Idempotency-Key": "k1"}
    )
    assert again.status_code == 201 and again.json()["id"] == body["id"]
    twice = agent.post("/api/v1/postmortems", {"incident": str(incident.number)})
    assert twice.status_code == 409
    assert "already has a postmortem" in twice.json()["detail"]
    assert Postmortem.objects.count() == 1


def test_reporters_get_404_everywhere(
    people: dict[str, User],
    api: Callable[[User], ApiClient],
    make_incident: Callable[..., Incident],
) -> None:
    incident = make_incident(people["reporter"])
    made = api(people["agent"]).post("/api/v1/postmortems", {"incident": incident.ref}).json()
    rita = api(people["reporter"])
    pid = made["id"]
    assert rita.get("/api/v1/postmortems").status_code == 404
    assert rita.get(f"/api/v1/postmortems/{pid}").status_code == 404
    assert rita.patch(f"/api/v1/postmortems/{pid}", {"title": "x"}).status_code == 404
    assert rita.get(f"/api/v1/postmortems/{pid}/comments").status_code == 404
    assert rita.post(f"/api/v1/postmortems/{pid}/comments", {"body": "x"}).status_code == 404
    # even for her own incident
    assert rita.post("/api/v1/postmortems", {"incident": incident.ref}).status_code == 404
    assert rita.get("/api/v1/postmortem-templates").status_code == 404
    assert rita.get("/api/v1/postmortem-settings").status_code == 404
    assert Postmortem.objects.get(pk=pid).title == made["title"]


def test_templates_admin_only_and_placeholders_checked(
    people: dict[str, User], api: Callable[[User], ApiClient]
) -> None:
    admin = api(people["admin"])
    agent = api(people["agent"])
    listed = agent.get("/api/v1/postmortem-templates").json()
    assert listed["count"] == 1
    default = listed["items"][0]
    assert "blameless" in default["body"]
    assert "timeline" in listed["placeholders"]
    assert (
        agent.post("/api/v1/postmortem-templates", {"name": "Mine", "body": "x"}).status_code == 403
    )
    bad = admin.post("/api/v1/postmortem-templates", {"name": "Short", "body": "# {title}\n{who}"})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "body"]
    assert "{who}" in bad.json()["detail"][0]["msg"]
    made = admin.post(
        "/api/v1/postmortem-templates", {"name": "Short", "body": "# {title}\n\n{timeline}"}
    )
    assert made.status_code == 201
    patched = admin.patch(
        f"/api/v1/postmortem-templates/{made.json()['id']}", {"body": "# {ref}\n\n{paging}"}
    )
    assert patched.status_code == 200 and patched.json()["body"].startswith("# {ref}")
    archived = admin.patch(f"/api/v1/postmortem-templates/{default['id']}", {"archived": True})
    assert archived.status_code == 422  # the default one


def test_bad_input_is_a_clear_4xx_and_changes_nothing(
    people: dict[str, User],
    api: Callable[[User], ApiClient],
    make_incident: Callable[..., Incident],
) -> None:
    agent = api(people["agent"])
    incident = make_incident(people["reporter"])
    assert agent.post("/api/v1/postmortems", {"incident": "INC-999999"}).status_code == 422
    assert agent.post("/api/v1/postmortems", {"incident": "nonsense"}).status_code == 422
    assert agent.post("/api/v1/postmortems", {}).status_code == 422
    assert (
        agent.post("/api/v1/postmortems", {"incident": incident.ref, "template": 99999}).status_code
        == 422
    )
    assert agent.post("/api/v1/postmortems", {"incident": incident.ref, "x": 1}).status_code == 422
    pid = agent.post("/api/v1/postmortems", {"incident": incident.ref}).json()["id"]
    url = f"/api/v1/postmortems/{pid}"
    before = Postmortem.objects.get(pk=pid)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"status": "done"}, 422, "status"),
        ({"status": None}, 422, "status"),
        ({"owner": "nobody-here"}, 422, "owner"),
        ({"owner": people["reporter"].username}, 422, "owner"),
        ({"title": ""}, 422, "title"),
        ({"title": None}, 422, "title"),
        ({"due_at": "tomorrow"}, 422, "due_at"),
        ({"markdown": "x" * 100_001}, 422, "markdown"),
        ({"title": "ok", "status": "published"}, 409, ""),
    ]
    for body, status, field in cases:
        response = agent.patch(url, body)
        assert response.status_code == status, (body, response.content)
        if field:
            assert field in str(response.json()["detail"][0]["loc"]), body
    after = Postmortem.objects.get(pk=pid)
    assert (after.title, after.status, after.owner_id) == (
        before.title,
        before.status,
        before.owner_id,
    )
    assert agent.get("/api/v1/postmortems", {"status": "nope"}).status_code == 422
    assert agent.get("/api/v1/postmortems/0").status_code == 422
    assert agent.get("/api/v1/postmortems/424242").status_code == 404
    assert agent.post(f"{url}/comments", {"body": "  "}).status_code == 422
    owner = agent.patch(url, {"owner": "ines", "due_at": "2026-12-24T17:00:00Z"})
    assert owner.status_code == 200
    assert owner.json()["owner"] == "ines"


def test_list_filters_owner_and_overdue(
    people: dict[str, User],
    api: Callable[[User], ApiClient],
    make_incident: Callable[..., Incident],
) -> None:
    agent = api(people["agent"])
    late = agent.post("/api/v1/postmortems", {"incident": make_incident(people["reporter"]).ref})
    fresh = agent.post("/api/v1/postmortems", {"incident": make_incident(people["reporter"]).ref})
    past = (now() - dt.timedelta(days=1)).isoformat()
    agent.patch(f"/api/v1/postmortems/{late.json()['id']}", {"due_at": past, "owner": "alice"})
    overdue = agent.get("/api/v1/postmortems", {"overdue": "true"}).json()
    assert [i["id"] for i in overdue["items"]] == [late.json()["id"]]
    assert overdue["items"][0]["overdue"] is True
    not_overdue = agent.get("/api/v1/postmortems", {"overdue": "false"}).json()
    assert [i["id"] for i in not_overdue["items"]] == [fresh.json()["id"]]
    mine = agent.get("/api/v1/postmortems", {"owner": "alice"}).json()
    assert [i["id"] for i in mine["items"]] == [late.json()["id"]]
    nobody = agent.get("/api/v1/postmortems", {"owner": "none"}).json()
    assert [i["id"] for i in nobody["items"]] == [fresh.json()["id"]]
