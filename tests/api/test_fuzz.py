"""Bad input never makes a 500: random JSON at every write, random query strings at lists."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import file_incident
from tests.conftest import ApiClient
from tocsin.accounts.models import Role

Clients = Callable[[str], ApiClient]

FIELDS = [
    "title", "description", "impact", "urgency", "source", "service", "affected_services",
    "category", "subcategory", "assignee", "team", "support_level", "priority",
    "priority_reason", "detected_at", "impact_started_at", "reporter", "reporter_name",
    "reporter_email", "note", "resolution_code", "resolution_notes", "into", "accept", "token",
    "text", "visibility", "username", "email", "name", "role", "time_zone", "members",
    "manager", "parent", "active",
]  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from(["P1", "INC-1", "1", "\x00", "fixed", "public", "2026-01-01T00:00:00Z"])
)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3), max_leaves=5)
BODIES = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), VALUES, max_size=6)
WRITES = [
    ("post", "/api/v1/incidents"),
    ("patch", "/api/v1/incidents/{n}"),
    ("post", "/api/v1/incidents/{n}/resolve"),
    ("post", "/api/v1/incidents/{n}/escalate"),
    ("post", "/api/v1/incidents/{n}/merge"),
    ("post", "/api/v1/incidents/{n}/confirm"),
    ("post", "/api/v1/incidents/{n}/timeline"),
    ("post", "/api/v1/users"),
    ("patch", "/api/v1/users/{me}"),
    ("post", "/api/v1/teams"),
    ("post", "/api/v1/services"),
    ("post", "/api/v1/categories"),
]
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(route=st.sampled_from(WRITES), body=BODIES | VALUES)
def test_random_json_bodies_never_make_a_500(
    client_for: Clients, route: tuple[str, str], body: Any
) -> None:
    admin = client_for(Role.ADMIN)
    number = file_incident(admin)["id"]
    method, path = route
    path = path.format(n=number, me=admin.user.username)
    response = getattr(admin, method)(path, body)
    assert response.status_code < 500, (path, body, response.content)
    assert "detail" in response.json() or response.status_code in (200, 201)


@FUZZ
@given(
    params=st.dictionaries(
        st.sampled_from(
            [
                "status",
                "priority",
                "team",
                "assignee",
                "service",
                "category",
                "source",
                "reporter",
                "q",
                "limit",
                "offset",
                "role",
                "active",
            ]
        ),
        st.text(max_size=20) | st.integers(min_value=-(2**70), max_value=2**70).map(str),
        max_size=4,
    ),
    path=st.sampled_from(["/api/v1/incidents", "/api/v1/users", "/api/v1/teams"]),
)
def test_random_query_strings_never_make_a_500(
    client_for: Clients, params: dict[str, str], path: str
) -> None:
    admin = client_for(Role.ADMIN)
    response = admin.get(path, params)
    assert response.status_code in (200, 422), (params, response.content)


@FUZZ
@given(segment=st.text(min_size=1, max_size=30).filter(lambda s: "/" not in s))
def test_random_path_segments_never_make_a_500(client_for: Clients, segment: str) -> None:
    from urllib.parse import quote

    agent = client_for(Role.AGENT)
    for template in ("/api/v1/incidents/{}", "/api/v1/users/{}", "/api/v1/teams/{}",
                     "/api/v1/incidents/{}/timeline", "/api/v1/services/{}"):  # fmt: skip
        response = agent.get(template.format(quote(segment, safe="")))
        assert response.status_code in (200, 404, 422), (template, segment, response.content)
