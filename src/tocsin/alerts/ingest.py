"""Ingest endpoints (filled in by the ingest work): validate, commit to the inbox, answer."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt


def _todo(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
    return JsonResponse({"detail": "not implemented yet"}, status=501)


pagerduty_enqueue = csrf_exempt(_todo)
pagerduty_change = csrf_exempt(_todo)
opsgenie_create = csrf_exempt(_todo)
opsgenie_close = csrf_exempt(_todo)
alertmanager = csrf_exempt(_todo)
grafana = csrf_exempt(_todo)
webhook = csrf_exempt(_todo)
heartbeat = csrf_exempt(_todo)
sms_reply = csrf_exempt(_todo)
