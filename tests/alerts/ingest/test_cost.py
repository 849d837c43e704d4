"""The accept path is benchmarked: one key lookup and one insert, no session, no user."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.alerts.ingest.conftest import ENDPOINTS, post


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_one_lookup_and_one_insert(client, make_integration, endpoint):
    _, key = make_integration(endpoint.kind)
    path, body, headers = endpoint.build(key)
    with CaptureQueriesContext(connection) as queries:
        response = post(client, path, body, headers=headers)
    assert response.status_code == endpoint.ok_status
    statements = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    data = [s for s in statements if s in ("SELECT", "INSERT", "UPDATE", "DELETE")]
    assert data == ["SELECT", "INSERT"], queries.captured_queries
    assert "Set-Cookie" not in response.headers
