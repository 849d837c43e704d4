from __future__ import annotations

import logging
import uuid
import zoneinfo
from collections.abc import Callable
from typing import Any

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.exception import response_for_exception
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.test.signals import setting_changed
from django.urls import Resolver404, get_resolver
from django.utils import timezone

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-Id"


def request_id_for(incoming: str) -> str:
    """The caller's request id when it is a sensible one, else a new one."""
    if incoming and len(incoming) <= 64 and incoming.isprintable():
        return incoming
    return uuid.uuid4().hex


def _assign_request_id(request: HttpRequest) -> None:
    request.request_id = request_id_for(request.META.get("HTTP_X_REQUEST_ID", ""))  # type: ignore[attr-defined]


class RequestIdMiddleware:
    """Give every request an id (or keep the caller's) and echo it back."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        _assign_request_id(request)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request.request_id  # type: ignore[attr-defined]
        return response


# A database error is "busy" (503 with Retry-After: the sender retries and nothing is lost)
# only when waiting helps: a lock, too many connections, a server starting, stopping or
# refusing connections, a dropped connection. A wrong password, user or database name,
# or a file SQLite cannot open, is a configuration error: waiting does not help, so it is
# a 500 with a log line that says what to fix, never "busy".
# PostgreSQL SQLSTATEs (psycopg's error.sqlstate), checked first.
_CONFIG_SQLSTATE_PREFIXES = ("28", "3D", "42501")  # auth, unknown database, privilege
_BUSY_SQLSTATE_PREFIXES = (
    "08",  # connection exceptions
    "40001",  # serialization failure
    "40P01",  # deadlock detected
    "53",  # insufficient resources, too many connections
    "55P03",  # lock not available (lock_timeout)
    "57014",  # query cancelled (statement_timeout)
    "57P",  # server shutting down, crashed, starting up
)
# Messages of errors without a SQLSTATE (SQLite; psycopg before a connection exists).
_CONFIG_TEXT = (
    "password authentication failed",
    "authentication failed",
    "no pg_hba.conf entry",
    "does not exist",
    "permission denied",
    "unable to open database file",
    "invalid dsn",
    "invalid connection option",
    "could not translate host name",
    "certificate",
)
_BUSY_TEXT = (
    "database is locked",
    "database table is locked",
    "connection refused",
    "too many clients",
    "too many connections",
    "remaining connection slots are reserved",
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "server closed the connection unexpectedly",
    "terminating connection",
    "connection already closed",
    "connection is closed",
    "connection timed out",
    "timeout expired",
    "lock timeout",
    "could not obtain lock",
    "deadlock detected",
)


def _sqlstate(exc: BaseException) -> str:
    seen: BaseException | None = exc
    for _ in range(4):  # Django's error, then the driver's it was raised from
        if seen is None:
            break
        state = getattr(seen, "sqlstate", None) or getattr(seen, "pgcode", None)
        if isinstance(state, str) and state:
            return state.upper()
        seen = seen.__cause__ or seen.__context__
    return ""


def database_misconfigured(exc: BaseException) -> bool:
    """The database refuses Tocsin's settings (credentials, database name, file)."""
    state = _sqlstate(exc)
    if state:
        return state.startswith(_CONFIG_SQLSTATE_PREFIXES)
    text = str(exc).lower()
    return any(marker in text for marker in _CONFIG_TEXT)


def database_busy(exc: BaseException) -> bool:
    """A database error that a retry a moment later can get past (answer 503)."""
    if not isinstance(exc, DatabaseError | InterfaceError):
        return False
    if database_misconfigured(exc):
        return False
    state = _sqlstate(exc)
    if state:
        return state.startswith(_BUSY_SQLSTATE_PREFIXES)
    text = str(exc).lower()
    return any(marker in text for marker in _BUSY_TEXT)


_is_busy = database_busy  # the name tocsin.core.api imports


def log_database_error(exc: BaseException) -> None:
    """The one clear line for an error that is not "busy" (the traceback follows it)."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
    if database_misconfigured(exc):
        logger.error(
            "The database refuses the configured connection (%s). This is a configuration "
            "error, not a busy database: check DATABASE_URL (user, password, database name "
            "or file) and run `tocsin check`.",
            first,
        )
    else:
        logger.error("Database error (not a temporary one; answered 500): %s", first)


def busy_response() -> JsonResponse:
    response = JsonResponse({"detail": "The database is busy; retry shortly."}, status=503)
    response["Retry-After"] = "1"
    return response


class DatabaseBusyMiddleware:
    """A locked or briefly unreachable database is a 503 with Retry-After, never a 500;
    a database that refuses Tocsin's configuration is a 500 with a clear log line."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        if database_busy(exception):
            return busy_response()
        log_database_error(exception)
        return None


class UserTimezoneMiddleware:
    """Show times in the viewer's zone."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        zone_name = getattr(user, "time_zone", "") if user and user.is_authenticated else ""
        if zone_name:
            try:
                timezone.activate(zoneinfo.ZoneInfo(zone_name))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        return self.get_response(request)


INGEST_PREFIXES = ("/v2/", "/opsgenie/", "/integrations/", "/status/")
INGEST_VIEWS_MODULE = "tocsin.alerts.ingest"


class IngestFastPathMiddleware:
    """Serve the ingest routes without the stack built for people (placed FIRST).

    Monitoring tools post alerts with a key, never with a session, a CSRF token or a user:
    sessions, authentication, messages, CSRF (the ingest views are exempt) and the user's
    time zone do nothing for them but cost a good part of each request. A request whose
    path resolves to a view of tocsin.alerts.ingest is answered here, with what those
    requests do need from the rest of the stack: a request id (RequestIdMiddleware), a
    locked or unreachable database as a 503 (DatabaseBusyMiddleware, besides the views' own
    handling), the default time zone, the security headers (SecurityMiddleware and
    XFrameOptionsMiddleware: their own process_response; the CSP headers of the settings'
    policy, see _csp_headers) and
    Content-Length (CommonMiddleware). Every other request goes down the full stack.
    The public status page's cached documents (views marked `fast_path = True`, under
    /status/: anonymous, read-only, no session, cookie or CSRF) are served the same way.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        from django.middleware.clickjacking import XFrameOptionsMiddleware
        from django.middleware.security import SecurityMiddleware

        self.get_response = get_response
        self.busy = DatabaseBusyMiddleware(get_response)
        self.security = SecurityMiddleware(get_response)
        self.frame_options = XFrameOptionsMiddleware(get_response)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if not path.startswith(INGEST_PREFIXES):
            return self.get_response(request)
        try:
            match = get_resolver(getattr(request, "urlconf", None)).resolve(path)
        except Resolver404:
            return self.get_response(request)
        func = match.func
        ingest_view = getattr(func, "__module__", "") == INGEST_VIEWS_MODULE and getattr(
            func, "csrf_exempt", False
        )
        # the public status page's cached documents (comms/public.py) mark themselves
        if not ingest_view and not getattr(func, "fast_path", False):
            return self.get_response(request)
        redirect = self.security.process_request(request)  # SECURE_SSL_REDIRECT, if set
        if redirect is not None:
            return self.get_response(request)
        if not ingest_view:
            # the status page is for people: a Host that ALLOWED_HOSTS refuses is a 400,
            # as on the full stack (CommonMiddleware asks for the host)
            try:
                request.get_host()
            except DisallowedHost:
                return self.get_response(request)
        request.resolver_match = match
        _assign_request_id(request)
        timezone.deactivate()
        try:
            response = match.func(request, *match.args, **match.kwargs)
        except (OperationalError, InterfaceError) as exc:
            busy = self.busy.process_exception(request, exc)
            if busy is None:
                raise
            response = busy
        except Http404 as exc:
            # the status page's "no such incident": Django's 404 page, with the same
            # security headers as every other answer of this path
            response = response_for_exception(request, exc)
        response = self.security.process_response(request, response)
        response = self.frame_options.process_response(request, response)
        response = self._csp_headers(request, response)
        if not response.streaming and not response.has_header("Content-Length"):
            response.headers["Content-Length"] = str(len(response.content))
        response[REQUEST_ID_HEADER] = request.request_id  # type: ignore[attr-defined]
        return response

    def _csp_headers(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        """The CSP headers. The ingest views set no per-view policy (no csp decorators, no
        nonce), so every reply gets the policy of the settings alone, built once with
        django-csp's public `csp.utils.build_policy` and rebuilt when the settings change;
        the settings' EXCLUDE_URL_PREFIXES and DEBUG's 404/500 pages are honoured as
        CSPMiddleware does."""
        if response.status_code in (404, 500) and settings.DEBUG:
            return response
        for name, policy, excluded in _ingest_csp():
            if (
                policy
                and not response.has_header(name)
                and not request.path_info.startswith(excluded)
            ):
                response[name] = policy
        return response


ADMIN_PREFIX = "/admin/"
_CSP_CACHE: list[tuple[str, str, tuple[str, ...]]] = []


def _ingest_csp() -> list[tuple[str, str, tuple[str, ...]]]:
    """(header, policy, excluded path prefixes) for the enforced and report-only policies."""
    if not _CSP_CACHE:
        from csp.constants import HEADER, HEADER_REPORT_ONLY
        from csp.utils import build_policy

        for header, setting, report_only in (
            (HEADER, "CONTENT_SECURITY_POLICY", False),
            (HEADER_REPORT_ONLY, "CONTENT_SECURITY_POLICY_REPORT_ONLY", True),
        ):
            config = getattr(settings, setting, None) or {}
            excluded = tuple(config.get("EXCLUDE_URL_PREFIXES", None) or ())
            _CSP_CACHE.append((header, build_policy(report_only=report_only), excluded))
    return _CSP_CACHE


def _forget_csp(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _CSP_CACHE.clear()


setting_changed.connect(_forget_csp)


class TocsinCSPMiddleware(CSPMiddleware):
    """django-csp's middleware with one exception: Django's own admin pages set inline
    styles from their scripts and templates (the change forms, the related-object
    widgets), which `style-src 'self'` blocks. Under /admin/ (administrators only) inline
    styles are allowed; scripts stay `'self'` everywhere, and every Tocsin page keeps the
    strict policy."""

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if request.path_info.startswith(ADMIN_PREFIX):
            parts.update = {**(parts.update or {}), "style-src": ["'self'", "'unsafe-inline'"]}
        return parts
