"""Prepared replies for the public status page: a reload storm served below Django.

During an outage everyone reloads the status page. Its documents are rendered once per
change and cached (public.py), so what is left per request is Django's own machinery:
the request object, the signals, the URL resolver, the middleware, fourteen headers set
one by one. This WSGI layer, wrapped around Tocsin's application in tocsin/wsgi.py,
skips all of that for a document it has answered before:

1. The first GET of a path (no query string, no conditional headers) goes through
   Django as usual. When `public.serve` answered it with a full 200 reply, the exact
   status line, headers and body that left Django are kept, with the cache entry
   (`public.Entry`) they were made from, keyed by path, gzip or not, and https or not.
2. The next such GET of the same key is answered from that copy — with a fresh
   X-Request-Id — as long as the document is still current: `public.peek` finds the
   same entry for the current revision (read from the database at most once a second per
   process, as before). A change to the status page makes a new entry, so the next
   request goes through Django again and prepares the new reply.

3. A reload sends If-None-Match with the ETag the reader has. When it names the current
   document's ETag, the 304 Django gave for it (prepared the same way, the first time) is
   answered: headers only, the body never touched. When it names another, the reader
   gets the prepared 200, as Django would answer.

So a prepared reply is byte for byte what Django would answer (security headers, CSP,
ETag, Cache-Control, Vary), only cheaper. Anything else goes to Django: other methods,
query strings, If-Modified-Since without If-None-Match, a Host that
ALLOWED_HOSTS refuses (Django answers 400), plain http when SECURE_SSL_REDIRECT is on,
USE_X_FORWARDED_HOST set, and any database error while checking the revision.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.http.request import split_domain_port, validate_host

from tocsin.comms import public
from tocsin.core.middleware import REQUEST_ID_HEADER, request_id_for

PREFIX = "/status/"
MAX_PREPARED = 512
_HOST_MEMO_SIZE = 64
_SKIP_HEADERS = frozenset({REQUEST_ID_HEADER.lower()})

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


# (path, gzipped, https, a 304): what one prepared reply answers
Key = tuple[str, bool, bool, bool]


@dataclass(frozen=True)
class Prepared:
    document: str  # public.py's cache key of the document
    entry: public.Entry
    status: str
    headers: list[tuple[str, str]]  # without X-Request-Id
    body: bytes
    etag: str


class PreparedReplies:
    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self._replies: dict[Key, Prepared] = {}
        self._hosts: dict[tuple[str, tuple[str, ...]], bool] = {}
        self._lock = threading.Lock()

    # -- which requests ------------------------------------------------------------------

    def _secure(self, environ: dict[str, Any]) -> bool:
        header = settings.SECURE_PROXY_SSL_HEADER
        if header:
            name, value = header
            found = environ.get(name)
            return found is not None and found.split(",", 1)[0].strip() == value
        return bool(environ.get("wsgi.url_scheme") == "https")

    def _host_allowed(self, environ: dict[str, Any]) -> bool:
        host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
        memo = (host, tuple(settings.ALLOWED_HOSTS))
        known = self._hosts.get(memo)
        if known is None:
            domain, _port = split_domain_port(host)
            allowed = list(memo[1])
            if settings.DEBUG and not allowed:
                allowed = [".localhost", "127.0.0.1", "[::1]"]
            known = bool(domain) and validate_host(domain, allowed)
            with self._lock:
                if len(self._hosts) >= _HOST_MEMO_SIZE:
                    self._hosts.clear()
                self._hosts[memo] = known
        return known

    def _key(self, environ: dict[str, Any]) -> tuple[str, bool, bool] | None:
        """(path, gzipped, https) of a request a prepared reply may answer, else None."""
        path = environ.get("PATH_INFO", "")
        if (
            not path.startswith(PREFIX)
            or environ.get("REQUEST_METHOD") != "GET"
            or environ.get("QUERY_STRING")
            # If-Modified-Since counts only without If-None-Match (public.serve): to Django
            or ("HTTP_IF_MODIFIED_SINCE" in environ and "HTTP_IF_NONE_MATCH" not in environ)
            or settings.USE_X_FORWARDED_HOST
        ):
            return None
        secure = self._secure(environ)
        if settings.SECURE_SSL_REDIRECT and not secure:
            return None
        if not self._host_allowed(environ):
            return None
        packed = "gzip" in environ.get("HTTP_ACCEPT_ENCODING", "")
        return (path, packed, secure)

    # -- answering ---------------------------------------------------------------------

    def _current(self, key: Key) -> Prepared | None:
        prepared = self._replies.get(key)
        if prepared is None:
            return None
        try:
            current = public.peek(prepared.document)
        except DatabaseError:
            return None  # Django's own path says what is wrong (503 or 500)
        return prepared if current is prepared.entry else None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        found = self._key(environ)
        if found is None:
            return self.app(environ, start_response)
        key: Key = (*found, False)
        match = environ.get("HTTP_IF_NONE_MATCH")
        if match is not None:
            # which reply Django would give depends on the current ETag: known only from
            # the prepared 200 (else Django answers, and prepares what it answered)
            full = self._current(key)
            if full is None:
                return self._through_django(key, environ, start_response)
            if public.etag_matches(match, full.etag):
                key = (*found, True)
        prepared = self._current(key)
        if prepared is None:
            return self._through_django(key, environ, start_response)
        with self._lock:  # the least recently answered goes first when full
            self._replies.pop(key, None)
            self._replies[key] = prepared
        request_id = request_id_for(environ.get("HTTP_X_REQUEST_ID", ""))
        start_response(prepared.status, [*prepared.headers, (REQUEST_ID_HEADER, request_id)])
        return [prepared.body]

    def _through_django(
        self, key: Key, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        seen: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen["status"], seen["headers"] = status, headers
            return start_response(status, headers, exc_info)

        public.served_take()  # nothing left over from an earlier request
        result = self.app(environ, capture)
        served = public.served_take()
        expected = "304 " if key[3] else "200 "
        if served is None or not seen.get("status", "").startswith(expected):
            return result
        document, entry, packed = served
        if packed != key[1]:
            return result
        # Django's reply is a single bytes body: read it, then close it as the server would
        # (closing fires request_finished, which returns the database connection)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        headers = [(k, v) for k, v in seen["headers"] if k.lower() not in _SKIP_HEADERS]
        etag = next((v for k, v in headers if k.lower() == "etag"), "")
        with self._lock:
            self._replies.pop(key, None)
            while len(self._replies) >= MAX_PREPARED:
                # the least recently answered: a hot page stays whatever else is asked for
                # (e.g. /status/incidents/007/ and its zero-padded twins)
                self._replies.pop(next(iter(self._replies)))
            self._replies[key] = Prepared(document, entry, seen["status"], headers, body, etag)
        return [body]

    def forget(self) -> None:
        with self._lock:
            self._replies.clear()
            self._hosts.clear()
