"""Runbooks through /api/v1: who may read, edit and run them, bad input, runs with step
snapshots, ticking steps on the timeline."""

from __future__ import annotations

from typing import Any

import pytest

from tests.learning.runbook_support import Org, make_runbook, org_fixture  # noqa: F401
from tocsin.catalog.models import Category
from tocsin.core.actors import Actor
from tocsin.incidents import services as incidents
from tocsin.incidents.models import EntryKind, Incident, TimelineEntry
from tocsin.learning.models import Runbook, RunbookRun

pytestmark = pytest.mark.django_db


def _incident(org: Org, **kw: Any) -> Incident:
    return incidents.incident_create(
        actor=Actor.for_user(org.agent),
        title=kw.pop("title", "Card payments failing"),
        description="The processor is down",
        reporter=org.reporter,
        **kw,
    )


def _body(org: Org, **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Payments down",
        "description": "Use when *payments* fail.",
        "service": org.service.pk,
        "steps": [
            {"title": "Look at the dashboard", "body": "The **p99** panel."},
            {"title": "Page the vendor"},
        ],
    }
    body.update(kw)
    return body


def test_managers_and_admins_edit_staff_read_reporters_see_nothing(org: Org, api: Any) -> None:
    made = api(org.manager).post("/api/v1/runbooks", _body(org))
    assert made.status_code == 201, made.content
    data = made.json()
    assert [s["title"] for s in data["steps"]] == ["Look at the dashboard", "Page the vendor"]
    assert data["service"] == {"id": org.service.pk, "name": "Payments API"}
    assert "<strong>p99</strong>" in data["steps"][0]["body_html"]
    rid = data["id"]
    assert api(org.admin).patch(f"/api/v1/runbooks/{rid}", {"name": "Payments"}).status_code == 200

    for staff in (org.agent, org.responder):
        client = api(staff)
        listed = client.get("/api/v1/runbooks").json()
        assert listed["count"] == 1 and listed["items"][0]["steps"] == 2
        assert client.get(f"/api/v1/runbooks/{rid}").json()["name"] == "Payments"
        assert client.post("/api/v1/runbooks", _body(org)).status_code == 403
        assert client.patch(f"/api/v1/runbooks/{rid}", {"name": "x"}).status_code == 403
        assert client.post(f"/api/v1/runbooks/{rid}/archive").status_code == 403

    rita = api(org.reporter)
    for path in ("/api/v1/runbooks", f"/api/v1/runbooks/{rid}"):
        assert rita.get(path).status_code == 404
    assert rita.post("/api/v1/runbooks", _body(org)).status_code == 404
    assert rita.patch(f"/api/v1/runbooks/{rid}", {"name": "x"}).status_code == 404
    assert Runbook.objects.get().name == "Payments"


def test_create_is_idempotent_and_patch_replaces_steps_and_archive_hides(
    org: Org, api: Any
) -> None:
    client = api(org.manager)
    key = {"Idempotency-Key": "rb-1"}
    first = client.post("/api/v1/runbooks", _body(org), headers=key)
    again = client.post("/api/v1/runbooks", _body(org), headers=key)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"] and Runbook.objects.count() == 1
    rid = first.json()["id"]
    patched = client.patch(f"/api/v1/runbooks/{rid}", {"steps": [{"title": "Only one"}]})
    assert [s["position"] for s in patched.json()["steps"]] == [1]
    assert client.post(f"/api/v1/runbooks/{rid}/archive").json()["archived_at"]
    assert client.get("/api/v1/runbooks").json()["count"] == 0
    assert client.get("/api/v1/runbooks", {"archived": "true"}).json()["count"] == 1
    assert client.post(f"/api/v1/runbooks/{rid}/restore").json()["archived_at"] is None


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"name": ""}, "name"),
        ({"service": 999999}, "service"),
        ({"category": 999999}, "category"),
        ({"run_on_open": True, "service": None}, "run_on_open"),
        ({"steps": [{"title": ""}]}, "title"),
        ({"steps": [{"title": "x", "url": "ftp://example.com/x"}]}, "steps.1.url"),
        ({"steps": [{"title": "x", "url": "javascript:alert(1)"}]}, "steps.1.url"),
        ({"steps": [{"title": "x", "url": "http://user:pw@example.com/"}]}, "steps.1.url"),
        ({"steps": [{"title": "x", "url": "http://127.0.0.1:9/x"}]}, "steps.1.url"),
        ({"steps": [{"title": "x", "url": "http://10.1.2.3/x"}]}, "steps.1.url"),
        ({"steps": [{"title": "x", "url": "http://169.254.169.254/latest"}]}, "steps.1.url"),
        ({"steps": [{"title": "x", "url": "http://[::1]/x"}]}, "steps.1.url"),
        (
            {"steps": [{"title": "x", "url": "https://example.com/", "body_template": "{"}]},
            "steps.1.body_template",
        ),
        (
            {"steps": [{"title": "x", "url": "https://example.com/", "body_template": "[1]"}]},
            "steps.1.body_template",
        ),
        (
            {
                "steps": [
                    {
                        "title": "x",
                        "url": "https://example.com/",
                        "body_template": '{"a": "{{ settings.SECRET_KEY }}"}',
                    }
                ]
            },
            "steps.1.body_template",
        ),
        (
            {
                "steps": [
                    {
                        "title": "x",
                        "url": "https://example.com/",
                        "body_template": '{"a": "{{ incident.title.__class__ }}"}',
                    }
                ]
            },
            "steps.1.body_template",
        ),
        (
            {
                "steps": [
                    {"title": "x", "url": "https://example.com/", "body_template": '{"a": "{{"}'}
                ]
            },
            "steps.1.body_template",
        ),
        ({"steps": [{"title": "x", "body_template": '{"a": 1}'}]}, "steps.1.url"),
        ({"steps": [{"title": "x", "nope": 1}]}, "nope"),
        ({"steps": [{"title": "\x00"}]}, "title"),
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_changes_nothing(
    org: Org, api: Any, change: dict[str, Any], loc: str
) -> None:
    client = api(org.manager)
    made = client.post("/api/v1/runbooks", _body(org, **change))
    assert made.status_code == 422, made.content
    assert any(loc in [str(x) for x in e["loc"]] for e in made.json()["detail"]), made.json()
    assert Runbook.objects.count() == 0
    rid = make_runbook(service=org.service).pk
    patched = client.patch(f"/api/v1/runbooks/{rid}", change)
    assert patched.status_code == 422, patched.content
    assert [s.title for s in Runbook.objects.get(pk=rid).steps.all()] == [
        "Check the processor status page",
        "Restart the gateway",
        "Tell the stakeholders",
    ]


def test_private_addresses_allowed_only_by_the_outbound_setting(
    org: Org, api: Any, settings: Any
) -> None:
    settings.TOCSIN_OUTBOUND_ALLOW = ["10.0.0.0/8"]
    body = _body(org, steps=[{"title": "Collect", "url": "http://10.1.2.3/diag"}])
    assert api(org.manager).post("/api/v1/runbooks", body).status_code == 201


def test_a_run_snapshots_the_steps_and_each_tick_is_on_the_timeline(org: Org, api: Any) -> None:
    runbook = make_runbook(service=org.service)
    incident = _incident(org, service=org.service)
    alice = api(org.agent)
    started = alice.post(f"/api/v1/incidents/{incident.ref}/runbooks", {"runbook": runbook.pk})
    assert started.status_code == 201, started.content
    run = started.json()
    assert (run["done"], run["total"], run["started_by"]) == (0, 3, "alice")
    # a second start of the same runbook is refused
    again = alice.post(f"/api/v1/incidents/{incident.number}/runbooks", {"runbook": runbook.pk})
    assert again.status_code == 409
    # editing the runbook later does not change the run
    api(org.manager).patch(f"/api/v1/runbooks/{runbook.pk}", {"steps": [{"title": "New"}]})
    ticked = alice.post(f"/api/v1/runbook-runs/{run['id']}/steps/2", {"done": True})
    assert ticked.status_code == 200
    data = ticked.json()
    assert (data["done"], data["total"]) == (1, 3)
    assert data["steps"][1]["title"] == "Restart the gateway"
    assert data["steps"][1]["done_by"] == "alice"
    alice.post(f"/api/v1/runbook-runs/{run['id']}/steps/2", {"done": True})  # no change
    alice.post(f"/api/v1/runbook-runs/{run['id']}/steps/2", {"done": False})
    texts = list(
        TimelineEntry.objects.filter(incident=incident, kind=EntryKind.RUNBOOK)
        .order_by("pk")
        .values_list("text", flat=True)
    )
    assert texts == [
        "Runbook started: Card payments failing (3 steps).",
        "Runbook Card payments failing: step 2 done — Restart the gateway (1 of 3 done).",
        "Runbook Card payments failing: step 2 not done — Restart the gateway (0 of 3 done).",
    ]
    listed = alice.get(f"/api/v1/incidents/{incident.ref}/runbooks").json()
    assert listed["count"] == 1 and listed["items"][0]["done"] == 0
    # bad input
    assert (
        alice.post(f"/api/v1/runbook-runs/{run['id']}/steps/9", {"done": True}).status_code == 404
    )
    bad = alice.post(f"/api/v1/runbook-runs/{run['id']}/steps/1", {"done": "yes"})
    assert bad.status_code == 422
    assert (
        alice.post(f"/api/v1/incidents/{incident.ref}/runbooks", {"runbook": 99999}).status_code
        == 422
    )
    assert alice.post(f"/api/v1/runbook-runs/{run['id']}/steps/1/call").status_code == 409


def test_reporters_never_see_runs_even_on_their_own_incident(org: Org, api: Any) -> None:
    runbook = make_runbook(service=org.service)
    incident = _incident(org, service=org.service)
    run = (
        api(org.agent)
        .post(f"/api/v1/incidents/{incident.ref}/runbooks", {"runbook": runbook.pk})
        .json()
    )
    rita = api(org.reporter)
    assert rita.get(f"/api/v1/incidents/{incident.ref}/runbooks").status_code == 404
    assert (
        rita.post(f"/api/v1/incidents/{incident.ref}/runbooks", {"runbook": runbook.pk}).status_code
        == 404
    )
    assert rita.get(f"/api/v1/runbook-runs/{run['id']}").status_code == 404
    assert rita.post(f"/api/v1/runbook-runs/{run['id']}/steps/1", {"done": True}).status_code == 404
    assert RunbookRun.objects.get().steps.filter(done_at__isnull=False).count() == 0


def test_archived_runbooks_and_closed_incidents_are_refused(org: Org, api: Any) -> None:
    runbook = make_runbook(service=org.service)
    incident = _incident(org, service=org.service)
    client = api(org.manager)
    client.post(f"/api/v1/runbooks/{runbook.pk}/archive")
    refused = client.post(f"/api/v1/incidents/{incident.ref}/runbooks", {"runbook": runbook.pk})
    assert refused.status_code == 409 and "archived" in refused.json()["detail"]
    assert RunbookRun.objects.count() == 0


def test_start_honours_idempotency_keys_and_closed_incidents_refuse_changes(
    org: Org, api: Any
) -> None:
    runbook = make_runbook(service=org.service)
    incident = _incident(org, service=org.service)
    alice = api(org.agent)
    path = f"/api/v1/incidents/{incident.ref}/runbooks"
    key = {"Idempotency-Key": "start-1"}
    first = alice.post(path, {"runbook": runbook.pk}, headers=key)
    again = alice.post(path, {"runbook": runbook.pk}, headers=key)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"] and RunbookRun.objects.count() == 1
    run_id = first.json()["id"]
    Incident.objects.filter(pk=incident.pk).update(status="closed")
    refused = alice.post(f"/api/v1/runbook-runs/{run_id}/steps/1", {"done": True})
    assert refused.status_code == 409 and "closed" in refused.json()["detail"]
    other = make_runbook("Other", service=org.service)
    assert alice.post(path, {"runbook": other.pk}).status_code == 409
    assert RunbookRun.objects.count() == 1


def test_a_subcategory_is_refused(org: Org, api: Any) -> None:
    sub = Category.objects.create(name="VPN", parent=org.category)
    made = api(org.manager).post("/api/v1/runbooks", _body(org, category=sub.pk))
    assert made.status_code == 422 and made.json()["detail"][0]["loc"] == ["body", "category"]
    ok = api(org.manager).post("/api/v1/runbooks", _body(org, category=org.category.pk))
    assert ok.json()["category"] == {"id": org.category.pk, "name": "Network"}
