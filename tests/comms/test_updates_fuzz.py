"""Bad input to the stakeholder-update API never makes a 500: random JSON at every write
(updates, templates, subscribers), random template texts through the variable check."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.comms.updates_helpers import incident_with_secrets, person, seeded
from tests.conftest import ApiClient
from tocsin.accounts.models import Role
from tocsin.catalog.models import Service
from tocsin.comms.updates import VARIABLES, render, template_check
from tocsin.core.errors import Invalid

pytestmark = pytest.mark.django_db

FIELDS = [
    "status", "body", "next_update_minutes", "template", "name", "position", "archived",
    "user", "team", "email", "channel",
]  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from(
        ["investigating", "resolved", "{service}", "{nope}", "\x00", "contact", "a@b.example"]
    )
)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3), max_leaves=5)
BODIES = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), VALUES, max_size=5)
FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def admin_api(db: None) -> tuple[ApiClient, str, int]:
    seeded()
    admin = person("ada", role=Role.ADMIN)
    service = Service.objects.create(name="Checkout")
    incident = incident_with_secrets(person("rita", role=Role.REPORTER), service)
    return ApiClient(admin), incident.ref, service.pk


@FUZZ
@given(
    route=st.sampled_from(
        [
            ("post", "/api/v1/incidents/{ref}/updates"),
            ("post", "/api/v1/update-templates"),
            ("patch", "/api/v1/update-templates/1"),
            ("post", "/api/v1/incidents/{ref}/subscribers"),
            ("post", "/api/v1/services/{service}/subscribers"),
        ]
    ),
    body=BODIES | VALUES,
)
def test_random_json_bodies_never_make_a_500(
    admin_api: tuple[ApiClient, str, int], route: tuple[str, str], body: Any
) -> None:
    api, ref, service = admin_api
    method, path = route
    path = path.format(ref=ref, service=service)
    response = getattr(api, method)(path, body)
    assert response.status_code < 500, (path, body, response.content)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=80))
def test_a_template_text_is_accepted_only_with_known_variables(text: str) -> None:
    try:
        checked = template_check(text)
    except Invalid as exc:
        assert exc.field == "body"
        return
    rendered = render(checked, dict.fromkeys(VARIABLES, "X"))
    for name in VARIABLES:
        assert "{" + name + "}" not in rendered
