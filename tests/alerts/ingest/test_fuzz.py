"""Random JSON thrown at every endpoint: a 2xx or a 4xx, never a 5xx; 4xx stores nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.alerts.ingest.conftest import ENDPOINTS, Endpoint, post
from tocsin.alerts.models import InboxEvent

# Strings with NULs, lone surrogates, controls and long text; numbers beyond 64 bits.
TEXT = st.text(alphabet=st.characters(codec=None, min_codepoint=0), max_size=40) | st.sampled_from(
    [
        "",
        "firing",
        "resolved",
        "trigger",
        "resolve",
        "acknowledge",
        "critical",
        "P1",
        "P9",
        "\u0000",
        "\ud800",
        "x" * 1100,
        "2026-01-01T00:00:00Z",
        "javascript:alert(1)",
    ]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=20,
)
FIELDS = [
    "routing_key",
    "event_action",
    "dedup_key",
    "payload",
    "summary",
    "source",
    "severity",
    "timestamp",
    "links",
    "images",
    "custom_details",
    "message",
    "alias",
    "priority",
    "details",
    "tags",
    "groupKey",
    "status",
    "alerts",
    "labels",
    "annotations",
    "startsAt",
    "fingerprint",
    "generatorURL",
    "values",
    "dashboardURL",
    "truncatedAlerts",
    "commonAnnotations",
    "note",
    "user",
    "responders",
]


def _mutate(body: Any, path: list[str], value: Any) -> Any:
    """Replace or add a field somewhere in the valid body (at the top or one level down)."""
    if not path or not isinstance(body, dict):
        return value
    head, rest = path[0], path[1:]
    body = dict(body)
    body[head] = _mutate(body.get(head), rest, value)
    return body


_KEYS: dict[tuple[int, str], str] = {}


def _key(make_integration: Any, kind: str) -> str:
    cache_key = (id(make_integration), kind)
    if cache_key not in _KEYS:
        _KEYS[cache_key] = make_integration(kind)[1]
    return _KEYS[cache_key]


def _check(client: Any, endpoint: Endpoint, path: str, body: Any, headers: dict[str, str]):
    before = InboxEvent.objects.count()
    response = post(client, path, json.dumps(body).encode(), headers=headers)
    assert response.status_code < 500, (response.status_code, response.content[:300])
    after = InboxEvent.objects.count()
    if 200 <= response.status_code < 300:
        assert after == before + 1
        row = InboxEvent.objects.order_by("-id").first()
        json.dumps(row.events)  # what the engine reads back is plain JSON
    else:
        assert after == before


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    field_path=st.lists(st.sampled_from(FIELDS), min_size=1, max_size=3),
    value=JSON,
    whole=st.booleans(),
)
def test_random_json_never_500(client, make_integration, endpoint, field_path, value, whole):
    # function-scoped fixtures are made once for all the examples of one test
    path, body, headers = endpoint.build(_key(make_integration, endpoint.kind))
    if whole:
        body = (
            value
            if not isinstance(value, dict)
            else {**value, "routing_key": body.get("routing_key")}
        )
    else:
        if (
            field_path[0] == "alerts"
            and len(field_path) > 1
            and isinstance(body.get("alerts"), list)
        ):
            alert = _mutate(body["alerts"][0], field_path[1:], value)
            body = {**body, "alerts": [alert]}
        else:
            body = _mutate(body, field_path, value)
    _check(client, endpoint, path, body, headers)
