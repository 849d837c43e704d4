"""The schema and the docs page are served, and describe the API."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.mark.django_db
def test_openapi_schema_lists_the_resources() -> None:
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    for path in [
        "/api/v1/incidents",
        "/api/v1/incidents/{ref}",
        "/api/v1/incidents/{ref}/acknowledge",
        "/api/v1/incidents/{ref}/resolve",
        "/api/v1/incidents/{ref}/escalate",
        "/api/v1/incidents/{ref}/merge",
        "/api/v1/incidents/{ref}/timeline",
        "/api/v1/incidents/{ref}/attachments",
        "/api/v1/users",
        "/api/v1/users/me",
        "/api/v1/teams",
        "/api/v1/services",
        "/api/v1/categories",
    ]:
        assert path in paths, path
    assert "patch" in paths["/api/v1/incidents/{ref}"]
    incident = schema["components"]["schemas"]["IncidentOut"]["properties"]
    assert {"id", "number", "priority", "sla", "allowed_actions"} <= set(incident)
    assert "bearer" in str(schema["components"]["securitySchemes"]).lower()
    operation_ids = [op["operationId"] for item in paths.values() for op in item.values()]
    assert len(operation_ids) == len(set(operation_ids))


@pytest.mark.django_db
def test_docs_page_is_served() -> None:
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    assert b"openapi.json" in response.content


def _schema() -> dict:
    return Client().get("/api/v1/openapi.json").json()


@pytest.mark.django_db
def test_the_schema_states_the_enums_patterns_and_non_empty_rules_the_server_enforces() -> None:
    """Issue 7 (20): clients and fuzzers saw plain strings where the server takes only some."""
    schema = _schema()
    c = schema["components"]["schemas"]

    def prop(model: str, name: str) -> dict:
        found = c[model]["properties"][name]
        options = [found, *found.get("anyOf", [])]
        return next((o for o in options if o.get("type") not in (None, "null")), found)

    assert prop("IncidentOut", "status")["enum"] == [
        "new",
        "acknowledged",
        "in_progress",
        "on_hold",
        "resolved",
        "closed",
    ]
    for model in ("IncidentOut", "IncidentCreateIn", "IncidentPatchIn"):
        assert prop(model, "impact")["enum"] == [1, 2, 3, 4], model
        assert prop(model, "urgency")["enum"] == [1, 2, 3, 4], model
        assert "monitoring" in prop(model, "source")["enum"], model
    assert prop("IncidentCreateIn", "title")["minLength"] == 1
    assert prop("IncidentPatchIn", "title")["minLength"] == 1
    assert prop("NoteIn", "text")["minLength"] == 1
    assert prop("NoteIn", "visibility")["enum"] == ["internal", "public"]
    assert "fixed" in prop("ResolveIn", "resolution_code")["enum"]
    assert {"resolution_code", "resolution_notes"} <= set(c["ResolveIn"]["required"])
    assert "note" in c["EscalateIn"]["required"]
    assert prop("UserIn", "username")["pattern"] == r"^[\w.@+-]{1,150}$"
    assert prop("UserIn", "email")["minLength"] == 1
    assert prop("UserIn", "role")["enum"] == ["reporter", "agent", "responder", "manager", "admin"]
    assert prop("TeamIn", "name")["minLength"] == 1
    assert prop("ServiceIn", "name")["minLength"] == 1
    assert "webhook" in prop("IntegrationOut", "kind")["enum"]
    assert "staff_mail_public" in c["IntegrationIn"]["properties"]
    [ref] = schema["paths"]["/api/v1/incidents/{ref}"]["get"]["parameters"]
    assert ref["schema"]["pattern"] == "^(INC-)?[1-9][0-9]*$"


def test_what_the_schema_refuses_the_server_refuses(client_for) -> None:
    """The stated rules are the server's: values outside them are a 422 naming the field."""
    from tocsin.accounts.models import Role
    from tocsin.incidents.models import Incident

    agent = client_for(Role.AGENT)
    for body, field in [
        ({"title": ""}, "title"),
        ({"title": "x", "source": "fax"}, "source"),
        ({"title": "x", "impact": 5}, "impact"),
        ({"title": "x", "urgency": 0}, "urgency"),
        ({"title": "x", "priority": "P5"}, "priority"),
        ({"title": "x", "assignee": "bad name"}, "assignee"),
    ]:
        response = agent.post("/api/v1/incidents", body)
        assert response.status_code == 422, body
        assert response.json()["detail"][0]["loc"][-1] == field, body
    assert Incident.objects.count() == 0
    body = {"title": "x", "priority": "P2", "priority_reason": "y"}
    number = agent.post("/api/v1/incidents", body)
    assert number.status_code == 201, number.content
    path = f"/api/v1/incidents/{number.json()['id']}"
    bad_notes = [({"text": ""}, "text"), ({"text": "x", "visibility": "secret"}, "visibility")]
    for body, field in bad_notes:
        response = agent.post(f"{path}/timeline", body)
        assert response.status_code == 422, body
        assert response.json()["detail"][0]["loc"][-1] == field
    assert agent.post(f"{path}/escalate", {"support_level": 2}).status_code == 422
    assert agent.post(f"{path}/resolve", {"resolution_notes": "x"}).status_code == 422
