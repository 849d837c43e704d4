"""Issue 7, point 16: an unknown key is answered before the body is read; a deeply nested
body with a right key is refused quickly, without building it.

The requests go through Django's real WSGI handler (the whole middleware stack, as
gunicorn calls it) with a `wsgi.input` that counts the bytes the application reads.
CPU time (time.process_time) and tracemalloc's peak are measured rather than wall time:
the machine is shared.
"""

from __future__ import annotations

import io
import json
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIHandler

from tests.alerts.ingest.conftest import am_body, stored

pytestmark = pytest.mark.django_db(transaction=True)

TEN_MB = 10 * 1024 * 1024


class CountingInput(io.RawIOBase):
    """A request body of `size` bytes of `[` that counts what the application reads."""

    def __init__(self, size: int, content: bytes | None = None) -> None:
        self.size = size
        self.content = content
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        left = self.size - self.read_bytes
        n = left if n is None or n < 0 else min(n, left)
        if self.content is not None:
            chunk = self.content[self.read_bytes : self.read_bytes + n]
        else:
            chunk = b"[" * n
        self.read_bytes += len(chunk)
        return chunk

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)


def call(
    path: str,
    body: CountingInput,
    headers: dict[str, str] | None = None,
    query: str = "",
) -> tuple[int, dict[str, Any]]:
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(body.size),
        "wsgi.input": body,
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    status: list[str] = []

    def start_response(line: str, _headers: list[tuple[str, str]], *_: Any) -> None:
        status.append(line)

    result = WSGIHandler()(environ, start_response)
    content = b"".join(result)
    result.close()  # type: ignore[attr-defined]
    return int(status[0].split()[0]), json.loads(content)


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/integrations/alertmanager/not-a-key", {}, 404),
        ("/integrations/grafana/not-a-key", {}, 404),
        ("/integrations/webhook/not-a-key", {}, 404),
        ("/integrations/alertmanager", {"Authorization": "Bearer not-a-key"}, 404),
        ("/integrations/webhook", {}, 404),  # no key at all
        ("/opsgenie/v2/alerts", {"Authorization": "GenieKey not-a-key"}, 401),
    ],
)
def test_an_unknown_key_is_answered_without_reading_the_body(
    path: str, headers: dict[str, str], status: int
) -> None:
    body = CountingInput(TEN_MB)
    started = time.process_time()
    answered, reply = call(path, body, headers)
    spent = time.process_time() - started
    assert answered == status, reply
    assert body.read_bytes == 0  # not one byte of the 10 MB was read
    assert spent < 0.5
    assert stored() == 0


def test_a_body_over_the_limit_with_a_right_key_is_still_413_unread(make_integration) -> None:
    make_integration("pagerduty")
    body = CountingInput(TEN_MB)
    answered, _ = call("/v2/enqueue", body)
    assert answered == 413
    assert body.read_bytes == 0


def _nested(depth: int, size: int) -> bytes:
    """A valid object: an alerts list of arrays `depth` deep, repeated up to `size` bytes."""
    one = b"[" * depth + b"]" * depth
    count = max(1, (size - 100) // (len(one) + 1))
    return b'{"alerts": [' + b",".join([one] * count) + b"]}"


@pytest.mark.parametrize("shape", ["deep", "wide and deep", "unclosed"])
def test_deep_nesting_with_a_right_key_is_400_quickly_and_small(
    make_integration: Callable[..., Any], shape: str
) -> None:
    _, key = make_integration("alertmanager")
    if shape == "deep":
        content = b'{"alerts": ' + b"[" * 500_000 + b"]" * 500_000 + b"}"
    elif shape == "wide and deep":  # 100 levels, 50,000 times: 5 million lists if built
        content = _nested(100, TEN_MB - 1024)
    else:
        content = b"[" * (TEN_MB - 1024)
    body = CountingInput(len(content), content)
    tracemalloc.start()
    started = time.process_time()
    try:
        answered, reply = call(f"/integrations/alertmanager/{key}", body)
        spent = time.process_time() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert answered == 400
    assert reply["errors"] == ["body: nested deeper than 64 levels"]
    assert spent < 1.0
    # The body (as bytes and as text) and the parser's working buffer; building the
    # structure would take hundreds of MB.
    assert peak < 25 * len(content), peak
    assert stored() == 0


@pytest.mark.parametrize(("depth", "status"), [(64, 202), (65, 400)])
def test_the_depth_limit_is_64_levels(make_integration: Callable[..., Any], depth, status) -> None:
    _, key = make_integration("webhook")
    inner: Any = "deep"
    for _ in range(depth - 1):  # the body object itself is the first level
        inner = {"x": inner}
    content = json.dumps({"summary": "s", "x": inner}).encode()
    answered, reply = call(f"/integrations/webhook/{key}", CountingInput(len(content), content))
    assert answered == status, reply


def test_a_right_key_with_a_valid_large_body_is_accepted(make_integration) -> None:
    _, key = make_integration("alertmanager")
    content = json.dumps(am_body()).encode()
    body = CountingInput(len(content), content)
    answered, _ = call(f"/integrations/alertmanager/{key}", body)
    assert answered == 202
    assert body.read_bytes == len(content)
    assert stored() == 1
