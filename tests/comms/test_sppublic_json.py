"""The Statuspage-compatible JSON (/status/api/v2/…): every document validated against a
JSON Schema written from Statuspage's public API documentation
(tests/comms/schemas/statuspage-v2.json), and the values a Statuspage reader relies on.

A real Statuspage client from PyPI: none reads the public v2 API. The two that install,
`atlassian-statuspage` 1.0.2 and `crunch-statuspageio` 0.7, are clients of the
authenticated management API (api.statuspage.io/v1, an API key per page), and
atlassian-statuspage pins old exact versions (python-dateutil 2.8.2, urllib3 1.26.16,
requests 2.29.0) that conflict with Tocsin's own pins, so neither can be a dev
dependency. Once, by hand, atlassian-statuspage's generated models (`Component`,
`Incident`, `IncidentUpdate`, whose setters check Statuspage's value sets) read these
documents' components and incidents without error (docs/status-page.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from django.test import Client

from tests.comms.sppublic_data import build
from tocsin.comms import public
from tocsin.comms.models import Component, ComponentStatus
from tocsin.comms.services import status_changed
from tocsin.comms.statuspage_json import DOCUMENTS

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "statuspage-v2.json").read_text())


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(public, "REVISION_TTL", 0.0)
    public.forget()


def fetch(name: str) -> dict[str, Any]:
    response = Client().get(f"/status/api/v2/{name}")
    assert response.status_code == 200, name
    assert response["Content-Type"] == "application/json"
    assert response["Access-Control-Allow-Origin"] == "*"
    return json.loads(response.content)


def validate(name: str, doc: dict[str, Any]) -> None:
    pointer = name.replace("~", "~0").replace("/", "~1")
    schema = {**SCHEMA, "$ref": f"#/$defs/{pointer}"}
    jsonschema.Draft202012Validator(schema).validate(doc)


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(DOCUMENTS))
def test_every_document_matches_the_schema(name: str) -> None:
    build()
    validate(name, fetch(name))


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(DOCUMENTS))
def test_an_empty_page_matches_the_schema_too(name: str) -> None:
    doc = fetch(name)
    validate(name, doc)
    if name == "status.json":
        assert doc["status"] == {"indicator": "none", "description": "All Systems Operational"}


@pytest.mark.django_db
def test_the_schema_refuses_what_statuspage_would_not_send() -> None:
    build()
    doc = fetch("summary.json")
    doc["components"][0]["status"] = "broken"
    with pytest.raises(jsonschema.ValidationError):
        validate("summary.json", doc)
    doc = fetch("summary.json")
    del doc["incidents"][0]["incident_updates"]
    with pytest.raises(jsonschema.ValidationError):
        validate("summary.json", doc)


@pytest.mark.django_db
def test_summary_values() -> None:
    data = build()
    doc = fetch("summary.json")
    assert doc["page"]["url"].endswith("/status/")
    # a partial outage on a component: Statuspage's "major" indicator
    assert doc["status"] == {"indicator": "major", "description": "Partial System Outage"}
    by_id = {c["id"]: c for c in doc["components"]}
    assert by_id[str(data.api.pk)]["status"] == "partial_outage"
    group = by_id[f"g{data.api.group_id}"]
    assert group["group"] is True
    assert group["components"] == [str(data.api.pk), str(data.web.pk)]
    assert group["status"] == "partial_outage"  # the worst of its members
    assert by_id[str(data.api.pk)]["group_id"] == group["id"]
    # unresolved incidents only; drafts never
    assert [i["name"] for i in doc["incidents"]] == ["Elevated API error rates"]
    incident = doc["incidents"][0]
    assert incident["impact"] == "major"
    assert incident["shortlink"].endswith(f"/status/incidents/{data.incident.pk}/")
    assert [u["status"] for u in incident["incident_updates"]] == ["identified", "investigating"]
    assert incident["incident_updates"][1]["affected_components"] == [
        {
            "code": str(data.api.pk),
            "name": "Public API",
            "old_status": "operational",
            "new_status": "partial_outage",
        }
    ]
    # the active one (by the clock) first, then the upcoming one
    assert [(m["name"], m["status"]) for m in doc["scheduled_maintenances"]] == [
        ("Mail relay move", "in_progress"),
        ("Database upgrade", "scheduled"),
    ]
    assert all(m["impact"] == "maintenance" for m in doc["scheduled_maintenances"])


@pytest.mark.django_db
def test_lists_and_filters() -> None:
    build()
    names = [i["name"] for i in fetch("incidents.json")["incidents"]]
    assert names == ["Elevated API error rates", "Slow website"]
    unresolved = [i["name"] for i in fetch("incidents/unresolved.json")["incidents"]]
    assert unresolved == ["Elevated API error rates"]
    upcoming = fetch("scheduled-maintenances/upcoming.json")["scheduled_maintenances"]
    assert [m["name"] for m in upcoming] == ["Database upgrade"]
    active = fetch("scheduled-maintenances/active.json")["scheduled_maintenances"]
    assert [m["name"] for m in active] == ["Mail relay move"]
    every = fetch("scheduled-maintenances.json")["scheduled_maintenances"]
    assert {m["name"] for m in every} == {"Database upgrade", "Mail relay move"}
    assert fetch("status.json")["status"]["indicator"] == "major"
    components = fetch("components.json")["components"]
    assert [c["name"] for c in components] == ["Core", "Public API", "Website", "Email delivery"]


@pytest.mark.django_db
def test_indicator_follows_the_worst_component() -> None:
    data = build()
    Component.objects.filter(pk=data.api.pk).update(status=ComponentStatus.MAJOR)
    status_changed()
    assert fetch("status.json")["status"] == {
        "indicator": "critical",
        "description": "Major Service Outage",
    }


@pytest.mark.django_db
def test_old_open_incidents_stay_in_the_summary_beyond_the_latest_fifty() -> None:
    import datetime as dt

    from tocsin.comms.models import PublicIncident
    from tocsin.core.clock import now

    at = now()
    old = PublicIncident.objects.create(
        title="Old and still open", status="monitoring", published_at=at - dt.timedelta(days=30)
    )
    for n in range(55):
        PublicIncident.objects.create(
            title=f"Resolved {n}",
            status="resolved",
            published_at=at - dt.timedelta(hours=n),
            resolved_at=at - dt.timedelta(hours=n),
        )
    status_changed()
    assert len(fetch("incidents.json")["incidents"]) == 50
    assert [i["id"] for i in fetch("summary.json")["incidents"]] == [str(old.pk)]
    assert [i["id"] for i in fetch("incidents/unresolved.json")["incidents"]] == [str(old.pk)]


@pytest.mark.django_db
def test_a_component_hidden_from_the_page_stays_hidden_when_an_incident_names_it() -> None:
    page = build()
    hidden = Component.objects.create(
        name="Internal billing batch", status=ComponentStatus.PARTIAL, showcase=False
    )
    page.incident.components.add(hidden)
    status_changed()
    for name in ("summary.json", "incidents.json", "components.json"):
        assert "Internal billing batch" not in json.dumps(fetch(name))
    html = Client().get(f"/status/incidents/{page.incident.pk}/").content.decode()
    assert "Internal billing batch" not in html


@pytest.mark.django_db
def test_a_missing_public_incident_is_a_404_with_the_security_headers() -> None:
    build()
    response = Client().get("/status/incidents/999999/")
    assert response.status_code == 404
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" in response
