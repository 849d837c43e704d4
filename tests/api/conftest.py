"""Helpers for the REST API tests: people of every role with API clients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import ApiClient
from tocsin.accounts.models import Role, User

ROLES = [Role.REPORTER, Role.AGENT, Role.RESPONDER, Role.MANAGER, Role.ADMIN]
STAFF = [Role.AGENT, Role.RESPONDER, Role.MANAGER, Role.ADMIN]
RESOLUTION = {"resolution_code": "fixed", "resolution_notes": "Replaced the toner"}


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    # Argon2 is slow on purpose; these tests create many people and never sign in.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def client_for(make_user: Callable[..., User]) -> Callable[[str], ApiClient]:
    """An API client for a fresh person of the given role."""

    def make(role: str) -> ApiClient:
        return ApiClient(make_user(role))

    return make


def file_incident(client: ApiClient, **fields: Any) -> dict[str, Any]:
    body = {"title": "VPN drops every hour", "description": "Since this morning"} | fields
    response = client.post("/api/v1/incidents", body)
    assert response.status_code == 201, response.content
    return response.json()  # type: ignore[no-any-return]


def act(client: ApiClient, number: int | str, action: str, **body: Any) -> Any:
    return client.post(f"/api/v1/incidents/{number}/{action}", body)


def resolved_incident(filer: ApiClient, worker: ApiClient) -> dict[str, Any]:
    """An incident filed by `filer` and resolved by `worker` (a staff client)."""
    number = file_incident(filer)["id"]
    response = act(worker, number, "resolve", **RESOLUTION)
    assert response.status_code == 200, response.content
    return response.json()  # type: ignore[no-any-return]
