"""Error replies: their status codes and shapes (DESIGN.md, "HTTP, REST API")."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from tests.api.conftest import act, file_incident
from tests.conftest import ApiClient
from tocsin.accounts.models import Role, User
from tocsin.accounts.services import token_revoke
from tocsin.core.actors import Actor
from tocsin.incidents.models import Incident

Clients = Callable[[str], ApiClient]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer nonsense", "Basic YWRhOnNlY3JldA==", "Bearer tcn_\u00e9\u00e9"],
)
def test_no_or_bad_token_is_401(authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    for method, path in [("get", "/api/v1/incidents"), ("post", "/api/v1/incidents")]:
        response = getattr(Client(), method)(
            path,
            {"title": "x"} if method == "post" else {},
            content_type="application/json",
            headers=headers,
        )
        assert response.status_code == 401
        assert "Bearer" in response.json()["detail"]
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert Incident.objects.count() == 0


def test_revoked_token_and_deactivated_person_are_401(client_for: Clients) -> None:
    me = client_for(Role.AGENT)
    assert me.get("/api/v1/users/me").status_code == 200
    token_revoke(token=me.user.api_tokens.get(), actor=Actor.system("test setup"))
    assert me.get("/api/v1/users/me").status_code == 401

    other = client_for(Role.AGENT)
    User.objects.filter(pk=other.user.pk).update(is_active=False)
    assert other.get("/api/v1/users/me").status_code == 401


def test_a_signed_in_session_works_and_needs_csrf_for_writes(
    make_user: Callable[..., User],
) -> None:
    user = make_user(Role.AGENT)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    assert browser.get("/api/v1/users/me").json()["username"] == user.username

    refused = browser.post("/api/v1/incidents", {"title": "x"}, content_type="application/json")
    assert refused.status_code == 403
    assert Incident.objects.count() == 0

    secret = "a" * 32  # Django's CSRF secret: the cookie and the header must match
    browser.cookies["csrftoken"] = secret
    accepted = browser.post(
        "/api/v1/incidents",
        {"title": "From the web UI"},
        content_type="application/json",
        headers={"X-CSRFToken": secret},
    )
    assert accepted.status_code == 201, accepted.content
    entry = Incident.objects.get().timeline.get()
    assert (entry.actor_kind, entry.actor_user) == ("user", user)


def test_missing_and_wrong_fields_are_422_naming_the_field(client_for: Clients) -> None:
    me = client_for(Role.AGENT)
    cases = [
        ({"description": "no title"}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x", "impact": 7}, "impact"),
        ({"title": "x", "impact": "high"}, "impact"),
        ({"title": "x", "urgency": True}, "urgency"),
        ({"title": "x", "priority": "P9", "priority_reason": "r"}, "priority"),
        ({"title": "x", "priority": "P1"}, "priority_reason"),
        ({"title": "x", "source": "fax"}, "source"),
        ({"title": "x", "team": 10**40}, "team"),
        ({"title": "x", "service": 999999}, "service"),
        ({"title": "x", "assignee": "nobody"}, "assignee"),
        ({"title": "x", "detected_at": "2026-01-01T10:00:00"}, "detected_at"),
        ({"title": "x", "detected_at": "yesterday"}, "detected_at"),
        ({"title": "nul\u0000here"}, "title"),
        ({"title": "x", "reporter_name": "a\u0000b"}, "reporter_name"),
        ({"title": "x" * 201}, "title"),
        ({"title": "x", "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        response = me.post("/api/v1/incidents", body)
        assert response.status_code == 422, (body, response.content)
        detail = response.json()["detail"]
        assert isinstance(detail, list)
        assert field in [error["loc"][-1] for error in detail], (body, detail)
        assert all(error["msg"] for error in detail)
    assert Incident.objects.count() == 0


def test_a_service_error_has_ninjas_shape(client_for: Clients) -> None:
    me = client_for(Role.AGENT)
    response = me.post("/api/v1/incidents", {"title": "   "})
    assert response.json() == {
        "detail": [{"type": "value_error", "loc": ["body", "title"], "msg": "must not be empty"}]
    }


def test_bad_query_parameters_are_422(client_for: Clients) -> None:
    me = client_for(Role.AGENT)
    for params, field in [
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"status": "sleeping"}, "status"),
        ({"priority": "urgent"}, "priority"),
        ({"team": "x"}, "team"),
        ({"q": "a\u0000b"}, "q"),
        ({"team": str(10**30)}, "team"),
    ]:
        response = me.get("/api/v1/incidents", params)
        assert response.status_code == 422, (params, response.content)
        assert response.json()["detail"][0]["loc"] == ["query", field]


def test_malformed_json_is_400(client_for: Clients) -> None:
    me = client_for(Role.AGENT)
    for raw in ['{"title": ', "not json", b'{"title": "x"' + b"\xff"]:
        response = me.client.post(
            "/api/v1/incidents", raw, content_type="application/json", headers=me._headers(None)
        )
        assert response.status_code == 400
        assert "JSON" in response.json()["detail"]
    assert Incident.objects.count() == 0


def test_a_body_that_is_not_an_object_is_422(client_for: Clients) -> None:
    me = client_for(Role.AGENT)
    for body in [[1, 2], "title", 42, None]:
        response = me.client.post(
            "/api/v1/incidents", body, content_type="application/json", headers=me._headers(None)
        )
        assert response.status_code in (400, 422), (body, response.content)
        assert "detail" in response.json()


def test_forbidden_transition_is_409_listing_what_is_allowed(client_for: Clients) -> None:
    me = client_for(Role.AGENT)
    number = file_incident(me)["id"]
    response = act(me, number, "resume")
    assert response.status_code == 409
    detail = response.json()["detail"]
    assert "allowed" in detail
    for action in ("acknowledge", "start", "hold", "resolve"):
        assert action in detail
    assert me.get(f"/api/v1/incidents/{number}").json()["status"] == "new"


def test_unknown_incidents_and_routes_are_json_404(client_for: Clients) -> None:
    me = client_for(Role.AGENT)
    for path in [
        "/api/v1/incidents/INC-999",
        "/api/v1/incidents/banana",
        "/api/v1/incidents/INC-1%00",
        "/api/v1/incidents/99999999999999999999",
        "/api/v1/no-such-thing",
        "/api/v1/incidents/1/explode",
        "/api/v1/users/nobody",
        "/api/v1/teams/12345",
        "/api/v1/services/12345",
    ]:
        response = me.get(path)
        assert response.status_code == 404, (path, response.content)
        assert isinstance(response.json()["detail"], str)


def test_another_reporters_incident_is_404_like_a_missing_one(client_for: Clients) -> None:
    owner, other = client_for(Role.REPORTER), client_for(Role.REPORTER)
    number = file_incident(owner)["id"]
    hidden = other.get(f"/api/v1/incidents/{number}")
    missing = other.get("/api/v1/incidents/424242")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"] == f"no incident INC-{number}"


def test_a_body_over_the_request_limit_is_413(client_for: Clients, settings: object) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000  # type: ignore[attr-defined]
    me = client_for(Role.AGENT)
    response = me.post("/api/v1/incidents", {"title": "x", "description": "y" * 20_000})
    assert response.status_code == 413
    assert "too large" in response.json()["detail"]
    assert Incident.objects.count() == 0


@pytest.mark.parametrize(
    "ref",
    ["7%0C", "7%0A", "%207", "7%20", "%09INC-7", "007", "inc-7", "INC-07", "7.0", "%D9%A7"],
)
def test_an_incident_reference_must_be_exact(client_for: Clients, ref: str) -> None:
    """Issue 7 (20): `/incidents/7%0C` answered INC-7 (the reference was stripped)."""
    agent = client_for(Role.AGENT)
    for _ in range(7):
        file_incident(agent)
    assert agent.get("/api/v1/incidents/7").json()["number"] == "INC-7"
    assert agent.get("/api/v1/incidents/INC-7").json()["number"] == "INC-7"
    response = agent.get(f"/api/v1/incidents/{ref}")
    assert response.status_code == 404, ref
    assert response.json()["detail"].startswith("no incident")
