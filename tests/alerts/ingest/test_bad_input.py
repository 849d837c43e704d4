"""Reliability spec §4.3: bad input on every endpoint gets its 4xx, never a 500, stores nothing."""

from __future__ import annotations

import io
import json

import pytest

from tests.alerts.ingest.conftest import ENDPOINTS, Endpoint, post, stored
from tocsin.catalog.services import integration_revoke
from tocsin.core.actors import Actor

pytestmark = pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)


def setup(make_integration, endpoint: Endpoint):
    integration, key = make_integration(endpoint.kind)
    path, body, headers = endpoint.build(key)
    return integration, key, path, body, headers


def assert_refused(response, status: int) -> None:
    assert response.status_code == status, response.content[:300]
    assert stored() == 0


def test_the_valid_request_is_accepted(client, make_integration, endpoint):
    _, _, path, body, headers = setup(make_integration, endpoint)
    assert post(client, path, body, headers=headers).status_code == endpoint.ok_status
    assert stored() == 1


def test_body_over_the_limit_is_413(client, make_integration, endpoint):
    _, _, path, body, headers = setup(make_integration, endpoint)
    body["padding"] = ""
    size = len(json.dumps(body).encode())
    body["padding"] = "x" * (endpoint.limit - size + 1)
    assert len(json.dumps(body).encode()) == endpoint.limit + 1
    assert_refused(post(client, path, body, headers=headers), 413)


def test_body_at_the_limit_is_not_413(client, make_integration, endpoint):
    _, _, path, body, headers = setup(make_integration, endpoint)
    body["padding"] = ""
    size = len(json.dumps(body).encode())
    body["padding"] = "x" * (endpoint.limit - size)
    response = post(client, path, body, headers=headers)
    assert response.status_code == endpoint.ok_status


def test_chunked_body_without_length_over_the_limit_is_413(client, make_integration, endpoint):
    _, _, path, _, headers = setup(make_integration, endpoint)
    big = b'{"padding": "' + b"x" * endpoint.limit + b'"}'
    response = client.generic(
        "POST",
        path,
        headers=headers,
        **{
            "wsgi.input": io.BytesIO(big),
            "wsgi.input_terminated": True,
            "CONTENT_TYPE": "application/json",
        },
    )
    assert_refused(response, 413)


def test_chunked_body_without_length_within_the_limit_is_read(client, make_integration, endpoint):
    _, _, path, body, headers = setup(make_integration, endpoint)
    response = client.generic(
        "POST",
        path,
        headers=headers,
        **{
            "wsgi.input": io.BytesIO(json.dumps(body).encode()),
            "wsgi.input_terminated": True,
            "CONTENT_TYPE": "application/json",
        },
    )
    assert response.status_code == endpoint.ok_status
    assert stored() == 1


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"],
)
def test_wrong_content_type(client, make_integration, endpoint, content_type):
    _, _, path, body, headers = setup(make_integration, endpoint)
    response = post(client, path, body, headers=headers, content_type=content_type)
    assert_refused(response, endpoint.type_status)


def test_charset_utf8_is_fine(client, make_integration, endpoint):
    _, _, path, body, headers = setup(make_integration, endpoint)
    response = post(
        client, path, body, headers=headers, content_type="application/json; charset=UTF-8"
    )
    assert response.status_code == endpoint.ok_status


def test_gzip_content_encoding_is_refused(client, make_integration, endpoint):
    _, _, path, body, headers = setup(make_integration, endpoint)
    response = post(client, path, body, headers={**headers, "Content-Encoding": "gzip"})
    assert_refused(response, endpoint.type_status)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": "\xff\xfe"}',  # invalid UTF-8
        b'{"a": "\xed\xa0\x80"}',  # an encoded surrogate (invalid UTF-8)
        b"[1, 2, 3]",  # not an object
        b'"text"',
        b"null",
        b"",
        b"{",
        b'{"a": NaN}',
        b'{"a": Infinity}',
        b'{"a": -Infinity}',
        b'{"a": 1e400}',
        b'{"a": ' + b"9" * 5000 + b"}",  # an integer too long to convert
        b'{"a": "x\x00y"}',  # a raw NUL (a control character inside a string)
    ],
    ids=lambda raw: repr(raw[:24]),
)
def test_undecodable_bodies_are_400(client, make_integration, endpoint, raw):
    _, _, path, _, headers = setup(make_integration, endpoint)
    response = post(client, path, raw, headers=headers)
    if not raw:
        # the test client sends no Content-Type with an empty body; close takes an empty body
        expected = {202} if endpoint.name == "opsgenie-close" else {400, endpoint.type_status}
        assert response.status_code in expected
        assert stored() == (1 if endpoint.name == "opsgenie-close" else 0)
        return
    assert_refused(response, 400)


@pytest.mark.parametrize("where", ["value", "key", "deep value", "lone surrogate"])
def test_nul_characters_and_lone_surrogates_anywhere_are_400(
    client, make_integration, endpoint, where
):
    _, _, path, body, headers = setup(make_integration, endpoint)
    if where == "value":
        body["extra"] = "bad\u0000value"
    elif where == "key":
        body["bad\u0000key"] = 1
    elif where == "deep value":
        body["extra"] = {"list": [{"x": ["a\u0000"]}]}
    else:
        body["extra"] = "\ud800"
    raw = json.dumps(body).encode()  # ensure_ascii: escapes \u0000 and \ud800
    response = post(client, path, raw, headers=headers)
    assert_refused(response, 400)


def test_nul_in_a_parsed_field_is_400(client, make_integration, endpoint):
    _, _, path, body, headers = setup(make_integration, endpoint)
    raw = json.dumps(body).replace("Disk", "Di\\u0000sk").replace("Deployed", "De\\u0000p")
    raw = raw.replace("Queue", "Qu\\u0000eue")
    response = post(client, path, raw.encode(), headers=headers)
    if endpoint.name == "opsgenie-close":
        assert response.status_code == 202  # nothing of its body carries "Disk"
    else:
        assert_refused(response, 400)


def test_an_escaped_backslash_before_u0000_is_fine(client, make_integration, endpoint):
    _, _, path, body, headers = setup(make_integration, endpoint)
    body["note_text"] = "C:\\u0000dir"  # a backslash, then the text u0000: no NUL
    response = post(client, path, body, headers=headers)
    assert response.status_code == endpoint.ok_status


@pytest.mark.parametrize("depth", [65, 200, 10_000, 100_000])
def test_deep_nesting_is_400(client, make_integration, endpoint, depth):
    _, _, path, body, headers = setup(make_integration, endpoint)
    raw = json.dumps(body)[:-1] + ', "deep": ' + "[" * depth + "]" * depth + "}"
    assert_refused(post(client, path, raw.encode(), headers=headers), 400)


def test_nesting_within_the_limit_is_fine(client, make_integration, endpoint):
    _, _, path, body, headers = setup(make_integration, endpoint)
    raw = json.dumps(body)[:-1] + ', "deep": ' + "[" * 60 + "]" * 60 + "}"
    response = post(client, path, raw.encode(), headers=headers)
    assert response.status_code == endpoint.ok_status


def test_a_utf8_bom_is_tolerated(client, make_integration, endpoint):
    _, _, path, body, headers = setup(make_integration, endpoint)
    response = post(client, path, b"\xef\xbb\xbf" + json.dumps(body).encode(), headers=headers)
    assert response.status_code == endpoint.ok_status


def test_unknown_key(client, make_integration, endpoint):
    make_integration(endpoint.kind)
    path, body, headers = endpoint.build("x" * 32)
    assert_refused(post(client, path, body, headers=headers), endpoint.unknown_key_status)


def test_revoked_key(client, make_integration, endpoint):
    integration, _, path, body, headers = setup(make_integration, endpoint)
    integration_revoke(integration=integration, actor=Actor.system("test setup"))
    assert_refused(post(client, path, body, headers=headers), endpoint.unknown_key_status)


def test_wrong_method(client, make_integration, endpoint):
    _, _, path, _, headers = setup(make_integration, endpoint)
    assert_refused(client.get(path, headers=headers), 405)


def test_field_of_the_wrong_type_at_the_top(client, make_integration, endpoint):
    _, _, path, body, headers = setup(make_integration, endpoint)
    field = {
        "pagerduty": "payload",
        "pagerduty-change": "payload",
        "opsgenie": "message",
        "opsgenie-close": "source",
        "alertmanager": "alerts",
        "grafana": "alerts",
        "webhook": "summary",
    }[endpoint.name]
    body[field] = ["wrong", "type"]
    response = post(client, path, body, headers=headers)
    assert_refused(response, endpoint.invalid_status)
    text = response.content.decode()
    assert field in text
