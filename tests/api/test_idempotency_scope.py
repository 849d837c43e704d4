"""An Idempotency-Key is bound to the endpoint it was first used on."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_idempotency_key_is_bound_to_its_endpoint(api, reporter) -> None:
    client = api(reporter)
    first = client.post(
        "/api/v1/incidents",
        {"title": "t", "impact": 3, "urgency": 3},
        headers={"Idempotency-Key": "k1"},
    )
    assert first.status_code == 201
    other = client.post(
        f"/api/v1/incidents/{first.json()['id']}/timeline",
        {"text": "hello"},
        headers={"Idempotency-Key": "k1"},
    )
    assert other.status_code == 409
    assert "Idempotency-Key" in other.json()["detail"]
