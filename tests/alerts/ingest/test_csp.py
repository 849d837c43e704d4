"""Issue 7, point 9 (middleware): the ingest fast path sets the CSP headers through
django-csp's public API, not by reading the private attributes its decorators set."""

from __future__ import annotations

import inspect

import pytest
from django.test import override_settings

from tests.alerts.ingest.conftest import pd_event, post
from tocsin.core import middleware

pytestmark = pytest.mark.django_db

STRICT = {"DIRECTIVES": {"default-src": ["'none'"], "frame-ancestors": ["'none'"]}}


def test_ingest_replies_carry_the_same_policy_as_pages(client, make_integration) -> None:
    _, key = make_integration("pagerduty")
    page = client.get("/login/")
    ingest = post(client, "/v2/enqueue", pd_event(key))
    assert ingest.status_code == 202
    assert ingest["Content-Security-Policy"] == page["Content-Security-Policy"]
    assert "Content-Security-Policy-Report-Only" not in ingest


def test_the_policy_follows_the_settings_in_a_running_process(client, make_integration) -> None:
    _, key = make_integration("pagerduty")
    first = post(client, "/v2/enqueue", pd_event(key))
    assert "default-src 'self'" in first["Content-Security-Policy"]
    with override_settings(
        CONTENT_SECURITY_POLICY=STRICT, CONTENT_SECURITY_POLICY_REPORT_ONLY=STRICT
    ):
        again = post(client, "/v2/enqueue", pd_event(key))
        page = client.get("/login/")
    assert again["Content-Security-Policy"] == page["Content-Security-Policy"]
    assert "default-src 'none'" in again["Content-Security-Policy"]
    assert (
        again["Content-Security-Policy-Report-Only"] == page["Content-Security-Policy-Report-Only"]
    )
    after = post(client, "/v2/enqueue", pd_event(key))
    assert after["Content-Security-Policy"] == first["Content-Security-Policy"]


def test_excluded_prefixes_are_honoured(client, make_integration) -> None:
    _, key = make_integration("pagerduty")
    policy = {"EXCLUDE_URL_PREFIXES": ["/v2/"], **STRICT}
    with override_settings(CONTENT_SECURITY_POLICY=policy):
        response = post(client, "/v2/enqueue", pd_event(key))
    assert response.status_code == 202
    assert "Content-Security-Policy" not in response


def test_no_private_attribute_of_django_csp_is_read() -> None:
    source = inspect.getsource(middleware)
    assert "_csp_exempt" not in source
    assert "_csp_config" not in source
