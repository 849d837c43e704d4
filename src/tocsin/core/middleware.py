from __future__ import annotations

import uuid
import zoneinfo
from collections.abc import Callable

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, get_resolver
from django.utils import timezone

REQUEST_ID_HEADER = "X-Request-Id"


def _assign_request_id(request: HttpRequest) -> None:
    incoming = request.META.get("HTTP_X_REQUEST_ID", "")
    request_id = incoming if incoming and len(incoming) <= 64 and incoming.isprintable() else ""
    request.request_id = request_id or uuid.uuid4().hex  # type: ignore[attr-defined]


class RequestIdMiddleware:
    """Give every request an id (or keep the caller's) and echo it back."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        _assign_request_id(request)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request.request_id  # type: ignore[attr-defined]
        return response


def _is_busy(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "database is locked" in text or "could not connect" in text or "connection" in text


class DatabaseBusyMiddleware:
    """A locked or briefly unreachable database is a 503 with Retry-After, never a 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, OperationalError) and _is_busy(exception):
            response = JsonResponse({"detail": "The database is busy; retry shortly."}, status=503)
            response["Retry-After"] = "1"
            return response
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


INGEST_PREFIXES = ("/v2/", "/opsgenie/", "/integrations/")
INGEST_VIEWS_MODULE = "tocsin.alerts.ingest"


class IngestFastPathMiddleware:
    """Serve the ingest routes without the stack built for people (placed FIRST).

    Monitoring tools post alerts with a key, never with a session, a CSRF token or a user:
    sessions, authentication, messages, CSRF (the ingest views are exempt) and the user's
    time zone do nothing for them but cost a good part of each request. A request whose
    path resolves to a view of tocsin.alerts.ingest is answered here, with what those
    requests do need from the rest of the stack: a request id (RequestIdMiddleware), a
    locked or unreachable database as a 503 (DatabaseBusyMiddleware, besides the views' own
    handling), the default time zone, the security headers (SecurityMiddleware,
    XFrameOptionsMiddleware, CSPMiddleware: their own process_response) and
    Content-Length (CommonMiddleware). Every other request goes down the full stack.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        from csp.middleware import CSPMiddleware
        from django.middleware.clickjacking import XFrameOptionsMiddleware
        from django.middleware.security import SecurityMiddleware

        self.get_response = get_response
        self.busy = DatabaseBusyMiddleware(get_response)
        self.security = SecurityMiddleware(get_response)
        self.frame_options = XFrameOptionsMiddleware(get_response)
        self.csp = CSPMiddleware(get_response)
        self.csp_static: list[tuple[str, str]] | None = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if not path.startswith(INGEST_PREFIXES):
            return self.get_response(request)
        try:
            match = get_resolver(getattr(request, "urlconf", None)).resolve(path)
        except Resolver404:
            return self.get_response(request)
        func = match.func
        if getattr(func, "__module__", "") != INGEST_VIEWS_MODULE or not getattr(
            func, "csrf_exempt", False
        ):
            return self.get_response(request)
        redirect = self.security.process_request(request)  # SECURE_SSL_REDIRECT, if set
        if redirect is not None:
            return self.get_response(request)
        request.resolver_match = match
        _assign_request_id(request)
        timezone.deactivate()
        try:
            response = match.func(request, *match.args, **match.kwargs)
        except OperationalError as exc:
            busy = self.busy.process_exception(request, exc)
            if busy is None:
                raise
            response = busy
        response = self.security.process_response(request, response)
        response = self.frame_options.process_response(request, response)
        response = self._csp_headers(request, response)
        if not response.streaming and not response.has_header("Content-Length"):
            response.headers["Content-Length"] = str(len(response.content))
        response[REQUEST_ID_HEADER] = request.request_id  # type: ignore[attr-defined]
        return response

    def _csp_headers(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        """The CSP headers: the same for every ingest reply (no nonce, no per-view policy),
        so they are built once, from a plain 202 reply, and copied (not on DEBUG's 404/500
        pages, which CSPMiddleware treats apart)."""
        if (
            response.status_code in (404, 500)
            or getattr(response, "_csp_exempt", False)
            or getattr(response, "_csp_exempt_ro", False)
            or _csp_excludes_paths()
        ):
            return self.csp.process_response(request, response)
        if self.csp_static is None:
            sample = self.csp.process_response(request, HttpResponse(status=202))
            self.csp_static = [
                (name, sample[name])
                for name in ("Content-Security-Policy", "Content-Security-Policy-Report-Only")
                if sample.has_header(name)
            ]
        for name, value in self.csp_static:
            if not response.has_header(name):
                response[name] = value
        return response


def _csp_excludes_paths() -> bool:
    """CSP settings that exclude URL prefixes make the header depend on the path."""
    from django.conf import settings

    return any(
        (getattr(settings, name, None) or {}).get("EXCLUDE_URL_PREFIXES")
        for name in ("CONTENT_SECURITY_POLICY", "CONTENT_SECURITY_POLICY_REPORT_ONLY")
    )
