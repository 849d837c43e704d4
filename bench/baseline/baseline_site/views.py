from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from baseline_site.models import Row

ACCEPTED = b'{"status":"success","message":"Event processed"}'


def empty(request: HttpRequest) -> HttpResponse:
    """Reads the body and answers: Django's own cost per request."""
    request.body  # noqa: B018 - the body is read, as an ingest endpoint must
    return HttpResponse(ACCEPTED, status=202, content_type="application/json")


def insert(request: HttpRequest) -> HttpResponse:
    """One INSERT of the raw body (committed, autocommit) before the answer."""
    Row.objects.create(received_at=timezone.now(), payload=request.body.decode())
    return HttpResponse(ACCEPTED, status=202, content_type="application/json")
