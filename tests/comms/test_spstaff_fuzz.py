"""Random JSON at every status-page write never makes a 500 (and changes nothing it
should not: a refused body answers with a detail)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ApiClient
from tocsin.accounts.models import User
from tocsin.comms import statuspage
from tocsin.core.actors import Actor
from tocsin.core.clock import now

pytestmark = pytest.mark.django_db

FIELDS = [
    "name", "description", "group", "services", "rule", "derive_map", "status", "showcase",
    "only_show_if_degraded", "position", "title", "body", "impact", "components", "incidents",
    "publish", "incident", "window", "scheduled_for", "scheduled_until", "reason", "intro",
    "brand_colour", "time_zone", "remove_logo", "id",
]  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.text(max_size=20)
    | st.sampled_from(
        ["major_outage", "INC-1", "1", "\x00", "#000000", "derived", "2026-01-01T00:00:00"]
    )
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["id", "status", "1", "2"]), inner, max_size=2)
    ),
    max_leaves=6,
)
BODIES = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=6), VALUES, max_size=6)
WRITES = [
    ("post", "/api/v1/status/components"),
    ("patch", "/api/v1/status/components/{c}"),
    ("post", "/api/v1/status/components/{c}/status"),
    ("post", "/api/v1/status/component-groups"),
    ("post", "/api/v1/status/incidents"),
    ("patch", "/api/v1/status/incidents/{p}"),
    ("post", "/api/v1/status/incidents/{p}/updates"),
    ("post", "/api/v1/status/incidents/{p}/links"),
    ("post", "/api/v1/status/maintenances"),
    ("post", "/api/v1/status/maintenances/{m}/updates"),
    ("put", "/api/v1/status/page"),
]
FUZZ = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(route=st.sampled_from(WRITES), body=BODIES | VALUES)
def test_random_json_bodies_never_make_a_500(
    admin: User, route: tuple[str, str], body: Any
) -> None:
    actor = Actor.for_user(admin)
    c = statuspage.component_create(actor=actor, name=f"C{now().timestamp()}")
    p = statuspage.public_incident_create(actor=actor, title="T", body="B", publish=True)
    m = statuspage.maintenance_create(
        actor=actor,
        title="M",
        scheduled_for=now(),
        scheduled_until=now() + dt.timedelta(hours=1),
    )
    client = ApiClient(admin)
    method, path = route
    path = path.format(c=c.pk, p=p.pk, m=m.pk)
    if method == "put":
        response = client.client.put(
            path,
            body,
            content_type="application/json",
            headers={"Authorization": f"Bearer {client.token}"},
        )
    else:
        response = getattr(client, method)(path, body)
    assert response.status_code < 500, (path, body, response.content)
    assert "detail" in response.json() or response.status_code in (200, 201)
