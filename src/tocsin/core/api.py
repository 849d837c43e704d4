"""Shared pieces of the REST API: input types, error replies, idempotency and lists.

Authentication (API tokens and sessions) lives in `tocsin.accounts.api_auth`.

Everything here is plumbing between HTTP and the services; no business rule lives here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Annotated, Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Router, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.responses import NinjaJSONEncoder
from pydantic import AfterValidator, ConfigDict, Field

from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.core.errors import Conflict, Invalid, NotFound, TocsinError
from tocsin.core.middleware import _is_busy
from tocsin.core.models import IdempotencyRecord

log = logging.getLogger("tocsin.api")

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_WINDOW = timedelta(hours=24)
LIST_LIMIT_DEFAULT = 50
LIST_LIMIT_MAX = 500
# Larger than any id the database hands out, small enough for every integer column.
ID_MAX = 2**53


# --- input types --------------------------------------------------------------------


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
"""A string that the database can store (PostgreSQL refuses NUL characters)."""

Id = Annotated[int, Field(ge=1, le=ID_MAX)]
"""An integer id, bounded so that huge numbers are a 422 rather than a database error."""

BodyId = Annotated[int, Field(ge=1, le=ID_MAX, strict=True)]
"""An id in a JSON body: a number, not true or "3"."""

USERNAME_PATTERN = r"^[\w.@+-]{1,150}$"
_USERNAME = re.compile(USERNAME_PATTERN)


def _username(value: str) -> str:
    if not _USERNAME.fullmatch(value):
        raise ValueError("must be 1–150 letters, digits and @ . + - _")
    return value


Username = Annotated[
    str,
    AfterValidator(_username),
    Field(json_schema_extra={"pattern": USERNAME_PATTERN, "minLength": 1, "maxLength": 150}),
]

INCIDENT_REF_PATTERN = r"^(INC-)?[1-9][0-9]*$"
IncidentRef = Annotated[
    str,
    Field(
        description='"INC-42" or 42, exactly (anything else is no incident: 404)',
        json_schema_extra={"pattern": INCIDENT_REF_PATTERN},
    ),
]
"""An incident in a path. Checked by `incidents.selectors.parse_ref` (404, not 422: an
incident that cannot exist is answered like one the caller may not see)."""


def one_of(values: Iterable[Any], description: str | None = None) -> Any:
    """Field metadata that states in the OpenAPI schema the values the server accepts
    (the services check them, with a message naming the field)."""
    return Field(description=description, json_schema_extra={"enum": list(values)})


class InSchema(Schema):
    """Request bodies: unknown fields are refused (422 naming the field), not ignored."""

    model_config = ConfigDict(extra="forbid")


class Ref(Schema):
    """Another resource, named: {"id": 3, "name": "Network"}."""

    id: int
    name: str


class Message(Schema):
    detail: str


class FieldError(Schema):
    type: str
    loc: list[str | int]
    msg: str


class FieldErrors(Schema):
    detail: list[FieldError]


ERRORS: dict[int, Any] = {
    400: Message,
    401: Message,
    403: Message,
    404: Message,
    409: Message,
    413: Message,
    422: FieldErrors,
}
"""The error replies every operation may give (for the OpenAPI schema)."""


def ref(obj: Any) -> dict[str, Any] | None:
    return None if obj is None else {"id": obj.pk, "name": obj.name}


# --- the caller -----------------------------------------------------------------------
# Who may call is decided by the authenticators in `tocsin.accounts.api_auth` (AUTH);
# each sets `request.actor` and `request.auth` (the person) on the request.


def actor_from_request(request: HttpRequest) -> Actor:
    """Who an authenticated API request acts as (set by the authenticator)."""
    actor: Actor = request.actor  # type: ignore[attr-defined]
    return actor


# --- error replies --------------------------------------------------------------------


def _detail(api: NinjaAPI, request: HttpRequest, status: int, message: Any) -> HttpResponse:
    return api.create_response(request, {"detail": message}, status=status)


def invalid_detail(request: HttpRequest, field: str, message: str) -> list[dict[str, Any]]:
    """ninja's 422 shape for an error a service found (a query parameter on GET)."""
    where = "query" if request.method in ("GET", "HEAD") else "body"
    loc = ["header", field] if field == IDEMPOTENCY_HEADER else [where, field]
    return [{"type": "value_error", "loc": loc, "msg": message}]


def install_error_handlers(api: NinjaAPI) -> None:
    """Every error as JSON: {"detail": "message"}, or ninja's list for validation."""

    def on_invalid(request: HttpRequest, exc: Invalid) -> HttpResponse:
        return _detail(api, request, 422, invalid_detail(request, exc.field, exc.detail))

    def on_tocsin(request: HttpRequest, exc: TocsinError) -> HttpResponse:
        return _detail(api, request, exc.status, exc.message)

    def on_validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        errors = [
            {k: v for k, v in error.items() if k in ("type", "loc", "msg")} for error in exc.errors
        ]
        return _detail(api, request, 422, errors)

    def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = _detail(
            api,
            request,
            401,
            "authentication required: send 'Authorization: Bearer <token>' with a valid token",
        )
        response["WWW-Authenticate"] = 'Bearer realm="tocsin"'
        return response

    def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        message = str(exc)
        if exc.status_code == 400 and message.startswith("Cannot parse request body"):
            message = "malformed request body: it must be valid JSON"
        return _detail(api, request, exc.status_code, message)

    def on_404(request: HttpRequest, exc: Exception) -> HttpResponse:
        return _detail(api, request, 404, "not found")

    def on_too_big(request: HttpRequest, exc: Exception) -> HttpResponse:
        return _detail(api, request, 413, "the request body is too large")

    def on_suspicious(request: HttpRequest, exc: Exception) -> HttpResponse:
        return _detail(api, request, 400, "malformed request")

    def on_operational(request: HttpRequest, exc: OperationalError) -> HttpResponse:
        if not _is_busy(exc):
            raise exc
        response = _detail(api, request, 503, "The database is busy; retry shortly.")
        response["Retry-After"] = "1"
        return response

    def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        # A bug, not bad input: log it with the request id and answer JSON, not HTML.
        log.exception("unhandled error in %s %s", request.method, request.path)
        return _detail(
            api,
            request,
            500,
            f"internal error (request id {getattr(request, 'request_id', '-')})",
        )

    handlers: list[tuple[type[Exception], Callable[[HttpRequest, Any], HttpResponse]]] = [
        (Exception, on_unexpected),
        (Invalid, on_invalid),
        (TocsinError, on_tocsin),
        (ValidationError, on_validation),
        (AuthenticationError, on_unauthenticated),
        (HttpError, on_http_error),
        (Http404, on_404),
        (RequestDataTooBig, on_too_big),
        (SuspiciousOperation, on_suspicious),
        (OperationalError, on_operational),
    ]
    for exc_class, handler in handlers:
        api.add_exception_handler(exc_class, handler)


def install_not_found_route(api: NinjaAPI) -> None:
    """Unknown paths under the API answer JSON 404 (register after every router)."""
    fallback = Router()

    @fallback.api_operation(
        ["GET", "POST", "PUT", "PATCH", "DELETE"],
        "/{path:rest}",
        auth=None,
        include_in_schema=False,
    )
    def unknown_route(request: HttpRequest, rest: str) -> HttpResponse:
        raise NotFound("no such API endpoint; see /api/v1/docs")

    api.add_router("", fallback)


# --- JSON bodies and idempotent creates -------------------------------------------------


def to_json(data: Any) -> Any:
    """Plain JSON values, encoded exactly as ninja encodes its replies."""
    return json.loads(json.dumps(data, cls=NinjaJSONEncoder))


def json_response(data: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(
        json.dumps(data, cls=NinjaJSONEncoder),
        status=status,
        content_type="application/json; charset=utf-8",
    )


class _KeyTaken(Exception):
    pass


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = json_response(record.body, record.status_code)
    response["Idempotent-Replayed"] = "true"
    return response


def request_hash(request: HttpRequest) -> str:
    """SHA-256 of what a request asks for: a JSON body canonicalised (key order and spaces
    do not count), a form by its fields and its files' names and contents (the multipart
    boundary changes on every retry), anything else byte for byte."""
    digest = hashlib.sha256()
    content_type = (request.content_type or "").lower()
    if content_type.startswith("multipart/"):
        for name in sorted(request.POST):
            digest.update(json.dumps([name, request.POST.getlist(name)]).encode())
        for name in sorted(request.FILES):
            for upload in request.FILES.getlist(name):
                digest.update(json.dumps(["file", name, upload.name]).encode())
                for chunk in upload.chunks():
                    digest.update(chunk)
                upload.seek(0)
        return digest.hexdigest()
    body = request.body
    try:
        parsed = json.loads(body) if body.strip() else None
    except ValueError:
        digest.update(body)
    else:
        canonical = json.dumps(parsed, sort_keys=True, separators=(",", ":"))
        digest.update(canonical.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _check_same_request(record: IdempotencyRecord, request: HttpRequest, body_hash: str) -> None:
    if record.method != (request.method or "POST") or record.path != request.path[:500]:
        raise Conflict(
            f"this Idempotency-Key was used for {record.method} {record.path}; "
            "use a new key for a different request"
        )
    if record.request_hash and record.request_hash != body_hash:
        raise Invalid(
            IDEMPOTENCY_HEADER,
            "this Idempotency-Key was used with a different request body; "
            "send the same body to get the first answer again, or use a new key",
        )


def idempotent_create(
    request: HttpRequest, create: Callable[[], Any], status: int = 201
) -> HttpResponse:
    """Run `create` (which returns the reply body). With an Idempotency-Key header, the
    same person sending the same key and body within 24 hours gets the first reply again,
    and nothing is created twice (the create and the record commit together); the same
    key with a different body is a 422 naming the header."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return json_response(to_json(create()), status)
    key = key.strip()
    if not key or len(key) > 255 or not key.isprintable():
        raise Invalid(IDEMPOTENCY_HEADER, "must be 1–255 printable characters")
    owner = f"user:{request.auth.pk}"  # type: ignore[attr-defined]
    body_hash = request_hash(request)
    try:
        with transaction.atomic():
            IdempotencyRecord.objects.filter(
                owner=owner, key=key, created_at__lt=now() - IDEMPOTENCY_WINDOW
            ).delete()
            previous = IdempotencyRecord.objects.filter(owner=owner, key=key).first()
            if previous is not None:
                _check_same_request(previous, request, body_hash)
                return _replay(previous)
            body = to_json(create())
            try:
                with transaction.atomic():
                    IdempotencyRecord.objects.create(
                        owner=owner,
                        key=key,
                        method=request.method or "POST",
                        path=request.path[:500],
                        request_hash=body_hash,
                        status_code=status,
                        body=body,
                        created_at=now(),
                    )
            except IntegrityError as exc:
                raise _KeyTaken from exc  # undoes our create
    except _KeyTaken:
        # A concurrent request with the same key committed first: answer as it did.
        record = IdempotencyRecord.objects.get(owner=owner, key=key)
        _check_same_request(record, request, body_hash)
        return _replay(record)
    return json_response(body, status)


# --- lists --------------------------------------------------------------------------------


class Paging(Schema):
    limit: int = Field(LIST_LIMIT_DEFAULT, ge=1, le=LIST_LIMIT_MAX)
    offset: int = Field(0, ge=0, le=ID_MAX)


def page(
    items: QuerySet[Any] | list[Any], paging: Paging, serialize: Callable[[Any], Any]
) -> dict[str, Any]:
    """{"items": [...], "count": N}: one page of `items` and how many there are in all."""
    count = items.count() if isinstance(items, QuerySet) else len(items)
    window: Iterable[Any] = items[paging.offset : paging.offset + paging.limit]
    return {"items": [serialize(item) for item in window], "count": count}


def lookup(field: str, find: Callable[[Any], Any], value: Any) -> Any:
    """Resolve a reference in a request body; a missing one is a 422 naming the field."""
    if value is None:
        return None
    try:
        return find(value)
    except NotFound as exc:
        raise Invalid(field, exc.message) from None
