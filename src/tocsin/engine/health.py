"""/healthz (the process is up) and /readyz (the database answers, a worker is alive)."""

from __future__ import annotations

from datetime import timedelta

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from tocsin.core.clock import now
from tocsin.engine.models import WorkerHeartbeat


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up."""
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """The database answers and a worker was seen in the last minute."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except DatabaseError as exc:
        checks["database"] = f"unreachable: {exc.__class__.__name__}"
        response = JsonResponse({"status": "unavailable", "checks": checks}, status=503)
        response["Retry-After"] = "5"
        return response
    try:
        seen = WorkerHeartbeat.objects.filter(
            last_seen_at__gte=now() - timedelta(minutes=1)
        ).count()
    except DatabaseError as exc:  # e.g. not migrated yet
        checks["worker"] = f"cannot read worker heartbeats: {exc.__class__.__name__}"
        response = JsonResponse({"status": "unavailable", "checks": checks}, status=503)
        response["Retry-After"] = "5"
        return response
    checks["worker"] = "ok" if seen else "no worker seen in the last minute"
    ready = bool(seen)
    response = JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks, "workers": seen},
        status=200 if ready else 503,
    )
    if not ready:
        response["Retry-After"] = "5"
    return response
