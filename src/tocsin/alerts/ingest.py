"""Ingest endpoints: validate, commit to the inbox, answer (DESIGN.md "HTTP, ingest").

Every request goes through the same steps, each answering in the imitated tool's shape:
1. the method (405), then the key when it is in the path or a header (every route but
   PagerDuty's): an unknown key is answered (404, Opsgenie 401) before a byte of the body
   is read;
2. the route's body limit, from Content-Length before reading and while reading (413);
3. Content-Type application/json (charset utf-8 if given), no Content-Encoding (415, or
   PagerDuty's 400 on its routes);
4. strict decoding with orjson: UTF-8, a JSON object, no NaN/Infinity, NUL, lone
   surrogates or nesting deeper than 64 levels (400, found while parsing: a deep body is
   never built); a duplicate key keeps its last value, as JSON parsers commonly do;
5. PagerDuty's key, from the body (400 in PagerDuty's words); the integration's secret,
   see ingest_auth.py (wrong secret 401); a Grafana signature seen before is a replay
   (202 "duplicate", nothing stored); Grafana's "Test" notification is recorded on the
   integration (200, no inbox row);
6. the per-key rate limit (429 on the PagerDuty and Opsgenie routes, whose senders retry
   it; 503 elsewhere, because Alertmanager and Grafana drop every 4xx);
7. the adapter turns the body into normalised events (400 naming the fields; Opsgenie 422);
8. one inbox row, committed before the 2xx (N1). A database that is locked or away
   answers 503 with Retry-After: senders retry, nothing is lost; one that refuses the
   configuration is a 500 with a clear log line (tocsin.core.middleware).
Opsgenie's other calls (acknowledge, unacknowledge, notes, get, request status) and a
JSON 404 for every other path under /opsgenie/ are here too; their reads are in
opsgenie_api.py, the drain's part in opsgenie_actions.py.
The accept path costs one key lookup and one insert.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import DatabaseError, IntegrityError, InterfaceError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse, UnreadablePostError
from django.views.decorators.csrf import csrf_exempt

from tocsin.alerts import ingest_auth, opsgenie_api, ratelimit, services
from tocsin.alerts.adapters import alertmanager as alertmanager_adapter
from tocsin.alerts.adapters import grafana as grafana_adapter
from tocsin.alerts.adapters import heartbeat as heartbeat_adapter
from tocsin.alerts.adapters import opsgenie as opsgenie_adapter
from tocsin.alerts.adapters import pagerduty as pagerduty_adapter
from tocsin.alerts.adapters import webhook as webhook_adapter
from tocsin.alerts.adapters.base import AdapterError, Event, Unusable, normalise
from tocsin.alerts.adapters.common import decode_json, decode_text
from tocsin.alerts.models import Alert, SeenSignature
from tocsin.catalog import services as catalog_services
from tocsin.catalog.models import Integration
from tocsin.core import instruments
from tocsin.core.clock import now
from tocsin.core.middleware import database_busy, log_database_error

logger = logging.getLogger(__name__)

SMALL_LIMIT = 512_000  # PagerDuty and Opsgenie (Alertmanager's own cap is 512000 bytes)
LARGE_LIMIT = 10 * 1024 * 1024  # Alertmanager, Grafana, webhook: whole groups must fit
HEARTBEAT_LIMIT = 64 * 1024
PAYLOAD_CAP = 64 * 1024  # characters of the raw body kept in the inbox row
READ_CHUNK = 64 * 1024
RETRY_AFTER_BUSY = "1"
# A verified signature is kept this long: the same one again is a replay (dropped, 202).
SIGNATURE_REPLAY_WINDOW = timedelta(hours=24)  # signed body alone: no time inside it
SIGNED_TIMESTAMP_WINDOW = timedelta(minutes=10)  # the timestamp is checked to ±5 minutes
REPLAY_DETAIL = "this signed request was accepted before; the repeat is not stored again"
TEST_RECEIVED_DETAIL = (
    "Grafana's test notification: recorded on the integration, no alert or incident opened"
)


class Reject(Exception):
    """Answer `status` with these reasons, in the route's reply shape."""

    def __init__(
        self, status: int, errors: list[str], headers: dict[str, str] | None = None
    ) -> None:
        super().__init__("; ".join(errors))
        self.status = status
        self.errors = errors
        self.headers = headers or {}


# --- reply shapes ---------------------------------------------------------------------


def _reply(body: dict[str, Any], status: int, headers: dict[str, str]) -> JsonResponse:
    response = JsonResponse(body, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def _pagerduty_error(
    status: int, errors: list[str], headers: dict[str, str], started: float, request_id: str
) -> HttpResponse:
    if status == 429:
        body = {
            "status": "throttle event",
            "message": "Requests for this integration are arriving too quickly. Retry later.",
            "errors": errors,
        }
    elif status >= 500:
        body = {"status": "unavailable", "message": "Retry later", "errors": errors}
    else:
        if status not in (405, 413):
            status = 400  # PagerDuty answers every other bad input 400
        body = {"status": "invalid event", "message": "Event object is invalid", "errors": errors}
    return _reply(body, status, headers)


def _opsgenie_error(
    status: int, errors: list[str], headers: dict[str, str], started: float, request_id: str
) -> HttpResponse:
    """Opsgenie's error shape; a 422 also lists the fields, as Opsgenie's validation does."""
    body: dict[str, Any] = {"message": "; ".join(errors)}
    if status == 422:
        body["message"] = "Request body is not processable. Please check the errors."
        body["errors"] = {error.split(" ", 1)[0].rstrip(":"): error for error in errors}
    body["took"] = round(time.perf_counter() - started, 3)
    body["requestId"] = request_id
    return _reply(body, status, headers)


def _plain_error(
    status: int, errors: list[str], headers: dict[str, str], started: float, request_id: str
) -> HttpResponse:
    return _reply({"detail": "; ".join(errors), "errors": errors}, status, headers)


ErrorShape = Callable[[int, list[str], dict[str, str], float, str], HttpResponse]


# --- routes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    kinds: tuple[str, ...]
    limit: int
    methods: tuple[str, ...]
    error: ErrorShape
    inbox_kind: str = "event"
    json_body: bool = True
    empty_body_ok: bool = False
    missing_key_status: int = 404
    invalid_status: int = 400
    throttle_status: int = 503


PAGERDUTY = Route(
    kinds=("pagerduty",),
    limit=SMALL_LIMIT,
    methods=("POST",),
    error=_pagerduty_error,
    missing_key_status=400,
    throttle_status=429,
)
PAGERDUTY_CHANGE = Route(
    kinds=("pagerduty",),
    limit=SMALL_LIMIT,
    methods=("POST",),
    error=_pagerduty_error,
    inbox_kind="change",
    missing_key_status=400,
    throttle_status=429,
)
OPSGENIE = Route(
    kinds=("opsgenie",),
    limit=SMALL_LIMIT,
    methods=("POST",),
    error=_opsgenie_error,
    missing_key_status=401,
    invalid_status=422,
    throttle_status=429,
)
OPSGENIE_ACTION = Route(
    kinds=("opsgenie",),
    limit=SMALL_LIMIT,
    methods=("POST",),
    error=_opsgenie_error,
    empty_body_ok=True,
    missing_key_status=401,
    invalid_status=422,
    throttle_status=429,
)
OPSGENIE_CLOSE = OPSGENIE_ACTION
ALERTMANAGER = Route(
    kinds=("alertmanager",), limit=LARGE_LIMIT, methods=("POST",), error=_plain_error
)
GRAFANA = Route(kinds=("grafana",), limit=LARGE_LIMIT, methods=("POST", "PUT"), error=_plain_error)
WEBHOOK = Route(kinds=("webhook",), limit=LARGE_LIMIT, methods=("POST", "PUT"), error=_plain_error)
HEARTBEAT = Route(
    kinds=("heartbeat",),
    limit=HEARTBEAT_LIMIT,
    methods=("GET", "HEAD", "POST"),
    error=_plain_error,
    inbox_kind="heartbeat",
    json_body=False,
)


# --- the steps ------------------------------------------------------------------------


def read_body(request: HttpRequest, limit: int) -> bytes:
    """The body, never more than `limit` bytes read (413 beyond it), without request.body."""
    header = request.META.get("CONTENT_LENGTH") or ""
    if header:
        try:
            length = int(header)
        except ValueError:
            raise Reject(400, ["Content-Length is not a number"]) from None
        if length < 0:
            raise Reject(400, ["Content-Length is negative"])
        if length > limit:
            raise Reject(413, [f"body: larger than the limit of {limit} bytes"])
        read = request.read
        remaining = length
    elif request.META.get("wsgi.input_terminated"):  # chunked: the server ends the stream
        read = request.META["wsgi.input"].read
        remaining = limit + 1
    else:
        return b""
    chunks: list[bytes] = []
    total = 0
    try:
        while remaining > 0:
            chunk = read(min(READ_CHUNK, remaining))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            remaining -= len(chunk)
            if total > limit:
                raise Reject(413, [f"body: larger than the limit of {limit} bytes"])
    except (OSError, UnreadablePostError):
        raise Reject(400, ["body: could not be read"]) from None
    return b"".join(chunks)


def check_content_type(request: HttpRequest) -> None:
    content_type = (request.content_type or "").lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise Reject(415, [f"Content-Type must be application/json, not {content_type!r}"])
    charset = (request.content_params or {}).get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise Reject(415, [f"charset must be utf-8, not {charset!r}"])
    encoding = request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    if encoding not in ("", "identity"):
        raise Reject(415, [f"Content-Encoding {encoding!r} is not supported"])


@dataclass
class Incoming:
    request: HttpRequest
    body: bytes
    text: str
    data: dict[str, Any]


def _check_method(request: HttpRequest, route: Route) -> None:
    if request.method not in route.methods:
        raise Reject(
            405, [f"method {request.method} is not allowed; use {'/'.join(route.methods)}"]
        )


def _incoming(request: HttpRequest, route: Route) -> Incoming:
    body = read_body(request, route.limit)
    if not route.json_body or (route.empty_body_ok and not body.strip()):
        return Incoming(request, body, "", {})
    check_content_type(request)
    try:
        text = decode_text(body)
        data = decode_json(text)
    except AdapterError as exc:
        raise Reject(400, exc.errors) from None
    return Incoming(request, body, text, data)


def _find(route: Route, key: str | None) -> Integration:
    """The integration of the key, or the route's answer to an unknown key."""
    integration = ingest_auth.find_integration(key, route.kinds)
    if integration is None:
        if route is PAGERDUTY or route is PAGERDUTY_CHANGE:
            message = pagerduty_adapter.UNKNOWN_ROUTING_KEY
        elif route.missing_key_status == 401:
            message = "Could not authenticate: Authorization: GenieKey <key> is missing or invalid"
        else:
            message = f"no active {route.kinds[0]} integration has this key"
        raise Reject(route.missing_key_status, [message])
    return integration


def _authenticate(
    incoming: Incoming, route: Route, integration: Integration
) -> ingest_auth.Signature | None:
    try:
        signature = ingest_auth.check_secret(incoming.request, integration, incoming.body)
    except ingest_auth.AuthFailed as exc:
        raise Reject(401, [f"authentication failed: {exc}"]) from None
    except ingest_auth.SecretUnreadable:
        logger.error("integration %s: stored secret cannot be decrypted", integration.pk)
        raise Reject(
            503, ["the integration's secret cannot be read"], {"Retry-After": "60"}
        ) from None
    wait = ratelimit.retry_after_seconds(integration)
    if wait is not None:
        raise Reject(
            route.throttle_status,
            ["rate limit exceeded for this integration key"],
            {"Retry-After": str(wait)},
        )
    return signature


class Replayed(Exception):
    """The request's signature was accepted before, within the replay window."""


def _remember(integration: Integration, signature: ingest_auth.Signature) -> None:
    """Record a verified signature (inside the caller's transaction); Replayed if it is
    already there. Expired signatures are deleted first (index on expires_at), so the table
    holds one window of requests."""
    at = now()
    SeenSignature.objects.filter(expires_at__lte=at).delete()
    window = SIGNED_TIMESTAMP_WINDOW if signature.timestamped else SIGNATURE_REPLAY_WINDOW
    try:
        with transaction.atomic():
            SeenSignature.objects.create(
                integration=integration, signature=signature.value, expires_at=at + window
            )
    except IntegrityError:
        raise Replayed from None


def _store(
    incoming: Incoming,
    integration: Integration,
    route: Route,
    events: list[Event],
    body_key: str,
    signature: ingest_auth.Signature | None = None,
) -> None:
    """The inbox row, committed before the caller answers 2xx (N1); with a signature, the
    signature is remembered in the same transaction (a replay stores nothing)."""
    text = incoming.text
    if body_key and body_key in text:  # PagerDuty's routing key is a credential: never keep it
        text = text.replace(body_key, f"{body_key[:6]}…")
    if signature is not None:
        with transaction.atomic():
            _remember(integration, signature)
            _inbox_add(incoming, integration, route, events, text)
        return
    _inbox_add(incoming, integration, route, events, text)


def _inbox_add(
    incoming: Incoming, integration: Integration, route: Route, events: list[Event], text: str
) -> None:
    # One INSERT in autocommit is its own transaction: committed when inbox_add returns.
    services.inbox_add(
        integration=integration,
        kind=route.inbox_kind,
        received_at=now(),
        events=[event.to_json() for event in events],
        payload=text[:PAYLOAD_CAP],
        payload_truncated=len(text) > PAYLOAD_CAP,
        request_id=str(getattr(incoming.request, "request_id", ""))[:64],
    )


Handler = Callable[[Incoming, Integration], list[Event]]
# The key from the path or a header, read before the body; None: PagerDuty's, in the body.
KeyOf = Callable[[HttpRequest], str | None] | None
Success = Callable[[list[Event], float, str], HttpResponse]


def _accept(
    request: HttpRequest,
    route: Route,
    key_of: KeyOf,
    parse: Handler,
    success: Success,
) -> HttpResponse:
    started = time.perf_counter()
    request_id = str(getattr(request, "request_id", ""))
    try:
        _check_method(request, route)
        if key_of is not None:
            # An unknown key is answered before a byte of the body is read (or parsed).
            key = key_of(request)
            integration = _find(route, key)
            incoming = _incoming(request, route)
        else:
            incoming = _incoming(request, route)
            key = _routing_key(incoming)
            integration = _find(route, key)
        signature = _authenticate(incoming, route, integration)
        if route is GRAFANA and grafana_adapter.is_test_notification(incoming.data):
            catalog_services.integration_record_test(integration=integration, at=now())
            return JsonResponse(
                {"status": "test received", "detail": TEST_RECEIVED_DETAIL}, status=200
            )
        try:
            events = [normalise(event) for event in parse(incoming, integration)]
        except AdapterError as exc:
            raise Reject(route.invalid_status, exc.errors) from None
        except Unusable as exc:  # the adapters check as much; this is the last word
            raise Reject(route.invalid_status, [str(exc)]) from None
        body_key = (key or "") if route in (PAGERDUTY, PAGERDUTY_CHANGE) else ""
        try:
            _store(incoming, integration, route, events, body_key, signature)
        except Replayed:
            return JsonResponse({"status": "duplicate", "detail": REPLAY_DETAIL}, status=202)
        # /metrics (issue 13): tocsin_ingest_*_accepted_total{integration}
        instruments.ingest_accepted(integration.kind, len(events))
    except Reject as exc:
        return route.error(exc.status, exc.errors, exc.headers, started, request_id)
    except (DatabaseError, InterfaceError) as exc:  # InterfaceError is not a DatabaseError
        if not database_busy(exc):
            log_database_error(exc)  # a wrong DATABASE_URL is no "busy": 500, said plainly
            raise
        logger.warning("ingest: database unavailable, answering 503", exc_info=True)
        return route.error(
            503,
            ["the database is busy or unavailable; retry shortly"],
            {"Retry-After": RETRY_AFTER_BUSY},
            started,
            request_id,
        )
    return success(events, started, request_id)


# --- the endpoints --------------------------------------------------------------------


def _path_or_header_key(key: str | None) -> KeyOf:
    return lambda request: key or ingest_auth.header_key(request)


def _accepted(status: int = 202) -> Success:
    return lambda events, started, request_id: JsonResponse({"status": "accepted"}, status=status)


def _opsgenie_accepted(events: list[Event], started: float, request_id: str) -> HttpResponse:
    body = {
        "result": "Request will be processed",
        "took": round(time.perf_counter() - started, 3),
        "requestId": request_id,
    }
    return JsonResponse(body, status=202)


def _routing_key(incoming: Incoming) -> str:
    try:
        return pagerduty_adapter.routing_key(incoming.data)
    except AdapterError as exc:
        raise Reject(400, exc.errors) from None


def _genie_key(request: HttpRequest) -> str | None:
    return ingest_auth.header_key(request) or None


@csrf_exempt
def pagerduty_enqueue(request: HttpRequest) -> HttpResponse:
    return _accept(
        request,
        PAGERDUTY,
        None,
        lambda incoming, _: [pagerduty_adapter.parse_event(incoming.data)],
        lambda events, *_: JsonResponse(
            {"status": "success", "message": "Event processed", "dedup_key": events[0].dedup_key},
            status=202,
        ),
    )


@csrf_exempt
def pagerduty_change(request: HttpRequest) -> HttpResponse:
    return _accept(
        request,
        PAGERDUTY_CHANGE,
        None,
        lambda incoming, _: [pagerduty_adapter.parse_change(incoming.data)],
        lambda *_: JsonResponse(
            {"status": "success", "message": "Change event processed"}, status=202
        ),
    )


@csrf_exempt
def opsgenie_create(request: HttpRequest) -> HttpResponse:
    return _accept(
        request,
        OPSGENIE,
        _genie_key,
        lambda incoming, _: [opsgenie_adapter.parse_create(incoming.data)],
        _opsgenie_accepted,
    )


def _opsgenie_target(
    request: HttpRequest, integration: Integration, identifier: str
) -> tuple[str, Alert | None]:
    """(the alert's dedup key, the alert when addressed by id) for Opsgenie's
    `identifierType`: absent means `id`; `tiny` is the same number here; `alias` is the
    dedup key."""
    kind = request.GET.get("identifierType", "id")
    if kind == "alias":
        try:
            return opsgenie_adapter.alias_key(identifier, "alias (in the path)"), None
        except AdapterError as exc:
            raise Reject(422, exc.errors) from None
    if kind in ("id", "tiny"):
        alert = opsgenie_api.alert_by_id(integration, identifier)
        if alert is None:
            raise Reject(404, ["Alert does not exist"])
        return alert.dedup_key, alert
    raise Reject(422, ["identifierType must be one of id, tiny, alias"])


def _opsgenie_action_parse(identifier: str, action: str) -> Handler:
    def parse(incoming: Incoming, integration: Integration) -> list[Event]:
        dedup_key, alert = _opsgenie_target(incoming.request, integration, identifier)
        alert_id = alert.pk if alert is not None else None
        return [opsgenie_adapter.parse_action(action, dedup_key, incoming.data, alert_id)]

    return parse


def _opsgenie_action(request: HttpRequest, identifier: str, action: str) -> HttpResponse:
    return _accept(
        request,
        OPSGENIE_ACTION,
        _genie_key,
        _opsgenie_action_parse(identifier, action),
        _opsgenie_accepted,
    )


@csrf_exempt
def opsgenie_close(request: HttpRequest, alias: str) -> HttpResponse:
    return _opsgenie_action(request, alias, "close")


@csrf_exempt
def opsgenie_acknowledge(request: HttpRequest, identifier: str) -> HttpResponse:
    return _opsgenie_action(request, identifier, "acknowledge")


@csrf_exempt
def opsgenie_unacknowledge(request: HttpRequest, identifier: str) -> HttpResponse:
    return _opsgenie_action(request, identifier, "unacknowledge")


@csrf_exempt
def opsgenie_note(request: HttpRequest, identifier: str) -> HttpResponse:
    return _opsgenie_action(request, identifier, "notes")


def _opsgenie_read(
    request: HttpRequest, read: Callable[[Integration], dict[str, Any]]
) -> HttpResponse:
    """A GET in Opsgenie's shape: the GenieKey's integration, then `{"data": …}`."""
    started = time.perf_counter()
    request_id = str(getattr(request, "request_id", ""))
    try:
        if request.method not in ("GET", "HEAD"):
            raise Reject(405, [f"method {request.method} is not allowed; use GET"])
        integration = _find(OPSGENIE, _genie_key(request))
        data = read(integration)
    except Reject as exc:
        return _opsgenie_error(exc.status, exc.errors, exc.headers, started, request_id)
    except (DatabaseError, InterfaceError) as exc:
        if not database_busy(exc):
            log_database_error(exc)
            raise
        return _opsgenie_error(
            503, ["the database is busy; retry shortly"], {"Retry-After": "1"}, started, request_id
        )
    body = {"data": data, "took": round(time.perf_counter() - started, 3), "requestId": request_id}
    return JsonResponse(body, status=200)


@csrf_exempt
def opsgenie_get(request: HttpRequest, identifier: str) -> HttpResponse:
    def read(integration: Integration) -> dict[str, Any]:
        if request.GET.get("identifierType") == "alias":
            try:
                key = opsgenie_adapter.alias_key(identifier, "alias (in the path)")
            except AdapterError as exc:
                raise Reject(422, exc.errors) from None
            alert = opsgenie_api.alert_by_alias(integration, key)
        else:
            _, alert = _opsgenie_target(request, integration, identifier)
        if alert is None:
            raise Reject(404, ["Alert does not exist"])
        return opsgenie_api.alert_json(alert)

    return _opsgenie_read(request, read)


@csrf_exempt
def opsgenie_request_status(request: HttpRequest, request_id: str) -> HttpResponse:
    def read(integration: Integration) -> dict[str, Any]:
        row = opsgenie_api.request_row(integration, request_id)
        status = opsgenie_api.request_status(row) if row is not None else None
        if status is None:  # unknown, or still waiting in the inbox: the SDK asks again
            raise Reject(404, ["Request not found. It might not be processed, yet."])
        return status

    return _opsgenie_read(request, read)


@csrf_exempt
def opsgenie_update(request: HttpRequest, alias: str, field: str) -> HttpResponse:
    """Alertmanager's `update_alerts: true` calls: Tocsin keeps an alert's first message
    and description, so it says so in Opsgenie's shape (nothing is accepted and dropped)."""
    if field in ("message", "description"):
        reason = (
            f"Tocsin keeps the {field} an alert was created with; "
            "set update_alerts: false in opsgenie_configs (the default)"
        )
    else:
        reason = f"Tocsin does not support the Opsgenie alert operation {field[:40]!r}"
    return _opsgenie_error(
        404, [reason], {}, time.perf_counter(), str(getattr(request, "request_id", ""))
    )


@csrf_exempt
def opsgenie_unknown(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Every other path under /opsgenie/: Opsgenie's JSON 404 (its SDKs parse every reply
    as JSON; an HTML page would crash them)."""
    return _opsgenie_error(
        404,
        ["Could not find the requested resource: Tocsin does not emulate this Opsgenie API path"],
        {},
        time.perf_counter(),
        str(getattr(request, "request_id", "")),
    )


@csrf_exempt
def alertmanager(request: HttpRequest, key: str | None = None) -> HttpResponse:
    return _accept(
        request,
        ALERTMANAGER,
        _path_or_header_key(key),
        lambda incoming, _: alertmanager_adapter.parse(incoming.data),
        _accepted(),
    )


@csrf_exempt
def grafana(request: HttpRequest, key: str | None = None) -> HttpResponse:
    return _accept(
        request,
        GRAFANA,
        _path_or_header_key(key),
        lambda incoming, _: grafana_adapter.parse(incoming.data),
        _accepted(),
    )


@csrf_exempt
def webhook(request: HttpRequest, key: str | None = None) -> HttpResponse:
    return _accept(
        request,
        WEBHOOK,
        _path_or_header_key(key),
        lambda incoming, integration: [
            webhook_adapter.parse(
                incoming.data, integration.options or {}, raw_size=len(incoming.text)
            )
        ],
        _accepted(),
    )


@csrf_exempt
def heartbeat(request: HttpRequest, key: str | None = None) -> HttpResponse:
    return _accept(
        request,
        HEARTBEAT,
        _path_or_header_key(key),
        lambda incoming, _: heartbeat_adapter.parse(),
        _accepted(200),
    )


@csrf_exempt
def sms_reply(request: HttpRequest) -> HttpResponse:
    """Acknowledge by SMS reply: belongs to the SMS channel's work, not built here yet."""
    return JsonResponse({"detail": "not implemented yet"}, status=501)
