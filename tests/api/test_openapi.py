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
