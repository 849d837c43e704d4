"""Prepared replies (comms/public_wsgi.py): a repeated GET of a status document is
answered below Django with exactly the reply Django gave — headers, CSP and body — until
the status page changes; everything unusual still goes through Django.

The tests call Tocsin's WSGI application in-process with real WSGI environments."""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.test import override_settings

from tests.comms.sppublic_data import build
from tocsin.comms import public
from tocsin.comms.models import ComponentStatus
from tocsin.comms.public_wsgi import PreparedReplies
from tocsin.comms.statuspage import component_set_status
from tocsin.core.actors import Actor

pytestmark = pytest.mark.django_db


@dataclass
class Reply:
    status: str
    headers: dict[str, str]
    body: bytes


class Counting:
    """Tocsin's Django application, counting the requests that reach it."""

    def __init__(self) -> None:
        self.django = WSGIHandler()
        self.calls = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        self.calls += 1
        return self.django(environ, start_response)


@pytest.fixture(autouse=True)
def _in_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # as Django's test client does: the test's transaction keeps its connection
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    monkeypatch.setattr(public, "REVISION_TTL", 0.0)
    public.forget()
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def app() -> tuple[PreparedReplies, Counting]:
    django = Counting()
    return PreparedReplies(django), django


def get(
    app: PreparedReplies, path: str, *, method: str = "GET", query: str = "", **headers: str
) -> Reply:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1:8000",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in headers.items():
        environ["HTTP_" + name.upper()] = value
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    result = app(environ, start_response)
    body = b"".join(result)
    close = getattr(result, "close", None)
    if close is not None:
        close()
    return Reply(seen["status"], seen["headers"], body)


def without_request_id(reply: Reply) -> dict[str, str]:
    return {k: v for k, v in reply.headers.items() if k != "X-Request-Id"}


@pytest.mark.parametrize(
    ("path", "encoding"),
    [("/status/", "gzip, deflate"), ("/status/", ""), ("/status/api/v2/summary.json", "gzip")],
)
def test_a_repeated_get_is_answered_below_django_with_the_same_reply(
    app: tuple[PreparedReplies, Counting], path: str, encoding: str
) -> None:
    build()
    wrapped, django = app
    first = get(wrapped, path, accept_encoding=encoding)
    second = get(wrapped, path, accept_encoding=encoding)
    third = get(wrapped, path, accept_encoding=encoding, x_request_id="trace-42")
    assert first.status == "200 OK"
    assert django.calls == 1  # the second and third never reached Django
    assert second.body == first.body == third.body
    assert without_request_id(second) == without_request_id(first)
    # the security headers and the policy are Django's own
    for header in ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options"):
        assert header in second.headers
    assert ("Content-Encoding" in second.headers) == bool(encoding)
    # each reply has its own request id; a caller's id is kept
    assert second.headers["X-Request-Id"] not in ("", first.headers["X-Request-Id"])
    assert third.headers["X-Request-Id"] == "trace-42"


def test_a_change_to_the_status_page_is_served_at_once(
    app: tuple[PreparedReplies, Counting],
) -> None:
    data = build()
    wrapped, django = app
    before = get(wrapped, "/status/api/v2/summary.json")
    get(wrapped, "/status/api/v2/summary.json")
    assert django.calls == 1
    component_set_status(
        actor=Actor.system("test"), component=data.web, status=ComponentStatus.MAJOR
    )
    after = get(wrapped, "/status/api/v2/summary.json")
    assert django.calls == 2
    assert after.body != before.body and b"major_outage" in after.body
    assert after.headers["ETag"] != before.headers["ETag"]
    assert get(wrapped, "/status/api/v2/summary.json").body == after.body
    assert django.calls == 2


def test_outside_tests_a_change_shows_within_the_revision_ttl(
    app: tuple[PreparedReplies, Counting],
    monkeypatch: pytest.MonkeyPatch,
    django_assert_num_queries: Any,
) -> None:
    """The staleness bound (docs/status-page.md): a process reads the revision at most
    once per REVISION_TTL (1 s in production), so a change, made here or by another
    process, is served at the latest that long after it; in between, repeated GETs make
    no query at all."""
    ttl = 1.0  # the production value
    monkeypatch.setattr(public, "REVISION_TTL", ttl)
    data = build()
    wrapped, _django = app
    path = "/status/api/v2/summary.json"
    before = get(wrapped, path)  # reads the revision (and renders)
    read_at = time.monotonic()
    component_set_status(
        actor=Actor.system("test"), component=data.web, status=ComponentStatus.MAJOR
    )
    changed = time.monotonic()
    if changed - read_at < ttl / 2:  # (a loaded machine may take longer to get here)
        with django_assert_num_queries(0):  # the process trusts its copy: no query at all
            assert get(wrapped, path).body == before.body
    while b"major_outage" not in (seen := get(wrapped, path).body):
        assert time.monotonic() - changed <= ttl + 0.25, "the change did not show in time"
        time.sleep(0.02)
    assert seen != before.body


def test_unusual_requests_still_go_through_django(app: tuple[PreparedReplies, Counting]) -> None:
    build()
    wrapped, django = app
    first = get(wrapped, "/status/")
    get(wrapped, "/status/")
    assert django.calls == 1
    # the first conditional GET of a document: Django answers 304 (and prepares it)
    assert get(wrapped, "/status/", if_none_match=first.headers["ETag"]).status.startswith("304")
    # If-Modified-Since alone: Django
    since = first.headers["Last-Modified"]
    assert get(wrapped, "/status/", if_modified_since=since).status.startswith("304")
    # a Host that ALLOWED_HOSTS refuses: Django answers 400, not the prepared page
    with override_settings(ALLOWED_HOSTS=["127.0.0.1"]):
        assert get(wrapped, "/status/", host="evil.example").status.startswith("400")
    # a query string, another method
    assert get(wrapped, "/status/", query="x=1").status.startswith("200")
    assert get(wrapped, "/status/", method="HEAD").body == b""
    assert get(wrapped, "/status/", method="POST").status.startswith("405")
    assert django.calls == 7


@pytest.mark.parametrize("encoding", ["gzip", ""])
def test_a_reload_with_the_current_etag_gets_django_s_304_below_django(
    app: tuple[PreparedReplies, Counting], encoding: str
) -> None:
    data = build()
    wrapped, django = app
    path = "/status/api/v2/summary.json"
    full = get(wrapped, path, accept_encoding=encoding)
    etag = full.headers["ETag"]
    first = get(wrapped, path, accept_encoding=encoding, if_none_match=etag)
    assert django.calls == 2  # Django's 304, prepared
    for tags in (etag, f'"other", W/{etag}', "*"):
        again = get(wrapped, path, accept_encoding=encoding, if_none_match=tags)
        assert again.status == "304 Not Modified" and again.body == b""
        assert without_request_id(again) == without_request_id(first)
        assert again.headers["X-Request-Id"] != first.headers["X-Request-Id"]
    # the security headers, on the 304 as on the 200
    for name in ("Content-Security-Policy", "X-Content-Type-Options", "ETag", "Cache-Control"):
        assert first.headers[name] == full.headers[name], name
    # another ETag (an old copy): the full reply, as Django would give it
    old = get(wrapped, path, accept_encoding=encoding, if_none_match='"an-old-one"')
    assert old.status == "200 OK" and old.body == full.body
    assert without_request_id(old) == without_request_id(full)
    assert django.calls == 2
    # after a change, the reader's ETag is old: the new document, through Django once
    component_set_status(
        actor=Actor.system("test"), component=data.web, status=ComponentStatus.MAJOR
    )
    changed = get(wrapped, path, accept_encoding=encoding, if_none_match=etag)
    assert changed.status == "200 OK" and changed.headers["ETag"] != etag
    assert django.calls == 3
    assert get(wrapped, path, accept_encoding=encoding, if_none_match=etag).body == changed.body
    assert django.calls == 3


@override_settings(
    SECURE_SSL_REDIRECT=True, SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https")
)
def test_with_https_required_plain_http_is_always_redirected() -> None:
    build()
    django = Counting()
    wrapped = PreparedReplies(django)
    secure = [get(wrapped, "/status/", x_forwarded_proto="https") for _ in range(2)]
    assert [r.status for r in secure] == ["200 OK", "200 OK"]
    assert django.calls == 1
    for _ in range(2):
        assert get(wrapped, "/status/").status.startswith("301")
    assert django.calls == 3


def test_pages_that_are_not_cached_documents_are_never_kept(
    app: tuple[PreparedReplies, Counting],
) -> None:
    build()
    wrapped, django = app
    for _ in range(2):
        assert get(wrapped, "/status/subscribe/").status.startswith(("200", "302", "405"))
        assert get(wrapped, "/status/no-such-page/").status.startswith("404")
    assert django.calls == 4


def test_many_other_paths_do_not_push_out_a_page_in_use(
    app: tuple[PreparedReplies, Counting], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = build()
    wrapped, django = app
    monkeypatch.setattr("tocsin.comms.public_wsgi.MAX_PREPARED", 3)
    get(wrapped, "/status/")
    for zeros in range(1, 6):  # the same incident page under many padded paths
        get(wrapped, "/status/")  # the page everyone reloads stays prepared
        get(wrapped, f"/status/incidents/{'0' * zeros}{data.incident.pk}/")
    calls = django.calls
    get(wrapped, "/status/")
    assert django.calls == calls
    assert len(wrapped._replies) <= 3
